// A logs pipeline slower than the event stream: the receiver keeps at most 4 batches of at most
// 4,096 records in flight and lets the kernel ring buffer hold (or count) the rest.
//
// Made independent of how fast the client runs: the ring buffer is not read on a timer (drain
// interval 1 h) but only when the kernel wakes the reader, which it does once MORE than four full
// batches are pending (wakeup_min_bytes). So whether the client needs 1 s or 60 s, the first read
// finds over 16,384 records waiting, and the cap and the pause must both bite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { HistogramMetricData, MetricData, SumMetricData } from '@opentelemetry/sdk-metrics';
import type { Consumer } from '../../src/component';
import { MAX_BATCHES_IN_FLIGHT } from '../../src/receivers/common/event_pump';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { EVENT_SIZE } from '../../src/receivers/tcp_lifecycle/layout';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const CONNECTIONS = 5500; // 22,000 events: more than five batches' worth
const MAX_BATCH = 4096;
/** A record in the BPF ring buffer: the event behind an 8-byte header, 8-byte aligned. */
const RING_RECORD_BYTES = Math.ceil((EVENT_SIZE + 8) / 8) * 8;
/** The kernel wakes the reader when this much is pending: one record more than four full batches. */
const WAKEUP_BYTES = (MAX_BATCHES_IN_FLIGHT * MAX_BATCH + 1) * RING_RECORD_BYTES;

class SlowConsumer implements Consumer<'logs'> {
  inFlight = 0;
  maxInFlight = 0;
  batches: number[] = [];
  ours = 0;
  constructor(private readonly cgroup: string) {}
  async consume(records: readonly ReadableLogRecord[]): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.batches.push(records.length);
    this.ours += records.filter((r) => r.attributes['process.linux.cgroup'] === this.cgroup).length;
    await new Promise((r) => setTimeout(r, 150));
    this.inFlight--;
  }
}

test('a slow logs pipeline gets bounded batches, bounded concurrency, and loses nothing silently', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('backpressure');
  const cgroup = TestCgroup.create(`${base}/app`);
  const children: RunningChild[] = [];
  const logs = new SlowConsumer(cgroup.attribute);
  const receiver = new TcpLifecycleReceiver(
    testSettings('tcp_lifecycle'),
    { collection_interval: '1h', drain_interval: '1h', ring_buffer_size: 16 << 20, max_connections: 65536, max_cgroups: 1024, wakeup_min_bytes: WAKEUP_BYTES, sampling_pushdown: true, events: ['tcp.connect', 'tcp.accept', 'tcp.close'] },
    { logs, metrics: new RecordingMetricsConsumer() },
  );
  t.after(async () => {
    for (const c of children) c.kill();
    try {
      await receiver.shutdown();
    } finally {
      cgroup.remove(base);
    }
  });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });

  const server = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'server', '1', 'client-first']));
  children.push(server);
  const ports = await server.nextJson<{ v4: number }>();
  const client = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(ports.v4), String(CONNECTIONS), '1', '0', 'client-first']));
  children.push(client);
  assert.deepEqual(await client.nextJson(3 * DEADLINE_MS), { done: CONNECTIONS });

  // Every connection closed on both sides in the kernel (its aggregates are updated by the same
  // program run that submits the event): all 22,000 events are in the ring buffer or were read.
  const metrics = (): MetricData[] => receiver.collect().scopeMetrics[0].metrics;
  const closed = (role: string) =>
    (metrics().find((m) => m.descriptor.name === 'system.network.tcp.connection.duration') as HistogramMetricData).dataPoints.find(
      (p) => p.attributes['process.linux.cgroup'] === cgroup.attribute && p.attributes['network.tcp.handshake.role'] === role,
    )?.value.count ?? 0;
  await waitUntil(() => closed('client') === CONNECTIONS && closed('server') === CONNECTIONS, DEADLINE_MS, 'every connection closed on both sides');
  // The wake-up came when over four batches were pending (ours alone are 22,000 records).
  await waitUntil(() => logs.batches.length >= MAX_BATCHES_IN_FLIGHT, DEADLINE_MS, 'the kernel to wake the reader');
  await waitUntil(() => logs.inFlight === 0, DEADLINE_MS, 'the pipeline to finish what it was given');
  // Looked at before shutdown, which hands over everything left at once.
  const { maxInFlight } = logs;
  const firstBatches = logs.batches.slice(0, MAX_BATCHES_IN_FLIGHT);

  // Every one of ours is in the ring buffer or was dropped by now: the count is final for them.
  const lost = (metrics().find((m) => m.descriptor.name === 'tcpscope.receiver.dropped_events') as SumMetricData).dataPoints[0].value;
  await receiver.shutdown(); // reads what is left in the ring buffer

  t.diagnostic(`batches ${logs.batches.join(' ')}, most in flight ${maxInFlight}, dropped ${lost}`);
  assert.deepEqual(firstBatches, Array<number>(MAX_BATCHES_IN_FLIGHT).fill(MAX_BATCH), 'the first reads are full batches of 4096 records');
  assert.ok(Math.max(...logs.batches) <= MAX_BATCH, 'no batch is larger than 4096 records');
  assert.equal(maxInFlight, MAX_BATCHES_IN_FLIGHT, 'the reader pauses at 4 batches in flight');
  // Losses are host-wide (other processes' events share the ring), ours are exact: what is not
  // delivered is counted, and with no loss at all every one of ours arrived.
  assert.ok(logs.ours <= 4 * CONNECTIONS, `delivered ${logs.ours} of ${4 * CONNECTIONS}`);
  assert.ok(logs.ours + lost >= 4 * CONNECTIONS, `delivered ${logs.ours} + dropped ${lost} cover all ${4 * CONNECTIONS} events`);
  if (lost === 0) assert.equal(logs.ours, 4 * CONNECTIONS, 'nothing dropped: every event delivered');
});
