// The store's series as Prometheus metric families, independent of the wire format: names and
// labels per naming.ts, one family per Prometheus name (metrics of several scopes may share one),
// `target_info` from the Resource, histograms with classic buckets and, for exponential
// histograms, the native form (histograms.ts). text_format.ts and protobuf_format.ts only write
// these out.
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { DataPointType, type ExponentialHistogram, type Histogram } from '@opentelemetry/sdk-metrics';
import { classicBuckets, nativeHistogram, type ClassicBucket, type NativeHistogram } from './histograms';
import { prometheusLabelName, prometheusMetricName, type PrometheusType } from './naming';
import type { MetricsSnapshot, StoredMetric, StoredSeries } from './store';

export type Label = readonly [name: string, value: string];

export interface ValuePoint {
  readonly kind: 'value';
  readonly labels: readonly Label[];
  readonly value: number;
}

export interface HistogramPoint {
  readonly kind: 'histogram';
  readonly labels: readonly Label[];
  readonly count: number;
  readonly sum: number;
  /** Ascending, without +Inf (its cumulative count is `count`). */
  readonly classic: readonly ClassicBucket[];
  /** Exponential histograms only (and only when native histograms are wanted). */
  readonly native?: NativeHistogram;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: PrometheusType;
  readonly points: readonly (ValuePoint | HistogramPoint)[];
}

/** What becomes of an OpenTelemetry exponential histogram. */
export type ExponentialHistogramMode = 'native' | 'classic' | 'both';

export interface FamilyOptions {
  /** Resource attributes (OpenTelemetry keys) added as labels to every series. */
  readonly promoteResourceAttributes: readonly string[];
  /** otel_scope_name and otel_scope_version labels on every series. */
  readonly scopeLabels: boolean;
  readonly exponentialHistograms: ExponentialHistogramMode;
}

export const TARGET_INFO = 'target_info';
export const SCOPE_NAME_LABEL = 'otel_scope_name';
export const SCOPE_VERSION_LABEL = 'otel_scope_version';

/** What a metric is in Prometheus. */
export function prometheusType(metric: Pick<StoredMetric, 'dataPointType' | 'isMonotonic'>): PrometheusType {
  switch (metric.dataPointType) {
    case DataPointType.HISTOGRAM:
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return 'histogram';
    case DataPointType.SUM:
      // An up-down counter can go down: a gauge, as the spec says.
      return metric.isMonotonic ? 'counter' : 'gauge';
    default:
      return 'gauge';
  }
}

export interface FamiliesResult {
  readonly families: Family[];
  /** Metrics left out, and why (a name two metrics of different types map to). */
  readonly problems: string[];
}

export function buildFamilies(snapshot: MetricsSnapshot, options: FamilyOptions): FamiliesResult {
  const problems: string[] = [];
  const byName = new Map<string, { help: string; type: PrometheusType; owner: string; points: (ValuePoint | HistogramPoint)[] }>();
  const resourceAttributes: Attributes = snapshot.resource?.attributes ?? {};
  const promoted = options.promoteResourceAttributes.filter((key) => resourceAttributes[key] !== undefined);
  for (const series of snapshot.series) {
    const { metric } = series;
    const type = prometheusType(metric);
    const name = prometheusMetricName(metric.name, metric.unit, type);
    let family = byName.get(name);
    if (!family) {
      family = { help: metric.description, type, owner: metric.name, points: [] };
      byName.set(name, family);
    } else if (family.type !== type) {
      problems.push(`${metric.name} (${type}) and ${family.owner} (${family.type}) are both ${name} in Prometheus; ${metric.name} is left out`);
      continue;
    }
    const labels = seriesLabels(series, promoted.map((key) => [key, resourceAttributes[key]]), options.scopeLabels);
    family.points.push(toPoint(series, labels, options.exponentialHistograms));
  }
  const families: Family[] = [];
  const targetInfo = targetInfoFamily(resourceAttributes);
  if (targetInfo) families.push(targetInfo);
  for (const [name, family] of byName) {
    if (name === TARGET_INFO) continue;
    families.push({ name, help: family.help, type: family.type, points: family.points });
  }
  return { families, problems };
}

/**
 * `target_info`: the Resource's attributes as labels of one gauge of value 1 (the spec's info
 * metric for SDK pull exporters). It carries no job or instance label: Prometheus adds those of
 * the scrape target to every series it scrapes here, target_info included, which is what joins
 * target_info to the other series (`* on (job, instance) group_left(...) target_info`).
 */
function targetInfoFamily(attributes: Attributes): Family | undefined {
  const labels = attributeLabels(Object.entries(attributes));
  if (labels.length === 0) return undefined;
  return { name: TARGET_INFO, help: 'Target metadata', type: 'gauge', points: [{ kind: 'value', labels, value: 1 }] };
}

function seriesLabels(series: StoredSeries, promoted: readonly [string, AttributeValue | undefined][], scopeLabels: boolean): Label[] {
  const own = attributeLabels(Object.entries(series.attributes));
  const taken = new Set(own.map(([name]) => name));
  // A data point's own attribute wins over a promoted resource attribute of the same label name.
  const fromResource = attributeLabels(promoted).filter(([name]) => !taken.has(name));
  const labels = [...own, ...fromResource];
  if (scopeLabels) {
    labels.push([SCOPE_NAME_LABEL, series.metric.scope.name]);
    if (series.metric.scope.version) labels.push([SCOPE_VERSION_LABEL, series.metric.scope.version]);
  }
  return labels;
}

/** Attributes as labels; keys that sanitize to one name join their values with `;` in key order. */
export function attributeLabels(entries: readonly (readonly [string, AttributeValue | undefined])[]): Label[] {
  const byName = new Map<string, [string, string][]>();
  for (const [key, value] of entries) {
    if (value === undefined || value === null) continue;
    const name = prometheusLabelName(key);
    const list = byName.get(name) ?? [];
    list.push([key, labelValue(value)]);
    byName.set(name, list);
  }
  return [...byName].map(([name, values]) => [
    name,
    values
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([, v]) => v)
      .join(';'),
  ]);
}

function labelValue(value: AttributeValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function toPoint(series: StoredSeries, labels: Label[], mode: ExponentialHistogramMode): ValuePoint | HistogramPoint {
  switch (series.metric.dataPointType) {
    case DataPointType.HISTOGRAM: {
      const h = series.value as Histogram;
      let cumulative = 0;
      const classic = h.buckets.boundaries.map((le, i) => {
        cumulative += h.buckets.counts[i] ?? 0;
        return { le, cumulativeCount: cumulative };
      });
      return { kind: 'histogram', labels, count: h.count, sum: h.sum ?? 0, classic };
    }
    case DataPointType.EXPONENTIAL_HISTOGRAM: {
      const h = series.value as ExponentialHistogram;
      const classic = classicBuckets(h);
      if (mode === 'classic') return { kind: 'histogram', labels, count: h.count, sum: h.sum ?? 0, classic };
      // A scale below the native schemas' -4 stays classic (nativeHistogram says undefined).
      const native = nativeHistogram(h);
      return { kind: 'histogram', labels, count: h.count, sum: h.sum ?? 0, classic, ...(native ? { native } : {}) };
    }
    default:
      return { kind: 'value', labels, value: series.value as number };
  }
}
