// The kernel keeps a series per (cgroup, role, end): each close in its end's series (established
// -1 there), opens in the fin series. Series of end 0 (none in the kernel) still sum alike. User space must sum the ends of a (cgroup, role) for the open
// count, the bytes and the reaper, and keep each end's lifetimes as its own duration series.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistogramMetricData, SumMetricData } from '@opentelemetry/sdk-metrics';
import type { MapEntries } from '../../bridge/bpf_object';
import { CgroupResolver } from '../../host/cgroup_resolver';
import { CONSTANTS as C, STATS_FIELDS as F, STATS_SIZE } from './layout';
import { lifecycleMetrics } from './metrics';
import { statsKey, sumWorkloadStats } from './stats';

const CGROUP = 4242n;
const OTHER = 777n;

class Resolver extends CgroupResolver {
  constructor() {
    super('/nonexistent-cgroup-root');
  }
  override resolve(id: bigint): string | undefined {
    return id === CGROUP ? '/test.slice/app.scope' : '/test.slice/other.scope';
  }
}

interface Series {
  cgroup: bigint;
  role: number;
  end: number;
  /** per CPU: [established, closed, bytes sent, bytes received] */
  cpus: [bigint, bigint, bigint, bigint][];
}

function map(series: readonly Series[]): MapEntries {
  const keys = series.map((s) => statsKey(s.cgroup, s.role, s.end));
  const values = series.map((s) =>
    s.cpus.map(([established, closed, sent, received]) => {
      const v = Buffer.alloc(STATS_SIZE);
      v.writeBigInt64LE(established, F.established.offset);
      v.writeBigUInt64LE(closed, F.closed.offset);
      v.writeBigUInt64LE(closed * 1_000_000n, F.duration_sum_ns.offset);
      v.writeBigUInt64LE(sent, F.bytes_sent.offset);
      v.writeBigUInt64LE(received, F.bytes_received.offset);
      v.writeBigUInt64LE(closed, F.duration_buckets.offset + 8 * 10);
      return v;
    }),
  );
  return {
    count: series.length,
    keySize: keys[0].length,
    valueSize: STATS_SIZE,
    cpus: 2,
    keys: Buffer.concat(keys),
    values: Buffer.concat(values.flat()),
    key: (i) => keys[i],
    value: (i, cpu = 0) => values[i][cpu],
  };
}

const CLIENT = C.TCP_LIFECYCLE_ROLE_CLIENT;
const SERVER = C.TCP_LIFECYCLE_ROLE_SERVER;
// cgroup 4242, client: 6 opened (4 on CPU 0, 2 on CPU 1), 3 closed fin, 1 closed reset_received:
// 2 still open. cgroup 777, server: 1 opened, 1 closed timeout: none open.
const SERIES: Series[] = [
  { cgroup: CGROUP, role: CLIENT, end: C.TCP_LIFECYCLE_END_NONE, cpus: [[4n, 0n, 0n, 0n], [2n, 0n, 0n, 0n]] },
  { cgroup: CGROUP, role: CLIENT, end: C.TCP_LIFECYCLE_END_FIN, cpus: [[-2n, 2n, 200n, 20n], [-1n, 1n, 100n, 10n]] },
  { cgroup: CGROUP, role: CLIENT, end: C.TCP_LIFECYCLE_END_RESET_RECEIVED, cpus: [[0n, 0n, 0n, 0n], [-1n, 1n, 7n, 0n]] },
  { cgroup: OTHER, role: SERVER, end: C.TCP_LIFECYCLE_END_NONE, cpus: [[1n, 0n, 0n, 0n], [0n, 0n, 0n, 0n]] },
  { cgroup: OTHER, role: SERVER, end: C.TCP_LIFECYCLE_END_TIMEOUT, cpus: [[-1n, 1n, 0n, 5n], [0n, 0n, 0n, 0n]] },
];

test('every series of a (cgroup, role) carries the open connections of all its ends, for the reaper', () => {
  const stats = sumWorkloadStats(map(SERIES));
  assert.deepEqual(
    stats.map((s) => [s.cgroupId, s.role, s.end, s.established, s.openConnections]),
    [
      [CGROUP, 'client', undefined, 6n, 2n],
      [CGROUP, 'client', 'fin', -3n, 2n],
      [CGROUP, 'client', 'reset_received', -1n, 2n],
      [OTHER, 'server', undefined, 1n, 0n],
      [OTHER, 'server', 'timeout', -1n, 0n],
    ],
  );
});

test('open count and bytes per (cgroup, role); lifetimes per end with tcp.connection.end', () => {
  const metrics = lifecycleMetrics({
    stats: sumWorkloadStats(map(SERIES)),
    droppedEvents: 0n,
    untrackedEvents: { reason: 'connection_untracked', count: 0n },
    sampledOutEvents: 0n,
    receiverId: 'tcp_lifecycle',
    startTime: [1, 0],
    endTime: [2, 0],
    cgroups: new Resolver(),
  });
  const named = <T>(name: string) => metrics.find((m) => m.descriptor.name === name) as T;
  const open = named<SumMetricData>('system.network.connection.count');
  assert.deepEqual(
    open.dataPoints.map((p) => [p.attributes['process.linux.cgroup'], p.attributes['network.tcp.handshake.role'], p.value]),
    [
      ['0::/test.slice/app.scope', 'client', 2],
      ['0::/test.slice/other.scope', 'server', 0],
    ],
  );
  const io = named<SumMetricData>('system.network.tcp.io');
  assert.deepEqual(
    io.dataPoints.map((p) => [p.attributes['network.tcp.handshake.role'], p.attributes['network.io.direction'], p.value, 'tcp.connection.end' in p.attributes]),
    [
      ['client', 'transmit', 307, false],
      ['client', 'receive', 30, false],
      ['server', 'transmit', 0, false],
      ['server', 'receive', 5, false],
    ],
  );
  const durations = named<HistogramMetricData>('system.network.tcp.connection.duration');
  assert.deepEqual(
    durations.dataPoints.map((p) => [p.attributes['network.tcp.handshake.role'], p.attributes['tcp.connection.end'], p.value.count, p.value.sum]),
    [
      ['client', 'fin', 3, 0.003],
      ['client', 'reset_received', 1, 0.001],
      ['server', 'timeout', 1, 0.001],
    ],
  );
});
