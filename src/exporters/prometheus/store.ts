// What the prometheus exporter serves: the latest cumulative data point of every series the
// metrics pipelines handed it, kept between scrapes.
//
// Why a store of the latest push and not a collection on scrape: the receivers read the kernel
// every collection_interval and push the result through the pipeline's processors
// (k8s_attributes names the workloads), so a scrape cannot pull from a receiver without skipping
// those processors. Every point is cumulative (start time = receiver start, or the restart of a
// series), so the latest point of a series is the whole truth about it up to its read: serving it
// again on the next scrape repeats a true value, never double counts, and the scrape interval
// does not have to match the collection interval.
//
// Series that end (a removed cgroup's series leave the kernel map after the export carrying their
// final values, see src/receivers/common/cgroup_series.ts): a series missing from a newer push of
// its metric is served by one more scrape if no scrape has served its last values yet, then
// dropped, so Prometheus sees the final count and then marks the series stale, and nothing is
// served forever. Should nobody scrape, such a series is dropped after `expireMs` anyway, so the
// store stays bounded on a node whose pods churn.
//
// Only cumulative points are kept: a delta point is an increment, which a pull endpoint would
// have to add up itself (the receivers export cumulative data; the exporter logs once and skips
// delta metrics rather than serve increments as totals).
import type { Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { InstrumentationScope } from '@opentelemetry/core';

/** A metric's identity and metadata, as the latest push described it. */
export interface StoredMetric {
  readonly scope: InstrumentationScope;
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly dataPointType: DataPointType;
  /** Sums only. */
  readonly isMonotonic: boolean;
}

export interface StoredSeries {
  readonly metric: StoredMetric;
  readonly attributes: Attributes;
  readonly value: MetricData['dataPoints'][number]['value'];
}

interface Entry {
  metric: StoredMetric;
  series: Map<string, SeriesState>;
}

interface SeriesState {
  series: StoredSeries;
  /** A scrape has served this point since it arrived. */
  served: boolean;
  /** When a newer push of its metric no longer had it (monotonic ms), else undefined. */
  vanishedAt: number | undefined;
}

export interface MetricsSnapshot {
  readonly resource: Resource | undefined;
  readonly series: readonly StoredSeries[];
}

/** Vanished series never scraped are dropped after this long (ms) by default. */
export const DEFAULT_EXPIRE_MS = 5 * 60_000;

export class MetricsStore {
  private readonly entries = new Map<string, Entry>();
  private resource: Resource | undefined;
  private readonly skippedDelta = new Set<string>();

  constructor(
    private readonly onDeltaSkipped: (metricName: string) => void = () => {},
    private readonly expireMs = DEFAULT_EXPIRE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one push of the metrics pipeline. */
  update(data: ResourceMetrics): void {
    this.resource = data.resource;
    const now = this.now();
    for (const { scope, metrics } of data.scopeMetrics) {
      for (const metric of metrics) {
        if (metric.aggregationTemporality !== AggregationTemporality.CUMULATIVE && metric.dataPointType !== DataPointType.GAUGE) {
          if (!this.skippedDelta.has(metric.descriptor.name)) {
            this.skippedDelta.add(metric.descriptor.name);
            this.onDeltaSkipped(metric.descriptor.name);
          }
          continue;
        }
        this.updateMetric(scope, metric, now);
      }
    }
    this.expire(now);
  }

  /**
   * What a scrape serves now: every current series, and every vanished one whose last values no
   * scrape has served yet. Marks them served; vanished ones leave the store.
   */
  scrape(): MetricsSnapshot {
    const series: StoredSeries[] = [];
    for (const [key, entry] of this.entries) {
      for (const [seriesKey, state] of entry.series) {
        series.push(state.series);
        state.served = true;
        if (state.vanishedAt !== undefined) entry.series.delete(seriesKey);
      }
      if (entry.series.size === 0) this.entries.delete(key);
    }
    return { resource: this.resource, series };
  }

  /** Series held now (current and vanished-but-not-yet-served), for tests and bounds. */
  size(): number {
    let n = 0;
    for (const entry of this.entries.values()) n += entry.series.size;
    return n;
  }

  private updateMetric(scope: InstrumentationScope, data: MetricData, now: number): void {
    const key = `${scope.name}\u0000${scope.version ?? ''}\u0000${data.descriptor.name}`;
    const metric: StoredMetric = {
      scope,
      name: data.descriptor.name,
      description: data.descriptor.description,
      unit: data.descriptor.unit,
      dataPointType: data.dataPointType,
      isMonotonic: data.dataPointType === DataPointType.SUM ? data.isMonotonic : false,
    };
    const previous = this.entries.get(key)?.series ?? new Map<string, SeriesState>();
    const next = new Map<string, SeriesState>();
    for (const point of data.dataPoints) {
      next.set(attributesKey(point.attributes), { series: { metric, attributes: point.attributes, value: point.value }, served: false, vanishedAt: undefined });
    }
    for (const [seriesKey, state] of previous) {
      if (next.has(seriesKey) || state.served) continue;
      // Its last values have not been scraped yet: kept for one scrape.
      next.set(seriesKey, { ...state, vanishedAt: state.vanishedAt ?? now });
    }
    this.entries.set(key, { metric, series: next });
  }

  private expire(now: number): void {
    for (const [key, entry] of this.entries) {
      for (const [seriesKey, state] of entry.series) {
        if (state.vanishedAt !== undefined && now - state.vanishedAt >= this.expireMs) entry.series.delete(seriesKey);
      }
      if (entry.series.size === 0) this.entries.delete(key);
    }
  }
}

/** One key per attribute set, independent of the order the keys were set in. */
export function attributesKey(attributes: Attributes): string {
  return JSON.stringify(Object.keys(attributes).sort().map((k) => [k, attributes[k]]));
}
