// What every eBPF receiver does the same way: load its object with settings written before load,
// stream ring buffer events to the logs pipeline (EventPump), read kernel aggregates every
// collection_interval for the metrics pipeline, and on shutdown drain the ring, push metrics one
// last time and detach. A receiver supplies only what is its own (KernelReceiverSpec).
import type { HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BpfObject, type ProgramInfo } from '../../bridge/bpf_object';
import type { Consumers, CreateSettings, Host, Receiver } from '../../component';
import { parseDuration, type DurationSetting } from '../../exporters/duration';
import { CgroupResolver, findCgroupV2Root } from '../../host/cgroup_resolver';
import { hrTimeNow, processMonotonicClock } from '../../host/monotonic_clock';
import { BpfLoadError } from '../../errors';
import type { Readiness, ReportsReadiness } from '../../health/readiness';
import { VERSION } from '../../version';
import type { LogRecordContext } from './log_record_context';
import { CgroupSeriesReaper } from './cgroup_series';
import { duplicateProgramsWarning, programsLikeOurs } from './duplicate_programs';
import { EventPump } from './event_pump';
import { kernelSampling, type KernelSampling } from './kernel_sampling';
import { lossCounterMetrics } from './loss_counters';
import { RawEventCaches, type RawBatch } from './raw_events';

/** errno of a refused bpf() command. */
const EPERM = 1;

/** The `const volatile` global of bpf/connection_sampling.h in every program with events. */
const SAMPLING_GLOBAL = 'cfg_sampling';
/** The `const volatile` switch of the connection hash in event records (on unless set to 0). */
const CONNECTION_HASH_GLOBAL = 'cfg_connection_hash';

export interface KernelReceiverSettings {
  readonly collection_interval: DurationSetting;
  /** For receivers with events. */
  readonly drain_interval?: DurationSetting;
  /** For receivers with events: evaluate CreateSettings.logsSampling in the kernel (default on). */
  readonly sampling_pushdown?: boolean;
}

export interface KernelReceiverSpec {
  /** The ring buffer map events arrive on; absent for metrics-only receivers. */
  readonly eventsMap?: string;
  /** Globals, map sizes, autoload: everything written before load. */
  prepare(bpf: BpfObject, eventsWanted: boolean): void;
  /** After load, before attach (e.g. overflow series, filter maps). */
  initialize?(bpf: BpfObject): void;
  decode?(batch: Buffer, offset: number, length: number, context: LogRecordContext, observed: HrTime): ReadableLogRecord;
  /**
   * Instead of decode: a record backed by the batch's bytes (raw_events.ts), which shares the
   * per-batch and per-receiver caches of `batch`.
   */
  decodeRaw?(batch: RawBatch, offset: number, length: number): ReadableLogRecord;
  /** Metrics from the kernel aggregates, read now. */
  metrics(bpf: BpfObject, startTime: HrTime, endTime: HrTime): MetricData[];
  /** Aggregate updates the kernel folded into the overflow series (series map full), read now. */
  overflowUpdates(bpf: BpfObject): bigint;
  /** Called every collection_interval before metrics (e.g. refreshing filter maps). */
  refresh?(bpf: BpfObject): void;
}

/** Sum of a per-CPU array of u64 counters at `index`. */
export function perCpuCounter(bpf: BpfObject, map: string, index: number): bigint {
  const entries = bpf.readMap(map);
  let total = 0n;
  for (let i = 0; i < entries.count; i++) {
    if (entries.key(i).readUInt32LE(0) !== index) continue;
    for (let cpu = 0; cpu < entries.cpus; cpu++) total += entries.value(i, cpu).readBigUInt64LE(0);
  }
  return total;
}

/** Every slot of a per-CPU array of u64 counters, each summed over the CPUs, in one map read. */
export function perCpuCounters(bpf: BpfObject, map: string, slots: number): bigint[] {
  const entries = bpf.readMap(map);
  const totals = new Array<bigint>(slots).fill(0n);
  for (let i = 0; i < entries.count; i++) {
    const index = entries.key(i).readUInt32LE(0);
    if (index >= slots) continue;
    for (let cpu = 0; cpu < entries.cpus; cpu++) totals[index] += entries.value(i, cpu).readBigUInt64LE(0);
  }
  return totals;
}

