// Automatic captures: the trigger watch (watch_ingress / watch_egress of bpf/packet_capture.bpf.c)
// attached to the watched cgroups for as long as the receiver runs with `triggers.enabled`. The
// kernel decides a trigger on the packet itself (a RST answering our SYN: failed_connect; any
// other RST: reset; retransmit_burst retransmissions within retransmit_window) and sends the
// connection's last packets, the trigger packet and the next after_packets packets, all tagged
// with the trigger's id; here each trigger id becomes one TriggeredCapture with its own files.
import { BpfObject } from '../../bridge/bpf_object';
import { formatIpv6 } from '../../host/ip_address';
import { forEachRecord } from '../../bridge/ring_reader';
import type { AgentLogger } from '../../logger';
import { parseDuration } from '../../exporters/duration';
import type { CaptureEnd, CaptureReason, CaptureSelection, CaptureStatus } from './capture_api';
import { CaptureWriter, decodeRecord, type CaptureRecord } from './capture_writer';
import type { TriggersConfig } from './config';
import { pageSize } from '../common/config_formats';
import { CONSTANTS, TRIGGER_SETTINGS } from './layout';
import { CAPTURE_PROGRAMS, WATCH_PROGRAMS, netAdminHint, type RunningCapture } from './session';

export const TRIGGER_REASONS = ['failed_connect', 'reset', 'retransmit_burst'] as const;
export type TriggerReason = (typeof TRIGGER_REASONS)[number];
const REASON_NAMES: Record<number, TriggerReason> = {
  [CONSTANTS.PACKET_CAPTURE_REASON_FAILED_CONNECT]: 'failed_connect',
  [CONSTANTS.PACKET_CAPTURE_REASON_RESET]: 'reset',
  [CONSTANTS.PACKET_CAPTURE_REASON_RETRANSMIT_BURST]: 'retransmit_burst',
};

/** The kernel's trigger counters, summed over CPUs. */
export interface TriggerCounts {
  readonly started: Record<TriggerReason, number>;
  readonly cooldown: Record<TriggerReason, number>;
  /** Triggers the kernel started that user space could not take (max_captures triggered captures running). */
  readonly busy: Record<TriggerReason, number>;
  /** Records lost: the watch's ring buffer was full. */
  readonly lost: number;
  /** Packets of connections the watch could not track (its map could not take a new entry). */
  readonly untracked: number;
}

/** The selection of a triggered capture: the connection of its trigger packet, both ways. */
export function connectionOf(record: CaptureRecord): CaptureSelection {
  const d = record.data;
  let source: string;
  let destination: string;
  let tcp: number;
  if (d.length >= 20 && d[0] >> 4 === 4) {
    source = [...d.subarray(12, 16)].join('.');
    destination = [...d.subarray(16, 20)].join('.');
    tcp = (d[0] & 0x0f) * 4;
  } else if (d.length >= 40 && d[0] >> 4 === 6) {
    source = formatIpv6(d, 8);
    destination = formatIpv6(d, 24);
    tcp = 40;
  } else {
    return { cgroupIds: [Number(record.cgroupId)], bidirectional: true };
  }
  if (d.length < tcp + 4) return { cgroupIds: [Number(record.cgroupId)], bidirectional: true };
  const sourcePort = d.readUInt16BE(tcp);
  const destinationPort = d.readUInt16BE(tcp + 2);
  // Local first: the connection as its socket's cgroup sees it.
  const outbound = record.direction !== 'inbound';
  return {
    cgroupIds: [Number(record.cgroupId)],
    sourceAddress: outbound ? source : destination,
    sourcePort: outbound ? sourcePort : destinationPort,
    destinationAddress: outbound ? destination : source,
    destinationPort: outbound ? destinationPort : sourcePort,
    bidirectional: true,
  };
}

export interface TriggeredCaptureOptions {
  readonly id: string;
  readonly reason: CaptureReason;
  readonly selection: CaptureSelection;
  readonly afterPackets: number;
  readonly timeoutMs: number;
  readonly writer: (id: string, reason: CaptureReason, selection: CaptureSelection) => CaptureWriter;
}

/** One trigger's capture: its connection's packets before the trigger, the trigger, the ones after. */
export class TriggeredCapture implements RunningCapture {
  private readonly writer: CaptureWriter;
  private after = 0;
  private state: CaptureStatus['state'] = 'running';
  private end: CaptureEnd | undefined;
  private error: string | undefined;
  private readonly startedAt = new Date();
  private endedAt: Date | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly done: Promise<CaptureStatus>;
  private resolveDone!: (s: CaptureStatus) => void;

