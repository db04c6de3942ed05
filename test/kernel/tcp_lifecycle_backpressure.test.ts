// A logs pipeline slower than the event stream: the receiver keeps at most 4 batches of at most
// 4,096 records in flight and lets the kernel ring buffer hold (or count) the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { SumMetricData } from '@opentelemetry/sdk-metrics';
import type { Consumer } from '../../src/component';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { TestCgroup } from '../support/cgroup';
import { startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const CONNECTIONS = 5500; // 22,000 events: six batches' worth

class SlowConsumer implements Consumer<'logs'> {
  inFlight = 0;
  maxInFlight = 0;
  maxBatch = 0;
  ours = 0;
  constructor(private readonly cgroup: string) {}
  async consume(records: readonly ReadableLogRecord[]): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.maxBatch = Math.max(this.maxBatch, records.length);
    this.ours += records.filter((r) => r.attributes['process.linux.cgroup'] === this.cgroup).length;
    await new Promise((r) => setTimeout(r, 150));
    this.inFlight--;
  }
}

test('a slow logs pipeline gets bounded batches, bounded concurrency, and loses nothing silently', async (t) => {
  if (!requireKernel(t)) return;
  const base = `/tcpscope-backpressure-${process.pid}`;
  const cgroup = TestCgroup.create(`${base}/app`);
  const children: RunningChild[] = [];
  const logs = new SlowConsumer(cgroup.attribute);
  const receiver = new TcpLifecycleReceiver(
    testSettings('tcp_lifecycle'),
    { collection_interval: '1h', drain_interval: '6s', ring_buffer_size: 4 << 20, max_connections: 65536, max_cgroups: 1024, wakeup_min_bytes: 1 << 30, sampling_pushdown: true },
    { logs, metrics: new RecordingMetricsConsumer() },
  );
  t.after(async () => {
    for (const c of children) c.kill();
    await receiver.shutdown();
    cgroup.remove(base);
  });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });

  const server = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'server', '1', 'client-first']));
  children.push(server);
  const ports = await server.nextJson<{ v4: number }>();
  const client = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(ports.v4), String(CONNECTIONS), '1', '0', 'client-first']));
  children.push(client);
  await client.nextJson(30_000);

  const dropped = () =>
    (receiver.collect().scopeMetrics[0].metrics.find((m) => m.descriptor.name === 'tcpscope.receiver.dropped_events') as SumMetricData).dataPoints[0].value;
  await waitUntil(() => logs.ours + dropped() >= 4 * CONNECTIONS && logs.inFlight === 0, 20_000, 'every event delivered or counted');

  t.diagnostic(`largest batch ${logs.maxBatch}, most in flight ${logs.maxInFlight}, dropped ${dropped()}`);
  // The ring is first read after 6 s, by then all 22,000 records wait: the cap must bite.
  assert.equal(logs.maxBatch, 4096, 'batches are capped at 4096 records');
  assert.equal(logs.maxInFlight, 4, 'the reader pauses at 4 batches in flight');
  assert.ok(logs.ours + dropped() >= 4 * CONNECTIONS, `delivered ${logs.ours} + dropped ${dropped()} cover all ${4 * CONNECTIONS} events`);
});