export class KernelReceiver implements Receiver, ReportsReadiness {
  /** The loaded object while started; subclasses read their own maps through it. */
  protected bpf: BpfObject | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the programs attached: the start time of every cumulative series. */
  protected startTime: HrTime = hrTimeNow();
  private pump: EventPump | undefined;
  private stopped = false;
  /** Metrics pushes in flight, awaited by shutdown. */
  private readonly pending = new Set<Promise<void>>();
  /** Walks the host's cgroup2 root the agent checked at start-up (CreateSettings.hostCgroupRoot). */
  readonly cgroups: CgroupResolver;
  /** Removes the kernel series of vanished cgroups after their last export (spec.metrics uses it). */
  readonly series: CgroupSeriesReaper;
  readonly scope: InstrumentationScope;

  constructor(
    protected readonly settings: CreateSettings,
    private readonly config: KernelReceiverSettings,
    private readonly next: Consumers,
    private readonly objectPath: string,
    private readonly spec: KernelReceiverSpec,
  ) {
    this.scope = { name: `tcpscope/receiver/${settings.id.type}`, version: VERSION };
    this.cgroups = new CgroupResolver(settings.hostCgroupRoot ?? findCgroupV2Root());
    this.series = new CgroupSeriesReaper(this.cgroups);
  }

  /** What the kernel evaluates of the logs pipelines' sampling predicate (events receivers). */
  private pushedDownSampling(): KernelSampling | undefined {
    const sampling = this.settings.logsSampling;
    if (!this.next.logs || !this.spec.eventsMap || !sampling) return undefined;
    if (this.config.sampling_pushdown === false) {
      this.settings.logger.info('sampling is not pushed down to the kernel (sampling_pushdown: false): every event crosses to the processor');
      return undefined;
    }
    const pushed = kernelSampling(sampling);
    this.settings.logger.info(pushed.enabled ? `sampling pushed down to the kernel: ${pushed.description}` : `sampling is not pushed down to the kernel: ${pushed.description}`);
    return pushed;
  }

  /** The EventPump's record decoder: spec.decodeRaw with its caches, or spec.decode. */
  private recordDecoder(): ((batch: Buffer, offset: number, length: number, observed: HrTime) => ReadableLogRecord) | undefined {
    const { decode, decodeRaw } = this.spec;
    const context: LogRecordContext = { resource: this.settings.resource, scope: this.scope, clock: processMonotonicClock(), cgroups: this.cgroups };
    if (decodeRaw) {
      const caches = new RawEventCaches(context);
      // Every batch is a fresh Buffer (the pump calls this for each of its records in turn).
      let current: Buffer | undefined;
      let raw: RawBatch | undefined;
      return (batch, offset, length, observed) => {
        if (batch !== current || raw === undefined) {
          current = batch;
          raw = caches.batch(batch, observed);
        }
        return decodeRaw(raw, offset, length);
      };
    }
    if (decode) return (batch, offset, length, observed) => decode(batch, offset, length, context, observed);
    return undefined;
  }

