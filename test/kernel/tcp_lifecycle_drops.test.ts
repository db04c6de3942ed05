// When the ring buffer overflows, events are lost but counted, and metrics stay complete:
// they are aggregated in the kernel before the ring buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistogramMetricData, MetricData, SumMetricData } from '@opentelemetry/sdk-metrics';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { requireKernel } from '../support/kernel';
import { LIFECYCLE_TEST_CONFIG } from '../support/lifecycle';
import { startReceiverInCgroup } from '../support/receiver_in_cgroup';
import { testSettings } from '../support/settings';
import { startTcpPeers } from '../support/tcp_peers';

const CONNECTIONS = 40; // 160 events of 128 ring bytes each (with header) into a 4 KiB ring: 32 fit

test('a full ring buffer drops events, counts every drop, and leaves metrics exact', async (t) => {
  if (!requireKernel(t)) return;
  const { receiver, cgroup, children, logs } = await startReceiverInCgroup(t, 'drops', 'app', (consumers) =>
    new TcpLifecycleReceiver(
      testSettings('tcp_lifecycle', 'tiny'),
      {
        ...LIFECYCLE_TEST_CONFIG,
        drain_interval: '1h', // nothing reads the ring until shutdown drains it
        ring_buffer_size: 4096,
        wakeup_min_bytes: 1 << 30,
      },
      consumers,
    ),
  );

  const { client } = await startTcpPeers(cgroup, children, { connections: CONNECTIONS, replyBytes: 10, sendBytes: 10, holdMs: 0 });
  await client.nextJson();

  // The last closes may still be on their way through the kernel when the client reports: wait
  // for both roles' histograms to count every connection (generous deadline; more would fail).
  const closedOf = (metrics: MetricData[], role: string) =>
    (metrics.find((m) => m.descriptor.name === 'system.network.tcp.connection.duration') as HistogramMetricData).dataPoints.find(
      (p) => p.attributes['process.linux.cgroup'] === cgroup.attribute && p.attributes['network.tcp.handshake.role'] === role,
    )?.value.count ?? 0;
  let metrics = receiver.collect().scopeMetrics[0].metrics;
  for (const deadline = Date.now() + 20_000; (closedOf(metrics, 'client') < CONNECTIONS || closedOf(metrics, 'server') < CONNECTIONS) && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 20));
    metrics = receiver.collect().scopeMetrics[0].metrics;
  }
  const droppedEvents = metrics.find((m) => m.descriptor.name === 'tcpscope.receiver.dropped_events') as SumMetricData;
  const dropped = droppedEvents.dataPoints.find((p) => p.attributes.reason === 'ring_buffer_full');
  assert.ok(dropped, 'a ring_buffer_full data point');
  assert.equal(dropped.attributes.receiver, 'tcp_lifecycle/tiny');
  for (const role of ['client', 'server']) {
    assert.equal(closedOf(metrics, role), CONNECTIONS, `${role}: metrics count every connection despite the drops`);
  }

  await receiver.shutdown(); // drains what the ring buffer holds
  const ours = logs.records.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute).length;
  const drops = dropped.value;
  assert.ok(drops > 0, 'events were dropped');
  assert.ok(logs.records.length <= 32, `at most a ring's worth was delivered (${logs.records.length})`);
  // Every event of ours is either delivered or counted as dropped (other host traffic in the
  // same window can only add to the drops, never hide ours).
  assert.ok(ours + drops >= 4 * CONNECTIONS, `delivered ${ours} + dropped ${drops} >= ${4 * CONNECTIONS}`);
});
