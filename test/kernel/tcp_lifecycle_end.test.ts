// tcp.connection.end on the real kernel: connections between two network namespaces made here
// (198.18.<subnet>.0/24, a veth pair), each ended one way, both ends' tcp.close events asserted
// exactly, and the duration histogram's counts by tcp.connection.end equal to the events.
//   orderly close                          fin on both ends
//   SO_LINGER {1, 0} close                 reset_sent on the closer, reset_received on the peer
//   close with unread data                 reset_sent on the closer, reset_received on the peer
//   keepalive timeout (peer blackholed)    timeout; the peer gets the keepalive RST: reset_received
//   TCP_USER_TIMEOUT (peer blackholed)     timeout; the peer, aborted later, reset_sent
//   connect(AF_UNSPEC) in LAST_ACK         abort (no FIN acknowledged, no RST); the peer, whose FIN
//                                          was acknowledged and who got ours, fin
// The blackhole is an iptables (nftables backend) DROP of the peer's segments in the client's
// namespace (or of the client's in the server's), for that connection's server port only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { HistogramMetricData, SumMetricData } from '@opentelemetry/sdk-metrics';
import { PACKAGE_ROOT } from '../../src/paths';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { LIFECYCLE_TEST_CONFIG } from '../support/lifecycle';
import type { TcpLifecycleConfig } from '../../src/receivers/tcp_lifecycle/config';
import { createTestLink, type TestLink } from '../support/netns';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const SCRIPT = join(PACKAGE_ROOT, 'test', 'support', 'close_ends.py');

/** The receiver sees every TCP socket of the host: room for whatever else runs on it meanwhile (a
 * churn test or a benchmark elsewhere makes thousands of cgroups and connections per second), so
 * that none of our series overflows and none of our events is lost. */
const CONFIG: TcpLifecycleConfig = { ...LIFECYCLE_TEST_CONFIG, max_cgroups: 65536, ring_buffer_size: 64 << 20, max_connections: 262144 };

/** Loss counters of the receiver, for a timeout's message. */
function losses(receiver: TcpLifecycleReceiver): string {
  const metrics = receiver.collect().scopeMetrics[0].metrics;
  const sum = (name: string) => JSON.stringify(((metrics.find((m) => m.descriptor.name === name) as SumMetricData | undefined)?.dataPoints ?? []).map((p) => [p.attributes, p.value]));
  return `dropped ${sum('tcpscope.receiver.dropped_events')}, missed ${sum('tcpscope.receiver.missed_runs')}, overflow ${sum('tcpscope.receiver.overflow_updates')}`;
}

interface Case {
  readonly name: string;
  readonly server: string;
  readonly client: string;
  /** Blackhole the peer for the client once the client is ready. */
  readonly blackhole?: boolean;
  /** Signal the client (SIGUSR1) once the blackhole is in place. */
  readonly signalClient?: boolean;
  /** Signal the server (SIGUSR1) once the client is done. */
  readonly signalServer?: boolean;
  /** Once the client is done and the server saw its FIN: drop the client's segments at the server. */
  readonly silenceClient?: boolean;
  readonly clientDone: string;
  readonly serverDone: string;
  readonly clientEnd: string;
  readonly serverEnd: string;
}

const CASES: readonly Case[] = [
  { name: 'orderly close', server: 'read-to-eof', client: 'orderly', clientDone: 'closed', serverDone: 'eof', clientEnd: 'fin', serverEnd: 'fin' },
  { name: 'SO_LINGER {1, 0}', server: 'wait-reset', client: 'linger', clientDone: 'aborted', serverDone: 'ECONNRESET', clientEnd: 'reset_sent', serverEnd: 'reset_received' },
  { name: 'close with unread data', server: 'unread', client: 'unread-peer', clientDone: 'ECONNRESET', serverDone: 'closed-unread', clientEnd: 'reset_received', serverEnd: 'reset_sent' },
  { name: 'keepalive timeout', server: 'wait-reset', client: 'keepalive', blackhole: true, clientDone: 'ETIMEDOUT', serverDone: 'ECONNRESET', clientEnd: 'timeout', serverEnd: 'reset_received' },
  { name: 'retransmission timeout (TCP_USER_TIMEOUT)', server: 'abort-on-usr1', client: 'user-timeout', blackhole: true, signalClient: true, signalServer: true, clientDone: 'ETIMEDOUT', serverDone: 'aborted', clientEnd: 'timeout', serverEnd: 'reset_sent' },
  { name: 'disconnect in LAST_ACK', server: 'last-ack-disconnect', client: 'orderly', silenceClient: true, signalServer: true, clientDone: 'closed', serverDone: 'disconnected', clientEnd: 'fin', serverEnd: 'abort' },
];

