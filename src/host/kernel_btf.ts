// What the agent reads from the running kernel's BTF (/sys/kernel/btf/vmlinux) itself: the values
// and names of an enum (the kernel's reset and drop reasons, whose numbering differs between
// versions), and how many arguments a tracepoint passes to tp_btf programs (arguments are added
// over versions: skb:kfree_skb got its reason in 5.17 and its rx_sk in 6.11). The kernel programs
// see the same facts through CO-RE; user space needs them to name what the programs report.
//
// BTF layout (include/uapi/linux/btf.h): a header, then the type section (each type a 12-byte
// btf_type followed by kind-specific data), then the string section. Type ids start at 1.
import { readFileSync } from 'node:fs';

const BTF_MAGIC = 0xeb9f;

const KIND = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

export class KernelBtfError extends Error {}

/** Bytes following a btf_type of `kind` with `vlen` members. */
function trailingBytes(kind: number, vlen: number): number {
  switch (kind) {
    case KIND.INT:
    case KIND.VAR:
    case KIND.DECL_TAG:
      return 4;
    case KIND.ARRAY:
      return 12;
    case KIND.STRUCT:
    case KIND.UNION:
    case KIND.DATASEC:
    case KIND.ENUM64:
      return 12 * vlen;
    case KIND.ENUM:
    case KIND.FUNC_PROTO:
      return 8 * vlen;
    case KIND.PTR:
    case KIND.FWD:
    case KIND.TYPEDEF:
    case KIND.VOLATILE:
    case KIND.CONST:
    case KIND.RESTRICT:
    case KIND.FUNC:
    case KIND.FLOAT:
    case KIND.TYPE_TAG:
      return 0;
    default:
      throw new KernelBtfError(`unknown BTF kind ${kind}: the kernel's BTF is newer than this reader`);
  }
}

/**
 * One pass over the type section records where each type starts (a Uint32Array: 4 bytes per type,
 * ~0.6 MB for vmlinux); names are compared in place when asked for. The agent asks a handful of
 * questions once at start, then drops the reader and its copy of the file (~6 MB).
 */
export class KernelBtf {
  /** offsets[id]: where type `id`'s btf_type starts in the file (id 0, void, has none). */
  private readonly offsets: Uint32Array;
  private readonly count: number;
  private readonly stringsAt: number;

  constructor(private readonly data: Buffer) {
    if (data.length < 24 || data.readUInt16LE(0) !== BTF_MAGIC) throw new KernelBtfError('not a little-endian BTF blob (bad magic)');
    const headerLength = data.readUInt32LE(4);
    const typeOff = data.readUInt32LE(8);
    const typeLen = data.readUInt32LE(12);
    this.stringsAt = headerLength + data.readUInt32LE(16);
    let at = headerLength + typeOff;
    const end = at + typeLen;
    // at least 12 bytes per type: an upper bound for the array
    const offsets = new Uint32Array(Math.floor(typeLen / 12) + 1);
    let id = 1;
    while (at < end) {
      const info = data.readUInt32LE(at + 4);
      offsets[id++] = at;
      at += 12 + trailingBytes((info >>> 24) & 0x1f, info & 0xffff);
    }
    this.count = id;
    this.offsets = offsets;
  }

  /** The running kernel's BTF; undefined when the kernel has none. */
  static load(path = '/sys/kernel/btf/vmlinux'): KernelBtf | undefined {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch {
      return undefined;
    }
    return new KernelBtf(data);
  }

  private kind(id: number): number {
    return (this.data.readUInt32LE(this.offsets[id] + 4) >>> 24) & 0x1f;
  }

  private vlen(id: number): number {
    return this.data.readUInt32LE(this.offsets[id] + 4) & 0xffff;
  }

  private sizeOrType(id: number): number {
    return this.data.readUInt32LE(this.offsets[id] + 8);
  }

  private string(offset: number): string {
    const start = this.stringsAt + offset;
    const end = this.data.indexOf(0, start);
    return this.data.toString('latin1', start, end < 0 ? this.data.length : end);
  }

