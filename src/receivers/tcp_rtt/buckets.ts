// The kernel's RTT histogram (bpf/tcp_rtt.h) is an OpenTelemetry exponential histogram at scale 3
// over seconds: kernel bucket k is OTel index k + INDEX_OFFSET, holding (2^(i/8), 2^((i+1)/8)] s.
// RTTs are whole microseconds, so the kernel finds a bucket by comparing with integer upper
// bounds, floor(1e6 * 2^((i+1)/8)) us, which user space computes here and writes before load.
// Lower scales are exact merges: index i at scale 3 is index i >> (3 - s) at scale s.

export const KERNEL_SCALE = 3;
export const KERNEL_BUCKETS = 256;
export const INDEX_OFFSET = -160;
export const SUPPORTED_SCALES = [0, 1, 2, 3] as const;
export type Scale = (typeof SUPPORTED_SCALES)[number];

/** Inclusive upper bound, in whole microseconds, of each kernel bucket; the last is open-ended. */
export function kernelBucketUpperBoundsUs(): bigint[] {
  return Array.from({ length: KERNEL_BUCKETS }, (_, k) => {
    const exponent = k + INDEX_OFFSET + 1; // upper bound is 2^(exponent / 8) s
    if (exponent % 8 === 0) {
      // exact powers of two: 1e6 * 2^n, an integer for n >= -6, otherwise below the next integer
      const n = exponent / 8;
      return n >= 0 ? 1_000_000n << BigInt(n) : BigInt(Math.floor(1e6 / 2 ** -n));
    }
    return BigInt(Math.floor(1e6 * 2 ** (exponent / 8)));
  });
}

/** The OTel index at `scale` of kernel bucket `k`. */
export function indexAtScale(k: number, scale: Scale): number {
  return (k + INDEX_OFFSET) >> (KERNEL_SCALE - scale);
}

/** Kernel bucket of a whole number of microseconds (what tcp_rtt_bucket() computes in C). */
export function kernelBucketOf(us: bigint, upper: readonly bigint[] = kernelBucketUpperBoundsUs()): number {
  let low = 0;
  let high = KERNEL_BUCKETS - 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (us <= upper[mid]) high = mid;
    else low = mid + 1;
  }
  return low;
}

export interface ExponentialHistogramValue {
  count: number;
  sum: number;
  scale: number;
  zeroCount: number;
  positive: { offset: number; bucketCounts: number[] };
  negative: { offset: number; bucketCounts: number[] };
  min?: number;
  max?: number;
}

/** An OTel exponential histogram value at `scale` from kernel bucket counts (microsecond data). */
export function exponentialValue(
  buckets: readonly bigint[],
  scale: Scale,
  count: bigint,
  sumUs: bigint,
  minUs: bigint,
  maxUs: bigint,
): ExponentialHistogramValue {
  const merged = new Map<number, number>();
  buckets.forEach((n, k) => {
    if (n === 0n) return;
    const i = indexAtScale(k, scale);
    merged.set(i, (merged.get(i) ?? 0) + Number(n));
  });
  const indexes = [...merged.keys()];
  const offset = indexes.length ? Math.min(...indexes) : 0;
  const last = indexes.length ? Math.max(...indexes) : -1;
  const bucketCounts = Array.from({ length: last - offset + 1 }, (_, j) => merged.get(offset + j) ?? 0);
  return {
    count: Number(count),
    sum: Number(sumUs) / 1e6,
    scale,
    zeroCount: 0,
    positive: { offset, bucketCounts },
    negative: { offset: 0, bucketCounts: [] },
    ...(count > 0n ? { min: Number(minUs) / 1e6, max: Number(maxUs) / 1e6 } : {}),
  };
}

/**
 * The same data as explicit buckets with upper bounds 2^j s (the scale-0 boundaries, so the
 * conversion is exact), for backends without exponential histograms.
 */
export const EXPLICIT_BOUNDARIES_S: readonly number[] = Array.from({ length: 28 }, (_, j) => 2 ** (j - 20)); // ~1 us .. 128 s

export function explicitCounts(buckets: readonly bigint[]): number[] {
  const counts = new Array<number>(EXPLICIT_BOUNDARIES_S.length + 1).fill(0);
  buckets.forEach((n, k) => {
    if (n === 0n) return;
    // scale-0 index j holds (2^j, 2^(j+1)]: its upper bound is boundary 2^(j+1)
    const upperExponent = indexAtScale(k, 0) + 1;
    const slot = Math.min(Math.max(upperExponent + 20, 0), EXPLICIT_BOUNDARIES_S.length);
    counts[slot] += Number(n);
  });
  return counts;
}
