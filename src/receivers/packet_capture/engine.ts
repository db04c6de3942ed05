// The capture service of a packet_capture receiver: nothing is loaded or attached until a capture
// starts; each on-demand capture is a CaptureSession with its own kernel program, detached when it
// ends; with triggers, the TriggerWatch adds triggered captures. Each finished capture becomes one
// tcp.capture.finished log event; tcpscope.capture.packets counts every selected packet by outcome.
import { join } from 'node:path';
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumers, CreateSettings } from '../../component';
import { parseDuration } from '../../exporters/duration';
import { CgroupResolver, findCgroupV2Root } from '../../host/cgroup_resolver';
import { hrTimeNow, processMonotonicClock } from '../../host/monotonic_clock';
import { bpfObjectPath } from '../../paths';
import { ATTR } from '../../telemetry/attributes';
import { EVENTS } from '../../telemetry/signals';
import { VERSION } from '../../version';
import { CaptureError, captureServices, type CaptureReason, type CaptureRequest, type CaptureSelection, type CaptureService, type CaptureStatus } from './capture_api';
import { CaptureWriter, captureComments } from './capture_writer';
import { captureDefaults, type PacketCaptureConfig } from './config';
import { CONSTANTS } from './layout';
import { captureMetrics, type PacketOutcomes } from './metrics';
import { applyRequest, describeSelection } from './request';
import { CaptureSession, type RunningCapture } from './session';
import { TriggerWatch, type TriggeredCapture } from './trigger_watch';

export interface PacketCaptureOptions {
  readonly objectPath?: string;
  /** How often running captures' kernel counts are read (bounds noticed). */
  readonly pollMs?: number;
}

