// More connects pending at once than max_attempts: the table of pending connects holds
// max_attempts and evicts nothing; a connect beyond it is not followed at all, counted
// (dropped_events reason=attempt_untracked) and logged once with the key to raise. Every followed
// connect is whole: its outcome in the histogram and its tcp.connect event. An outcome frees its
// entry: once they ended, as many connects can be followed again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { HistogramMetricData, MetricData } from '@opentelemetry/sdk-metrics';
import { PACKAGE_ROOT } from '../../src/paths';
import { TcpHandshakeReceiver } from '../../src/receivers/tcp_handshake/receiver';
import { startChild, waitUntil } from '../support/child';
import { HANDSHAKE_TEST_CONFIG } from '../support/handshake';
import { requireKernel } from '../support/kernel';
import { missedRuns } from '../support/missed_runs';
import { createTestLink } from '../support/netns';
import { droppedEvents, startReceiverInCgroup } from '../support/receiver_in_cgroup';
import { recordingSettings } from '../support/recording-settings';

const MANY = join(PACKAGE_ROOT, 'test', 'support', 'many_attempts.py');
const MAX_ATTEMPTS = 1024;
const ATTEMPTS = 1500; // at least 476 beyond the table
const AGAIN = 512; // the second round, once the first ended: fits in the freed table
const SILENT_PORT = 9; // dropped in the peer namespace: every SYN goes unanswered
const REFUSED_PORT = 10; // nothing listens in the peer namespace: its RST refuses the connect

interface Pending {
  pending: number;
  pid: number;
  ports: number[];
}