interface CaseRun {
  readonly client: RunningChild;
  readonly server: RunningChild;
  readonly port: number;
  readonly localPort: number;
}

/** Runs one case to its end on both sides (each side's process reports how its socket ended). */
async function runCase(c: Case, ns: TestLink, clientCgroup: TestCgroup, serverCgroup: TestCgroup, children: RunningChild[]): Promise<CaseRun> {
  const server = startChild(serverCgroup.wrap(['ip', 'netns', 'exec', ns.peer, 'python3', SCRIPT, 'server', c.server, ns.peerV4]));
  children.push(server);
  const { port } = await server.nextJson<{ port: number }>();
  const client = startChild(clientCgroup.wrap(['ip', 'netns', 'exec', ns.client, 'python3', SCRIPT, 'client', c.client, ns.peerV4, String(port)]));
  children.push(client);
  const { local_port: localPort } = await client.nextJson<{ local_port: number }>();
  if (c.blackhole) {
    assert.deepEqual(await client.nextJson(), { ready: true }, `${c.name}: client options set`);
    ns.run(ns.client, ['iptables', '-A', 'INPUT', '-s', ns.peerV4, '-p', 'tcp', '--sport', String(port), '-j', 'DROP']);
    if (c.signalClient) client.process.kill('SIGUSR1');
  }
  assert.deepEqual(await client.nextJson(), { done: c.clientDone }, `${c.name}: the client's socket ended as planned`);
  if (c.silenceClient) {
    assert.deepEqual(await server.nextJson(), { eof: true }, `${c.name}: the server saw the client's FIN`);
    ns.run(ns.peer, ['iptables', '-A', 'INPUT', '-s', ns.clientV4, '-p', 'tcp', '--dport', String(port), '-j', 'DROP']);
  }
  if (c.signalServer) server.process.kill('SIGUSR1');
  assert.deepEqual(await server.nextJson(), { done: c.serverDone }, `${c.name}: the server's socket ended as planned`);
  return { client, server, port, localPort };
}

/** system.network.tcp.connection.duration counts of (cgroup, role) by tcp.connection.end. */
function countsByEnd(histogram: HistogramMetricData, cgroup: TestCgroup, role: string): Map<string, number> {
  const points = histogram.dataPoints.filter((p) => p.attributes['process.linux.cgroup'] === cgroup.attribute && p.attributes['network.tcp.handshake.role'] === role);
  return new Map(points.map((p) => [p.attributes['tcp.connection.end'] as string, p.value.count]));
}

