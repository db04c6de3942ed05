// When the ring buffer overflows, events are lost but counted, and metrics stay complete:
// they are aggregated in the kernel before the ring buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistogramMetricData, MetricData, SumMetricData } from '@opentelemetry/sdk-metrics';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { startChild, TCP_PEER, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const CONNECTIONS = 40; // 160 events of 128 ring bytes each (with header) into a 4 KiB ring: 32 fit

test('a full ring buffer drops events, counts every drop, and leaves metrics exact', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('drops');
  const cgroup = TestCgroup.create(`${base}/app`);
  const children: RunningChild[] = [];
  const logs = new RecordingLogsConsumer();
  const receiver = new TcpLifecycleReceiver(
    testSettings('tcp_lifecycle', 'tiny'),
    {
      collection_interval: '1h',
      drain_interval: '1h', // nothing reads the ring until shutdown drains it
      ring_buffer_size: 4096,
      max_connections: 65536,
      max_cgroups: 1024,
      wakeup_min_bytes: 1 << 30,
      sampling_pushdown: true,
    },
    { logs, metrics: new RecordingMetricsConsumer() },
  );
  t.after(async () => {
    for (const c of children) c.kill();
    await receiver.shutdown();
    cgroup.remove(base);
  });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });

  const server = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'server', '10', 'client-first']));
  children.push(server);
  const ports = await server.nextJson<{ v4: number }>();
  const client = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(ports.v4), String(CONNECTIONS), '10', '0', 'client-first']));
  children.push(client);
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
