// tcp_handshake's filters run in the kernel and thin only the events: the histogram still counts
// every attempt. And with tcp_lifecycle in the same logs pipeline, successes are reported once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { HistogramMetricData } from '@opentelemetry/sdk-metrics';
import type { EventKind } from '../../src/component';
import { PACKAGE_ROOT } from '../../src/paths';
import { validateComponentSettings } from '../../src/config/component_settings';
import { tcpLifecycleSchema, type TcpLifecycleConfig } from '../../src/receivers/tcp_lifecycle/config';
import { tcpLifecycleReceiverFactory } from '../../src/receivers/tcp_lifecycle/factory';
import type { TcpHandshakeConfig } from '../../src/receivers/tcp_handshake/config';
import { TcpHandshakeReceiver } from '../../src/receivers/tcp_handshake/receiver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';
import { HANDSHAKE_TEST_CONFIG } from '../support/handshake';
import { createTestNamespace } from '../support/netns';

const PROBE = join(PACKAGE_ROOT, 'test', 'support', 'connect_probe.py');
/** Closed for certain: the connects run in a network namespace the test made, where nothing listens but its server. */
const CLOSED_PORTS = [1, 2];

interface Outcome {
  events: ReadableLogRecord[];
  counts: Record<string, number>;
}

/**
 * Runs one receiver while processes in `app` make: 2 successful connects to a loopback server
 * (itself in `app`), and one refused connect to each of CLOSED_PORTS, from inside `app`; plus
 * one refused connect from `outside`. Returns the events and the histogram counts for `app`.
 * A `cgroup_prefix` in `config` means "the app cgroup" (its path is only known here).
 */
async function run(t: { after: (fn: () => Promise<void> | void) => void }, config: Partial<TcpHandshakeConfig>, logsPeerEvents?: EventKind[]): Promise<Outcome & { app: TestCgroup }> {
  const base = testCgroupBase('hsf');
  const app = TestCgroup.create(`${base}/app`);
  const outside = TestCgroup.create(`${base}/outside`);
  const namespace = createTestNamespace('hsf');
  const children: RunningChild[] = [];
  const logs = new RecordingLogsConsumer();
  const settings = { ...testSettings('tcp_handshake'), logsPeerEvents: new Set(logsPeerEvents ?? []) };
  const receiver = new TcpHandshakeReceiver(settings, { ...HANDSHAKE_TEST_CONFIG, ...config, cgroup_prefix: config.cgroup_prefix === undefined ? '' : app.path }, { logs, metrics: new RecordingMetricsConsumer() });
  t.after(async () => {
    for (const c of children) c.kill();
    try {
      await receiver.shutdown();
    } finally {
      namespace.cleanup();
      app.remove();
      outside.remove(base);
    }
  });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });
  const server = startChild(app.wrap(namespace.exec([process.execPath, TCP_PEER, 'server', '1', 'client-first'])));
  children.push(server);
  const port = (await server.nextJson<{ v4: number }>()).v4;
  const probe = async (cgroup: TestCgroup, target: number) => {
    const child = startChild(cgroup.wrap(namespace.exec(['python3', PROBE, '127.0.0.1', String(target), 'nonblocking', '5'])));
    children.push(child);
    return child.nextJson<{ error: string }>();
  };
  assert.equal((await probe(app, port)).error, '');
  assert.equal((await probe(app, port)).error, '');
  for (const closed of CLOSED_PORTS) assert.equal((await probe(app, closed)).error, 'ECONNREFUSED');
  assert.equal((await probe(outside, CLOSED_PORTS[0])).error, 'ECONNREFUSED');
  // The histogram is counted by the same program run that submits the event: once it has counted
  // all 7 attempts (6 in app, 1 outside), every event is in the ring buffer, and shutdown drains it.
  const points = (cgroup: TestCgroup) =>
    (receiver.collect().scopeMetrics[0].metrics.find((m) => m.descriptor.name === 'system.network.tcp.handshake.duration') as HistogramMetricData).dataPoints.filter(
      (p) => p.attributes['process.linux.cgroup'] === cgroup.attribute,
    );
  const attempts = (cgroup: TestCgroup) => points(cgroup).reduce((n, p) => n + p.value.count, 0);
  await waitUntil(() => attempts(app) >= 6 && attempts(outside) >= 1, undefined, 'every attempt to be counted');
  const counts = Object.fromEntries(points(app).map((p) => [`${p.attributes['network.tcp.handshake.role']}:${p.attributes['error.type'] ?? 'ok'}`, p.value.count]));
  await receiver.shutdown();
  const inTest = (r: ReadableLogRecord) => r.attributes['process.linux.cgroup'] === app.attribute || r.attributes['process.linux.cgroup'] === outside.attribute;
  return { events: logs.records.filter(inTest), counts, app };
}

