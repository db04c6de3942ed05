// OpenTelemetry exponential histograms as Prometheus histograms, both ways Prometheus knows:
//
// - native (sparse) histograms: schema = scale. Both use base 2^(2^-scale); OpenTelemetry bucket
//   i covers (base^i, base^(i+1)], Prometheus bucket k covers (base^(k-1), base^k], so k = i + 1.
//   Prometheus accepts schemas -4..8: a larger scale is merged down to 8 (bucket i at scale s is
//   inside bucket i >> (s - 8) at scale 8, exactly), a scale below -4 cannot be expressed (the
//   point is left out, and the caller says so). Buckets go as spans of consecutive indexes with
//   their counts delta-encoded (each count minus the previous one), as the protobuf wants them.
// - classic buckets: cumulative counts at `le` = powers of two, i.e. the buckets merged to
//   scale 0 (exact: every bucket at scale ≥ 0 lies inside one power-of-two interval). Cumulative
//   counts only grow, so a series' set of `le` values only grows too (no bucket comes and goes
//   between scrapes). At a negative scale a bucket spans several powers of two; its upper bound
//   is then the `le`.
import type { ExponentialHistogram } from '@opentelemetry/sdk-metrics';

export const MIN_NATIVE_SCHEMA = -4;
export const MAX_NATIVE_SCHEMA = 8;

export interface BucketSpan {
  /** First span: index of its first bucket; later spans: buckets skipped since the previous span. */
  readonly offset: number;
  readonly length: number;
}

export interface NativeHistogram {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly positiveSpans: readonly BucketSpan[];
  /** Each bucket's count minus the previous bucket's (the first minus zero). */
  readonly positiveDeltas: readonly number[];
  readonly negativeSpans: readonly BucketSpan[];
  readonly negativeDeltas: readonly number[];
}

export interface ClassicBucket {
  /** Inclusive upper bound. */
  readonly le: number;
  /** Observations ≤ le. */
  readonly cumulativeCount: number;
}

/** A run of zero buckets at most this long stays inside a span (cheaper than a new span). */
const MAX_ZEROS_IN_SPAN = 2;

/**
 * The native histogram of `h`, or undefined when its scale is below what Prometheus accepts.
 * `zeroThreshold`: OpenTelemetry's zero bucket holds exact zeros unless the point says otherwise
 * (the SDK's type has no threshold), so 0.
 */
export function nativeHistogram(h: ExponentialHistogram, zeroThreshold = 0): NativeHistogram | undefined {
  if (h.scale < MIN_NATIVE_SCHEMA) return undefined;
  const shift = Math.max(0, h.scale - MAX_NATIVE_SCHEMA);
  const schema = h.scale - shift;
  const positive = encodeBuckets(mergeBuckets(h.positive.offset, h.positive.bucketCounts, shift));
  const negative = encodeBuckets(mergeBuckets(h.negative.offset, h.negative.bucketCounts, shift));
  // Without buckets and without a zero bucket width, a protobuf histogram would look classic to
  // Prometheus: one span of length 0 marks it native (as client_golang does).
  const empty = positive.spans.length === 0 && negative.spans.length === 0 && zeroThreshold === 0 && h.zeroCount === 0;
  return {
    schema,
    zeroThreshold,
    zeroCount: h.zeroCount,
    positiveSpans: empty ? [{ offset: 0, length: 0 }] : positive.spans,
    positiveDeltas: positive.deltas,
    negativeSpans: negative.spans,
    negativeDeltas: negative.deltas,
  };
}

/** Prometheus bucket index → count, merged `shift` scales down, zero counts left out. */
function mergeBuckets(offset: number, counts: readonly number[], shift: number): Map<number, number> {
  const merged = new Map<number, number>();
  counts.forEach((count, position) => {
    if (count === 0) return;
    // OpenTelemetry index i → Prometheus index i + 1, after merging (>> floors negatives too).
    const index = ((offset + position) >> shift) + 1;
    merged.set(index, (merged.get(index) ?? 0) + count);
  });
  return merged;
}

function encodeBuckets(buckets: Map<number, number>): { spans: BucketSpan[]; deltas: number[] } {
  const indexes = [...buckets.keys()].sort((a, b) => a - b);
  const spans: BucketSpan[] = [];
  const deltas: number[] = [];
  let previousCount = 0;
  let spanStart = 0;
  let spanLength = 0;
  let lastIndex = 0;
  let gapBase = 0;
  const push = (count: number) => {
    deltas.push(count - previousCount);
    previousCount = count;
  };
  for (const index of indexes) {
    if (spanLength > 0 && index - lastIndex - 1 <= MAX_ZEROS_IN_SPAN) {
      // A short run of empty buckets: written as zeros inside the current span.
      for (let empty = lastIndex + 1; empty < index; empty++) push(0);
      spanLength += index - lastIndex;
    } else {
      if (spanLength > 0) spans.push({ offset: spanStart - gapBase, length: spanLength });
      gapBase = spans.length === 0 ? 0 : lastIndex + 1;
      spanStart = index;
      spanLength = 1;
    }
    push(buckets.get(index) ?? 0);
    lastIndex = index;
  }
  if (spanLength > 0) spans.push({ offset: spanStart - gapBase, length: spanLength });
  return { spans, deltas };
}

/**
 * Classic buckets of `h` at powers of two (scale 0), ascending, without the +Inf bucket (whose
 * count is h.count): every bound from the lowest to the highest populated bucket, so that
 * histogram_quantile interpolates within one power of two, not across a gap. Zero-bucket and
 * negative observations come first (at `le` 0 and at their power-of-two bound below zero).
 */
export function classicBuckets(h: ExponentialHistogram): ClassicBucket[] {
  // Bucket i at scale s ≥ 0 lies in (2^j, 2^(j+1)] with j = i >> s; at s < 0 it is its own
  // bucket (2^(i·2^-s), 2^((i+1)·2^-s)].
  const shift = Math.max(0, h.scale);
  const width = h.scale >= 0 ? 1 : 2 ** -h.scale;
  const counts = new Map<number, number>();
  const add = (le: number, count: number) => counts.set(le, (counts.get(le) ?? 0) + count);
  // Negative bucket i covers [-base^(i+1), -base^i): all of it is ≤ -2^(j·width).
  h.negative.bucketCounts.forEach((count, position) => {
    if (count !== 0) add(-(2 ** (((h.negative.offset + position) >> shift) * width)), count);
  });
  if (h.zeroCount !== 0) add(0, h.zeroCount);
  let lowest = Infinity;
  let highest = -Infinity;
  h.positive.bucketCounts.forEach((count, position) => {
    if (count === 0) return;
    const j = (h.positive.offset + position) >> shift;
    add(2 ** ((j + 1) * width), count);
    lowest = Math.min(lowest, j);
    highest = Math.max(highest, j);
  });
  for (let j = lowest; j <= highest; j++) add(2 ** ((j + 1) * width), 0);
  const bounds = [...counts.keys()].sort((a, b) => a - b);
  let cumulative = 0;
  return bounds.map((le) => {
    cumulative += counts.get(le) ?? 0;
    return { le, cumulativeCount: cumulative };
  });
}