test('tcp.connection.end: each way of ending a connection, on both ends, and the histogram counts by end', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('end');
  const serverCgroup = TestCgroup.create(`${base}/server`);
  const clientCgroup = TestCgroup.create(`${base}/client`);
  const children: RunningChild[] = [];
  let link: TestLink | undefined;
  const logs = new RecordingLogsConsumer();
  const metrics = new RecordingMetricsConsumer();
  const receiver = new TcpLifecycleReceiver(testSettings('tcp_lifecycle'), CONFIG, { logs, metrics });
  t.after(async () => {
    for (const c of children) c.kill();
    try {
      await receiver.shutdown();
    } finally {
      link?.cleanup();
      clientCgroup.remove();
      serverCgroup.remove(base);
    }
  });
  link = createTestLink('end', 7);
  const ns = link;
  await receiver.start({ reportFatal: (e) => assert.fail(e) });

  const attr = (r: ReadableLogRecord, key: string) => r.attributes[key];
  const closes = (cgroup: TestCgroup) => logs.records.filter((r) => r.eventName === 'tcp.close' && attr(r, 'process.linux.cgroup') === cgroup.attribute);
  const seen: { name: string; clientEnd: string; serverEnd: string }[] = [];

  for (const c of CASES) {
    const { client, server, port, localPort } = await runCase(c, ns, clientCgroup, serverCgroup, children);

    const clientSide = () => closes(clientCgroup).filter((r) => attr(r, 'network.local.port') === localPort && attr(r, 'network.peer.port') === port);
    const serverSide = () => closes(serverCgroup).filter((r) => attr(r, 'network.peer.port') === localPort && attr(r, 'network.local.port') === port);
    await waitUntil(() => clientSide().length >= 1 && serverSide().length >= 1, DEADLINE_MS, `${c.name}: tcp.close on both ends`, () =>
      `client ${clientSide().length}, server ${serverSide().length}; ${losses(receiver)}`,
    );
    assert.equal(clientSide().length, 1, `${c.name}: one client tcp.close`);
    assert.equal(serverSide().length, 1, `${c.name}: one server tcp.close`);
    seen.push({ name: c.name, clientEnd: attr(clientSide()[0], 'tcp.connection.end') as string, serverEnd: attr(serverSide()[0], 'tcp.connection.end') as string });
    assert.equal(attr(clientSide()[0], 'process.pid'), client.pid, `${c.name}: the client owns its close`);
    assert.equal(attr(serverSide()[0], 'process.pid'), server.pid, `${c.name}: the server owns its close`);
  }
  assert.deepEqual(
    seen,
    CASES.map((c) => ({ name: c.name, clientEnd: c.clientEnd, serverEnd: c.serverEnd })),
  );

  // The kernel's histogram, by (cgroup, role, end): its counts are the events'.
  const histogram = receiver.collect().scopeMetrics[0].metrics.find((m) => m.descriptor.name === 'system.network.tcp.connection.duration') as HistogramMetricData;
  for (const [cgroup, role] of [
    [clientCgroup, 'client'],
    [serverCgroup, 'server'],
  ] as const) {
    const fromEvents = new Map<string, number>();
    for (const r of closes(cgroup)) {
      const end = attr(r, 'tcp.connection.end') as string;
      fromEvents.set(end, (fromEvents.get(end) ?? 0) + 1);
    }
    const fromMetric = countsByEnd(histogram, cgroup, role);
    assert.deepEqual([...fromMetric].sort(), [...fromEvents].sort(), `${role}: histogram count per tcp.connection.end = tcp.close events`);
    assert.equal(fromMetric.size, new Set(CASES.map((c) => (role === 'client' ? c.clientEnd : c.serverEnd))).size, `${role}: one series per end seen`);
  }
});

// Without a logs pipeline the kernel writes no events, but a close that waits for its RST (rule 9
// of classify_end) must still reach the metrics with its end.
test('tcp.connection.end without events: the metrics alone count each end, the RST that follows CLOSE included', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('endm');
  const serverCgroup = TestCgroup.create(`${base}/server`);
  const clientCgroup = TestCgroup.create(`${base}/client`);
  const children: RunningChild[] = [];
  let link: TestLink | undefined;
  const receiver = new TcpLifecycleReceiver(testSettings('tcp_lifecycle'), CONFIG, { metrics: new RecordingMetricsConsumer() });
  t.after(async () => {
    for (const c of children) c.kill();
    try {
      await receiver.shutdown();
    } finally {
      link?.cleanup();
      clientCgroup.remove();
      serverCgroup.remove(base);
    }
  });
  link = createTestLink('endm', 8);
  await receiver.start({ reportFatal: (e) => assert.fail(e) });
  const cases = CASES.filter((c) => !c.blackhole);
  for (const c of cases) await runCase(c, link, clientCgroup, serverCgroup, children);
  const expected = (side: 'clientEnd' | 'serverEnd') => {
    const counts = new Map<string, number>();
    for (const c of cases) counts.set(c[side], (counts.get(c[side]) ?? 0) + 1);
    return [...counts].sort();
  };
  const histogram = () => receiver.collect().scopeMetrics[0].metrics.find((m) => m.descriptor.name === 'system.network.tcp.connection.duration') as HistogramMetricData;
  const counts = () => ({ client: [...countsByEnd(histogram(), clientCgroup, 'client')].sort(), server: [...countsByEnd(histogram(), serverCgroup, 'server')].sort() });
  const want = { client: expected('clientEnd'), server: expected('serverEnd') };
  // Each side's process reported its socket's end; the kernel's CLOSE of the peer's may be a moment later.
  await waitUntil(() => JSON.stringify(counts()) === JSON.stringify(want), DEADLINE_MS, 'the histogram counts by end', () => `${JSON.stringify(counts())}; ${losses(receiver)}`);
  assert.deepEqual(counts(), want);
});
