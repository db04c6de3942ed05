// One running capture: its own loaded copy of bpf/packet_capture.bpf.c (the selection and bounds
// are read-only globals), attached to its cgroups while it runs and detached when it ends, its
// ring buffer written as pcapng as batches arrive, and its final status.
import { BpfObject, type ProgramInfo } from '../../bridge/bpf_object';
import { BpfLoadError } from '../../errors';
import { forEachRecord } from '../../bridge/ring_reader';
import type { MonotonicClock } from '../../host/monotonic_clock';
import type { AgentLogger } from '../../logger';
import { CaptureError, type CaptureEnd, type CaptureStatus } from './capture_api';
import { pageSize } from '../common/config_formats';
import { CaptureWriter, captureComments, decodeRecord } from './capture_writer';
import { CONSTANTS, STATE } from './layout';
import { describeSelection, type AppliedCapture } from './request';

/** Programs and maps of bpf/packet_capture.bpf.c that only the trigger watch uses, and the reverse. */
export const CAPTURE_PROGRAMS = ['capture_ingress', 'capture_egress'] as const;
export const WATCH_PROGRAMS = ['watch_ingress', 'watch_egress'] as const;

export interface SessionOptions {
  readonly id: string;
  readonly objectPath: string;
  readonly directory: string;
  readonly maxFileBytes: number;
  readonly maxFiles: number;
  readonly ringBufferBytes: number;
  /** How often the kernel's counts are read to notice a packet or byte bound reached. */
  readonly pollMs: number;
  readonly clock: MonotonicClock;
  readonly logger: AgentLogger;
  /** cgroup id -> path relative to the v2 root, for the interface descriptions. */
  readonly describeCgroup: (id: bigint) => string | undefined;
  /** Extra comments for the section header (what triggered the capture). */
  readonly comments?: readonly string[];
}

const EPERM = 1;

/** cgroup_skb is a networking program type: loading it takes CAP_NET_ADMIN besides CAP_BPF. */
export function netAdminHint(error: unknown): string {
  return error instanceof BpfLoadError && error.errno === EPERM ? ' (cgroup_skb programs also need CAP_NET_ADMIN: grant it, or run as root)' : '';
}

/** The kernel's counts, read from capture_state. */
export interface KernelCounts {
  readonly done: boolean;
  readonly matched: bigint;
  readonly packets: bigint;
  readonly bytes: bigint;
  readonly skippedSampling: bigint;
  readonly skippedRate: bigint;
  readonly skippedLost: bigint;
}

/** What the engine tracks of a capture while it runs: on-demand sessions and triggered captures. */
export interface RunningCapture {
  readonly id: string;
  readonly running: boolean;
  status(): CaptureStatus;
  finish(end: CaptureEnd): Promise<CaptureStatus>;
  finished(): Promise<CaptureStatus>;
}

export class CaptureSession implements RunningCapture {
  private bpf: BpfObject | undefined;
  private writer: CaptureWriter | undefined;
  private kernel: KernelCounts | undefined;
  private state: CaptureStatus['state'] = 'running';
  private end: CaptureEnd | undefined;
  private error: string | undefined;
  private readonly startedAt = new Date();
  private endedAt: Date | undefined;
  private durationTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly done: Promise<CaptureStatus>;
  private resolveDone!: (status: CaptureStatus) => void;