  /** Whether the string at `offset` is `name`, compared in place. */
  private nameIs(offset: number, name: string): boolean {
    const start = this.stringsAt + offset;
    if (this.data[start + name.length] !== 0) return false;
    for (let i = 0; i < name.length; i++) if (this.data[start + i] !== name.charCodeAt(i)) return false;
    return true;
  }

  /** The first type of one of `kinds` named `name`, or undefined. */
  private find(name: string, kinds: readonly number[]): number | undefined {
    for (let id = 1; id < this.count; id++) {
      const nameOff = this.data.readUInt32LE(this.offsets[id]);
      if (nameOff !== 0 && kinds.includes(this.kind(id)) && this.nameIs(nameOff, name)) return id;
    }
    return undefined;
  }

  /** The enumerators of `enum name` (value → name), or undefined when the kernel has no such enum. */
  enumValues(name: string): Map<number, string> | undefined {
    const id = this.find(name, [KIND.ENUM, KIND.ENUM64]);
    if (id === undefined) return undefined;
    const kind = this.kind(id);
    const values = new Map<number, string>();
    const members = this.offsets[id] + 12;
    for (let i = 0; i < this.vlen(id); i++) {
      if (kind === KIND.ENUM) {
        const at = members + 8 * i;
        values.set(this.data.readUInt32LE(at + 4), this.string(this.data.readUInt32LE(at)));
      } else {
        const at = members + 12 * i;
        const value = this.data.readUInt32LE(at + 4) + this.data.readUInt32LE(at + 8) * 2 ** 32;
        values.set(value, this.string(this.data.readUInt32LE(at)));
      }
    }
    return values;
  }

  /** Whether the kernel has a struct named `name` (src/host/kernel_features.ts probes with it). */
  hasStruct(name: string): boolean {
    return this.find(name, [KIND.STRUCT]) !== undefined;
  }

  /** Whether the kernel has a function named `name` (a FUNC: one that is not inlined everywhere). */
  hasFunction(name: string): boolean {
    return this.find(name, [KIND.FUNC]) !== undefined;
  }

  /** Whether struct `struct` has a member named `member` (at its top level, anonymous unions included). */
  hasMember(struct: string, member: string): boolean {
    const id = this.find(struct, [KIND.STRUCT, KIND.UNION]);
    return id !== undefined && this.memberIn(id, member, 0);
  }

  private memberIn(id: number, member: string, depth: number): boolean {
    const members = this.offsets[id] + 12;
    for (let i = 0; i < this.vlen(id); i++) {
      const at = members + 12 * i;
      const nameOff = this.data.readUInt32LE(at);
      if (nameOff !== 0 && this.nameIs(nameOff, member)) return true;
      if (nameOff === 0 && depth < 4) {
        const type = this.data.readUInt32LE(at + 4);
        const kind = type > 0 && type < this.count ? this.kind(type) : 0;
        if ((kind === KIND.STRUCT || kind === KIND.UNION) && this.memberIn(type, member, depth + 1)) return true;
      }
    }
    return false;
  }

  /**
   * Arguments the kernel passes to a tp_btf program of tracepoint `name` (its btf_trace_<name>
   * typedef: a pointer to a function whose first parameter is the tracepoint's private data), or
   * undefined when the kernel has no such tracepoint.
   */
  tracepointArguments(name: string): number | undefined {
    const typedef = this.find(`btf_trace_${name}`, [KIND.TYPEDEF]);
    if (typedef === undefined) return undefined;
    const pointer = this.sizeOrType(typedef);
    if (pointer <= 0 || pointer >= this.count || this.kind(pointer) !== KIND.PTR) return undefined;
    const proto = this.sizeOrType(pointer);
    if (proto <= 0 || proto >= this.count || this.kind(proto) !== KIND.FUNC_PROTO) return undefined;
    return this.vlen(proto) - 1;
  }
}
