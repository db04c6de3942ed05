// The bounds of an exponential histogram's buckets, as the Collector's debug exporter computes
// them: at scale s the base is 2^(2^-s), positive bucket i covers (base^i, base^(i+1)], negative
// bucket i covers [-base^(i+1), -base^i), and the zero bucket [0, 0]. Listed from the most
// negative to the most positive value.
import type { ExponentialHistogram } from '@opentelemetry/sdk-metrics';

export interface ExponentialBucket {
  readonly count: number;
  /** `[lower, upper)`, `[0, 0]` or `(lower, upper]`, each bound written by `format`. */
  label(format: (bound: number) => string, separator?: string): string;
}

export function exponentialBuckets(h: ExponentialHistogram): ExponentialBucket[] {
  // Math.exp(index * ln2 * 2^-scale) is the Collector's formula; it keeps the output comparable.
  const factor = Math.LN2 * 2 ** -h.scale;
  const buckets: ExponentialBucket[] = [];
  const negative = h.negative.bucketCounts;
  for (let pos = negative.length - 1; pos >= 0; pos--) {
    const index = h.negative.offset + pos;
    const lower = Math.exp(index * factor);
    const upper = Math.exp((index + 1) * factor);
    buckets.push({ count: negative[pos], label: (f, sep = ',') => `[${f(-upper)}${sep}${f(-lower)})` });
  }
  if (h.zeroCount !== 0) buckets.push({ count: h.zeroCount, label: (_f, sep = ',') => `[0${sep}0]` });
  h.positive.bucketCounts.forEach((count, pos) => {
    const index = h.positive.offset + pos;
    const lower = Math.exp(index * factor);
    const upper = Math.exp((index + 1) * factor);
    buckets.push({ count, label: (f, sep = ',') => `(${f(lower)}${sep}${f(upper)}]` });
  });
  return buckets;
}
