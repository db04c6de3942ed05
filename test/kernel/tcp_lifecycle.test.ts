// tcp_lifecycle on the real kernel: real BPF programs, real loopback connections from child
// processes in their own cgroups, exact counts, bytes, owners and addresses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attributes } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { DataPointType, type HistogramMetricData, type MetricData, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { LIFECYCLE_TEST_CONFIG } from '../support/lifecycle';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

interface Ports {
  v4: number;
  v6: number;
  dual: number;
}

interface ClientRun {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly peerAddress: string;
  readonly networkType: 'ipv4' | 'ipv6';
  readonly count: number;
  readonly sendBytes: number;
  readonly replyBytes: number;
  readonly holdMs: number;
  readonly server: RunningChild;
  child?: RunningChild;
  wallMs?: number;
}

const attr = (r: ReadableLogRecord, key: string) => r.attributes[key];

function pointsOf<T extends MetricData>(metrics: MetricData[], name: string): T {
  const metric = metrics.find((m) => m.descriptor.name === name);
  assert.ok(metric, `metric ${name} is exported`);
  return metric as T;
}

function matches(attributes: Readonly<Record<string, unknown>>, wanted: Attributes): boolean {
  return Object.entries(wanted).every(([k, v]) => attributes[k] === v);
}

