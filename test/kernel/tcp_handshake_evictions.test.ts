// More connects pending at once than max_attempts: the LRU evicts pending attempts, whose outcome
// is then lost. Every such loss is counted (dropped_events reason=attempt_evicted) and logged once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { HistogramMetricData, MetricData } from '@opentelemetry/sdk-metrics';
import { PACKAGE_ROOT } from '../../src/paths';
import { TcpHandshakeReceiver } from '../../src/receivers/tcp_handshake/receiver';
import { startChild } from '../support/child';
import { HANDSHAKE_TEST_CONFIG } from '../support/handshake';
import { requireKernel } from '../support/kernel';
import { createTestLink } from '../support/netns';
import { droppedEvents, startReceiverInCgroup } from '../support/receiver_in_cgroup';
import { recordingSettings } from '../support/recording-settings';

const MANY = join(PACKAGE_ROOT, 'test', 'support', 'many_attempts.py');
const MAX_ATTEMPTS = 1024;
const ATTEMPTS = 1500;
const SILENT_PORT = 9; // dropped in the peer namespace: every SYN goes unanswered

test('pending connects evicted beyond max_attempts are counted as lost outcomes and logged once', async (t) => {
  if (!requireKernel(t)) return;
  const settings = recordingSettings('tcp_handshake', 'evict', 'info');
  const { receiver, cgroup, children } = await startReceiverInCgroup(t, 'hsevict', 'client', (consumers) =>
    new TcpHandshakeReceiver(settings, { ...HANDSHAKE_TEST_CONFIG, max_attempts: MAX_ATTEMPTS }, consumers),
  );
  // Removed after the children in it are killed (cleanups run in the order they are registered).
  const link = createTestLink(`he${randomBytes(3).toString('hex')}`, 13);
  t.after(() => link.cleanup());
  link.run(link.peer, ['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(SILENT_PORT), '-j', 'DROP']);

  const child = startChild(cgroup.wrap(['ip', 'netns', 'exec', link.client, 'python3', MANY, link.peerV4, String(SILENT_PORT), String(ATTEMPTS)]));
  children.push(child);
  assert.deepEqual(await child.nextJson(60_000), { pending: ATTEMPTS });
  assert.deepEqual(await child.nextJson(60_000), { closed: ATTEMPTS });

  // Each attempt ends when its socket closes (ECONNABORTED): recorded in the histogram, or lost
  // and counted. Other connects of the host share the table, so their evictions only add.
  const ours = (metrics: readonly MetricData[]) =>
    (metrics.find((m) => m.descriptor.name === 'system.network.tcp.handshake.duration') as HistogramMetricData).dataPoints
      .filter((p) => p.attributes['process.linux.cgroup'] === cgroup.attribute)
      .reduce((sum, p) => sum + p.value.count, 0);
  let metrics = receiver.collect().scopeMetrics[0].metrics;
  for (const deadline = Date.now() + 30_000; ours(metrics) + droppedEvents(metrics, 'attempt_evicted') < ATTEMPTS && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 50));
    metrics = receiver.collect().scopeMetrics[0].metrics;
  }
  const recorded = ours(metrics);
  const evicted = droppedEvents(metrics, 'attempt_evicted');
  t.diagnostic(`outcomes of ours recorded ${recorded} of ${ATTEMPTS}; evicted ${evicted}`);
  assert.ok(recorded <= MAX_ATTEMPTS, `outcomes were lost: ${recorded} recorded of ${ATTEMPTS}`);
  assert.ok(evicted >= ATTEMPTS - recorded, `evictions counted (${evicted}) cover every missing outcome (${ATTEMPTS - recorded})`);

  const warnings = settings.lines.filter((l) => l.startsWith('WARN') && l.includes('max_attempts'));
  assert.equal(warnings.length, 1, settings.lines.join('\n'));
  assert.match(warnings[0], /more than max_attempts \(1024\) connects were pending at once/);
  assert.match(warnings[0], /Set receivers\.tcp_handshake\/evict\.max_attempts above the peak number of connects waiting for an answer/);
  receiver.collect();
  assert.equal(settings.lines.filter((l) => l.includes('max_attempts')).length, 1, 'logged once');
});
