// How long events take from the kernel to an exporter: at each hand-off of log records to an
// exporter, now − the record's timestamp (the kernel event time converted to wall time) goes into
// a fixed bucket array per exporter, exported as `tcpscope.exporter.event_delay` with the agent's
// other self-metrics. It includes the ring buffer's batching (wake-ups every wakeup_min_bytes, or
// the drain timer when traffic is quiet), decoding, the processors and any back-pressure; not the
// exporter's own batching and sending.
//
// Per record this is two subtractions and a short bucket scan: no OpenTelemetry instrument, no
// allocation, one clock read per batch.
import { ValueType, type HrTime } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumer } from '../component';
import { hrTimeNow, processMonotonicClock } from '../host/monotonic_clock';
import { ATTR } from '../telemetry/attributes';
import { METRICS } from '../telemetry/signals';
import { AGENT_SCOPE } from './exporter_drops';

/**
 * Upper bounds in seconds, (lower, upper] as OpenTelemetry defines them: 1, 1.5, 2, 3, 5, 7.5 per
 * decade from 1 ms to 10 s, so that a bucket-interpolated p50 or p99 is within a bucket's width
 * (at most 1.5×) of the truth; a last bucket holds everything above 10 s.
 */
export const EVENT_DELAY_BOUNDARIES_S: readonly number[] = [
  0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075,
  0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
  0.1, 0.15, 0.2, 0.3, 0.5, 0.75,
  1, 1.5, 2, 3, 5, 7.5,
  10,
];

// Compared in whole nanoseconds, where a record's delay is exact (below 2^53 ns, 104 days), so
// that a delay equal to a bound falls in that bound's bucket whatever the seconds carry.
const BOUNDS_NS = Float64Array.from(EVENT_DELAY_BOUNDARIES_S, (s) => Math.round(s * 1e9));
const LAST = BOUNDS_NS.length;

/** One exporter's delays since the agent started: bucket counts, sum, min and max in seconds. */
export class EventDelayHistogram {
  readonly counts = new Float64Array(LAST + 1);
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  /**
   * Adds the delay of every record against `now`. A delay below 0 is counted as 0: with the
   * agent's own receivers it cannot happen (they stamp records through the clock `now` is read
   * from, whose wall offset only rises) unless the wall clock was stepped back.
   */
  recordAll(records: readonly ReadableLogRecord[], now: HrTime): void {
    const nowSeconds = now[0];
    const nowNanos = now[1];
    const counts = this.counts;
    let sumNs = 0;
    let minNs = Infinity;
    let maxNs = -Infinity;
    let counted = 0;
    for (let r = 0; r < records.length; r++) {
      const t = records[r].hrTime as HrTime | undefined;
      // A record without a timestamp (none of the agent's) is not measured: measuring never fails an export.
      if (t === undefined) continue;
      counted++;
      let ns = (nowSeconds - t[0]) * 1e9 + (nowNanos - t[1]);
      if (!(ns > 0)) ns = 0;
      let i = 0;
      while (i < LAST && ns > BOUNDS_NS[i]) i++;
      counts[i]++;
      sumNs += ns;
      if (ns < minNs) minNs = ns;
      if (ns > maxNs) maxNs = ns;
    }
    this.count += counted;
    this.sum += sumNs / 1e9;
    this.min = Math.min(this.min, minNs / 1e9);
    this.max = Math.max(this.max, maxNs / 1e9);
  }
}

/** Reads wall-clock now once per hand-off. */
export type WallClock = () => HrTime;

const PROCESS_WALL_CLOCK: WallClock = () => processMonotonicClock().nowHrTime();

/** The event delay histograms of a service's exporters, by exporter id. */
export class EventDelays {
  private readonly byExporter = new Map<string, EventDelayHistogram>();
  private readonly startTime: HrTime;

  constructor(
    private readonly now: WallClock = PROCESS_WALL_CLOCK,
    /** When the cumulative histograms start; the wall clock's now when not given. */
    startTime?: HrTime,
  ) {
    this.startTime = startTime ?? now();
  }

  /** `consumer` (exporter `id`'s logs consumer) with every hand-off measured into `id`'s histogram. */
  meter(id: string, consumer: Consumer<'logs'>): Consumer<'logs'> {
    let histogram = this.byExporter.get(id);
    if (histogram === undefined) {
      histogram = new EventDelayHistogram();
      this.byExporter.set(id, histogram);
    }
    return new MeteredLogsConsumer(histogram, consumer, this.now);
  }

  histogram(id: string): EventDelayHistogram | undefined {
    return this.byExporter.get(id);
  }

  /** The metric, one data point per exporter that takes logs (zero counts included); undefined when none does. */
  metric(endTime: HrTime = hrTimeNow()): MetricData | undefined {
    if (this.byExporter.size === 0) return undefined;
    const def = METRICS.exporterEventDelay;
    return {
      descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [...this.byExporter].map(([id, h]) => ({
        startTime: this.startTime,
        endTime,
        attributes: { [ATTR.exporter.key]: id },
        value: {
          buckets: { boundaries: [...EVENT_DELAY_BOUNDARIES_S], counts: Array.from(h.counts) },
          sum: h.sum,
          count: h.count,
          ...(h.count > 0 ? { min: h.min, max: h.max } : {}),
        },
      })),
    };
  }
}

class MeteredLogsConsumer implements Consumer<'logs'> {
  constructor(
    private readonly histogram: EventDelayHistogram,
    private readonly next: Consumer<'logs'>,
    private readonly now: WallClock,
  ) {}

  consume(records: readonly ReadableLogRecord[]): Promise<void> {
    if (records.length > 0) this.histogram.recordAll(records, this.now());
    return this.next.consume(records);
  }
}

/**
 * Adds the event delay histograms to every metrics export, in the `tcpscope/agent` scope beside
 * the exporter drops and process metrics (right before the exporters: processors cannot remove it).
 */
export class EventDelayAppender implements Consumer<'metrics'> {
  constructor(
    private readonly delays: EventDelays,
    private readonly next: Consumer<'metrics'>,
  ) {}

  consume(data: ResourceMetrics): Promise<void> {
    const metric = this.delays.metric();
    if (metric === undefined) return this.next.consume(data);
    const index = data.scopeMetrics.findIndex((s) => s.scope.name === AGENT_SCOPE.name);
    const scopeMetrics =
      index < 0
        ? [...data.scopeMetrics, { scope: AGENT_SCOPE, metrics: [metric] }]
        : data.scopeMetrics.map((s, i) => (i === index ? { scope: s.scope, metrics: [...s.metrics, metric] } : s));
    return this.next.consume({ resource: data.resource, scopeMetrics });
  }
}
