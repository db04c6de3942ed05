// Pod churn on the real kernel: 2000 short-lived cgroups, each making one loopback connection and
// then removed. Every receiver's per-cgroup kernel series must be exported with its final values
// and then leave the kernel map, so that the maps never fill and nothing falls into the overflow
// series; a cgroup removed while one of its connections is still open keeps its tcp_lifecycle
// series (connection.count 1) until that connection closes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attributes } from '@opentelemetry/api';
import type { DataPoint, Histogram } from '@opentelemetry/sdk-metrics';
import { TcpHandshakeReceiver } from '../../src/receivers/tcp_handshake/receiver';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { TcpRttReceiver } from '../../src/receivers/tcp_rtt/receiver';
import type { KernelReceiver } from '../../src/receivers/common/kernel_receiver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { startChurn, type Churn } from '../support/cgroup_churn';
import { waitUntil } from '../support/child';
import { HANDSHAKE_TEST_CONFIG } from '../support/handshake';
import { requireKernel } from '../support/kernel';
import { RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const CGROUPS = 2000;
const BATCH = 250;
/** Series each receiver's kernel map holds: far fewer than CGROUPS, more than one batch. */
const MAX_SERIES = 1024;

type Point = DataPoint<number | Histogram>;

const isOverflow = (a: Attributes) => a['otel.metric.overflow'] === true;

function sameIds(present: Set<bigint>, expected: readonly bigint[]): boolean {
  return present.size === expected.length && expected.every((id) => present.has(id));
}

function valueOf(p: Point): number {
  return typeof p.value === 'number' ? p.value : p.value.count;
}

test('series of removed cgroups leave every kernel map after their last export; nothing overflows', async (t) => {
  if (!requireKernel(t)) return;
  const basePath = testCgroupBase('churn');
  const base = TestCgroup.create(basePath);
  const home = TestCgroup.create(`${basePath}/home`);
  const metrics = new RecordingMetricsConsumer();
  const lifecycle = new TcpLifecycleReceiver(
    testSettings('tcp_lifecycle'),
    { collection_interval: '1h', drain_interval: '100ms', ring_buffer_size: 1 << 16, max_connections: 65536, max_cgroups: MAX_SERIES, wakeup_min_bytes: 4096, sampling_pushdown: true, events: ['tcp.connect', 'tcp.accept', 'tcp.close'] },
    { metrics },
  );
  const handshake = new TcpHandshakeReceiver(testSettings('tcp_handshake'), { ...HANDSHAKE_TEST_CONFIG, max_series: MAX_SERIES }, { metrics });
  const rtt = new TcpRttReceiver(
    testSettings('tcp_rtt'),
    { collection_interval: '1h', sample_interval: '0', group_by: ['cgroup'], scale: 3, histogram: 'exponential', max_series: MAX_SERIES },
    { metrics },
  );
  const receivers: KernelReceiver[] = [lifecycle, handshake, rtt];
  let churn: Churn | undefined;
  t.after(async () => {
    churn?.kill();
    for (const r of receivers) await r.shutdown();
    home.remove();
    base.remove();
  });
  for (const r of receivers) await r.start({ reportFatal: (e) => assert.fail(e) });
  churn = startChurn(home, base);

  // Every data point of ours, by cgroup id: named by path while the resolver saw the cgroup,
  // by tcp.cgroup.id otherwise (created and removed between two walks).
  const ours = new Map<string, bigint>(); // attribute text -> id
  const idOf = (a: Attributes): bigint | undefined => {
    const path = a['process.linux.cgroup'];
    if (typeof path === 'string') return ours.get(path);
    const id = a['tcp.cgroup.id'];
    return typeof id === 'number' ? ours.get(`id ${id}`) : undefined;
  };
  const remember = (ids: readonly number[], first: number) =>
    ids.forEach((id, i) => {
      ours.set(`0::${basePath}/c${first + i}`, BigInt(id));
      ours.set(`id ${id}`, BigInt(id));
    });
  /** Last exported value per (receiver metric, cgroup id, attributes other than the cgroup). */
  const last = new Map<string, number>();
  const overflowValues: string[] = [];
  const collectAll = () => {
    const present = new Map<KernelReceiver, Set<bigint>>();
    for (const r of receivers) {
      const rm = r.collect();
      const mine = new Set<bigint>();
      for (const m of rm.scopeMetrics[0].metrics) {
        for (const p of m.dataPoints as Point[]) {
          if (isOverflow(p.attributes) && valueOf(p) !== 0) overflowValues.push(`${m.descriptor.name} ${valueOf(p)}`);
          const id = idOf(p.attributes);
          if (id === undefined) continue;
          mine.add(id);
          const rest = Object.entries(p.attributes).filter(([k]) => k !== 'process.linux.cgroup' && k !== 'tcp.cgroup.id');
          last.set(`${m.descriptor.name} ${id} ${JSON.stringify(rest)}`, valueOf(p));
        }
      }
      present.set(r, mine);
    }
    return present;
  };

  // A connection that outlives its cgroup (its process moved away, the directory removed).
  const held = BigInt((await churn.ask<{ id: number }>('hold')).id);
  ours.set(`id ${held}`, held);
  ours.set(`0::${basePath}/c1`, held);

  let made = 1;
  const all: bigint[] = [];
  while (all.length < CGROUPS) {
    const ids: number[] = (await churn.ask<{ ids: number[] }>(`churn ${BATCH}`)).ids;
    assert.equal(ids.length, BATCH);
    remember(ids, made + 1);
    made += ids.length;
    all.push(...ids.map(BigInt));
    // First collection: the batch's series, read while (or after) their cgroups went away.
    // Next: their cgroups were gone before that read, so it holds their final values; exported,
    // then removed. What stays of ours is the held connection's lifecycle series. (Repeated while
    // a last close or segment of the batch is still on its way through a loaded machine.)
    collectAll();
    await waitUntil(
      () => {
        const present = collectAll();
        return sameIds(present.get(lifecycle)!, [held]) && sameIds(present.get(handshake)!, []) && sameIds(present.get(rtt)!, []);
      },
      20_000,
      `the series of batch ${all.length / BATCH} to leave the kernel maps`,
    );
  }

  // Each cgroup was exported with its final values: one client connection opened and closed with
  // one payload byte each way, one successful client handshake, and nothing went to the overflow.
  assert.deepEqual(overflowValues, [], 'no overflow series ever held data');
  let rttSeries = 0;
  for (const id of all) {
    assert.equal(last.get(`system.network.tcp.connection.duration ${id} [["network.tcp.handshake.role","client"],["tcp.connection.end","fin"]]`), 1, `closed connections of cgroup ${id}`);
    assert.equal(
      last.get(`system.network.connection.count ${id} [["network.tcp.handshake.role","client"],["network.transport","tcp"],["network.connection.state","established"]]`),
      0,
      `open connections of cgroup ${id}`,
    );
    assert.equal(last.get(`system.network.tcp.io ${id} [["network.tcp.handshake.role","client"],["network.io.direction","transmit"]]`), 1);
    assert.equal(last.get(`system.network.tcp.io ${id} [["network.tcp.handshake.role","client"],["network.io.direction","receive"]]`), 1);
    assert.equal(last.get(`system.network.tcp.handshake.duration ${id} [["network.tcp.handshake.role","client"]]`), 1, `handshakes of cgroup ${id}`);
    if (last.has(`system.network.tcp.rtt.duration ${id} []`)) rttSeries++;
  }
  // Each client socket acknowledged data in ESTABLISHED: it had RTT samples (missed program runs
  // aside, which the kernel may skip under load), so most cgroups had an RTT series exported.
  assert.ok(rttSeries > CGROUPS / 2, `${rttSeries} of ${CGROUPS} cgroups had an RTT series exported`);
  assert.ok(lifecycle.series.removed >= CGROUPS && handshake.series.removed >= CGROUPS, 'every short-lived cgroup had its series removed');

  // The held connection's lifecycle series stays open until it closes, then goes the same way.
  assert.equal(last.get(`system.network.connection.count ${held} [["network.tcp.handshake.role","client"],["network.transport","tcp"],["network.connection.state","established"]]`), 1);
  await churn.ask('release');
  await waitUntil(
    () => collectAll().get(lifecycle)!.has(held) && last.get(`system.network.tcp.connection.duration ${held} [["network.tcp.handshake.role","client"],["tcp.connection.end","fin"]]`) === 1,
    20_000,
    'the held connection to close',
  );
  assert.equal(last.get(`system.network.connection.count ${held} [["network.tcp.handshake.role","client"],["network.transport","tcp"],["network.connection.state","established"]]`), 0);
  // Exported closed, then removed (an RTT sample of its last segments may re-create and remove
  // one more tcp_rtt series first).
  await waitUntil(
    () => {
      const present = collectAll();
      return receivers.every((r) => present.get(r)!.size === 0);
    },
    20_000,
    'no series of the removed cgroups left in any kernel map',
  );

  // What the receivers push down the metrics pipeline (their final collection at shutdown) says
  // the same: nothing of ours, an empty overflow series.
  for (const r of receivers) await r.shutdown();
  assert.equal(metrics.batches.length, receivers.length, 'one final push per receiver');
  for (const batch of metrics.batches) {
    const points = batch.scopeMetrics[0].metrics.flatMap((m) => m.dataPoints as Point[]);
    assert.deepEqual(points.filter((p) => idOf(p.attributes) !== undefined), [], `${batch.scopeMetrics[0].scope.name}: no series of ours`);
    assert.deepEqual(points.filter((p) => isOverflow(p.attributes) && valueOf(p) !== 0), [], `${batch.scopeMetrics[0].scope.name}: empty overflow`);
  }
});
