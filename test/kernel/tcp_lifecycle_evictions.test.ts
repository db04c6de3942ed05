// More sockets open at once than max_connections: the LRU evicts open ones, whose tcp.close is
// then lost. Every such loss is counted (dropped_events reason=connection_evicted), logged once
// with the key to raise, and the connection still leaves system.network.connection.count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { MetricData, SumMetricData } from '@opentelemetry/sdk-metrics';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { DIST_ROOT, startChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { LIFECYCLE_TEST_CONFIG } from '../support/lifecycle';
import { missedRuns } from '../support/missed_runs';
import { droppedEvents, startReceiverInCgroup } from '../support/receiver_in_cgroup';
import { recordingSettings } from '../support/recording-settings';

const MANY = join(DIST_ROOT, 'test', 'support', 'many_connections.js');
const MAX_CONNECTIONS = 1024;
const CONNECTIONS = 1500; // 3000 sockets of ours open at once: at least 1976 more than the table holds

test('open sockets evicted beyond max_connections are counted as lost closes, logged once, and leave connection.count', async (t) => {
  if (!requireKernel(t)) return;
  const settings = recordingSettings('tcp_lifecycle', 'evict', 'info');
  const { receiver, cgroup, children, logs } = await startReceiverInCgroup(t, 'evict', 'app', (consumers) =>
    new TcpLifecycleReceiver(
      settings,
      { ...LIFECYCLE_TEST_CONFIG, drain_interval: '50ms', ring_buffer_size: 16 * 1024 * 1024, max_connections: MAX_CONNECTIONS },
      consumers,
    ),
  );

  const child = startChild(cgroup.wrap([process.execPath, MANY, String(CONNECTIONS)]));
  children.push(child);
  await child.nextJson<{ opened: number }>(120_000);
  await child.nextJson<{ closed: number }>(120_000);

  const ours = () => logs.records.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute && r.eventName === 'tcp.close').length;
  const openOfOurs = (metrics: readonly MetricData[]) =>
    (metrics.find((m) => m.descriptor.name === 'system.network.connection.count') as SumMetricData).dataPoints
      .filter((p) => p.attributes['process.linux.cgroup'] === cgroup.attribute)
      .reduce((sum, p) => sum + p.value, 0);
  // Every close of ours is delivered, or lost and counted (evicted; or ring full, which a 16 MiB
  // ring should never be here). Other sockets of the host share the table, so their evictions
  // can only add to the count. Wait for it with a generous deadline: events arrive every 50 ms.
  const deadline = Date.now() + 30_000;
  let metrics = receiver.collect().scopeMetrics[0].metrics;
  while (ours() + droppedEvents(metrics, 'connection_evicted') + droppedEvents(metrics, 'ring_buffer_full') < 2 * CONNECTIONS && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    metrics = receiver.collect().scopeMetrics[0].metrics;
  }
  const delivered = ours();
  const evicted = droppedEvents(metrics, 'connection_evicted');
  const ring = droppedEvents(metrics, 'ring_buffer_full');
  const missed = missedRuns(metrics, 'tcp_lifecycle_set_state');
  t.diagnostic(`closes of ours delivered ${delivered} of ${2 * CONNECTIONS}; evicted ${evicted}, ring drops ${ring}, missed runs ${missed}`);
  assert.ok(delivered < 2 * CONNECTIONS - MAX_CONNECTIONS, `closes were lost: ${delivered} delivered of ${2 * CONNECTIONS}`);
  assert.ok(evicted >= 2 * CONNECTIONS - delivered - ring, `evictions counted (${evicted}) cover every missing close (${2 * CONNECTIONS - delivered - ring})`);
  // Each connection entered connection.count at ESTABLISHED and left it at CLOSE, evicted or not.
  assert.ok(Math.abs(openOfOurs(metrics)) <= missed, `connection.count of ours back to 0 (${openOfOurs(metrics)}, ${missed} missed runs)`);

  const warnings = settings.lines.filter((l) => l.startsWith('WARN') && l.includes('max_connections'));
  assert.equal(warnings.length, 1, `one warning: ${settings.lines.join('\n')}`);
  assert.match(warnings[0], /more than max_connections \(1024\) sockets were open at once/);
  assert.match(warnings[0], /Set receivers\.tcp_lifecycle\/evict\.max_connections above the peak number of open TCP sockets \(176 bytes of locked kernel memory each\)/);
  receiver.collect();
  assert.equal(settings.lines.filter((l) => l.includes('max_connections')).length, 1, 'logged once');
});
