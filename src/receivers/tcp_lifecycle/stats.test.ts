// The kernel's lifetime buckets must mean exactly what the exported explicit-bucket boundaries
// say, with OpenTelemetry's (lower, upper] semantics, including at every power of two.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLayout } from '../../../test/support/c_layout';
import { DURATION_BUCKETS } from './layout';
import { DURATION_BOUNDARIES_S } from '../common/duration_buckets';

/** Index of the explicit bucket holding `ns`: the first boundary >= the value, as OTel defines. */
function otelBucket(ns: bigint): number {
  const i = DURATION_BOUNDARIES_S.findIndex((upper) => BigInt(Math.round(upper * 1e9)) >= ns);
  return i < 0 ? DURATION_BOUNDARIES_S.length : i;
}

test('kernel bucket of a lifetime equals the OpenTelemetry bucket of the exported boundaries', () => {
  const samples: bigint[] = [0n, 1n, 999n, 1000n, 1001n];
  for (let i = 0; i < DURATION_BUCKETS; i++) {
    const edge = 2n ** BigInt(i) * 1000n;
    samples.push(edge - 1n, edge, edge + 1n);
  }
  samples.push(2n ** 62n);
  const expressions = samples.map((ns) => `tcpscope_duration_bucket(${ns}ULL)`);
  const kernel = compileLayout('tcp_lifecycle.h', {}, expressions).constants;
  for (const [i, ns] of samples.entries()) {
    assert.equal(kernel[expressions[i]], otelBucket(ns), `bucket of ${ns} ns`);
  }
});

test('boundaries are 2^i microseconds in seconds, one fewer than the buckets', () => {
  assert.equal(DURATION_BOUNDARIES_S.length, DURATION_BUCKETS - 1);
  assert.equal(DURATION_BOUNDARIES_S[0], 1e-6);
  assert.equal(DURATION_BOUNDARIES_S[10], 1024e-6);
  assert.equal(DURATION_BOUNDARIES_S[35], 2 ** 35 / 1e6);
});
