// Typed wrapper over the libbpf bridge: one opened BPF object file and what hangs off it.
// Every failure becomes a BpfLoadError with the errno and a message a person can act on.
import { existsSync } from 'node:fs';
import { BpfLoadError } from '../errors';
import { isNativeError, nativeAddon, type NativeAddon, type NativeHandle, type NativeLoadedProgram, type NativeProgramInfo } from './native';
import { checkKernelRequirements, ensureTracefs, permissionHint } from './preflight';
import { RingReader, type RingBatchHandler } from './ring_reader';

export type ProgramInfo = Readonly<NativeProgramInfo>;
export type LoadedProgram = Readonly<NativeLoadedProgram>;

/** The kernel keeps this many characters of a program's name (BPF_OBJ_NAME_LEN - 1). */
export const KERNEL_PROGRAM_NAME_LENGTH = 15;

export interface AttachedProgram {
  readonly program: string;
  /** The SEC() name, e.g. `tp_btf/inet_sock_set_state`: what it is hooked to. */
  readonly section: string;
}

/** Entries of a map as read in one pass; per-CPU values are already split per CPU. */
export interface MapEntries {
  readonly count: number;
  readonly keySize: number;
  /** Bytes of one CPU's value (rounded up to 8 for per-CPU maps). */
  readonly valueSize: number;
  /** 1 for ordinary maps, the number of possible CPUs for per-CPU maps. */
  readonly cpus: number;
  readonly keys: Buffer;
  readonly values: Buffer;
  key(index: number): Buffer;
  /** Value of entry `index` on CPU `cpu` (cpu 0 for ordinary maps). */
  value(index: number, cpu?: number): Buffer;
}

const ERRNO_EPERM = 1;
const ERRNO_EACCES = 13;
const ERRNO_EAGAIN = 11;

function explain(action: string, error: unknown): BpfLoadError {
  if (!isNativeError(error)) return new BpfLoadError(0, `${action}: ${String(error)}`);
  let hint = '';
  if (error.errno === ERRNO_EPERM) hint = ` (${permissionHint()})`;
  const verifier = error.errno === ERRNO_EACCES || error.libbpfLog.includes('PROG LOAD LOG');
  if (verifier) hint = ' (the BPF verifier rejected a program; its log tail follows)';
  const tail = verifier ? '\n' + error.libbpfLog.trim().split('\n').slice(-20).join('\n') : '';
  return new BpfLoadError(error.errno, `${action}: ${error.message}${hint}${tail}`, verifier ? error.libbpfLog : undefined);
}

export class BpfObject {
  private handle: NativeHandle | undefined;
  private readonly rings = new Set<RingReader>();

  private constructor(
    private readonly addon: NativeAddon,
    handle: NativeHandle,
    readonly path: string,
  ) {
    this.handle = handle;
  }

  /**
   * Opens, prepares (globals, map sizes, autoload) and loads an object. The verifier gives up
   * with EAGAIN when a signal arrives mid-verification (a profiler's timer, for one), and libbpf
   * cannot load a failed object again, so such a failure is retried from a fresh open.
   */
  static openAndLoad(path: string, prepare: (bpf: BpfObject) => void, attempts = 5): BpfObject {
    for (let attempt = 1; ; attempt++) {
      const bpf = BpfObject.open(path);
      try {
        prepare(bpf);
        bpf.load();
        return bpf;
      } catch (error) {
        bpf.close();
        if (!(error instanceof BpfLoadError && error.errno === ERRNO_EAGAIN && attempt < attempts)) throw error;
      }
    }
  }

  /** Opens a compiled CO-RE object after checking BTF and privileges. */
  static open(path: string): BpfObject {
    checkKernelRequirements();
    if (!existsSync(path)) throw new BpfLoadError(2, `BPF object ${path} does not exist: run \`npm run build\``);
    const addon = nativeAddon();
    try {
      return new BpfObject(addon, addon.open(path), path);
    } catch (error) {
      throw explain(`opening ${path}`, error);
    }
  }

  private get native(): NativeHandle {
    if (!this.handle) throw new BpfLoadError(0, `BPF object ${this.path} is closed`);
    return this.handle;
  }

  /** Writes a `const volatile` global before load; `bytes` must match the C variable's size. */
  setGlobal(name: string, bytes: Buffer): void {
    try {
      this.addon.setGlobal(this.native, name, bytes);
    } catch (error) {
      throw explain(`setting ${name}`, error);
    }
  }

