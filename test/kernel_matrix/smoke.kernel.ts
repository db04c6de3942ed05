// The kernel smoke suite: runs inside a kernel matrix guest (scripts/kernel-matrix.sh boots each
// kernel under qemu and scripts/kernel-matrix-guest.sh runs this file there), never on the host:
// it changes machine-wide settings of the guest (a route, tcp_syn_retries). Its name does not end
// in .test.js, so scripts/test.sh does not pick it up.
//
// One real agent (bin/tcpscope run) per boot, with the receivers a user runs together and the
// file exporter, started once: under TCG a node start costs seconds, an agent start more. Each
// check below is a top-level test, reported as one line of the matrix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentArgv, pipelinesFor, startAgent, stopAgent, writeAgentConfig } from '../support/agent';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DIST_ROOT, startChild, waitUntil, type RunningChild } from '../support/child';
import { readOtlpJsonFile, readOtlpJsonFileSoFar, type FlatDataPoint } from '../support/otlp_json';
import { lastExportWhere, pointsOf } from './guest_exports';
import { establishedSegments, segmentsInEstablished } from '../support/segments_in';
import { startTcpPeers } from '../support/tcp_peers';

/** Under TCG everything is 10-50x slower than on the host: waits are generous, never a measure. */
const DEADLINE_MS = 240_000;
const CONNECTIONS = 5;
const SEND = 3000;
const REPLY = 700;
const ROUNDS = 200;
const PEER = join(DIST_ROOT, 'test', 'support', 'pingpong_peer.js');

const inGuest = readFileSync('/proc/cmdline', 'utf8').includes('tcpscope.label=');
const dir = mkdtempSync(join(tmpdir(), 'tcpscope-kmatrix-'));
const out = join(dir, 'telemetry.jsonl');
const children: RunningChild[] = [];
let agent: RunningChild | undefined;
let agentError: string | undefined;
let base = '';
let cgroup: TestCgroup | undefined;
/** The RTT check's own cgroup: its histogram must hold the ping-pong connection's samples only. */
let rttCgroup: TestCgroup | undefined;

function kmatrix(t: { diagnostic(message: string): void }, fields: Record<string, number | string | boolean>): void {
  t.diagnostic(`kmatrix ${JSON.stringify(fields)}`);
}

function requireAgent(): { agent: RunningChild; cgroup: TestCgroup } {
  if (!inGuest) throw new Error('the kernel smoke suite runs only inside a kernel matrix guest (scripts/kernel-matrix.sh)');
  if (!agent || !cgroup) throw new Error(`the agent did not start: ${agentError ?? 'unknown'}`);
  return { agent, cgroup };
}

const ours = (points: readonly FlatDataPoint[], metric: string, extra: Record<string, string> = {}, group = cgroup): FlatDataPoint[] =>
  pointsOf(points, metric, group, extra);

/** The last metrics export so far whose points satisfy `ready`, waited for. */
const exportWhere = (what: string, ready: (points: readonly FlatDataPoint[]) => boolean): Promise<FlatDataPoint[]> => lastExportWhere(out, what, DEADLINE_MS, ready);

before(() => {
  if (!inGuest) return;
  base = testCgroupBase('kmatrix');
  cgroup = TestCgroup.create(`${base}/app`);
  rttCgroup = TestCgroup.create(`${base}/rtt`);
});

after(async () => {
  for (const c of children) c.kill();
  rttCgroup?.remove();
  cgroup?.remove(base);
});

test('agent', async (t) => {
  if (!inGuest) {
    t.skip('not in a kernel matrix guest');
    return;
  }
  const config = writeAgentConfig(dir, {
    receivers: {
      tcp_lifecycle: { collection_interval: '1s' },
      tcp_handshake: { collection_interval: '1s' },
      tcp_rtt: { collection_interval: '1s', sample_interval: '0', histogram: 'explicit' },
    },
    exporters: { file: { path: out, flush_interval: '200ms' } },
    pipelines: {
      logs: { receivers: ['tcp_lifecycle', 'tcp_handshake'], exporters: ['file'] },
      ...pipelinesFor(['metrics'], ['tcp_lifecycle', 'tcp_handshake', 'tcp_rtt'], ['file']),
    },
  });
  const started = Date.now();
  try {
    agent = await startAgent(children, agentArgv(config), {
      ready: (stderr) => (stderr.match(/ attached /g) ?? []).length >= 3,
      what: 'the agent to attach the programs of its three receivers',
      timeoutMs: DEADLINE_MS,
    });
  } catch (error) {
    // The matrix shows one line: the agent's first error, without its timestamp.
    const lines = (error as Error).message.split('\n').map(withoutTimestamp);
    agentError = lines.find((l) => l.startsWith('ERROR')) ?? lines[0];
    throw new Error(agentError, { cause: error });
  }
  // What the agent turned off on this kernel: its start-up warnings, one per missing feature.
  const warnings = agent.stderr().split('\n').map(withoutTimestamp).filter((l) => l.startsWith('WARN'));
  kmatrix(t, { agent_start_s: (Date.now() - started) / 1000, turned_off: warnings.map((l) => l.replace(/^WARN\s+/, '')).join('\n') });
  process.stdout.write(agent.stderr());
});