/** The capture service of one receiver (what captureServices hands to the control channel). */
export class CaptureEngine implements CaptureService {
  private readonly sessions = new Map<string, RunningCapture>();
  private watch: TriggerWatch | undefined;
  private readonly history: CaptureStatus[] = [];
  private readonly totals: PacketOutcomes = { captured: 0, sampling: 0, rateLimit: 0, lost: 0 };
  private readonly cgroups: CgroupResolver;
  private readonly scope: InstrumentationScope;
  private nextId = 1;
  private started = false;
  private stopped = false;
  private startTime: HrTime = hrTimeNow();
  private timer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: PacketCaptureConfig,
    private readonly next: Consumers,
    private readonly options: PacketCaptureOptions = {},
  ) {
    this.cgroups = new CgroupResolver(settings.hostCgroupRoot ?? findCgroupV2Root());
    this.scope = { name: `tcpscope/receiver/${settings.id.type}`, version: VERSION };
  }

  /** Makes the service available (the receiver's start); attaches the trigger watch when enabled. */
  open(): void {
    this.started = true;
    this.startTime = hrTimeNow();
    if (this.config.triggers.enabled) this.startWatch();
    captureServices.register(this.settings.id.text, this);
    if (this.next.metrics) {
      const metrics = this.next.metrics;
      this.timer = setInterval(() => this.track(metrics.consume(this.collect()).catch((e: unknown) => this.settings.logger.warn(`metrics collection failed: ${(e as Error).message}`))), parseDuration(this.config.collection_interval));
    }
    this.settings.logger.info(`ready for captures into ${this.config.directory} (nothing attached until a capture starts)`);
  }

  private startWatch(): void {
    const triggers = this.config.triggers;
    const root = this.cgroups.root;
    if (!root) throw new CaptureError('CAPTURE_FAILED', 'triggers need a cgroup v2 hierarchy, and this host has none mounted');
    const directories = triggers.cgroups.length > 0 ? triggers.cgroups.map((path) => join(root, path)) : [root];
    const watch = new TriggerWatch(triggers, {
      objectPath: this.options.objectPath ?? bpfObjectPath('packet_capture'),
      directories,
      logger: this.settings.logger,
      nextId: () => `cap-${this.nextId++}`,
      writer: (id, reason, selection) => this.triggeredWriter(id, reason, selection),
      onCapture: (capture) => this.adopt(capture),
      running: () => [...this.sessions.values()].filter((s) => s.running && !(s instanceof CaptureSession)).length,
    });
    watch.start();
    this.watch = watch;
    this.settings.logger.info(`trigger watch attached to ${directories.join(', ')}: captures on ${triggers.on.join(', ')}`);
  }

  private triggeredWriter(id: string, reason: CaptureReason, selection: CaptureSelection): CaptureWriter {
    const t = this.config.triggers;
    return new CaptureWriter({
      directory: this.config.directory,
      stem: `${reason}-${id}-${new Date().toISOString().replace(/[:.]/g, '')}`,
      maxFileBytes: this.config.max_file_size,
      maxFiles: this.config.max_files,
      comments: captureComments(id, undefined, reason, describeSelection(selection), { before_packets: t.before_packets, after_packets: t.after_packets, after_timeout: t.after_timeout }, [
        `triggered by ${reason}: up to ${t.before_packets} packets of the connection before the trigger (headers only), the trigger packet, up to ${t.after_packets} after it`,
      ]),
      snaplen: t.after_snaplen || CONSTANTS.PACKET_CAPTURE_MAX_SNAP,
      interfaceNote: `connection ${describeSelection(selection)}`,
      clock: processMonotonicClock(),
      describeCgroup: (cgroupId) => this.cgroups.resolve(cgroupId),
    });
  }

  private adopt(capture: TriggeredCapture): void {
    this.sessions.set(capture.id, capture);
    const status = capture.status();
    this.settings.logger.info(`capture ${capture.id} started (${status.reason}): ${describeSelection(status.selection)}`);
    this.track(capture.finished().then((final) => this.onFinished(capture, final)));
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => undefined);
    return promise;
  }

  async start(request: CaptureRequest, comments?: readonly string[]): Promise<CaptureStatus> {
    if (!this.started || this.stopped) throw new CaptureError('CAPTURE_FAILED', `${this.settings.id.text} is not running: start the agent with it in a pipeline`);
    const running = [...this.sessions.values()].filter((s) => s.running && s instanceof CaptureSession).length;
    if (running >= this.config.max_captures) {
      throw new CaptureError('CAPTURE_BUSY', `${running} captures are running (max_captures ${this.config.max_captures}): stop one or wait for one to end`);
    }
    const applied = applyRequest(request, captureDefaults(this.config), this.cgroups.root, (id) => this.cgroups.resolve(BigInt(id)));
    const id = `cap-${this.nextId++}`;
    const session = new CaptureSession(applied, {
      id,
      objectPath: this.options.objectPath ?? bpfObjectPath('packet_capture'),
      directory: this.config.directory,
      maxFileBytes: this.config.max_file_size,
      maxFiles: this.config.max_files,
      ringBufferBytes: this.config.ring_buffer_size,
      pollMs: this.options.pollMs ?? 100,
      clock: processMonotonicClock(),
      logger: this.settings.logger,
      describeCgroup: (cgroupId) => this.cgroups.resolve(cgroupId),
      ...(comments ? { comments } : {}),
    });
    session.start();
    this.sessions.set(id, session);
    this.settings.logger.info(`capture ${id} started (${applied.reason}): ${describeSelection(applied.selection)}, bounds ${JSON.stringify(applied.bounds)}`);
    this.track(session.finished().then((status) => this.onFinished(session, status)));
    return session.status();
  }

  list(): readonly CaptureStatus[] {
    return [...this.history, ...[...this.sessions.values()].map((s) => s.status())];
  }

  get(id: string): CaptureStatus | undefined {
    return this.sessions.get(id)?.status() ?? this.history.find((s) => s.id === id);
  }

  async stop(id: string): Promise<CaptureStatus> {
    const session = this.sessions.get(id);
    if (session) return session.finish('stopped');
    const done = this.history.find((s) => s.id === id);
    if (done) return done;
    throw new CaptureError('CAPTURE_NOT_FOUND', `no capture ${id}: list() shows the running and recent ones`);
  }

  async finished(id: string): Promise<CaptureStatus> {
    const session = this.sessions.get(id);
    if (session) return session.finished();
    const done = this.history.find((s) => s.id === id);
    if (done) return done;
    throw new CaptureError('CAPTURE_NOT_FOUND', `no capture ${id}: list() shows the running and recent ones`);
  }

  private onFinished(session: RunningCapture, status: CaptureStatus): void {
    this.sessions.delete(session.id);
    this.totals.captured += status.captured.packets;
    this.totals.sampling += status.skipped.sampling;
    this.totals.rateLimit += status.skipped.rateLimit;
    this.totals.lost += status.skipped.lost;
    this.history.push(status);
    while (this.history.length > this.config.history) this.history.shift();
    const log = status.state === 'failed' ? this.settings.logger.warn : this.settings.logger.info;
    log.call(
      this.settings.logger,
      `capture ${status.id} ${status.state} (${status.end}): ${status.captured.packets} packets, ${status.captured.bytes} bytes, ${status.skipped.total} skipped; files ${status.files.join(', ')}${status.error ? `; ${status.error}` : ''}`,
    );
    const logs = this.next.logs;
    if (logs) this.track(logs.consume([this.finishedRecord(status)]).catch((e: unknown) => this.settings.logger.warn(`capture ${status.id}: its log event could not be delivered: ${(e as Error).message}`)));
  }

  /** The tcp.capture.finished log event of a final status. */
  finishedRecord(status: CaptureStatus): ReadableLogRecord {
    const attributes: Attributes = {
      [ATTR.captureId.key]: status.id,
      ...(status.name !== undefined ? { [ATTR.captureName.key]: status.name } : {}),
      [ATTR.captureReason.key]: status.reason,
      [ATTR.captureEnd.key]: status.end ?? 'stopped',
      [ATTR.captureSelection.key]: describeSelection(status.selection),
      [ATTR.captureFiles.key]: [...status.files],
      [ATTR.capturePackets.key]: status.captured.packets,
      [ATTR.captureBytes.key]: status.captured.bytes,
      [ATTR.captureSkipped.key]: status.skipped.total,
    };
    const ended = Date.parse(status.endedAt ?? new Date().toISOString());
    return {
      hrTime: [Math.floor(ended / 1000), (ended % 1000) * 1_000_000],
      hrTimeObserved: hrTimeNow(),
      eventName: EVENTS.captureFinished.name,
      body: `capture ${status.id} (${status.reason}) ${status.state}: ${status.captured.packets} packets in ${status.files.join(', ')}`,
      attributes,
      resource: this.settings.resource,
      instrumentationScope: this.scope,
      droppedAttributesCount: 0,
    };
  }

  /** tcpscope.capture.packets now: finished captures plus the running ones as they stand. */
  collect(): ResourceMetrics {
    const t = { ...this.totals };
    // Records of triggered captures lost in the watch's ring buffer.
    const watchCounts = this.watch?.counts();
    t.lost += watchCounts?.lost ?? 0;
    for (const session of this.sessions.values()) {
      const s = session.status();
      t.captured += s.captured.packets;
      t.sampling += s.skipped.sampling;
      t.rateLimit += s.skipped.rateLimit;
      t.lost += s.skipped.lost;
    }
    const metrics = captureMetrics({ receiverId: this.settings.id.text, packets: t, triggers: watchCounts, startTime: this.startTime, endTime: hrTimeNow() });
    return { resource: this.settings.resource, scopeMetrics: [{ scope: this.scope, metrics }] };
  }

  /** Ends every running capture (end 'shutdown'), delivers their events and the last metrics. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    captureServices.unregister(this.settings.id.text, this);
    // The watch first: no trigger starts a capture while the running ones are ended.
    this.watch?.close();
    await Promise.allSettled([...this.sessions.values()].map((s) => s.finish('shutdown')));
    await Promise.allSettled([...this.pending]);
    if (this.started && this.next.metrics) await this.next.metrics.consume(this.collect()).catch(() => undefined);
  }
}
