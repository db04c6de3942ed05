// Degradation on a kernel that lacks features (Debian 11's 5.10 in the kernel matrix): the real
// agent with all four receivers starts, says in one line per receiver and missing feature what is
// missing and what the user loses (exactly the lines src/host/kernel_features.ts defines for the
// features this kernel's version lacks), and the rest works: exact connection counts and bytes
// (tcp_lifecycle follows sockets in a hash on every kernel), RTT samples with a sample_interval
// (per-socket state), and a reset sent by a socket and received by its peer counted by tcp_anomalies.
//
// Runs inside a kernel matrix guest (scripts/kernel-matrix-guest.sh runs every
// dist/test/kernel_matrix/*.kernel.js). On the host it runs only when TCPSCOPE_KERNEL_FEATURES_OFF
// names features to treat as missing (the same degraded paths on a kernel that has them), e.g.
//   TCPSCOPE_KERNEL_FEATURES_OFF=socket_storage,socket_cookie,inet_sk_error_report,tcp_send_reset_record \
//     node --test dist/test/kernel_matrix/degradation.kernel.js
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { agentArgv, pipelinesFor, startAgent, stopAgent, writeAgentConfig } from '../support/agent';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DIST_ROOT, startChild, type RunningChild } from '../support/child';
import type { FlatDataPoint } from '../support/otlp_json';
import { lastExportWhere, pointsOf } from './guest_exports';
import { startTcpPeers } from '../support/tcp_peers';
import { PACKAGE_ROOT } from '../../src/paths';
import { FEATURES_OFF_ENV, featuresOff, KERNEL_FEATURES, missingFeatureLine, RECEIVER_FEATURES, type KernelFeatureId, type KernelReceiverType } from '../../src/host/kernel_features';

/** Under TCG everything is 10-50x slower than on the host: waits are generous, never a measure. */
const DEADLINE_MS = 240_000;
const CONNECTIONS = 4;
const SEND = 2000;
const REPLY = 500;
const ROUNDS = 100;
const PEER = join(DIST_ROOT, 'test', 'support', 'pingpong_peer.js');
const PROBE = join(PACKAGE_ROOT, 'test', 'support', 'anomaly_probe.py');
const RECEIVERS: KernelReceiverType[] = ['tcp_lifecycle', 'tcp_handshake', 'tcp_rtt', 'tcp_anomalies'];

const inGuest = readFileSync('/proc/cmdline', 'utf8').includes('tcpscope.label=');
const runs = inGuest || process.env[FEATURES_OFF_ENV] !== undefined;
const release = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
const dir = mkdtempSync('/tmp/tcpscope-degradation-');
const out = join(dir, 'telemetry.jsonl');
const children: RunningChild[] = [];
let agent: RunningChild | undefined;
let base = '';
let cgroup: TestCgroup | undefined;

/** Whether this kernel's version has the feature (the version, not the BTF: the probe is what is tested). */
function expectedPresent(id: KernelFeatureId, off: readonly KernelFeatureId[]): boolean {
  if (off.includes(id)) return false;
  const [major, minor] = release.split('.').map(Number);
  const [sMajor, sMinor] = KERNEL_FEATURES[id].since.split('.').map(Number);
  return major > sMajor || (major === sMajor && minor >= sMinor);
}

/** What the config below does not use: no line (tcp_anomalies has no logs pipeline, so no retransmission events and their per-socket rate limit). */
const UNUSED: Partial<Record<KernelReceiverType, KernelFeatureId[]>> = { tcp_anomalies: ['socket_storage'] };

/** The start-up lines this kernel must produce, `<receiver id>: <line>` each. */
function expectedLines(): string[] {
  const off = featuresOff(process.env[FEATURES_OFF_ENV]);
  const lines: string[] = [];
  for (const receiver of RECEIVERS) {
    for (const [id, degradation] of Object.entries(RECEIVER_FEATURES[receiver].optional) as [KernelFeatureId, { loss: string }][]) {
      if (!expectedPresent(id, off) && !UNUSED[receiver]?.includes(id)) lines.push(`${receiver}: ${missingFeatureLine(id, degradation.loss)}`);
    }
  }
  return lines.sort();
}

const ours = (points: readonly FlatDataPoint[], metric: string, extra: Record<string, string> = {}): FlatDataPoint[] => pointsOf(points, metric, cgroup, extra);

const exportWhere = (what: string, ready: (points: readonly FlatDataPoint[]) => boolean): Promise<FlatDataPoint[]> => lastExportWhere(out, what, DEADLINE_MS, ready);

function requireAgent(): { agent: RunningChild; cgroup: TestCgroup } {
  if (!agent || !cgroup) throw new Error('the agent did not start');
  return { agent, cgroup };
}

before(() => {
  if (!runs) return;
  base = testCgroupBase('kdegrade');
  cgroup = TestCgroup.create(`${base}/app`);
});

after(async () => {
  if (agent && agent.process.exitCode === null) await stopAgent(agent, DEADLINE_MS).catch(() => undefined);
  for (const c of children) c.kill();
  cgroup?.remove(base);
  rmSync(dir, { recursive: true, force: true });
});