test('connects beyond max_attempts are not followed (counted, logged once); every followed one is whole', async (t) => {
  if (!requireKernel(t)) return;
  const settings = recordingSettings('tcp_handshake', 'evict', 'info');
  const { receiver, cgroup, children, logs } = await startReceiverInCgroup(t, 'hsevict', 'client', (consumers) =>
    new TcpHandshakeReceiver(settings, { ...HANDSHAKE_TEST_CONFIG, ring_buffer_size: 4 * 1024 * 1024, max_attempts: MAX_ATTEMPTS }, consumers),
  );
  // Removed after the children in it are killed (cleanups run in the order they are registered).
  const link = createTestLink(`he${randomBytes(3).toString('hex')}`, 13);
  t.after(() => link.cleanup());
  link.run(link.peer, ['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(SILENT_PORT), '-j', 'DROP']);

  const ofOurs = (metrics: readonly MetricData[], error: string) =>
    (metrics.find((m) => m.descriptor.name === 'system.network.tcp.handshake.duration') as HistogramMetricData).dataPoints
      .filter((p) => p.attributes['process.linux.cgroup'] === cgroup.attribute && p.attributes['error.type'] === error)
      .reduce((sum, p) => sum + p.value.count, 0);
  const eventsOf = (pid: number) => logs.records.filter((r) => r.attributes['process.pid'] === pid);
  const collect = () => receiver.collect().scopeMetrics[0].metrics;

  /** One round: `count` connects pending at once, then closed; each ends ECONNABORTED if followed. */
  const round = async (count: number, refused: boolean) => {
    const before = collect();
    const abortedBefore = ofOurs(before, 'ECONNABORTED');
    const untrackedBefore = droppedEvents(before, 'attempt_untracked');
    const missedBefore = missedRuns(before, 'tcp_handshake_set_state');
    const argv = ['ip', 'netns', 'exec', link.client, 'python3', MANY, link.peerV4, String(SILENT_PORT), String(count)];
    const child = startChild(cgroup.wrap(refused ? [...argv, String(REFUSED_PORT)] : argv));
    children.push(child);
    const pending = await child.nextJson<Pending>(60_000);
    assert.equal(pending.pending, count);
    const refusal = refused ? await child.nextJson<{ refused: string; port: number }>(60_000) : undefined;
    if (refusal) assert.equal(refusal.refused, 'ECONNREFUSED');
    assert.deepEqual(await child.nextJson(60_000), { closed: count });
    // Each connect of ours was followed (its outcome recorded, its event sent) or counted as not
    // followed; a run the kernel skipped (missed_runs, host-wide) is the only other way to miss one.
    let metrics = collect();
    const settled = () => {
      const followed = ofOurs(metrics, 'ECONNABORTED') - abortedBefore;
      const untracked = droppedEvents(metrics, 'attempt_untracked') - untrackedBefore;
      const missed = missedRuns(metrics, 'tcp_handshake_set_state') - missedBefore;
      return followed + untracked + missed >= count && eventsOf(pending.pid).filter((r) => r.attributes['error.type'] === 'ECONNABORTED').length >= followed;
    };
    await waitUntil(
      () => {
        metrics = collect();
        return settled();
      },
      30_000,
      'every connect of ours followed or counted, and the events of the followed ones',
    );
    return {
      pending,
      refusal,
      metrics,
      followed: ofOurs(metrics, 'ECONNABORTED') - abortedBefore,
      untracked: droppedEvents(metrics, 'attempt_untracked') - untrackedBefore,
      missed: missedRuns(metrics, 'tcp_handshake_set_state') - missedBefore,
    };
  };

  const first = await round(ATTEMPTS, true);
  t.diagnostic(`first round: ${ATTEMPTS} pending at once, followed ${first.followed}, not followed (host-wide) ${first.untracked}, missed runs ${first.missed}`);
  assert.equal(droppedEvents(first.metrics, 'ring_buffer_full'), 0, 'a 4 MiB ring holds every event here');
  // The table holds MAX_ATTEMPTS pending connects, the host's others included: ours beyond it were
  // not followed, and each was counted.
  assert.ok(first.followed <= MAX_ATTEMPTS, `at most max_attempts followed: ${first.followed}`);
  assert.ok(first.followed >= MAX_ATTEMPTS / 2, `the table was used: ${first.followed} followed`);
  assert.ok(first.untracked >= ATTEMPTS - first.followed - first.missed, `every connect of ours not followed is counted: ${first.untracked}`);
  // Whole: one tcp.connect per followed outcome, each a connect of ours (its local port, its
  // owner), none twice, none evicted on the way.
  const aborted = eventsOf(first.pending.pid).filter((r) => r.attributes['error.type'] === 'ECONNABORTED');
  assert.equal(aborted.length, first.followed, 'an event for each followed outcome');
  const ports = new Set(first.pending.ports);
  const eventPorts = aborted.map((r) => r.attributes['network.local.port'] as number);
  assert.ok(eventPorts.every((p) => ports.has(p)), 'each event names the local port of a connect of ours');
  assert.equal(new Set(eventPorts).size, aborted.length, 'no connect reported twice');
  for (const r of aborted) {
    assert.equal(r.eventName, 'tcp.connect');
    assert.equal(r.attributes['process.executable.name'], 'python3');
    assert.equal(r.attributes['network.peer.port'], SILENT_PORT);
  }
  // The refused connect, made while the table was full: not followed, its error is its outcome's
  // (missing, counted), never reported as a failure before any SYN (which has no local address).
  // Another connect of the host may have freed a slot meanwhile: then it was followed, whole.
  const refusedEvents = eventsOf(first.pending.pid).filter((r) => r.attributes['error.type'] === 'ECONNREFUSED');
  assert.equal(ofOurs(first.metrics, 'ECONNREFUSED'), refusedEvents.length, 'the refusal recorded only with its event');
  assert.ok(refusedEvents.length <= 1, 'one refusal at most');
  for (const r of refusedEvents) assert.ok(r.attributes['network.local.address'] !== undefined, 'a handshake outcome, not a failure before any SYN');
  t.diagnostic(`the refused connect while the table was full: ${refusedEvents.length === 0 ? 'not followed' : 'followed (a slot was free)'}`);

  // The outcomes freed their entries: a round that fits is followed whole.
  const second = await round(AGAIN, false);
  t.diagnostic(`second round: ${AGAIN} pending at once, followed ${second.followed}, not followed (host-wide) ${second.untracked}, missed runs ${second.missed}`);
  assert.ok(second.followed + second.missed >= AGAIN && second.followed <= AGAIN, `every connect of the second round followed: ${second.followed}`);
  assert.equal(eventsOf(second.pending.pid).length, second.followed, 'an event for each');

  const warnings = settings.lines.filter((l) => l.startsWith('WARN') && l.includes('max_attempts'));
  assert.equal(warnings.length, 1, settings.lines.join('\n'));
  assert.match(warnings[0], /handshake outcome\(s\) lost: more than max_attempts \(1024\) connects were pending at once, so new ones were not followed/);
  assert.match(warnings[0], /reason=attempt_untracked/);
  assert.match(
    warnings[0],
    /Set receivers\.tcp_handshake\/evict\.max_attempts above the peak number of connects waiting for an answer \(a SYN to a silent host waits up to ~2 min; 120 bytes of locked kernel memory each\)/,
  );
  receiver.collect();
  assert.equal(settings.lines.filter((l) => l.includes('max_attempts')).length, 1, 'logged once');
});
