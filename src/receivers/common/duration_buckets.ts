// The kernel's duration histograms (bpf/duration_histogram.h) as OpenTelemetry explicit buckets:
// bucket i holds durations in (2^(i-1), 2^i] microseconds, the last one everything above.

export const DURATION_BUCKETS = 37;

/** Upper bounds, in seconds, of all but the last (overflow) bucket: 2^i microseconds. */
export const DURATION_BOUNDARIES_S: readonly number[] = Array.from({ length: DURATION_BUCKETS - 1 }, (_, i) => 2 ** i / 1e6);

/** An OTel histogram value from kernel bucket counts and a nanosecond sum. */
export function durationHistogramValue(buckets: readonly bigint[], sumNs: bigint, count: bigint) {
  return {
    buckets: { boundaries: [...DURATION_BOUNDARIES_S], counts: buckets.map(Number) },
    sum: Number(sumNs) / 1e9,
    count: Number(count),
  };
}
