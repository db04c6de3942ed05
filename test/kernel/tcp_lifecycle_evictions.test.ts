// More TCP sockets open at once than max_connections, with events: the table that follows sockets
// holds max_connections; a socket beyond it is not followed at all, and counted
// (dropped_events reason=connection_untracked), logged once with the key to raise. Nothing is
// evicted: every socket that was followed has its open event (tcp.connect / tcp.accept) and its
// tcp.close, and connection.count goes back to 0.
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

test('sockets beyond max_connections are not followed (counted, logged once); every followed one is whole', async (t) => {
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

  const ofOurs = (name: string) => logs.records.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute && r.eventName === name);
  const openOfOurs = (metrics: readonly MetricData[]) =>
    (metrics.find((m) => m.descriptor.name === 'system.network.connection.count') as SumMetricData).dataPoints
      .filter((p) => p.attributes['process.linux.cgroup'] === cgroup.attribute)
      .reduce((sum, p) => sum + p.value, 0);
  // Every followed socket of ours has closed (the child saw both sides of all close); wait for
  // the events of a quiet stream: two collections 200 ms apart with the same count.
  const deadline = Date.now() + 30_000;
  let metrics = receiver.collect().scopeMetrics[0].metrics;
  let seen = -1;
  while (ofOurs('tcp.close').length !== seen && Date.now() < deadline) {
    seen = ofOurs('tcp.close').length;
    await new Promise((r) => setTimeout(r, 200));
    metrics = receiver.collect().scopeMetrics[0].metrics;
  }
  const closes = ofOurs('tcp.close');
  const closesOf = (role: string) => closes.filter((r) => r.attributes['network.tcp.handshake.role'] === role);
  const untracked = droppedEvents(metrics, 'connection_untracked');
  const ring = droppedEvents(metrics, 'ring_buffer_full');
  const missed = missedRuns(metrics, 'tcp_lifecycle_set_state');
  t.diagnostic(
    `sockets of ours ${2 * CONNECTIONS}: closes ${closes.length} (client ${closesOf('client').length}, server ${closesOf('server').length}); ` +
      `connects ${ofOurs('tcp.connect').length}, accepts ${ofOurs('tcp.accept').length}; not followed (host-wide) ${untracked}; ring drops ${ring}, missed runs ${missed}`,
  );
  assert.equal(ring, 0, 'a 16 MiB ring holds every event here');
  // The table holds MAX_CONNECTIONS sockets, the host's other new sockets included.
  assert.ok(closes.length <= MAX_CONNECTIONS, `at most max_connections followed: ${closes.length}`);
  assert.ok(closes.length >= MAX_CONNECTIONS / 2, `the table was used: ${closes.length} followed`);
  // Each socket of ours was followed (its close delivered) or counted as not followed; runs the
  // kernel skipped (missed_runs, host-wide) are the only other way to miss one.
  assert.ok(closes.length + untracked >= 2 * CONNECTIONS - missed, `every socket of ours followed or counted: ${closes.length} + ${untracked}`);
  // Nothing evicted: a followed client has its tcp.connect, a followed server connection its
  // tcp.accept (accept() ran while the connection was open), each naming its owner.
  assert.ok(Math.abs(ofOurs('tcp.connect').length - closesOf('client').length) <= missed, 'a tcp.connect for every followed client');
  assert.ok(Math.abs(ofOurs('tcp.accept').length - closesOf('server').length) <= missed, 'a tcp.accept for every followed server connection');
  assert.equal(closes.filter((r) => r.attributes['process.pid'] === undefined).length, 0, 'every followed close names its owner');
  assert.ok(Math.abs(openOfOurs(metrics)) <= missed, `connection.count of ours back to 0 (${openOfOurs(metrics)}, ${missed} missed runs)`);

  const warnings = settings.lines.filter((l) => l.startsWith('WARN') && l.includes('max_connections'));
  assert.equal(warnings.length, 1, `one warning: ${settings.lines.join('\n')}`);
  assert.match(warnings[0], /TCP socket\(s\) lost: more than max_connections \(1024\) sockets were followed at once, so new ones went unseen/);
  assert.match(
    warnings[0],
    /Set receivers\.tcp_lifecycle\/evict\.max_connections above the peak number of open TCP sockets \(\d+ bytes of locked kernel memory each\)/,
  );
  receiver.collect();
  assert.equal(settings.lines.filter((l) => l.includes('max_connections')).length, 1, 'logged once');
});