function withoutTimestamp(line: string): string {
  return line.replace(/^.*?\d{4}-\d\d-\d\dT[\d:.]+Z\s+/, '').trim();
}

test('lifecycle', async () => {
  const { cgroup: group } = requireAgent();
  const { client } = await startTcpPeers(group, children, { connections: CONNECTIONS, replyBytes: REPLY, sendBytes: SEND, holdMs: 10 });
  assert.deepEqual(await client.nextJson(DEADLINE_MS), { done: CONNECTIONS });
  const closed = (points: readonly FlatDataPoint[], role: string) =>
    ours(points, 'system.network.tcp.connection.duration', { 'network.tcp.handshake.role': role })[0]?.value;
  const last = await exportWhere('a metrics export counting every connection closed on both sides', (p) => closed(p, 'client') === CONNECTIONS && closed(p, 'server') === CONNECTIONS);
  for (const role of ['client', 'server']) {
    const io = (direction: string) => ours(last, 'system.network.tcp.io', { 'network.tcp.handshake.role': role, 'network.io.direction': direction })[0]?.value;
    assert.equal(io('transmit'), CONNECTIONS * (role === 'client' ? SEND : REPLY), `${role}: bytes transmitted`);
    assert.equal(io('receive'), CONNECTIONS * (role === 'client' ? REPLY : SEND), `${role}: bytes received`);
  }
  // The events of the same connections: the close is submitted by the run that counts it, so they
  // are in the file by the time a later export is; wait for the count anyway (flush interval).
  const events = () => readOtlpJsonFileSoFar(out).logs.filter((r) => r.attributes['process.linux.cgroup'] === group.attribute);
  const count = (name: string) => events().filter((r) => r.eventName === name).length;
  await waitUntil(() => count('tcp.close') >= 2 * CONNECTIONS, DEADLINE_MS, 'the close events of every connection in the file');
  assert.equal(count('tcp.connect'), CONNECTIONS);
  assert.equal(count('tcp.accept'), CONNECTIONS);
  assert.equal(count('tcp.close'), 2 * CONNECTIONS);
  for (const r of events().filter((x) => x.eventName === 'tcp.close')) {
    const isClient = r.attributes['network.tcp.handshake.role'] === 'client';
    assert.equal(r.attributes['tcp.bytes.sent'], isClient ? SEND : REPLY);
    assert.equal(r.attributes['tcp.bytes.received'], isClient ? REPLY : SEND);
  }
});

/** One connect from inside the test cgroup (a child: the suite itself is outside it); its errno. */
async function connectFromCgroup(group: TestCgroup, host: string, port: number): Promise<string> {
  const probe = startChild(group.wrap([process.execPath, join(DIST_ROOT, 'test', 'support', 'connect_attempts.js'), host, String(port), '1']));
  children.push(probe);
  const outcomes = await probe.nextJson<Record<string, number>>(DEADLINE_MS);
  return Object.keys(outcomes).join(',');
}

const handshakeFailures = (points: readonly FlatDataPoint[], errno: string) =>
  ours(points, 'system.network.tcp.handshake.duration', { 'network.tcp.handshake.role': 'client', 'error.type': errno })[0]?.value;

test('handshake refused', async () => {
  const { cgroup: group } = requireAgent();
  // A port with no listener that nobody else can take meanwhile: a bound, never listening socket
  // is what answers a SYN with RST. Node cannot bind without listening; a server closed after
  // listen frees the port, and the guest runs nothing else that could take it.
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  assert.equal(await connectFromCgroup(group, '127.0.0.1', port), 'ECONNREFUSED');
  await exportWhere('the refused connect in the handshake histogram', (p) => handshakeFailures(p, 'ECONNREFUSED') === 1);
  const events = () => readOtlpJsonFileSoFar(out).logs.filter((r) => r.attributes['process.linux.cgroup'] === group.attribute && r.attributes['error.type'] === 'ECONNREFUSED');
  await waitUntil(() => events().length >= 1, DEADLINE_MS, 'the refused connect event');
  assert.equal(events().length, 1);
  assert.equal(events()[0].eventName, 'tcp.connect');
  assert.equal(events()[0].attributes['network.peer.port'], port);
});

