// What the agent reads from the running kernel's BTF (/sys/kernel/btf/vmlinux) itself: which
// types, struct members, functions and tracepoints the kernel has (src/host/kernel_features.ts
// probes features with them), the values and names of an enum (the kernel's reset and drop
// reasons, whose numbering differs between versions), and how many arguments a tracepoint passes
// to tp_btf programs (arguments are added over versions: skb:kfree_skb got its reason in 5.17 and
// its rx_sk in 6.11). The kernel programs see the same facts through CO-RE; user space needs them
// to decide what to load and to name what the programs report.
//
// libbpf parses the BTF in the addon (native/src/btf_query.c) and close() frees it at once: read
// into a JS Buffer, the ~6 MB stayed in the agent's RSS until a garbage collection that a quiet
// agent may not run for hours.
import { existsSync } from 'node:fs';
import { isNativeError, nativeAddon, type NativeBtfHandle } from '../bridge/native';

/** BTF kinds (include/uapi/linux/btf.h) that the questions below look up. */
const KIND = { STRUCT: 4, UNION: 5, ENUM: 6, TYPEDEF: 8, FUNC: 12, ENUM64: 19 } as const;

export class KernelBtfError extends Error {}

export class KernelBtf {
  private handle: NativeBtfHandle | undefined;

  private constructor(
    handle: NativeBtfHandle,
    readonly path: string,
  ) {
    this.handle = handle;
  }

  /** The BTF at `path` (the running kernel's by default); undefined when there is no such file. */
  static load(path = '/sys/kernel/btf/vmlinux'): KernelBtf | undefined {
    if (!existsSync(path)) return undefined;
    try {
      return new KernelBtf(nativeAddon().btfOpen(path), path);
    } catch (error) {
      if (isNativeError(error)) throw new KernelBtfError(error.message);
      throw error;
    }
  }

  /** `use` of the BTF at `path` (undefined when there is none), freed as soon as `use` returns. */
  static read<T>(path: string | undefined, use: (btf: KernelBtf | undefined) => T): T {
    const btf = KernelBtf.load(path);
    try {
      return use(btf);
    } finally {
      btf?.close();
    }
  }

  /** Frees the parsed BTF; asking afterwards throws. */
  close(): void {
    if (this.handle) nativeAddon().btfClose(this.handle);
    this.handle = undefined;
  }

  private open(): NativeBtfHandle {
    if (!this.handle) throw new KernelBtfError(`${this.path}: asked after close()`);
    return this.handle;
  }

  /** The id of the first type of one of `kinds` named `name`, 0 when there is none. */
  private find(name: string, kinds: readonly number[]): number {
    for (const kind of kinds) {
      const id = nativeAddon().btfFind(this.open(), name, kind);
      if (id !== 0) return id;
    }
    return 0;
  }

  /** The enumerators of `enum name` (value → name), or undefined when the kernel has no such enum. */
  enumValues(name: string): Map<number, string> | undefined {
    const id = this.find(name, [KIND.ENUM, KIND.ENUM64]);
    const values = id === 0 ? null : nativeAddon().btfEnumValues(this.open(), id);
    return values === null ? undefined : new Map(values);
  }

  /** Whether the kernel has a struct named `name`. */
  hasStruct(name: string): boolean {
    return this.find(name, [KIND.STRUCT]) !== 0;
  }

  /** Whether the kernel has a function named `name` (a FUNC: one that is not inlined everywhere). */
  hasFunction(name: string): boolean {
    return this.find(name, [KIND.FUNC]) !== 0;
  }

  /** Whether struct `struct` has a member named `member` (at its top level, anonymous unions included). */
  hasMember(struct: string, member: string): boolean {
    const id = this.find(struct, [KIND.STRUCT, KIND.UNION]);
    return id !== 0 && nativeAddon().btfHasMember(this.open(), id, member);
  }

  /**
   * Arguments the kernel passes to a tp_btf program of tracepoint `name` (its btf_trace_<name>
   * typedef: a pointer to a function whose first parameter is the tracepoint's private data), or
   * undefined when the kernel has no such tracepoint.
   */
  tracepointArguments(name: string): number | undefined {
    const typedef = this.find(`btf_trace_${name}`, [KIND.TYPEDEF]);
    const params = typedef === 0 ? -1 : nativeAddon().btfFunctionProtoParams(this.open(), typedef);
    return params < 1 ? undefined : params - 1;
  }
}
