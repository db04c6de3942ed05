// tcp_anomalies on the real kernel: each anomaly produced for real between network namespaces
// created here (198.18.0.0/15), asserted exactly on the test's own cgroups (and on its own
// namespaces' tuples where no socket is involved), with the metrics equal to the events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { PACKAGE_ROOT } from '../../src/paths';
import { TcpAnomaliesReceiver } from '../../src/receivers/tcp_anomalies/receiver';
import { ANOMALIES_TEST_CONFIG, eventsOf, netnsInode, sumPoints } from '../support/anomalies';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { createTestLink } from '../support/netns';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const PROBE = join(PACKAGE_ROOT, 'test', 'support', 'anomaly_probe.py');
const RESETS = 'system.network.tcp.resets';
const RETRANSMITS = 'system.network.tcp.retransmits';

interface Probe {
  pid: number;
  error?: string;
  local_port?: number;
  total_retrans?: number;
  unacked?: number;
}

test('tcp_anomalies: resets with their reason, retransmissions equal to TCP_INFO, drops, a receiver that never reads', async (t) => {
  if (!requireKernel(t)) return;
  const link = createTestLink('an', 9);
  const base = testCgroupBase('an');
  const clientCgroup = TestCgroup.create(`${base}/client`);
  const serverCgroup = TestCgroup.create(`${base}/server`);
  const children: RunningChild[] = [];
  const logs = new RecordingLogsConsumer();
  const receiver = new TcpAnomaliesReceiver(testSettings('tcp_anomalies'), ANOMALIES_TEST_CONFIG, { logs, metrics: new RecordingMetricsConsumer() });
  // A second instance whose retransmission events are limited to one per hour per connection and
  // whose events come from the client's cgroup only (cgroup_prefix); a third with events for port
  // 1 only (the refused connect's).
  const limitedLogs = new RecordingLogsConsumer();
  const limited = new TcpAnomaliesReceiver(
    testSettings('tcp_anomalies', 'limited'),
    { ...ANOMALIES_TEST_CONFIG, event_interval: '1h', cgroup_prefix: clientCgroup.path },
    { logs: limitedLogs },
  );
  const portLogs = new RecordingLogsConsumer();
  const ported = new TcpAnomaliesReceiver(testSettings('tcp_anomalies', 'ported'), { ...ANOMALIES_TEST_CONFIG, ports: [1], drops: false, stack_traces: true }, { logs: portLogs });
  t.after(async () => {
    for (const c of children) c.kill();
    try {
      await receiver.shutdown();
      await limited.shutdown();
      await ported.shutdown();
    } finally {
      link.cleanup();
      clientCgroup.remove();
      serverCgroup.remove(base);
    }
  });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });
  await limited.start({ reportFatal: (e) => assert.fail(e) });
  await ported.start({ reportFatal: (e) => assert.fail(e) });
  const peerNetns = netnsInode(link.peer);
  const clientNetns = netnsInode(link.client);

  const run = (cgroup: TestCgroup, namespace: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): RunningChild => {
    const child = startChild(cgroup.wrap(['ip', 'netns', 'exec', namespace, 'python3', PROBE, ...args]), env);
    children.push(child);
    return child;
  };
  const server = async (mode: string, env?: NodeJS.ProcessEnv) => {
    const child = run(serverCgroup, link.peer, ['server', link.peerV4, mode], env);
    return { child, port: (await child.nextJson<{ port: number }>()).port };
  };
  const client = clientCgroup.attribute;
  const serverAttr = serverCgroup.attribute;
  const waitForEvents = (name: string, match: Record<string, unknown>, n: number, what: string, records: ReadableLogRecord[] = logs.records) =>
    waitUntil(() => eventsOf(records, name, match).length >= n, DEADLINE_MS, what, () => `events so far: ${JSON.stringify(records.map((r) => [r.eventName, r.attributes]))}`);

  // 1. A SYN to a closed port: the peer's kernel answers with a reset for no socket (NO_SOCKET, in
  //    the peer's namespace, no cgroup), and the client's socket receives it in SYN_SENT.
  const refused = await run(clientCgroup, link.client, ['refused', link.peerV4, '1']).nextJson<Probe>();
  assert.equal(refused.error, 'ECONNREFUSED');
  await waitForEvents('tcp.reset', { 'process.linux.cgroup': client, 'network.io.direction': 'receive' }, 1, 'the refused client\'s received reset');
  const [received] = eventsOf(logs.records, 'tcp.reset', { 'process.linux.cgroup': client, 'network.io.direction': 'receive' });
  assert.equal(received.attributes['network.peer.address'], link.peerV4);
  assert.equal(received.attributes['network.peer.port'], 1);
  assert.equal(received.attributes['network.connection.state'], 'syn_sent');
  assert.equal(received.attributes['tcp.netns.inode'], clientNetns);
  assert.equal(received.attributes['process.pid'], undefined, 'received resets have no process');
  const clientPort = received.attributes['network.local.port'];
  const sentMatch = { 'tcp.netns.inode': peerNetns, 'network.local.port': 1, 'network.peer.port': clientPort, 'network.io.direction': 'transmit' };
  await waitForEvents('tcp.reset', sentMatch, 1, 'the reset the peer sent for no socket');
  const sent = eventsOf(logs.records, 'tcp.reset', sentMatch);
  assert.equal(sent.length, 1, 'one reset sent');
  assert.equal(sent[0].attributes['tcp.reset.reason'], 'NO_SOCKET');
  assert.equal(sent[0].attributes['network.local.address'], link.peerV4);
  assert.equal(sent[0].attributes['network.peer.address'], link.clientV4);
  assert.equal(sent[0].attributes['process.linux.cgroup'], undefined, 'no socket: the host');
  assert.equal(sent[0].attributes['network.connection.state'], undefined, 'no socket: no state');
  let metrics = receiver.collect();
  assert.deepEqual(sumPoints(metrics, RESETS, { 'process.linux.cgroup': client }, ['network.io.direction', 'tcp.reset.reason']), {
    'network.io.direction=receive,tcp.reset.reason=undefined': 1,
  });
  const hostNoSocket = sumPoints(metrics, RESETS, { 'tcp.reset.reason': 'NO_SOCKET' }, ['process.linux.cgroup']);
  assert.ok((hostNoSocket['process.linux.cgroup=undefined'] ?? 0) >= 1, `the host series counts the NO_SOCKET reset: ${JSON.stringify(hostNoSocket)}`);

  // 2. close() with SO_LINGER {1, 0}: the client's own call aborts the connection. Linux 6.18 does
  //    it through tcp_disconnect(), whose reset reason is TCP_STATE (TCP_ABORT_ON_LINGER is for a
  //    close in FIN_WAIT2 with TCP_LINGER2 < 0: step 2b).
  {
    const { child, port } = await server('read');
    const linger = await run(clientCgroup, link.client, ['linger', link.peerV4, String(port)]).nextJson<Probe>();
    const match = { 'process.linux.cgroup': client, 'network.io.direction': 'transmit', 'network.local.port': linger.local_port };
    await waitForEvents('tcp.reset', match, 1, 'the linger reset');
    const [e] = eventsOf(logs.records, 'tcp.reset', match);
    assert.equal(e.attributes['tcp.reset.reason'], 'TCP_STATE');
    // tcp_disconnect() moves the socket to CLOSE before it sends the reset
    assert.equal(e.attributes['network.connection.state'], 'closed');
    assert.equal(e.attributes['process.pid'], linger.pid, 'sent by the closing process');
    assert.equal(e.attributes['process.executable.name'], 'python3');
    assert.equal(e.attributes['network.peer.port'], port);
    await waitForEvents('tcp.reset', { 'process.linux.cgroup': serverAttr, 'network.io.direction': 'receive', 'network.peer.port': linger.local_port }, 1, 'the server receiving the linger reset');
    await child.nextJson();
  }

  // 2b. TCP_LINGER2 -1, FIN sent and acknowledged (FIN_WAIT2), then close(): TCP_ABORT_ON_LINGER.
  {
    const { child, port } = await server('hold');
    const linger2 = await run(clientCgroup, link.client, ['linger2', link.peerV4, String(port)]).nextJson<Probe & { fin_wait2: boolean }>();
    assert.equal(linger2.fin_wait2, true, 'the client reached FIN_WAIT2 before close()');
    const match = { 'process.linux.cgroup': client, 'network.io.direction': 'transmit', 'network.local.port': linger2.local_port };
    await waitForEvents('tcp.reset', match, 1, 'the FIN_WAIT2 linger reset');
    const [e] = eventsOf(logs.records, 'tcp.reset', match);
    assert.equal(e.attributes['tcp.reset.reason'], 'TCP_ABORT_ON_LINGER');
    assert.equal(e.attributes['process.pid'], linger2.pid, 'sent by the closing process');
    await child.nextJson();
  }

  // 3. close() with unread data: TCP_ABORT_ON_CLOSE.
  {
    const { child, port } = await server('send');
    const unread = await run(clientCgroup, link.client, ['unread', link.peerV4, String(port)]).nextJson<Probe & { had_data: boolean }>();
    assert.equal(unread.had_data, true);
    const match = { 'process.linux.cgroup': client, 'network.io.direction': 'transmit', 'network.local.port': unread.local_port };
    await waitForEvents('tcp.reset', match, 1, 'the unread-data reset');
    const [e] = eventsOf(logs.records, 'tcp.reset', match);
    assert.equal(e.attributes['tcp.reset.reason'], 'TCP_ABORT_ON_CLOSE');
    assert.equal(e.attributes['process.pid'], unread.pid);
    await child.nextJson();
  }
  metrics = receiver.collect();
  assert.deepEqual(sumPoints(metrics, RESETS, { 'process.linux.cgroup': client }, ['network.io.direction', 'tcp.reset.reason']), {
    'network.io.direction=receive,tcp.reset.reason=undefined': 1,
    'network.io.direction=transmit,tcp.reset.reason=TCP_STATE': 1,
    'network.io.direction=transmit,tcp.reset.reason=TCP_ABORT_ON_LINGER': 1,
    'network.io.direction=transmit,tcp.reset.reason=TCP_ABORT_ON_CLOSE': 1,
  });

  // 4. The peer's firewall drops the client's data segments until at least 3 were dropped: the
  //    client retransmits; its TCP_INFO total_retrans, the metric and the events agree.
  {
    const { child, port } = await server('read');
    const rule = ['INPUT', '-p', 'tcp', '--dport', String(port), '-m', 'length', '--length', '101:65535', '-j', 'DROP'];
    link.run(link.peer, ['iptables', '-A', ...rule]);
    const dropped = () => {
      const listing = link.run(link.peer, ['iptables', '-n', '-v', '-x', '-L', 'INPUT']);
      const line = listing.split('\n').find((l) => l.includes('DROP') && l.includes(`dpt:${port}`));
      return line ? Number(line.trim().split(/\s+/)[0]) : 0;
    };
    const data = run(clientCgroup, link.client, ['data', link.peerV4, String(port)]);
    const { local_port: localPort } = await data.nextJson<Probe>();
    await waitUntil(() => dropped() >= 3, DEADLINE_MS, 'three data segments dropped');
    // An ACCEPT in front of the DROP lets the next retransmission through and freezes the DROP's
    // counter: the number of segments dropped, exactly.
    link.run(link.peer, ['iptables', '-I', 'INPUT', '1', '-p', 'tcp', '--dport', String(port), '-j', 'ACCEPT']);
    const result = await data.nextJson<Probe>();
    assert.equal(result.unacked, 0, 'the data got through once the rule was gone');
    const total = result.total_retrans!;
    await waitForEvents('tcp.retransmit', { 'network.local.port': localPort, 'tcp.retransmits': total }, 1, `the retransmission event carrying ${total}`);
    metrics = receiver.collect();
    const perTrigger = sumPoints(metrics, RETRANSMITS, { 'process.linux.cgroup': client }, ['tcp.retransmit.kind', 'tcp.retransmit.trigger']);
    const sum = Object.values(perTrigger).reduce((a, b) => a + b, 0);
    assert.equal(sum, total, `the metric equals TCP_INFO total_retrans (${JSON.stringify(perTrigger)})`);
    assert.ok(total >= 3, `at least the 3 dropped segments were retransmitted: ${total}`);
    assert.ok(Object.keys(perTrigger).every((k) => k.startsWith('tcp.retransmit.kind=data,')), JSON.stringify(perTrigger));
    const events = eventsOf(logs.records, 'tcp.retransmit', { 'network.local.port': localPort, 'process.linux.cgroup': client });
    assert.deepEqual(events.map((e) => e.attributes['tcp.retransmits']), Array.from({ length: total }, (_, i) => i + 1), 'one event per retransmission (event_interval 1ms), counting up');
    // One segment in flight, nothing after it: the kernel first sends a tail loss probe (the
    // default net.ipv4.tcp_early_retrans), then the retransmission timer takes over (TCP_CA_Loss).
    assert.deepEqual(events.map((e) => e.attributes['tcp.retransmit.trigger']), ['tlp', ...Array<string>(total - 1).fill('rto')], 'a tail loss probe, then timeouts');
    assert.equal(events[0].attributes['network.peer.address'], link.peerV4);
    assert.equal(events[0].attributes['network.connection.state'], 'established');
    await waitForEvents('tcp.retransmit', { 'network.local.port': localPort }, 1, 'the rate-limited instance\'s event', limitedLogs.records);
    const limitedEvents = eventsOf(limitedLogs.records, 'tcp.retransmit', { 'network.local.port': localPort });
    assert.deepEqual(limitedEvents.map((e) => e.attributes['tcp.retransmits']), [1], 'event_interval 1h: only the first');
    // The firewall's drops: in the peer's namespace, on the server's socket (early demux found it
    // before the INPUT hook), one event each with the segment's tuple.
    const dropEvents = eventsOf(logs.records, 'tcp.drop', { 'tcp.netns.inode': peerNetns, 'network.local.port': port, 'network.peer.port': localPort });
    assert.equal(dropEvents.length, dropped(), 'one tcp.drop per segment the firewall dropped');
    assert.ok(dropEvents.every((e) => e.attributes['tcp.drop.reason'] === 'NETFILTER_DROP' && e.attributes['process.linux.cgroup'] === serverAttr), JSON.stringify(dropEvents.map((e) => e.attributes)));
    assert.deepEqual(sumPoints(receiver.collect(), 'system.network.tcp.drops', { 'process.linux.cgroup': serverAttr }, ['tcp.drop.reason']), { 'tcp.drop.reason=NETFILTER_DROP': dropped() });
    await child.nextJson();
  }

  // 5. A receiver that never reads (its listener's SO_RCVBUF at 4 KiB): its window closes and the
  //    sender probes it; the probes arrive below the window and the receiver's kernel drops them
  //    on its socket (measured on 6.18: TCP_OLD_SEQUENCE, and TCP_OLD_DATA for one that carried a
  //    byte already received), counted on the receiver's cgroup.
  const windowProbes = ['TCP_OLD_SEQUENCE', 'TCP_OLD_DATA', 'TCP_ZEROWINDOW'];
  {
    const { child, port } = await server('silent', { ...process.env, SILENT_SECONDS: '4' });
    const flood = run(clientCgroup, link.client, ['flood', link.peerV4, String(port)], { ...process.env, FLOOD_LINGER_SECONDS: '2' });
    const { sent } = await flood.nextJson<Probe & { sent: number }>();
    assert.ok(sent < 1 << 20, `the window closed: ${sent} bytes sent in 3 s`);
    const probesDropped = () => windowProbes.reduce((n, reason) => n + eventsOf(logs.records, 'tcp.drop', { 'process.linux.cgroup': serverAttr, 'network.local.port': port, 'tcp.drop.reason': reason }).length, 0);
    await waitUntil(() => probesDropped() >= 1, DEADLINE_MS, 'a window probe dropped on the silent receiver');
    await child.nextJson();
    await Promise.all([child.exited(), flood.exited()]);
  }

  // 6. The metrics equal the events, for every anomaly of the test's own cgroups.
  const byKey = (records: readonly ReadableLogRecord[], keys: readonly string[]) => {
    const out: Record<string, number> = {};
    for (const r of records) {
      const label = keys.map((k) => `${k}=${String(r.attributes[k])}`).join(',');
      out[label] = (out[label] ?? 0) + 1;
    }
    return out;
  };
  // The last closes (step 5) sent and received resets moments ago: wait until the events of every
  // kind caught up with the metrics (a generous deadline), then compare exactly.
  const kinds = [
    { event: 'tcp.reset', metric: RESETS, keys: ['network.io.direction', 'tcp.reset.reason'] },
    { event: 'tcp.retransmit', metric: RETRANSMITS, keys: ['tcp.retransmit.kind', 'tcp.retransmit.trigger'] },
    { event: 'tcp.drop', metric: 'system.network.tcp.drops', keys: ['tcp.drop.reason'] },
  ];
  for (const cgroup of [client, serverAttr]) {
    const mine = { 'process.linux.cgroup': cgroup };
    const compare = () => {
      const m = receiver.collect();
      return kinds.map((k) => ({ what: k.event, metric: sumPoints(m, k.metric, mine, k.keys), events: byKey(eventsOf(logs.records, k.event, mine), k.keys) }));
    };
    await waitUntil(() => compare().every((c) => sameCounts(c.metric, c.events)), DEADLINE_MS, `the events of ${cgroup} to equal its metrics`, () => JSON.stringify(compare()));
    for (const c of compare()) assert.deepEqual(c.events, c.metric, `${cgroup}: ${c.what}`);
  }
  metrics = receiver.collect();

  // 7. The filters: the cgroup_prefix instance reported the client's events and nothing else, the
  //    ports instance the two resets of port 1 (in this test's namespaces) and nothing of theirs else.
  const clientEvents = logs.records.filter((r) => r.attributes['process.linux.cgroup'] === client && r.eventName === 'tcp.reset');
  await waitUntil(() => eventsOf(limitedLogs.records, 'tcp.reset', {}).length >= clientEvents.length, DEADLINE_MS, 'the cgroup_prefix instance\'s resets');
  assert.ok(limitedLogs.records.length > 0 && limitedLogs.records.every((r) => r.attributes['process.linux.cgroup'] === client), 'cgroup_prefix: only the client cgroup\'s events');
  assert.equal(eventsOf(limitedLogs.records, 'tcp.reset', {}).length, clientEvents.length, 'cgroup_prefix: every reset of the client cgroup');
  const ours = (r: ReadableLogRecord) => r.attributes['tcp.netns.inode'] === peerNetns || r.attributes['tcp.netns.inode'] === clientNetns;
  assert.ok(portLogs.records.every((r) => r.attributes['network.local.port'] === 1 || r.attributes['network.peer.port'] === 1), 'ports: only port 1');
  assert.deepEqual(portLogs.records.filter(ours).map((r) => r.attributes['network.io.direction']).sort(), ['receive', 'transmit'], 'ports: the two resets of the refused connect');
  // The ports instance has stack_traces: the kernel's own functions, symbolised.
  const stackOf = (direction: string) => portLogs.records.find((r) => ours(r) && r.attributes['network.io.direction'] === direction)?.attributes['tcp.stack'] as string[] | undefined;
  assert.ok(stackOf('transmit')?.some((f) => /^tcp_v4_send_reset\+0x[0-9a-f]+$/.test(f)), `the reset sent for no socket came from tcp_v4_send_reset: ${JSON.stringify(stackOf('transmit'))}`);
  assert.ok(stackOf('receive')?.some((f) => /^tcp_reset\+0x[0-9a-f]+$/.test(f)), `the reset received went through tcp_reset: ${JSON.stringify(stackOf('receive'))}`);
  assert.equal(logs.records.filter((r) => r.attributes['tcp.stack'] !== undefined).length, 0, 'no stacks without stack_traces');

  const serverDrops = sumPoints(metrics, 'system.network.tcp.drops', { 'process.linux.cgroup': serverAttr }, ['tcp.drop.reason']);
  assert.ok(windowProbes.some((r) => (serverDrops[`tcp.drop.reason=${r}`] ?? 0) >= 1), `window probes dropped on the receiver: ${JSON.stringify(serverDrops)}`);
});

function sameCounts(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}
