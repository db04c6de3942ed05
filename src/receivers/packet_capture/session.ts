// One running capture: its own loaded copy of bpf/packet_capture.bpf.c (the selection and bounds
// are read-only globals), attached to its cgroups while it runs and detached when it ends, its
// ring buffer written as pcapng as batches arrive, and its final status.
import { hostname, release } from 'node:os';
import { BpfObject } from '../../bridge/bpf_object';
import { forEachRecord } from '../../bridge/ring_reader';
import type { MonotonicClock } from '../../host/monotonic_clock';
import type { AgentLogger } from '../../logger';
import { PcapngFileSet } from '../../pcapng/file_set';
import { LINKTYPE_RAW, type PacketDirection } from '../../pcapng/blocks';
import { VERSION } from '../../version';
import { CaptureError, type CaptureEnd, type CaptureStatus } from './capture_api';
import { CONSTANTS, RECORD, STATE } from './layout';
import { describeSelection, type AppliedCapture } from './request';

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

const DIRECTIONS: Record<number, PacketDirection> = { [CONSTANTS.PACKET_CAPTURE_INBOUND]: 'inbound', [CONSTANTS.PACKET_CAPTURE_OUTBOUND]: 'outbound' };

export class CaptureSession {
  private bpf: BpfObject | undefined;
  private files: PcapngFileSet | undefined;
  private readonly interfaces = new Map<bigint, number>();
  private writtenPackets = 0;
  private writtenBytes = 0;
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
      this.files = new PcapngFileSet({
        directory: options.directory,
        stem: `${capture.name ?? capture.reason}-${options.id}-${this.startedAt.toISOString().replace(/[:.]/g, '')}`,
        maxFileBytes: options.maxFileBytes,
        maxFiles: options.maxFiles,
        header: {
          application: `tcpscope ${VERSION}`,
          os: `Linux ${release()}`,
          hardware: hostname(),
          comments: [
            `capture ${options.id}${capture.name ? ` (${capture.name})` : ''}, reason ${capture.reason}`,
            `selection ${describeSelection(capture.selection)}`,
            `bounds ${JSON.stringify(capture.bounds)}`,
            ...(options.comments ?? []),
          ],
        },
      });
      this.files.ensureFile();
      const bpf = BpfObject.openAndLoad(options.objectPath, (object) => {
        object.setGlobal('cfg_capture', capture.settings);
        object.setMaxEntries('capture_packets', options.ringBufferBytes);
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
      this.files?.close();
      throw new CaptureError('CAPTURE_FAILED', `capture ${options.id} could not start: ${(error as Error).message}`, { cause: error });
    }
    this.durationTimer = setTimeout(() => void this.finish('duration'), capture.bounds.durationMs);
    this.pollTimer = setInterval(() => this.poll(), options.pollMs);
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
    const files = this.files;
    if (!files) return;
    forEachRecord(batch, (offset, length) => {
      if (length < CONSTANTS.PACKET_CAPTURE_RECORD_HEADER) return;
      const capLen = batch.readUInt32LE(offset + RECORD.cap_len);
      const cgroupId = batch.readBigUInt64LE(offset + RECORD.cgroup_id);
      const data = batch.subarray(offset + RECORD.data, offset + RECORD.data + Math.min(capLen, length - RECORD.data));
      try {
        files.writePacket({
          interfaceId: this.interfaceFor(cgroupId),
          timestampNs: this.wallNs(batch.readBigUInt64LE(offset + RECORD.timestamp_ns)),
          data,
          originalLength: batch.readUInt32LE(offset + RECORD.orig_len),
          direction: DIRECTIONS[batch.readUInt8(offset + RECORD.direction)] ?? 'unknown',
        });
        this.writtenPackets++;
        this.writtenBytes += data.length;
      } catch (error) {
        if (this.error === undefined) this.error = `writing ${files.files.at(-1) ?? this.options.directory} failed: ${(error as Error).message}`;
      }
    });
    if (this.error !== undefined && this.running) void this.finish('error');
  }

  private wallNs(monotonicNs: bigint): bigint {
    const [seconds, nanos] = this.options.clock.toHrTime(monotonicNs);
    return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
  }

  /** One pcapng interface per cgroup: its name and description say whose packets these are. */
  private interfaceFor(cgroupId: bigint): number {
    let id = this.interfaces.get(cgroupId);
    if (id !== undefined) return id;
    const path = this.options.describeCgroup(cgroupId);
    id = (this.files as PcapngFileSet).addInterface({
      linkType: LINKTYPE_RAW,
      snaplen: this.capture.bounds.snaplen || CONSTANTS.PACKET_CAPTURE_MAX_SNAP,
      name: `cgroup:${cgroupId}`,
      description: `packets of sockets in cgroup ${path ?? cgroupId} (cgroup_skb ingress/egress), selection ${describeSelection(this.capture.selection)}`,
    });
    this.interfaces.set(cgroupId, id);
    return id;
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
    this.files?.close();
    this.endedAt = new Date();
    const status = this.status();
    this.resolveDone(status);
    return status;
  }

  status(): CaptureStatus {
    const k = this.kernel;
    // Packets the kernel counted as written that never reached a file (e.g. a write error) are lost too.
    const unwritten = k && k.packets > BigInt(this.writtenPackets) && !this.running ? Number(k.packets) - this.writtenPackets : 0;
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
      captured: { packets: this.writtenPackets, bytes: this.writtenBytes },
      skipped: { total: sampling + rateLimit + lost, sampling, rateLimit, lost },
      files: [...(this.files?.files ?? [])],
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }
}
