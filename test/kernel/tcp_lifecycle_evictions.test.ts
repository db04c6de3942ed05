// More server connections open at once than max_connections, with events: connections are never
// lost (each is followed in its socket's own storage), only the owner of the oldest server
// connections, whose copy the accept() hooks write into an LRU table of max_connections entries.
// Every close is delivered; each close that names no process is covered by a counted eviction
// (dropped_events reason=connection_evicted), logged once with the key to raise; the metrics are
// whole and connection.count goes back to 0.
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
const CONNECTIONS = 1500; // 1500 server connections of ours open at once: at least 476 more than the table holds

test('server connections beyond max_connections lose only their owner (counted, logged once); every close and the metrics are whole', async (t) => {
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

  const closesOfOurs = () => logs.records.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute && r.eventName === 'tcp.close');
  const openOfOurs = (metrics: readonly MetricData[]) =>
    (metrics.find((m) => m.descriptor.name === 'system.network.connection.count') as SumMetricData).dataPoints
      .filter((p) => p.attributes['process.linux.cgroup'] === cgroup.attribute)
      .reduce((sum, p) => sum + p.value, 0);
  // Wait for every close of ours with a generous deadline: events arrive every 50 ms.
  const deadline = Date.now() + 30_000;
  let metrics = receiver.collect().scopeMetrics[0].metrics;
  while (closesOfOurs().length < 2 * CONNECTIONS && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    metrics = receiver.collect().scopeMetrics[0].metrics;
  }
  const closes = closesOfOurs();
  const ofRole = (role: string) => closes.filter((r) => r.attributes['network.tcp.handshake.role'] === role);
  const ownerless = ofRole('server').filter((r) => r.attributes['process.pid'] === undefined);
  const evicted = droppedEvents(metrics, 'connection_evicted');
  const ring = droppedEvents(metrics, 'ring_buffer_full');
  const missed = missedRuns(metrics, 'tcp_lifecycle_set_state');
  t.diagnostic(`closes of ours ${closes.length} of ${2 * CONNECTIONS}; naming no process ${ownerless.length}; evicted ${evicted}, ring drops ${ring}, missed runs ${missed}`);
  assert.equal(ring, 0, 'a 16 MiB ring holds every event here');
  // Runs the kernel skipped (missed_runs, host-wide: nested in a softirq on the same CPU) are the
  // only way to miss a close of ours; on a quiet host it is exactly all of them.
  assert.ok(closes.length <= 2 * CONNECTIONS && closes.length >= 2 * CONNECTIONS - missed, `every close of ours delivered, none evicted: ${closes.length}`);
  assert.ok(ofRole('client').length <= CONNECTIONS && ofRole('client').length >= CONNECTIONS - missed, 'every client close of ours');
  assert.equal(ofRole('client').filter((r) => r.attributes['process.pid'] === undefined).length, 0, 'clients name their owner (connect() runs in it)');
  // At least CONNECTIONS - MAX_CONNECTIONS copies were evicted while open; other server
  // connections of the host share the table, so their evictions only add to the count.
  assert.ok(ownerless.length >= CONNECTIONS - MAX_CONNECTIONS - missed, `owners lost beyond the table: ${ownerless.length}`);
  assert.ok(evicted >= ownerless.length, `evictions counted (${evicted}) cover every close without its owner (${ownerless.length})`);
  assert.ok(Math.abs(openOfOurs(metrics)) <= missed, `connection.count of ours back to 0 (${openOfOurs(metrics)}, ${missed} missed runs)`);

  const warnings = settings.lines.filter((l) => l.startsWith('WARN') && l.includes('max_connections'));
  assert.equal(warnings.length, 1, `one warning: ${settings.lines.join('\n')}`);
  assert.match(warnings[0], /more than max_connections \(1024\) accepted server connections were open at once/);
  assert.match(
    warnings[0],
    /Set receivers\.tcp_lifecycle\/evict\.max_connections above the peak number of open server-side TCP connections \(176 bytes of locked kernel memory each, with a logs pipeline only\)/,
  );
  receiver.collect();
  assert.equal(settings.lines.filter((l) => l.includes('max_connections')).length, 1, 'logged once');
});