  constructor(private readonly options: TriggeredCaptureOptions) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.writer = options.writer(options.id, options.reason, options.selection);
    this.timer = setTimeout(() => void this.finish('duration'), options.timeoutMs);
  }

  get id(): string {
    return this.options.id;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  add(record: CaptureRecord): void {
    if (!this.running) return;
    const comment =
      record.kind === CONSTANTS.PACKET_CAPTURE_KIND_BEFORE ? 'before the trigger (headers only)' : record.kind === CONSTANTS.PACKET_CAPTURE_KIND_TRIGGER ? `trigger: ${this.options.reason}` : undefined;
    try {
      this.writer.write(record, comment);
    } catch (error) {
      this.error = `writing ${this.writer.paths.at(-1)} failed: ${(error as Error).message}`;
      void this.finish('error');
      return;
    }
    if (record.kind === CONSTANTS.PACKET_CAPTURE_KIND_AFTER && ++this.after >= this.options.afterPackets) void this.finish('packets');
    else if (record.kind === CONSTANTS.PACKET_CAPTURE_KIND_TRIGGER && this.options.afterPackets === 0) void this.finish('packets');
  }

  finished(): Promise<CaptureStatus> {
    return this.done;
  }

  /** Writes the packets added since the last flush (after each batch). */
  flush(): void {
    if (!this.running) return;
    try {
      this.writer.flush();
    } catch (error) {
      this.error = `writing ${this.writer.paths.at(-1)} failed: ${(error as Error).message}`;
      void this.finish('error');
    }
  }

  async finish(end: CaptureEnd): Promise<CaptureStatus> {
    if (!this.running) return this.done;
    clearTimeout(this.timer);
    this.state = end === 'error' ? 'failed' : end === 'stopped' || end === 'shutdown' ? 'stopped' : 'finished';
    this.end = end;
    try {
      this.writer.close();
    } catch (error) {
      this.error ??= `writing ${this.writer.paths.at(-1)} failed: ${(error as Error).message}`;
      this.state = 'failed';
    }
    this.endedAt = new Date();
    const status = this.status();
    this.resolveDone(status);
    return status;
  }

  status(): CaptureStatus {
    return {
      id: this.id,
      reason: this.options.reason,
      state: this.state,
      ...(this.end !== undefined ? { end: this.end } : {}),
      selection: this.options.selection,
      bounds: { packets: this.options.afterPackets, durationMs: this.options.timeoutMs },
      startedAt: this.startedAt.toISOString(),
      ...(this.endedAt ? { endedAt: this.endedAt.toISOString() } : {}),
      captured: { packets: this.writer.packets, bytes: this.writer.bytes },
      skipped: { total: 0, sampling: 0, rateLimit: 0, lost: 0 },
      files: [...this.writer.paths],
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }
}

export interface TriggerWatchOptions {
  readonly objectPath: string;
  /** cgroup v2 directories to attach to. */
  readonly directories: readonly string[];
  readonly logger: AgentLogger;
  readonly nextId: () => string;
  readonly writer: (id: string, reason: CaptureReason, selection: CaptureSelection) => CaptureWriter;
  /** A new triggered capture (the engine tracks it like any other). */
  readonly onCapture: (capture: TriggeredCapture) => void;
  /** Running triggered captures, to hold new ones at max_captures. */
  readonly running: () => number;
}

/** The cfg_trigger global from the config. */
export function triggerSettings(config: TriggersConfig): Buffer {
  const b = Buffer.alloc(TRIGGER_SETTINGS.size);
  b.writeBigUInt64LE(BigInt(parseDuration(config.cooldown)) * 1_000_000n, TRIGGER_SETTINGS.cooldown_ns);
  b.writeBigUInt64LE(BigInt(parseDuration(config.retransmit_window)) * 1_000_000n, TRIGGER_SETTINGS.retransmit_window_ns);
  b.writeUInt32LE(config.before_packets, TRIGGER_SETTINGS.before_packets);
  b.writeUInt32LE(config.after_packets, TRIGGER_SETTINGS.after_packets);
  b.writeUInt32LE(config.retransmit_burst, TRIGGER_SETTINGS.retransmit_burst);
  b.writeUInt32LE(config.after_snaplen, TRIGGER_SETTINGS.after_snaplen);
  b.writeUInt8(config.on.includes('failed_connect') ? 1 : 0, TRIGGER_SETTINGS.on_failed_connect);
  b.writeUInt8(config.on.includes('reset') ? 1 : 0, TRIGGER_SETTINGS.on_reset);
  b.writeUInt8(config.on.includes('retransmit_burst') ? 1 : 0, TRIGGER_SETTINGS.on_retransmit_burst);
  return b;
}

export class TriggerWatch {
  private bpf: BpfObject | undefined;
  /** Running triggered captures by trigger id and cgroup. */
  private readonly captures = new Map<string, TriggeredCapture>();
  private readonly busy: Record<TriggerReason, number> = { failed_connect: 0, reset: 0, retransmit_burst: 0 };
  /** The kernel's counts as last read: what counts() answers once the watch is closed. */
  private last: TriggerCounts | undefined;

  constructor(
    private readonly config: TriggersConfig,
    private readonly options: TriggerWatchOptions,
  ) {}

  /** Loads and attaches; a refusal for want of CAP_NET_ADMIN says so. */
  start(): void {
    try {
      this.load();
    } catch (error) {
      const hint = netAdminHint(error);
      if (hint && error instanceof Error) error.message += hint;
      throw error;
    }
  }

  private load(): void {
    const bpf = BpfObject.openAndLoad(this.options.objectPath, (object) => {
      object.setGlobal('cfg_trigger', triggerSettings(this.config));
      object.setMaxEntries('trigger_tuples', this.config.max_connections);
      object.setMaxEntries('trigger_packets', this.config.ring_buffer_size);
      for (const program of CAPTURE_PROGRAMS) object.setAutoload(program, false);
      object.setMaxEntries('capture_packets', pageSize());
    });
    try {
      bpf.openRing('trigger_packets', (batch) => this.onBatch(batch), 50);
      for (const directory of this.options.directories) {
        for (const program of WATCH_PROGRAMS) bpf.attachToCgroup(program, directory);
      }
    } catch (error) {
      bpf.close();
      throw error;
    }
    this.bpf = bpf;
  }

  private onBatch(batch: Buffer): void {
    const touched = new Set<TriggeredCapture>();
    forEachRecord(batch, (offset, length) => {
      const record = decodeRecord(batch, offset, length);
      if (!record) return;
      const key = `${record.triggerId}:${record.cgroupId}`;
      let capture = this.captures.get(key);
      if (!capture && record.kind !== CONSTANTS.PACKET_CAPTURE_KIND_AFTER) {
        // The first record of a trigger (its ring's oldest packet, or the trigger packet).
        const reason = REASON_NAMES[record.reason];
        if (!reason) return;
        if (this.options.running() >= this.config.max_captures) {
          if (record.kind === CONSTANTS.PACKET_CAPTURE_KIND_TRIGGER) this.busy[reason]++;
          return;
        }
        capture = new TriggeredCapture({
          id: this.options.nextId(),
          reason,
          // Every record of a trigger is of the same connection; oriented local first.
          selection: connectionOf(record),
          afterPackets: this.config.after_packets,
          timeoutMs: parseDuration(this.config.after_timeout),
          writer: this.options.writer,
        });
        this.captures.set(key, capture);
        void capture.finished().then(() => this.captures.delete(key));
        this.options.onCapture(capture);
      }
      if (!capture) return;
      capture.add(record);
      touched.add(capture);
    });
    for (const capture of touched) capture.flush();
  }

  /** The kernel's trigger counters now (after close(): as they were when it closed). */
  counts(): TriggerCounts {
    if (!this.bpf && this.last) return { ...this.last, busy: { ...this.busy } };
    const started: Record<TriggerReason, number> = { failed_connect: 0, reset: 0, retransmit_burst: 0 };
    const cooldown: Record<TriggerReason, number> = { failed_connect: 0, reset: 0, retransmit_burst: 0 };
    let lost = 0;
    let untracked = 0;
    if (this.bpf) {
      const entries = this.bpf.readMap('trigger_counters');
      for (let i = 0; i < entries.count; i++) {
        const index = entries.key(i).readUInt32LE(0);
        let total = 0;
        for (let cpu = 0; cpu < entries.cpus; cpu++) total += Number(entries.value(i, cpu).readBigUInt64LE(0));
        if (index === CONSTANTS.PACKET_CAPTURE_COUNTER_LOST) lost = total;
        else if (index === CONSTANTS.PACKET_CAPTURE_COUNTER_NO_ENTRY) untracked = total;
        else {
          const reason = REASON_NAMES[index >> 1];
          if (reason) (index & 1 ? cooldown : started)[reason] = total;
        }
      }
    }
    this.last = { started, cooldown, busy: { ...this.busy }, lost, untracked };
    return this.last;
  }

  /** Detaches; the running triggered captures are ended by the engine. */
  close(): void {
    if (this.bpf) this.counts();
    this.bpf?.close();
    this.bpf = undefined;
  }
}
