// Every supported scale puts values at and around every power of two into the bucket the
// OpenTelemetry SDK's own exponential histogram mapping would, and the kernel's C search agrees
// with the TypeScript one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getMapping } from '@opentelemetry/sdk-metrics/build/src/aggregator/exponential-histogram/mapping/getMapping';
import { compileLayout } from '../../../test/support/c_layout';
import { EXPLICIT_BOUNDARIES_S, explicitCounts, indexAtScale, kernelBucketOf, kernelBucketUpperBoundsUs, SUPPORTED_SCALES, KERNEL_BUCKETS } from './buckets';

const upper = kernelBucketUpperBoundsUs();

/** Whole-microsecond values at and around 2^n s for every n the kernel covers. */
function samples(): bigint[] {
  const values = new Set<bigint>([1n, 2n, 3n]);
  for (let n = -19; n <= 11; n++) {
    const edge = BigInt(Math.round(1e6 * 2 ** n));
    for (const d of [-1n, 0n, 1n]) if (edge + d >= 1n) values.add(edge + d);
  }
  for (let k = 0; k < KERNEL_BUCKETS - 1; k++) for (const d of [0n, 1n]) values.add(upper[k] + d);
  return [...values].sort((a, b) => (a < b ? -1 : 1));
}

test('at scales 0..3 the bucket of each value is the OpenTelemetry SDK\'s', () => {
  for (const scale of SUPPORTED_SCALES) {
    const mapping = getMapping(scale);
    for (const us of samples()) {
      if (us > upper[KERNEL_BUCKETS - 2]) continue; // beyond the kernel's last bounded bucket
      assert.equal(indexAtScale(kernelBucketOf(us, upper), scale), mapping.mapToIndex(Number(us) / 1e6), `${us} us at scale ${scale}`);
    }
  }
});

test('the kernel\'s C binary search picks the same bucket as the TypeScript one', () => {
  const table = `(const volatile __u64[]){${upper.map((u) => `${u}ULL`).join(',')}}`;
  const values = samples().filter((_, i) => i % 3 === 0);
  const expressions = values.map((us) => `tcp_rtt_bucket(${us}ULL, ${table})`);
  const kernel = compileLayout('tcp_rtt.h', {}, expressions).constants;
  values.forEach((us, i) => assert.equal(kernel[expressions[i]], kernelBucketOf(us, upper), `${us} us`));
});

test('explicit buckets at powers of two are exact merges', () => {
  const buckets = new Array<bigint>(KERNEL_BUCKETS).fill(0n);
  buckets[kernelBucketOf(1_000_000n, upper)] += 1n; // exactly 1 s: in (0.5, 1]
  buckets[kernelBucketOf(1_000_001n, upper)] += 1n; // just above: in (1, 2]
  const counts = explicitCounts(buckets);
  const slot = (s: number) => EXPLICIT_BOUNDARIES_S.indexOf(s);
  assert.equal(counts[slot(1)], 1);
  assert.equal(counts[slot(2)], 1);
  assert.equal(counts.reduce((a, b) => a + b, 0), 2);
});
