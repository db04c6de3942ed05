// The tcp_lifecycle receiver: loads bpf/tcp_lifecycle.bpf.c, turns its ring buffer events into
// log records and its kernel aggregates into metrics every collection_interval.
import type { HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BpfObject } from '../../bridge/bpf_object';
import { forEachRecord, type RingReader } from '../../bridge/ring_reader';
import type { Consumers, CreateSettings, Host, Receiver } from '../../component';
import { parseDuration } from '../../exporters/duration';
import { CgroupResolver } from '../../host/cgroup_resolver';
import { hrTimeNow, MonotonicClock } from '../../host/monotonic_clock';
import { bpfObjectPath } from '../../paths';
import { VERSION } from '../../version';
import type { TcpLifecycleConfig } from './config';
import { decodeLifecycleEvent } from './decoder';
import { CONSTANTS, OVERFLOW_CGROUP_ID, STATS_SIZE } from './layout';
import { lifecycleLogRecord, type LogRecordContext } from './log_records';
import { lifecycleMetrics } from './metrics';
import { statsKey, sumWorkloadStats } from './stats';

const MAPS = {
  events: 'tcp_lifecycle_events',
  sockets: 'tcp_lifecycle_sockets',
  stats: 'tcp_lifecycle_stats',
  drops: 'tcp_lifecycle_drops',
} as const;

/**
 * Event batches handed to the logs pipeline and not yet done with. At this many the ring reader
 * pauses: the kernel ring buffer absorbs the burst and counts what it cannot hold, instead of
 * the agent's heap growing without bound behind a slow exporter.
 */
const MAX_LOG_BATCHES_IN_FLIGHT = 4;

const ACCEPT_PROGRAMS = ['tcp_lifecycle_accept4_exit', 'tcp_lifecycle_accept_exit'] as const;

export class TcpLifecycleReceiver implements Receiver {
  private bpf: BpfObject | undefined;
  private ring: RingReader | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startTime: HrTime = hrTimeNow();
  private readonly cgroups = new CgroupResolver();
  private readonly scope: InstrumentationScope = { name: 'tcpscope/receiver/tcp_lifecycle', version: VERSION };
  private decodeFailures = 0;
  private logBatchesInFlight = 0;
  private stopped = false;
  /** Pushes in flight, awaited by shutdown so that nothing is cut off mid-way. */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: TcpLifecycleConfig,
    private readonly next: Consumers,
    private readonly objectPath = bpfObjectPath('tcp_lifecycle'),
  ) {}

  async start(_host: Host): Promise<void> {
    const events = this.next.logs !== undefined;
    const bpf = BpfObject.openAndLoad(this.objectPath, (object) => {
      object.setGlobalU32('cfg_events_enabled', events ? 1 : 0);
      object.setGlobalU32('cfg_wakeup_min_bytes', this.config.wakeup_min_bytes);
      // The accept hooks only name the owner of server sockets for events. Syscall tracepoints
      // put every syscall of every process on a slower path, so metrics-only runs go without.
      for (const program of ACCEPT_PROGRAMS) object.setAutoload(program, events);
      object.setMaxEntries(MAPS.events, this.config.ring_buffer_size);
      object.setMaxEntries(MAPS.sockets, this.config.max_connections);
      // +2: the overflow series of each role always has its slot
      object.setMaxEntries(MAPS.stats, this.config.max_cgroups + 2);
    });
    try {
      const zero = Buffer.alloc(STATS_SIZE * bpf.possibleCpus());
      for (const role of [CONSTANTS.TCP_LIFECYCLE_ROLE_CLIENT, CONSTANTS.TCP_LIFECYCLE_ROLE_SERVER]) {
        bpf.updateMap(MAPS.stats, statsKey(OVERFLOW_CGROUP_ID, role), zero);
      }
      this.cgroups.scan();
      const context: LogRecordContext = {
        resource: this.settings.resource,
        scope: this.scope,
        clock: new MonotonicClock(),
        cgroups: this.cgroups,
      };
      if (this.next.logs) {
        this.ring = bpf.openRing(MAPS.events, (batch, records, errno) => this.onBatch(batch, records, errno, context), parseDuration(this.config.drain_interval));
      }
      const attached = bpf.attach();
      this.startTime = hrTimeNow();
      this.bpf = bpf;
      this.settings.logger.info(
        `attached ${attached.map((p) => p.section).join(', ')}; ` +
          `signals: ${[this.next.metrics && 'metrics', this.next.logs && 'logs'].filter(Boolean).join(', ')}`,
      );
    } catch (error) {
      bpf.close();
      this.ring = undefined;
      throw error;
    }
    if (this.next.metrics) {
      const interval = parseDuration(this.config.collection_interval);
      this.timer = setInterval(() => this.track(this.pushMetrics()), interval);
    }
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  private onBatch(batch: Buffer, records: number, errno: number, context: LogRecordContext): void {
    if (errno !== 0) this.settings.logger.warn(`ring buffer read lost records (errno ${errno})`);
    const consumer = this.next.logs;
    if (!consumer || records === 0) return;
    const logRecords: ReadableLogRecord[] = [];
    forEachRecord(batch, (offset, length) => {
      try {
        logRecords.push(lifecycleLogRecord(decodeLifecycleEvent(batch, offset, length), context));
      } catch (error) {
        if (this.decodeFailures++ === 0) this.settings.logger.error(`cannot decode an event: ${(error as Error).message}`);
      }
    });
    this.logBatchesInFlight++;
    if (this.logBatchesInFlight >= MAX_LOG_BATCHES_IN_FLIGHT) this.ring?.pause();
    this.track(
      consumer
        .consume(logRecords)
        .catch((error: unknown) => {
          this.settings.logger.warn(`logs pipeline rejected ${logRecords.length} events: ${(error as Error).message}`);
        })
        .finally(() => {
          if (this.logBatchesInFlight-- === MAX_LOG_BATCHES_IN_FLIGHT) this.ring?.resume();
        }),
    );
  }

  /** Reads the kernel aggregates now; what the metrics pipeline receives each interval. */
  collect(): ResourceMetrics {
    const bpf = this.bpf;
    if (!bpf) throw new Error('tcp_lifecycle is not started');
    const stats = sumWorkloadStats(bpf.readMap(MAPS.stats));
    const drops = bpf.readMap(MAPS.drops);
    let droppedEvents = 0n;
    for (let cpu = 0; cpu < drops.cpus; cpu++) {
      for (let i = 0; i < drops.count; i++) {
        if (drops.key(i).readUInt32LE(0) === CONSTANTS.TCP_LIFECYCLE_DROP_RINGBUF) droppedEvents += drops.value(i, cpu).readBigUInt64LE(0);
      }
    }
    const metrics = lifecycleMetrics({
      stats,
      droppedEvents,
      receiverId: this.settings.id.text,
      startTime: this.startTime,
      endTime: hrTimeNow(),
      cgroups: this.cgroups,
    });
    return { resource: this.settings.resource, scopeMetrics: [{ scope: this.scope, metrics }] };
  }

  private async pushMetrics(): Promise<void> {
    const consumer = this.next.metrics;
    if (!consumer || !this.bpf) return;
    try {
      await consumer.consume(this.collect());
    } catch (error) {
      this.settings.logger.warn(`metrics collection failed: ${(error as Error).message}`);
    }
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // Final flush: the ring buffer's remaining events, then one last metrics collection.
    this.ring?.close();
    if (this.bpf && this.next.metrics) this.track(this.pushMetrics());
    await Promise.allSettled([...this.pending]);
    this.bpf?.close();
    this.bpf = undefined;
  }
}