  constructor(
    readonly capture: AppliedCapture,
    private readonly options: SessionOptions,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get id(): string {
    return this.options.id;
  }

  /** Loads and attaches; throws CaptureError (and leaves nothing behind) when that fails. */
  start(): void {
    const { capture, options } = this;
    try {
      this.writer = new CaptureWriter({
        directory: options.directory,
        stem: `${capture.name ?? capture.reason}-${options.id}-${this.startedAt.toISOString().replace(/[:.]/g, '')}`,
        maxFileBytes: options.maxFileBytes,
        maxFiles: options.maxFiles,
        comments: captureComments(options.id, capture.name, capture.reason, describeSelection(capture.selection), capture.bounds, options.comments),
        snaplen: capture.bounds.snaplen || CONSTANTS.PACKET_CAPTURE_MAX_SNAP,
        interfaceNote: `selection ${describeSelection(capture.selection)}`,
        clock: options.clock,
        describeCgroup: options.describeCgroup,
      });
      const bpf = BpfObject.openAndLoad(options.objectPath, (object) => {
        object.setGlobal('cfg_capture', capture.settings);
        object.setMaxEntries('capture_packets', options.ringBufferBytes);
        // The trigger watch's programs and maps stay out (its maps at their smallest).
        for (const program of WATCH_PROGRAMS) object.setAutoload(program, false);
        object.setMaxEntries('trigger_tuples', 1);
        object.setMaxEntries('trigger_packets', pageSize());
      });
      this.bpf = bpf;
      bpf.openRing('capture_packets', (batch) => this.onBatch(batch), 50);
      for (const directory of capture.attachDirectories) {
        bpf.attachToCgroup('capture_ingress', directory);
        bpf.attachToCgroup('capture_egress', directory);
      }
    } catch (error) {
      this.bpf?.close();
      this.bpf = undefined;
      this.writer?.close();
      throw new CaptureError('CAPTURE_FAILED', `capture ${options.id} could not start: ${(error as Error).message}${netAdminHint(error)}`, { cause: error });
    }
    this.durationTimer = setTimeout(() => void this.finish('duration'), capture.bounds.durationMs);
    this.pollTimer = setInterval(() => this.poll(), options.pollMs);
  }

  /** The kernel's counters of this capture's programs (run time only while kernel.bpf_stats_enabled). */
  programInfo(): ProgramInfo[] {
    return this.bpf?.programInfo() ?? [];
  }

  /** Resolves with the final status. */
  finished(): Promise<CaptureStatus> {
    return this.done;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  private readCounts(): KernelCounts | undefined {
    if (!this.bpf) return this.kernel;
    const entries = this.bpf.readMap('capture_state');
    if (entries.count === 0) return undefined;
    const v = entries.value(0);
    return {
      done: v.readUInt32LE(STATE.done) !== 0,
      matched: v.readBigUInt64LE(STATE.matched),
      packets: v.readBigUInt64LE(STATE.packets),
      bytes: v.readBigUInt64LE(STATE.bytes),
      skippedSampling: v.readBigUInt64LE(STATE.skipped_sampling),
      skippedRate: v.readBigUInt64LE(STATE.skipped_rate),
      skippedLost: v.readBigUInt64LE(STATE.skipped_lost),
    };
  }

  private poll(): void {
    if (!this.running) return;
    try {
      const counts = this.readCounts();
      if (counts) this.kernel = counts;
      if (counts?.done) {
        // done without the packet bound reached: the next packet would have passed the byte bound.
        void this.finish(counts.packets >= BigInt(this.capture.bounds.packets) ? 'packets' : 'bytes');
      }
    } catch (error) {
      this.options.logger.warn(`capture ${this.id}: reading its kernel counts failed: ${(error as Error).message}`);
    }
  }

  private onBatch(batch: Buffer): void {
    const writer = this.writer;
    if (!writer) return;
    forEachRecord(batch, (offset, length) => {
      const record = decodeRecord(batch, offset, length);
      if (!record) return;
      try {
        writer.write(record);
      } catch (error) {
        if (this.error === undefined) this.error = `writing ${writer.paths.at(-1) ?? this.options.directory} failed: ${(error as Error).message}`;
      }
    });
    try {
      writer.flush();
    } catch (error) {
      if (this.error === undefined) this.error = `writing ${writer.paths.at(-1) ?? this.options.directory} failed: ${(error as Error).message}`;
    }
    if (this.error !== undefined && this.running) void this.finish('error');
  }

  /** Ends the capture (idempotent): stops the kernel side, writes what is left, closes files. */
  async finish(end: CaptureEnd): Promise<CaptureStatus> {
    if (!this.running) return this.done;
    this.state = end === 'error' ? 'failed' : end === 'stopped' || end === 'shutdown' ? 'stopped' : 'finished';
    this.end = end;
    if (this.durationTimer) clearTimeout(this.durationTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    const bpf = this.bpf;
    if (bpf) {
      try {
        // No packet is taken after the stop flag: the counts read next are final.
        const key = Buffer.alloc(4);
        const one = Buffer.alloc(4);
        one.writeUInt32LE(1);
        bpf.updateMap('capture_stop', key, one);
        this.kernel = this.readCounts() ?? this.kernel;
      } catch (error) {
        this.options.logger.warn(`capture ${this.id}: stopping its kernel program failed: ${(error as Error).message}`);
      }
      // Closing delivers the records still in the ring, then detaches.
      bpf.close();
      this.bpf = undefined;
    }
    try {
      this.writer?.close();
    } catch (error) {
      this.error ??= `writing ${this.writer?.paths.at(-1) ?? this.options.directory} failed: ${(error as Error).message}`;
      this.state = 'failed';
    }
    this.endedAt = new Date();
    const status = this.status();
    this.resolveDone(status);
    return status;
  }

  status(): CaptureStatus {
    const k = this.kernel;
    // Packets the kernel counted as written that never reached a file (e.g. a write error) are lost too.
    const written = this.writer?.packets ?? 0;
    const unwritten = k && k.packets > BigInt(written) && !this.running ? Number(k.packets) - written : 0;
    const sampling = Number(k?.skippedSampling ?? 0n);
    const rateLimit = Number(k?.skippedRate ?? 0n);
    const lost = Number(k?.skippedLost ?? 0n) + unwritten;
    return {
      id: this.id,
      ...(this.capture.name !== undefined ? { name: this.capture.name } : {}),
      reason: this.capture.reason,
      state: this.state,
      ...(this.end !== undefined ? { end: this.end } : {}),
      selection: this.capture.selection,
      bounds: this.capture.bounds,
      startedAt: this.startedAt.toISOString(),
      ...(this.endedAt ? { endedAt: this.endedAt.toISOString() } : {}),
      captured: { packets: written, bytes: this.writer?.bytes ?? 0 },
      skipped: { total: sampling + rateLimit + lost, sampling, rateLimit, lost },
      files: [...(this.writer?.paths ?? [])],
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }
}