  setGlobalU32(name: string, value: number): void {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32LE(value >>> 0);
    this.setGlobal(name, bytes);
  }

  setGlobalU64(name: string, value: bigint): void {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(value);
    this.setGlobal(name, bytes);
  }

  setMaxEntries(map: string, entries: number): void {
    try {
      this.addon.setMaxEntries(this.native, map, entries);
    } catch (error) {
      throw explain(`sizing map ${map}`, error);
    }
  }

  /** Leaves a program out of load and attach (call before load). */
  setAutoload(program: string, enabled: boolean): void {
    try {
      this.addon.setAutoload(this.native, program, enabled);
    } catch (error) {
      throw explain(`configuring program ${program}`, error);
    }
  }

  load(): void {
    try {
      this.addon.load(this.native);
    } catch (error) {
      throw explain(`loading ${this.path}`, error);
    }
  }

  /** Attaches every program by its SEC() name. */
  attach(): AttachedProgram[] {
    ensureTracefs();
    try {
      return this.addon.attach(this.native);
    } catch (error) {
      throw explain(`attaching programs of ${this.path}`, error);
    }
  }

  /** Attaches a cgroup program (e.g. sockops, left out of attach()) to a cgroup v2 directory. */
  attachToCgroup(program: string, cgroupDir: string): void {
    try {
      this.addon.attachCgroup(this.native, program, cgroupDir);
    } catch (error) {
      throw explain(`attaching ${program} to ${cgroupDir}`, error);
    }
  }

  readMap(map: string): MapEntries {
    let dump;
    try {
      dump = this.addon.mapDump(this.native, map);
    } catch (error) {
      throw explain(`reading map ${map}`, error);
    }
    const cpus = dump.percpu ? this.addon.possibleCpus() : 1;
    const perCpu = dump.valueSize / cpus;
    const { keys, values, keySize, valueSize } = dump;
    return {
      count: dump.count,
      keySize,
      valueSize: perCpu,
      cpus,
      keys,
      values,
      key: (i) => keys.subarray(i * keySize, (i + 1) * keySize),
      value: (i, cpu = 0) => values.subarray(i * valueSize + cpu * perCpu, i * valueSize + (cpu + 1) * perCpu),
    };
  }

  /** `value` holds every CPU's copy for per-CPU maps. */
  updateMap(map: string, key: Buffer, value: Buffer): void {
    try {
      this.addon.mapUpdate(this.native, map, key, value);
    } catch (error) {
      throw explain(`updating map ${map}`, error);
    }
  }

  deleteFromMap(map: string, key: Buffer): boolean {
    try {
      return this.addon.mapDelete(this.native, map, key);
    } catch (error) {
      throw explain(`deleting from map ${map}`, error);
    }
  }

  possibleCpus(): number {
    return this.addon.possibleCpus();
  }

  /**
   * The kernel's counters of each loaded program of this object, read now: recursion_misses (runs
   * skipped because the program was already running on that CPU) always, run counts and times
   * only while BPF stats are enabled.
   */
  programInfo(): ProgramInfo[] {
    try {
      return this.addon.programInfo(this.native);
    } catch (error) {
      throw explain(`reading program info of ${this.path}`, error);
    }
  }

  /** Every BPF program loaded on the host (ids and kernel names), this process's included. */
  static loadedPrograms(): LoadedProgram[] {
    try {
      return nativeAddon().loadedPrograms();
    } catch (error) {
      throw explain('listing loaded BPF programs', error);
    }
  }

  /**
   * Starts delivering the ring buffer's records in batches of at most `maxBatchRecords` (see
   * RingReader): on each wake-up, and every `drainIntervalMs` for what a quiet stream leaves.
   */
  openRing(map: string, onBatch: RingBatchHandler, drainIntervalMs: number, maxBatchRecords = 4096): RingReader {
    try {
      const native = this.addon.ringOpen(this.native, map, (b, n, e) => onBatch(b, n, e), drainIntervalMs, maxBatchRecords);
      const ring = new RingReader(this.addon, native, () => this.rings.delete(ring));
      this.rings.add(ring);
      return ring;
    } catch (error) {
      throw explain(`opening ring buffer ${map}`, error);
    }
  }

  /** Delivers what is left in the ring buffers, then detaches everything. Idempotent. */
  close(): void {
    for (const ring of [...this.rings]) ring.close();
    if (!this.handle) return;
    this.addon.close(this.handle);
    this.handle = undefined;
  }
}