  async start(_host: Host): Promise<void> {
    const logs = this.next.logs;
    const sampling = this.pushedDownSampling();
    const bpf = BpfObject.openAndLoad(this.objectPath, (object) => {
      this.spec.prepare(object, logs !== undefined);
      if (sampling) object.setGlobal(SAMPLING_GLOBAL, sampling.settings);
      // The hash costs kernel time per socket and only sampling reads it (bpf/connection_sampling.h).
      if (this.spec.eventsMap && this.settings.logsSampled === false) object.setGlobalU32(CONNECTION_HASH_GLOBAL, 0);
    });
    try {
      this.spec.initialize?.(bpf);
      this.cgroups.scan();
      const { eventsMap } = this.spec;
      const toRecord = this.recordDecoder();
      if (logs && eventsMap && toRecord) {
        const pump = new EventPump(this.settings.logger, logs, toRecord);
        pump.attach(bpf.openRing(eventsMap, pump.onBatch, parseDuration(this.config.drain_interval ?? '100ms')));
        this.pump = pump;
      }
      const attached = bpf.attach();
      this.startTime = hrTimeNow();
      this.bpf = bpf;
      this.warnIfAttachedElsewhere(bpf);
      this.settings.logger.info(
        `attached ${attached.map((p) => p.section).join(', ')}; signals: ${[this.next.metrics && 'metrics', logs && 'logs'].filter(Boolean).join(', ')}`,
      );
    } catch (error) {
      this.pump = undefined;
      bpf.close();
      throw error;
    }
    const interval = parseDuration(this.config.collection_interval);
    this.timer = setInterval(() => this.pushMetrics(), interval);
  }

  /** Reads the kernel aggregates now; what the metrics pipeline receives each interval. */
  collect(): ResourceMetrics {
    const bpf = this.bpf;
    if (!bpf) throw new Error(`${this.settings.id.text} is not started`);
    const endTime = hrTimeNow();
    const metrics = this.spec.metrics(bpf, this.startTime, endTime);
    metrics.push(
      ...lossCounterMetrics({
        receiverId: this.settings.id.text,
        programs: bpf.programInfo(),
        overflowUpdates: this.spec.overflowUpdates(bpf),
        startTime: this.startTime,
        endTime,
      }),
    );
    return { resource: this.settings.resource, scopeMetrics: [{ scope: this.scope, metrics }] };
  }

  /** The kernel's counters of this receiver's loaded programs (empty when not started). */
  programInfo(): ProgramInfo[] {
    return this.bpf?.programInfo() ?? [];
  }

  /** Warns when programs like ours that are not ours are loaded (another agent on this host). */
  private warnIfAttachedElsewhere(bpf: BpfObject): void {
    try {
      const others = programsLikeOurs(bpf.programInfo(), BpfObject.loadedPrograms());
      if (others.length > 0) this.settings.logger.warn(duplicateProgramsWarning(this.settings.id.type, others));
    } catch (error) {
      // Listing the host's programs needs CAP_SYS_ADMIN; with only CAP_BPF + CAP_PERFMON it is refused.
      // The bridge's generic EPERM advice (CAP_BPF + CAP_PERFMON) would mislead here: those are held.
      const cause = error instanceof BpfLoadError && error.errno === EPERM ? 'refused (EPERM)' : (error as Error).message;
      this.settings.logger.info(`cannot check whether another agent's programs are attached: listing the host's BPF programs needs CAP_SYS_ADMIN (${cause})`);
    }
  }

  private pushMetrics(): void {
    if (!this.bpf) return;
    try {
      this.spec.refresh?.(this.bpf);
    } catch (error) {
      this.settings.logger.warn(`refresh failed: ${(error as Error).message}`);
    }
    const consumer = this.next.metrics;
    if (!consumer) return;
    const push = (async () => {
      try {
        await consumer.consume(this.collect());
      } catch (error) {
        this.settings.logger.warn(`metrics collection failed: ${(error as Error).message}`);
      }
    })();
    this.pending.add(push);
    void push.finally(() => this.pending.delete(push));
  }

  /** Ready once its programs attached (start() resolved), until shutdown. */
  readiness(): Readiness {
    if (this.stopped) return { ready: false, reason: 'shut down' };
    if (!this.bpf) return { ready: false, reason: 'programs not attached yet' };
    return { ready: true };
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // Final flush: the ring buffer's remaining events, then one last metrics collection.
    const last = this.bpf && this.next.metrics ? this.next.metrics.consume(this.collect()).catch((error: unknown) => {
      this.settings.logger.warn(`final metrics collection failed: ${(error as Error).message}`);
    }) : undefined;
    await this.pump?.settle();
    await Promise.allSettled([...this.pending, last]);
    this.bpf?.close();
    this.bpf = undefined;
  }
}