test('handshake timeout', async (t) => {
  const { cgroup: group } = requireAgent();
  // A SYN routed to loopback for an address no interface has: the kernel drops it on input (not
  // local, no forwarding) and sends nothing back, so connect() ends in ETIMEDOUT after the SYN
  // retries. The guest is the suite's alone: one retry, 1 s + 2 s instead of ~2 minutes.
  const target = `198.18.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const retries = readFileSync('/proc/sys/net/ipv4/tcp_syn_retries', 'utf8').trim();
  writeFileSync('/proc/sys/net/ipv4/tcp_syn_retries', '1');
  execFileSync('ip', ['route', 'add', `${target}/32`, 'dev', 'lo']);
  t.after(() => {
    execFileSync('ip', ['route', 'del', `${target}/32`, 'dev', 'lo']);
    writeFileSync('/proc/sys/net/ipv4/tcp_syn_retries', retries);
  });
  assert.equal(await connectFromCgroup(group, target, 9), 'ETIMEDOUT');
  await exportWhere('the timed-out connect in the handshake histogram', (p) => handshakeFailures(p, 'ETIMEDOUT') === 1);
  const events = () => readOtlpJsonFileSoFar(out).logs.filter((r) => r.attributes['process.linux.cgroup'] === group.attribute && r.attributes['error.type'] === 'ETIMEDOUT');
  await waitUntil(() => events().length >= 1, DEADLINE_MS, 'the timed-out connect event');
  assert.equal(events().length, 1);
  assert.equal(events()[0].attributes['network.peer.address'], target);
});

test('rtt', async () => {
  requireAgent();
  const group = rttCgroup!;
  const server = startChild(group.wrap([process.execPath, PEER, 'server', '127.0.0.1']));
  children.push(server);
  const { port } = await server.nextJson<{ port: number }>(DEADLINE_MS);
  const client = startChild(group.wrap([process.execPath, PEER, 'client', '127.0.0.1', String(port), String(ROUNDS)]));
  children.push(client);
  const { localPort } = await client.nextJson<{ localPort: number }>(DEADLINE_MS);
  const rtt = (points: readonly FlatDataPoint[]) => ours(points, 'system.network.tcp.rtt.duration', {}, group)[0];
  const last = await exportWhere(`an RTT histogram of at least ${ROUNDS} samples (one per round trip)`, (p) => (rtt(p)?.value ?? 0) >= ROUNDS);
  const h = rtt(last);
  // Both ends stay open (the client waits to be killed): their segs_in, read after that export was
  // collected, bound its samples from above, one tcp:tcp_probe run per segment received in
  // ESTABLISHED at most (test/support/segments_in.ts).
  const sockets = establishedSegments([`( sport = :${localPort} or dport = :${localPort} )`]);
  assert.equal(sockets.length, 2, 'ss shows both ends of the ping-pong connection');
  const atMost = sockets.reduce((sum, s) => sum + segmentsInEstablished(s, s.localPort === localPort ? 'client' : 'accepted'), 0);
  assert.ok(h.value <= atMost, `${h.value} samples <= ${atMost} segments received in ESTABLISHED`);
  assert.equal(
    (h.bucketCounts ?? []).reduce((a, b) => a + b, 0),
    h.value,
    'the bucket counts add up to the count',
  );
});

test('file exporter', async () => {
  const { agent: running, cgroup: group } = requireAgent();
  await stopAgent(running, DEADLINE_MS);
  // The whole file parses (every line a complete OTLP/JSON request), the Resource is the agent's,
  // and the final flush on SIGTERM wrote metrics that include everything above.
  const file = readOtlpJsonFile(out);
  assert.ok(file.lines > 0);
  assert.ok(file.resources.every((r) => r['service.name'] === 'tcpscope'), 'the Resource describes the agent');
  // Each receiver's collection is its own export (line): the last one holding each metric counts.
  const lastWith = (metric: string) => file.metricExports.filter((points) => points.some((p) => p.metric === metric)).at(-1) ?? [];
  const connections = ours(lastWith('system.network.tcp.connection.duration'), 'system.network.tcp.connection.duration', { 'network.tcp.handshake.role': 'client' });
  assert.equal(connections[0]?.value, CONNECTIONS, 'the final export: connections closed');
  const handshakes = lastWith('system.network.tcp.handshake.duration');
  assert.equal(handshakeFailures(handshakes, 'ECONNREFUSED'), 1, 'the final export: refused connects');
  assert.equal(handshakeFailures(handshakes, 'ETIMEDOUT'), 1, 'the final export: timed-out connects');
  const rtt = ours(lastWith('system.network.tcp.rtt.duration'), 'system.network.tcp.rtt.duration', {}, rttCgroup);
  assert.ok((rtt[0]?.value ?? 0) >= ROUNDS, 'the final export: RTT samples');
  assert.ok(file.logs.some((r) => r.attributes['process.linux.cgroup'] === group.attribute));
});
