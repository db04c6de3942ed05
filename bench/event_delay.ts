// The agent's tcpscope.exporter.event_delay histogram (kernel event -> hand-off to the exporter)
// read back from the final metrics export a benchmark round wrote, merged over rounds, and its
// quantiles interpolated linearly inside a bucket (the histogram has no finer information; the
// exact min and max bound the first and last buckets).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ATTR } from '../src/telemetry/attributes';
import { METRICS } from '../src/telemetry/signals';

/** One exporter's cumulative event delays, in seconds. */
export interface DelayHistogram {
  readonly boundaries: readonly number[];
  /** boundaries.length + 1 counts, (lower, upper]. */
  readonly counts: readonly number[];
  readonly count: number;
  readonly sum: number;
  readonly min: number | undefined;
  readonly max: number | undefined;
}

interface JsonPoint {
  readonly attributes?: readonly { readonly key: string; readonly value?: { readonly stringValue?: string } }[];
  readonly count?: string | number;
  readonly sum?: number;
  readonly min?: number;
  readonly max?: number;
  readonly bucketCounts?: readonly (string | number)[];
  readonly explicitBounds?: readonly number[];
}
interface JsonLine {
  readonly resourceMetrics?: readonly {
    readonly scopeMetrics?: readonly { readonly metrics?: readonly { readonly name: string; readonly histogram?: { readonly dataPoints?: readonly JsonPoint[] } }[] }[];
  }[];
}

/**
 * The histogram of `exporter` in the last export of the metrics file (OTLP/JSON lines) that has
 * it; without `exporter`, of the one exporter that takes logs (more than one is an error).
 */
export async function readEventDelay(path: string, exporter?: string): Promise<DelayHistogram | undefined> {
  let last: DelayHistogram | undefined;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    // Only lines that can carry it are parsed: the file holds every export of the round.
    if (!line.includes(METRICS.exporterEventDelay.name)) continue;
    for (const resource of (JSON.parse(line) as JsonLine).resourceMetrics ?? []) {
      for (const scope of resource.scopeMetrics ?? []) {
        for (const metric of scope.metrics ?? []) {
          if (metric.name !== METRICS.exporterEventDelay.name) continue;
          const points = metric.histogram?.dataPoints ?? [];
          if (exporter === undefined && points.length > 1) throw new Error(`${path}: ${points.length} exporters take logs: name the one to read`);
          const point = exporter === undefined ? points[0] : points.find((p) => p.attributes?.some((a) => a.key === ATTR.exporter.key && a.value?.stringValue === exporter));
          if (point) last = fromJson(point);
        }
      }
    }
  }
  return last;
}

function fromJson(point: JsonPoint): DelayHistogram {
  const count = Number(point.count ?? 0);
  return {
    boundaries: [...(point.explicitBounds ?? [])],
    counts: (point.bucketCounts ?? []).map(Number),
    count,
    sum: point.sum ?? 0,
    min: count > 0 ? point.min : undefined,
    max: count > 0 ? point.max : undefined,
  };
}

/** Several rounds' histograms as one (same boundaries, as the agent always exports). */
export function mergeDelays(histograms: readonly DelayHistogram[]): DelayHistogram | undefined {
  if (histograms.length === 0) return undefined;
  const [first] = histograms;
  for (const h of histograms) {
    if (h.boundaries.join() !== first.boundaries.join()) throw new Error('event delay histograms with different boundaries cannot be merged');
  }
  const defined = (values: (number | undefined)[]) => values.filter((v): v is number => v !== undefined);
  const mins = defined(histograms.map((h) => h.min));
  const maxes = defined(histograms.map((h) => h.max));
  return {
    boundaries: first.boundaries,
    counts: first.counts.map((_, i) => histograms.reduce((sum, h) => sum + (h.counts[i] ?? 0), 0)),
    count: histograms.reduce((sum, h) => sum + h.count, 0),
    sum: histograms.reduce((sum, h) => sum + h.sum, 0),
    min: mins.length ? Math.min(...mins) : undefined,
    max: maxes.length ? Math.max(...maxes) : undefined,
  };
}

/**
 * The q-quantile (0 < q <= 1), interpolated linearly inside the bucket that holds it, whose edges
 * are narrowed to the exact min and max. Undefined without records.
 */
export function delayQuantile(h: DelayHistogram | undefined, q: number): number | undefined {
  if (!h || h.count === 0) return undefined;
  const rank = q * h.count;
  let below = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const inBucket = h.counts[i];
    if (inBucket > 0 && below + inBucket >= rank) {
      let lower = i === 0 ? 0 : h.boundaries[i - 1];
      let upper = i < h.boundaries.length ? h.boundaries[i] : (h.max ?? lower);
      if (h.min !== undefined) lower = Math.max(lower, Math.min(h.min, upper));
      if (h.max !== undefined) upper = Math.min(upper, h.max);
      return lower + ((upper - lower) * (rank - below)) / inBucket;
    }
    below += inBucket;
  }
  return h.max;
}