test('degradation: one start-up line per missing feature and receiver', async (t) => {
  if (!runs) return t.skip(`not in a kernel matrix guest and ${FEATURES_OFF_ENV} unset`);
  const config = writeAgentConfig(dir, {
    receivers: {
      tcp_lifecycle: { collection_interval: '1s' },
      tcp_handshake: { collection_interval: '1s' },
      // sample_interval > 0: the per-socket state (socket storage or its stand-in) is used
      tcp_rtt: { collection_interval: '1s', sample_interval: '1ms', histogram: 'explicit' },
      tcp_anomalies: { collection_interval: '1s' },
    },
    exporters: { file: { path: out, flush_interval: '200ms' } },
    pipelines: pipelinesFor(['metrics'], RECEIVERS, ['file']),
  });
  agent = await startAgent(children, agentArgv(config), {
    ready: (stderr) => (stderr.match(/attached/g) ?? []).length >= RECEIVERS.length,
    what: 'the agent to attach the programs of its four receivers',
    timeoutMs: DEADLINE_MS,
  });
  const stderr = agent.stderr();
  const lines = stderr
    .split('\n')
    .map((l) => /WARN\s+(\S+: no .* \(kernel < [0-9.]+\): .*)$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined)
    .sort();
  t.diagnostic(`${release}: ${lines.length} start-up lines about missing features`);
  assert.deepEqual(lines, expectedLines());
});

test('degradation: lifecycle counts and bytes exact', async () => {
  const { cgroup: group } = requireAgent();
  const { client } = await startTcpPeers(group, children, { connections: CONNECTIONS, replyBytes: REPLY, sendBytes: SEND, holdMs: 10 });
  assert.deepEqual(await client.nextJson(DEADLINE_MS), { done: CONNECTIONS });
  const closed = (points: readonly FlatDataPoint[], role: string) =>
    ours(points, 'system.network.tcp.connection.duration', { 'network.tcp.handshake.role': role })[0]?.value;
  const last = await exportWhere('every connection closed on both sides', (p) => closed(p, 'client') === CONNECTIONS && closed(p, 'server') === CONNECTIONS);
  for (const role of ['client', 'server']) {
    const io = (direction: string) => ours(last, 'system.network.tcp.io', { 'network.tcp.handshake.role': role, 'network.io.direction': direction })[0]?.value;
    assert.equal(io('transmit'), CONNECTIONS * (role === 'client' ? SEND : REPLY), `${role}: bytes transmitted`);
    assert.equal(io('receive'), CONNECTIONS * (role === 'client' ? REPLY : SEND), `${role}: bytes received`);
  }
});

test('degradation: rtt samples with a sample_interval', async () => {
  const { cgroup: group } = requireAgent();
  const server = startChild(group.wrap([process.execPath, PEER, 'server', '127.0.0.1']));
  children.push(server);
  const { port } = await server.nextJson<{ port: number }>(DEADLINE_MS);
  const client = startChild(group.wrap([process.execPath, PEER, 'client', '127.0.0.1', String(port), String(ROUNDS)]));
  children.push(client);
  await client.nextJson(DEADLINE_MS);
  const count = (points: readonly FlatDataPoint[]) => ours(points, 'system.network.tcp.rtt.duration')[0]?.value ?? 0;
  const last = await exportWhere('an RTT histogram with samples', (p) => count(p) > 0);
  const h = ours(last, 'system.network.tcp.rtt.duration')[0];
  assert.equal((h.bucketCounts ?? []).reduce((a, b) => a + b, 0), h.value, 'the bucket counts add up to the count');
});

test('degradation: a reset sent by a socket and received by its peer are counted', async () => {
  const { cgroup: group } = requireAgent();
  const server = startChild(group.wrap(['python3', PROBE, 'server', '127.0.0.1', 'read']));
  children.push(server);
  const { port } = await server.nextJson<{ port: number }>(DEADLINE_MS);
  // close() with SO_LINGER {1, 0}: tcp_disconnect sends the RST from the socket (every kernel traces it).
  const client = startChild(group.wrap(['python3', PROBE, 'linger', '127.0.0.1', String(port)]));
  children.push(client);
  await client.nextJson(DEADLINE_MS);
  const resets = (points: readonly FlatDataPoint[], direction: string) =>
    ours(points, 'system.network.tcp.resets', { 'network.io.direction': direction }).reduce((sum, p) => sum + p.value, 0);
  const last = await exportWhere('the reset sent and the reset received', (p) => resets(p, 'transmit') === 1 && resets(p, 'receive') === 1);
  const sent = ours(last, 'system.network.tcp.resets', { 'network.io.direction': 'transmit' });
  const off = featuresOff(process.env[FEATURES_OFF_ENV]);
  // Without the 6.10 record the reason is unknown; with it, tcp_disconnect's is TCP_STATE.
  assert.equal(sent[0].attributes['tcp.reset.reason'], expectedPresent('tcp_send_reset_record', off) ? 'TCP_STATE' : 'unknown');
});