test('tcp_lifecycle reports every loopback connection exactly, with owners, bytes and metrics', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('test');
  const serverCgroup = TestCgroup.create(`${base}/server`);
  const clientCgroup = TestCgroup.create(`${base}/client`);
  const children: RunningChild[] = [];
  const logs = new RecordingLogsConsumer();
  const metrics = new RecordingMetricsConsumer();
  const receiver = new TcpLifecycleReceiver(testSettings('tcp_lifecycle'), LIFECYCLE_TEST_CONFIG, { logs, metrics });
  t.after(async () => {
    for (const c of children) c.kill();
    try {
      await receiver.shutdown();
    } finally {
      clientCgroup.remove();
      serverCgroup.remove(base);
    }
  });

  await receiver.start({ reportFatal: (e) => assert.fail(e) });

  const serverA = startChild(serverCgroup.wrap([process.execPath, TCP_PEER, 'server', '2000', 'client-first']));
  const serverB = startChild(serverCgroup.wrap([process.execPath, TCP_PEER, 'server', '3000', 'server-first']));
  children.push(serverA, serverB);
  const portsA = await serverA.nextJson<Ports>();
  const portsB = await serverB.nextJson<Ports>();

  const runs: ClientRun[] = [
    { name: 'v4', host: '127.0.0.1', port: portsA.v4, peerAddress: '127.0.0.1', networkType: 'ipv4', count: 4, sendBytes: 1000, replyBytes: 2000, holdMs: 60, server: serverA },
    { name: 'v6', host: '::1', port: portsA.v6, peerAddress: '::1', networkType: 'ipv6', count: 4, sendBytes: 1000, replyBytes: 2000, holdMs: 30, server: serverA },
    { name: 'v4-mapped', host: '::ffff:127.0.0.1', port: portsA.dual, peerAddress: '127.0.0.1', networkType: 'ipv4', count: 2, sendBytes: 1234, replyBytes: 2000, holdMs: 30, server: serverA },
    { name: 'server-first', host: '127.0.0.1', port: portsB.v4, peerAddress: '127.0.0.1', networkType: 'ipv4', count: 3, sendBytes: 500, replyBytes: 3000, holdMs: 30, server: serverB },
  ];
  for (const run of runs) {
    const started = Date.now();
    run.child = startChild(clientCgroup.wrap([process.execPath, TCP_PEER, 'client', run.host, String(run.port), String(run.count), String(run.sendBytes), String(run.holdMs), 'client-first']));
    children.push(run.child);
    assert.deepEqual(await run.child.nextJson(), { done: run.count }, `${run.name} client finished`);
    run.wallMs = Date.now() - started;
  }
  const total = runs.reduce((n, r) => n + r.count, 0);

  const ours = (r: ReadableLogRecord) =>
    attr(r, 'process.linux.cgroup') === clientCgroup.attribute || attr(r, 'process.linux.cgroup') === serverCgroup.attribute;
  const named = (name: string) => logs.records.filter((r) => ours(r) && r.eventName === name);
  await waitUntil(() => named('tcp.close').length >= 2 * total && named('tcp.accept').length >= total, DEADLINE_MS, 'all events');

  assert.equal(named('tcp.connect').length, total, 'one tcp.connect per connection');
  assert.equal(named('tcp.accept').length, total, 'one tcp.accept per connection');
  assert.equal(named('tcp.close').length, 2 * total, 'one tcp.close per socket');

  for (const run of runs) {
    const pid = run.child!.pid;
    const connects = named('tcp.connect').filter((r) => attr(r, 'process.pid') === pid);
    assert.equal(connects.length, run.count, `${run.name}: tcp.connect events owned by the client`);
    for (const r of connects) {
      assert.equal(attr(r, 'process.executable.name'), 'node');
      assert.equal(attr(r, 'process.linux.cgroup'), clientCgroup.attribute);
      assert.equal(attr(r, 'network.tcp.handshake.role'), 'client');
      assert.equal(attr(r, 'network.transport'), 'tcp');
      assert.equal(attr(r, 'network.type'), run.networkType, `${run.name}: network.type`);
      assert.equal(attr(r, 'network.peer.address'), run.peerAddress, `${run.name}: peer address`);
      assert.equal(attr(r, 'network.local.address'), run.peerAddress, `${run.name}: local address`);
      assert.equal(attr(r, 'network.peer.port'), run.port, `${run.name}: peer port`);
      assert.equal(typeof attr(r, 'tcp.netns.inode'), 'number');
    }
    const clientPorts = new Set(connects.map((r) => attr(r, 'network.local.port')));
    assert.equal(clientPorts.size, run.count, `${run.name}: distinct client ports`);

    const clientCloses = named('tcp.close').filter((r) => attr(r, 'process.pid') === pid);
    assert.equal(clientCloses.length, run.count, `${run.name}: client-side tcp.close events`);
    for (const r of clientCloses) {
      assert.equal(attr(r, 'tcp.bytes.sent'), run.sendBytes, `${run.name}: client bytes sent`);
      assert.equal(attr(r, 'tcp.bytes.received'), run.replyBytes, `${run.name}: client bytes received`);
      assert.ok(clientPorts.has(attr(r, 'network.local.port')), `${run.name}: close keeps the local port of the connect`);
      // The client holds the connection holdMs by setTimeout, which libuv measures from its cached
      // loop time: it can fire up to ~1 ms early in real time. Hence the 2 ms allowance below.
      const duration = attr(r, 'tcp.duration') as number;
      const lower = (run.holdMs - 2) / 1000;
      assert.ok(duration >= lower && duration <= run.wallMs! / 1000, `${run.name}: duration ${duration}s within [${run.holdMs - 2}ms, ${run.wallMs}ms]`);
      assert.ok((attr(r, 'tcp.segments.sent') as number) >= 3, 'SYN, data and FIN at least');
      assert.ok((attr(r, 'tcp.segments.received') as number) >= 3);
      assert.equal(attr(r, 'tcp.retransmits'), 0, 'no retransmits on loopback');
      // The smoothed RTT comes from round trips inside the connection: it cannot exceed its life.
      const rtt = attr(r, 'tcp.rtt') as number;
      assert.ok(rtt > 0 && rtt <= duration, `loopback rtt ${rtt}s within (0, ${duration}s]`);
    }

    // The server side of these connections: accepted by the server process, peer = client ports.
    const serverSide = (name: string) =>
      named(name).filter((r) => attr(r, 'network.tcp.handshake.role') === 'server' && clientPorts.has(attr(r, 'network.peer.port')));
    const accepts = serverSide('tcp.accept');
    assert.equal(accepts.length, run.count, `${run.name}: tcp.accept events`);
    for (const r of accepts) {
      assert.equal(attr(r, 'process.pid'), run.server.pid, `${run.name}: accepted by the server process`);
      assert.equal(attr(r, 'process.executable.name'), 'node');
      assert.equal(attr(r, 'process.linux.cgroup'), serverCgroup.attribute);
      assert.equal(attr(r, 'network.local.port'), run.port);
      assert.equal(attr(r, 'network.type'), run.networkType);
    }
    const serverCloses = serverSide('tcp.close');
    assert.equal(serverCloses.length, run.count, `${run.name}: server-side tcp.close events`);
    for (const r of serverCloses) {
      assert.equal(attr(r, 'process.pid'), run.server.pid);
      assert.equal(attr(r, 'tcp.bytes.sent'), run.replyBytes, `${run.name}: server bytes sent`);
      assert.equal(attr(r, 'tcp.bytes.received'), run.sendBytes, `${run.name}: server bytes received`);
    }
  }

  // Metrics come from kernel aggregates, not from the events: they must agree with them.
  const collected = receiver.collect().scopeMetrics[0].metrics;
  for (const [cgroup, role] of [
    [clientCgroup, 'client'],
    [serverCgroup, 'server'],
  ] as const) {
    const series = { 'process.linux.cgroup': cgroup.attribute, 'network.tcp.handshake.role': role };
    const closes = named('tcp.close').filter((r) => matches(r.attributes, series));
    const sent = closes.reduce((n, r) => n + (attr(r, 'tcp.bytes.sent') as number), 0);
    const received = closes.reduce((n, r) => n + (attr(r, 'tcp.bytes.received') as number), 0);
    const durationSum = closes.reduce((n, r) => n + (attr(r, 'tcp.duration') as number), 0);

    const histogram = pointsOf<HistogramMetricData>(collected, 'system.network.tcp.connection.duration');
    assert.equal(histogram.dataPointType, DataPointType.HISTOGRAM);
    const h = histogram.dataPoints.filter((p) => matches(p.attributes, series));
    assert.equal(h.length, 1, `one duration series for ${role}`);
    assert.equal(h[0].value.count, total, `${role}: histogram count`);
    assert.equal(h[0].value.buckets.counts.reduce((a, b) => a + b, 0), total, `${role}: bucket counts add up`);
    assert.ok(Math.abs(h[0].value.sum! - durationSum) < 1e-6 * total, `${role}: histogram sum ${h[0].value.sum} = events ${durationSum}`);

    const io = pointsOf<SumMetricData>(collected, 'system.network.tcp.io');
    const ioValue = (direction: string) => io.dataPoints.find((p) => matches(p.attributes, { ...series, 'network.io.direction': direction }))?.value;
    assert.equal(ioValue('transmit'), sent, `${role}: transmitted bytes`);
    assert.equal(ioValue('receive'), received, `${role}: received bytes`);

    const open = pointsOf<SumMetricData>(collected, 'system.network.connection.count');
    assert.equal(open.isMonotonic, false);
    assert.equal(open.dataPoints.find((p) => matches(p.attributes, series))?.value, 0, `${role}: nothing left open`);
  }
  // Losses are host-wide (any process's events share the ring buffer), so the test does not assert
  // they are 0: the exact counts of this test's own events above show that none of them was lost.
  const dropped = pointsOf<SumMetricData>(collected, 'tcpscope.receiver.dropped_events');
  assert.deepEqual(dropped.dataPoints.map((p) => [p.attributes.receiver, p.attributes.reason, typeof p.value]), [
    ['tcp_lifecycle', 'ring_buffer_full', 'number'],
    ['tcp_lifecycle', 'connection_untracked', 'number'],
  ]);

  // A connection held open shows in system.network.connection.count on both sides. The client
  // holds it until told (SIGUSR1), however long the machine takes to start it and to look.
  const held = startChild(clientCgroup.wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(portsA.v4), '1', '10', '-1', 'client-first']));
  children.push(held);
  const openNow = (cgroup: TestCgroup, role: string) =>
    pointsOf<SumMetricData>(receiver.collect().scopeMetrics[0].metrics, 'system.network.connection.count').dataPoints.find((p) =>
      matches(p.attributes, { 'process.linux.cgroup': cgroup.attribute, 'network.tcp.handshake.role': role }),
    )?.value;
  await waitUntil(() => openNow(clientCgroup, 'client') === 1 && openNow(serverCgroup, 'server') === 1, DEADLINE_MS, 'the held connection to be counted');
  held.process.kill('SIGUSR1');
  assert.deepEqual(await held.nextJson(), { done: 1 });
  await waitUntil(() => openNow(clientCgroup, 'client') === 0 && openNow(serverCgroup, 'server') === 0, DEADLINE_MS, 'the held connection to be closed');
});