const ALL_ATTEMPTS = { 'client:ok': 2, 'client:ECONNREFUSED': 2, 'server:ok': 2 };
const summary = (events: ReadableLogRecord[]) =>
  events.map((r) => `${r.eventName}:${r.attributes['error.type'] ?? 'ok'}:${r.attributes['network.peer.port'] === 1 || r.attributes['network.peer.port'] === 2 ? r.attributes['network.peer.port'] : 'server'}`).sort();

test('no filter: every outcome is an event, server handshakes as tcp.accept with their duration', async (t) => {
  if (!requireKernel(t)) return;
  const { events, counts } = await run(t, {});
  assert.deepEqual(counts, ALL_ATTEMPTS);
  assert.deepEqual(summary(events), [
    'tcp.accept:ok:server', 'tcp.accept:ok:server', 'tcp.connect:ECONNREFUSED:1', 'tcp.connect:ECONNREFUSED:1', 'tcp.connect:ECONNREFUSED:2',
    'tcp.connect:ok:server', 'tcp.connect:ok:server',
  ]);
  for (const accept of events.filter((r) => r.eventName === 'tcp.accept')) {
    const d = accept.attributes['tcp.handshake.duration'] as number;
    // Below the 1 s initial RTO: no SYN-ACK was retransmitted on loopback.
    assert.ok(d > 0 && d < 1, `server handshake ${d} s on loopback`);
  }
});

test('failed_only: successes make no events, the histogram still counts them', async (t) => {
  if (!requireKernel(t)) return;
  const { events, counts } = await run(t, { failed_only: true });
  assert.deepEqual(counts, ALL_ATTEMPTS);
  assert.deepEqual(summary(events), ['tcp.connect:ECONNREFUSED:1', 'tcp.connect:ECONNREFUSED:1', 'tcp.connect:ECONNREFUSED:2']);
});

test('connect_only, ports and cgroup_prefix', async (t) => {
  if (!requireKernel(t)) return;
  const { events, counts } = await run(t, { connect_only: true, ports: [2], cgroup_prefix: 'app' });
  assert.deepEqual(counts, ALL_ATTEMPTS);
  assert.deepEqual(summary(events), ['tcp.connect:ECONNREFUSED:2']);
});

/** What the graph gives tcp_handshake beside a tcp_lifecycle with these settings (its factory declares it). */
function besideLifecycle(settings: Record<string, unknown>): EventKind[] {
  const config = validateComponentSettings(tcpLifecycleSchema, settings, ['receivers', 'tcp_lifecycle']) as TcpLifecycleConfig;
  return [...(tcpLifecycleReceiverFactory.reportsEvents?.(config) ?? [])];
}

test('with tcp_lifecycle in the same logs pipeline, only failures come from tcp_handshake', async (t) => {
  if (!requireKernel(t)) return;
  const { events, counts } = await run(t, {}, besideLifecycle({}));
  assert.deepEqual(counts, ALL_ATTEMPTS);
  assert.deepEqual(summary(events), ['tcp.connect:ECONNREFUSED:1', 'tcp.connect:ECONNREFUSED:1', 'tcp.connect:ECONNREFUSED:2']);
});

test('beside a tcp_lifecycle whose events leave tcp.accept out, tcp_handshake reports the accepts', async (t) => {
  if (!requireKernel(t)) return;
  const { events, counts } = await run(t, {}, besideLifecycle({ events: ['tcp.connect', 'tcp.close'] }));
  assert.deepEqual(counts, ALL_ATTEMPTS);
  assert.deepEqual(summary(events), ['tcp.accept:ok:server', 'tcp.accept:ok:server', 'tcp.connect:ECONNREFUSED:1', 'tcp.connect:ECONNREFUSED:1', 'tcp.connect:ECONNREFUSED:2']);
});
