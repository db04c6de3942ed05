// tcp_lifecycle's `events` key: the kernel writes only the kinds listed. tcp.close alone is one
// record per socket that still names both owners (the accept hook still runs for the server's)
// and carries the bytes; the kinds left out never reach the logs pipeline, and the metrics do not
// change with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { HistogramMetricData, MetricData } from '@opentelemetry/sdk-metrics';
import type { LifecycleEventName } from '../../src/receivers/tcp_lifecycle/config';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { DEADLINE_MS, waitUntil } from '../support/child';
import { requireKernel } from '../support/kernel';
import { LIFECYCLE_TEST_CONFIG } from '../support/lifecycle';
import { startReceiverInCgroup } from '../support/receiver_in_cgroup';
import { testSettings } from '../support/settings';
import { startTcpPeers } from '../support/tcp_peers';

const CONNECTIONS = 6;
const SEND_BYTES = 700;
const REPLY_BYTES = 1900;
/** Drain intervals (20 ms) to wait, once the closes are counted, for records that must not come. */
const SETTLE_MS = 300;

function closedCount(metrics: readonly MetricData[], cgroupAttribute: string, role: string): number {
  const histogram = metrics.find((m) => m.descriptor.name === 'system.network.tcp.connection.duration') as HistogramMetricData;
  return histogram.dataPoints.find((p) => p.attributes['process.linux.cgroup'] === cgroupAttribute && p.attributes['network.tcp.handshake.role'] === role)?.value.count ?? 0;
}

const CASES: readonly { events: LifecycleEventName[]; perConnection: Record<LifecycleEventName, number> }[] = [
  { events: ['tcp.close'], perConnection: { 'tcp.connect': 0, 'tcp.accept': 0, 'tcp.close': 2 } },
  { events: ['tcp.connect', 'tcp.accept'], perConnection: { 'tcp.connect': 1, 'tcp.accept': 1, 'tcp.close': 0 } },
];

for (const { events, perConnection } of CASES) {
  test(`tcp_lifecycle with events ${JSON.stringify(events)} writes those kinds only, metrics unchanged`, async (t) => {
    if (!requireKernel(t)) return;
    const { receiver, cgroup, children, logs } = await startReceiverInCgroup(t, 'kinds', 'app', (consumers) =>
      new TcpLifecycleReceiver(testSettings('tcp_lifecycle'), { ...LIFECYCLE_TEST_CONFIG, events }, consumers),
    );
    const { server, client } = await startTcpPeers(cgroup, children, { connections: CONNECTIONS, replyBytes: REPLY_BYTES, sendBytes: SEND_BYTES, holdMs: 5 });
    assert.deepEqual(await client.nextJson(), { done: CONNECTIONS });

    // Metrics come from the kernel aggregates whatever events are written: every connection, both ends.
    await waitUntil(
      () => {
        const metrics = receiver.collect().scopeMetrics[0].metrics;
        return closedCount(metrics, cgroup.attribute, 'client') === CONNECTIONS && closedCount(metrics, cgroup.attribute, 'server') === CONNECTIONS;
      },
      DEADLINE_MS,
      'both ends of every connection counted closed',
    );
    const ours = (name: string) => logs.records.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute && r.eventName === name);
    const wanted = (name: LifecycleEventName) => perConnection[name] * CONNECTIONS;
    await waitUntil(() => events.every((name) => ours(name).length >= wanted(name)), DEADLINE_MS, `the ${events.join(', ')} records`);
    // A kind left out would have been written by now (each kind is written no later than the
    // close it precedes or is): give the reader a few drain intervals to show it if it were.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    for (const name of ['tcp.connect', 'tcp.accept', 'tcp.close'] as const) {
      assert.equal(ours(name).length, wanted(name), `${name} records`);
    }

    const role = (r: ReadableLogRecord) => r.attributes['network.tcp.handshake.role'];
    if (events.includes('tcp.close')) {
      // The one record per socket names its owner on both ends and carries the payload bytes.
      const closes = ours('tcp.close');
      const clientCloses = closes.filter((r) => role(r) === 'client');
      const serverCloses = closes.filter((r) => role(r) === 'server');
      assert.equal(clientCloses.length, CONNECTIONS);
      assert.equal(serverCloses.length, CONNECTIONS);
      for (const r of clientCloses) {
        assert.equal(r.attributes['process.pid'], client.pid, 'client close owned by the client');
        assert.equal(r.attributes['tcp.bytes.sent'], SEND_BYTES);
        assert.equal(r.attributes['tcp.bytes.received'], REPLY_BYTES);
      }
      for (const r of serverCloses) {
        assert.equal(r.attributes['process.pid'], server.pid, 'server close owned by the accepting process');
        assert.equal(r.attributes['process.executable.name'], 'node');
        assert.equal(r.attributes['tcp.bytes.sent'], REPLY_BYTES);
        assert.equal(r.attributes['tcp.bytes.received'], SEND_BYTES);
      }
      assert.equal(new Set(clientCloses.map((r) => r.attributes['network.local.port'])).size, CONNECTIONS, 'one close per client socket');
    } else {
      for (const r of ours('tcp.connect')) assert.equal(r.attributes['process.pid'], client.pid, 'connect owned by the client');
      for (const r of ours('tcp.accept')) assert.equal(r.attributes['process.pid'], server.pid, 'accept owned by the server');
    }
  });
}
