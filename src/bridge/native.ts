// The raw Node-API addon (native/). Only src/bridge/ touches it; receivers use BpfObject.
import { existsSync } from 'node:fs';
import { NATIVE_ADDON_PATH } from '../paths';
import { BpfLoadError } from '../errors';

export type NativeHandle = { readonly __brand: 'NativeHandle' };
export type NativeRingHandle = { readonly __brand: 'NativeRingHandle' };
export type NativeBtfHandle = { readonly __brand: 'NativeBtfHandle' };

export interface NativeMapDump {
  keys: Buffer;
  values: Buffer;
  count: number;
  keySize: number;
  /** Bytes per entry: for per-CPU maps, all CPUs, each value rounded up to 8 bytes. */
  valueSize: number;
  percpu: boolean;
}

/** Counters the kernel keeps per loaded program (bpf_prog_info). */
export interface NativeProgramInfo {
  /** libbpf's full program name (the kernel keeps only 15 characters). */
  program: string;
  id: number;
  /** Runs and their total time: only counted while BPF stats are on (sysctl kernel.bpf_stats_enabled). */
  runCount: bigint;
  runTimeNs: bigint;
  /** Runs the kernel skipped because the program was already running on that CPU. */
  recursionMisses: bigint;
}

/** One program loaded on the host, as the kernel names it (15 characters at most). */
export interface NativeLoadedProgram {
  id: number;
  name: string;
}

/** Thrown by the addon: a libbpf errno and what libbpf printed last. */
export interface NativeError extends Error {
  errno: number;
  code: 'BPF_ERROR';
  libbpfLog: string;
}

export interface NativeAddon {
  open(path: string): NativeHandle;
  setGlobal(handle: NativeHandle, name: string, bytes: Buffer): void;
  setMaxEntries(handle: NativeHandle, map: string, entries: number): void;
  setAutoload(handle: NativeHandle, program: string, enabled: boolean): void;
  load(handle: NativeHandle): void;
  attach(handle: NativeHandle): { program: string; section: string }[];
  attachCgroup(handle: NativeHandle, program: string, cgroupDir: string): void;
  close(handle: NativeHandle): void;
  mapDump(handle: NativeHandle, map: string): NativeMapDump;
  mapUpdate(handle: NativeHandle, map: string, key: Buffer, value: Buffer): void;
  mapDelete(handle: NativeHandle, map: string, key: Buffer): boolean;
  possibleCpus(): number;
  programInfo(handle: NativeHandle): NativeProgramInfo[];
  loadedPrograms(): NativeLoadedProgram[];
  /** Creates and closes a one-entry array map: throws a NativeError (errno) when bpf() is refused. */
  probeBpf(): void;
  /** Parses a BTF file (raw or an ELF's .BTF) with libbpf; throws a NativeError when it cannot. */
  btfOpen(path: string): NativeBtfHandle;
  /** Frees the parsed BTF now. */
  btfClose(btf: NativeBtfHandle): void;
  /** The id of type `name` of BTF kind `kind` (BTF_KIND_*), 0 when there is none. */
  btfFind(btf: NativeBtfHandle, name: string, kind: number): number;
  /** Whether struct/union `typeId` has `member`, anonymous members' members included. */
  btfHasMember(btf: NativeBtfHandle, typeId: number, member: string): boolean;
  /** Parameters of the function prototype typedef `typeId` points to; -1 if it is not such a typedef. */
  btfFunctionProtoParams(btf: NativeBtfHandle, typeId: number): number;
  /** [value, name] of each enumerator of enum `typeId`, null if it is not an enum. */
  btfEnumValues(btf: NativeBtfHandle, typeId: number): [number, string][] | null;
  ringOpen(
    handle: NativeHandle,
    map: string,
    onBatch: (batch: Buffer, records: number, errno: number) => void,
    drainIntervalMs: number,
    maxBatchRecords: number,
  ): NativeRingHandle;
  ringClose(ring: NativeRingHandle): void;
  ringPause(ring: NativeRingHandle): void;
  ringResume(ring: NativeRingHandle): void;
}

export function isNativeError(error: unknown): error is NativeError {
  return error instanceof Error && (error as Partial<NativeError>).code === 'BPF_ERROR';
}

let addon: NativeAddon | undefined;

export function nativeAddon(): NativeAddon {
  if (addon) return addon;
  if (!existsSync(NATIVE_ADDON_PATH)) {
    throw new BpfLoadError(0, `the libbpf bridge is not built (${NATIVE_ADDON_PATH}): run \`npm run build\``);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon = require(NATIVE_ADDON_PATH) as NativeAddon;
  return addon;
}
