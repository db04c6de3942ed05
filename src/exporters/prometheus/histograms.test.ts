import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExponentialHistogram } from '@opentelemetry/sdk-metrics';
import { classicBuckets, nativeHistogram } from './histograms';

const h = (scale: number, offset: number, counts: number[], zeroCount = 0): ExponentialHistogram => ({
  count: counts.reduce((a, b) => a + b, zeroCount),
  sum: 1,
  scale,
  zeroCount,
  positive: { offset, bucketCounts: counts },
  negative: { offset: 0, bucketCounts: [] },
});

test('native: schema = scale, index + 1, short zero runs inside a span, long ones split it, deltas', () => {
  const counts = new Array<number>(15).fill(0);
  counts[0] = 2;
  counts[2] = 1;
  counts[14] = 5;
  assert.deepEqual(nativeHistogram(h(3, -80, counts, 1)), {
    schema: 3,
    zeroThreshold: 0,
    zeroCount: 1,
    positiveSpans: [
      { offset: -79, length: 3 },
      { offset: 11, length: 1 },
    ],
    positiveDeltas: [2, -2, 1, 4],
    negativeSpans: [],
    negativeDeltas: [],
  });
});

test('native: a scale above 8 is merged down to schema 8 exactly', () => {
  // scale 10 → 8: OpenTelemetry indexes 4..11 become 1, 1, 1, 1, 2, 2, 2, 2 (>> 2), then + 1.
  const native = nativeHistogram(h(10, 4, [1, 1, 1, 1, 1, 1, 1, 1]));
  assert.equal(native?.schema, 8);
  assert.deepEqual(native?.positiveSpans, [{ offset: 2, length: 2 }]);
  assert.deepEqual(native?.positiveDeltas, [4, 0]);
  // negative indexes floor: -1 >> 2 = -1
  assert.deepEqual(nativeHistogram(h(10, -1, [3]))?.positiveSpans, [{ offset: 0, length: 1 }]);
});

test('native: below schema -4 there is none; an empty histogram carries one empty span', () => {
  assert.equal(nativeHistogram(h(-5, 0, [1])), undefined);
  assert.deepEqual(nativeHistogram(h(-4, 0, [1]))?.schema, -4);
  const empty = nativeHistogram(h(3, 0, []));
  assert.deepEqual(empty?.positiveSpans, [{ offset: 0, length: 0 }]);
  assert.deepEqual(empty?.positiveDeltas, []);
});

test('classic: cumulative counts at powers of two, every bound between the lowest and the highest', () => {
  // scale 3: index -80 → (2^-10, 2^-9.875]: le 2^-9; -66 → j = -9: le 2^-8; zero bucket: le 0.
  const counts = new Array<number>(15).fill(0);
  counts[0] = 2;
  counts[2] = 1;
  counts[14] = 5;
  assert.deepEqual(classicBuckets(h(3, -80, counts, 1)), [
    { le: 0, cumulativeCount: 1 },
    { le: 2 ** -9, cumulativeCount: 4 },
    { le: 2 ** -8, cumulativeCount: 9 },
  ]);
  // a gap of powers of two is filled with their (equal) cumulative counts
  assert.deepEqual(classicBuckets(h(0, 0, [1, 0, 0, 2])), [
    { le: 2, cumulativeCount: 1 },
    { le: 4, cumulativeCount: 1 },
    { le: 8, cumulativeCount: 1 },
    { le: 16, cumulativeCount: 3 },
  ]);
  // negative scale: each bucket spans 2^2 powers of two at scale -2
  assert.deepEqual(classicBuckets(h(-2, 1, [1, 1])), [
    { le: 2 ** 8, cumulativeCount: 1 },
    { le: 2 ** 12, cumulativeCount: 2 },
  ]);
});
