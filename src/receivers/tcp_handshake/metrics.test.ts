// The handshake histogram's series attributes: the kernel's overflow series (map full) holds
// attempts of every role and outcome, so it must never read as a successful client handshake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { CgroupResolver } from '../../host/cgroup_resolver';
import { DURATION_BUCKETS } from '../common/duration_buckets';
import { OVERFLOW_CGROUP_ID } from '../common/workload_attributes';
import { handshakeMetrics } from './metrics';
import { sumHandshakeStats, handshakeStatsKey, type HandshakeStats } from './stats';
import { CONSTANTS, STATS_FIELDS, STATS_KEY_SIZE, STATS_SIZE } from './layout';
import type { MapEntries } from '../../bridge/bpf_object';

const ECONNREFUSED = 111;

/** One-CPU map entries as the bridge returns them, from (key, count) pairs. */
function entries(rows: readonly [Buffer, bigint][]): MapEntries {
  const keys = Buffer.concat(rows.map(([k]) => k));
  const values = Buffer.concat(
    rows.map(([, count]) => {
      const v = Buffer.alloc(STATS_SIZE);
      v.writeBigUInt64LE(count, STATS_FIELDS.count.offset);
      v.writeBigUInt64LE(count * 1000n, STATS_FIELDS.duration_sum_ns.offset);
      v.writeBigUInt64LE(count, STATS_FIELDS.duration_buckets.offset);
      return v;
    }),
  );
  return {
    count: rows.length,
    keySize: STATS_KEY_SIZE,
    valueSize: STATS_SIZE,
    cpus: 1,
    keys,
    values,
    key: (i) => keys.subarray(i * STATS_KEY_SIZE, (i + 1) * STATS_KEY_SIZE),
    value: (i) => values.subarray(i * STATS_SIZE, (i + 1) * STATS_SIZE),
  };
}

test('the overflow series carries only otel.metric.overflow=true: no role, never a success', () => {
  const cgroup = 4242n; // an id no walk finds: named by tcp.cgroup.id
  const stats: HandshakeStats[] = sumHandshakeStats(
    entries([
      [handshakeStatsKey(cgroup, CONSTANTS.TCP_HANDSHAKE_ROLE_CLIENT, 0), 3n],
      [handshakeStatsKey(cgroup, CONSTANTS.TCP_HANDSHAKE_ROLE_CLIENT, ECONNREFUSED), 2n],
      [handshakeStatsKey(cgroup, CONSTANTS.TCP_HANDSHAKE_ROLE_SERVER, 0), 1n],
      // what the receiver inserts at start and the kernel fills when the map is full
      [handshakeStatsKey(OVERFLOW_CGROUP_ID, 0, 0), 7n],
    ]),
  );
  const [histogram] = handshakeMetrics({
    stats,
    droppedEvents: 0n,
    sampledOutEvents: 0n,
    receiverId: 'tcp_handshake',
    startTime: [1, 0],
    endTime: [2, 0],
    cgroups: new CgroupResolver('/nonexistent/tcpscope-test-cgroup-root'),
  }) as HistogramMetricData[];
  assert.equal(histogram.descriptor.name, 'system.network.tcp.handshake.duration');
  assert.deepEqual(
    histogram.dataPoints.map((p) => [p.attributes, p.value.count]),
    [
      [{ 'network.tcp.handshake.role': 'client', 'tcp.cgroup.id': 4242 }, 3],
      [{ 'network.tcp.handshake.role': 'client', 'tcp.cgroup.id': 4242, 'error.type': 'ECONNREFUSED' }, 2],
      [{ 'network.tcp.handshake.role': 'server', 'tcp.cgroup.id': 4242 }, 1],
      [{ 'otel.metric.overflow': true }, 7],
    ],
  );
  // Successful client handshakes, as a backend would sum them: the overflow is not among them.
  const successes = histogram.dataPoints
    .filter((p) => p.attributes['network.tcp.handshake.role'] === 'client' && p.attributes['error.type'] === undefined)
    .reduce((n, p) => n + p.value.count, 0);
  assert.equal(successes, 3);
  assert.equal(histogram.dataPoints[3].value.buckets.counts.length, DURATION_BUCKETS);
});
