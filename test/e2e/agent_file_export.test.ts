// End to end: the real `tcpscope run` process, a config with the file exporter, real loopback
// traffic from processes in a test cgroup, SIGTERM, and the OTLP-JSON file read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { agentArgv, pipelinesFor, startAgent, stopAgent, testDir, writeAgentConfig } from '../support/agent';
import { DEADLINE_MS, waitUntil } from '../support/child';
import { requireKernel } from '../support/kernel';
import { readOtlpJsonFile, readOtlpJsonFileSoFar, type FlatDataPoint } from '../support/otlp_json';
import { startTcpPeers } from '../support/tcp_peers';
import { workloadCgroup } from '../support/workload';

const CONNECTIONS = 6;
const SEND = 4321;
const REPLY = 1234;

test('tcpscope run exports connection events and metrics as OTLP-JSON and stops cleanly on SIGTERM', async (t) => {
  if (!requireKernel(t)) return;
  const { cgroup, children } = workloadCgroup(t, 'e2e');
  const dir = testDir(t, 'tcpscope-e2e');
  const out = join(dir, 'telemetry.jsonl');
  const config = writeAgentConfig(dir, {
    receivers: { tcp_lifecycle: { collection_interval: '500ms', drain_interval: '20ms' } },
    exporters: { file: { path: '${env:TCPSCOPE_E2E_OUT}', flush_interval: '100ms' } },
    pipelines: pipelinesFor(['metrics', 'logs'], ['tcp_lifecycle'], ['file']),
  });

  const agent = await startAgent(children, agentArgv(config), {
    env: { ...process.env, TCPSCOPE_E2E_OUT: out },
    ready: (stderr) => stderr.includes('attached'),
    what: 'the agent to attach its programs',
  });
  assert.match(agent.stderr(), /tp_btf\/inet_sock_set_state/, 'startup names the hooks');
  assert.match(agent.stderr(), /pipeline .*logs.*tcp_lifecycle.*file/, 'startup names the pipelines');

  const { server, client } = await startTcpPeers(cgroup, children, { connections: CONNECTIONS, replyBytes: REPLY, sendBytes: SEND, holdMs: 10 });
  assert.deepEqual(await client.nextJson(), { done: CONNECTIONS });

  // SIGTERM once the kernel has closed every connection on both sides (the metrics exported every
  // 500 ms say so; the same program run that counts a close submits its event): all events are
  // then in the kernel or already out, and SIGTERM must deliver the rest before the agent exits.
  const closedIn = (points: readonly FlatDataPoint[], role: string) =>
    points.find(
      (p) => p.metric === 'system.network.tcp.connection.duration' && p.attributes['process.linux.cgroup'] === cgroup.attribute && p.attributes['network.tcp.handshake.role'] === role,
    )?.value;
  await waitUntil(
    () => readOtlpJsonFileSoFar(out).metricExports.some((points) => closedIn(points, 'client') === CONNECTIONS && closedIn(points, 'server') === CONNECTIONS),
    DEADLINE_MS,
    'a metrics export counting every connection closed on both sides',
  );
  await stopAgent(agent);

  const file = readOtlpJsonFile(out);
  assert.ok(file.resources.every((r) => r['service.name'] === 'tcpscope'), 'the Resource describes the agent');
  const ours = file.logs.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute);
  const count = (name: string) => ours.filter((r) => r.eventName === name).length;
  assert.equal(count('tcp.connect'), CONNECTIONS);
  assert.equal(count('tcp.accept'), CONNECTIONS);
  assert.equal(count('tcp.close'), 2 * CONNECTIONS);
  for (const r of ours.filter((x) => x.eventName === 'tcp.close')) {
    const isClient = r.attributes['network.tcp.handshake.role'] === 'client';
    assert.equal(r.attributes['tcp.bytes.sent'], isClient ? SEND : REPLY);
    assert.equal(r.attributes['tcp.bytes.received'], isClient ? REPLY : SEND);
    assert.equal(r.attributes['process.pid'], isClient ? client.pid : server.pid);
  }
  for (const r of ours.filter((x) => x.eventName === 'tcp.connect')) assert.equal(r.attributes['process.pid'], client.pid);

  // The final flush on shutdown carries metrics that include every connection above.
  const last: FlatDataPoint[] = file.metricExports.at(-1) ?? [];
  assert.ok(last.length > 0, 'at least one metrics export');
  for (const role of ['client', 'server']) {
    const series = (p: FlatDataPoint): boolean =>
      p.attributes['process.linux.cgroup'] === cgroup.attribute && p.attributes['network.tcp.handshake.role'] === role;
    const duration = last.find((p) => p.metric === 'system.network.tcp.connection.duration' && series(p));
    assert.equal(duration?.value, CONNECTIONS, `${role}: histogram count`);
    assert.equal(duration?.explicitBounds?.length, 36);
    const io = (direction: string) => last.find((p) => p.metric === 'system.network.tcp.io' && series(p) && p.attributes['network.io.direction'] === direction)?.value;
    assert.equal(io('transmit'), CONNECTIONS * (role === 'client' ? SEND : REPLY), `${role}: bytes transmitted`);
    assert.equal(io('receive'), CONNECTIONS * (role === 'client' ? REPLY : SEND), `${role}: bytes received`);
    const open = last.find((p) => p.metric === 'system.network.connection.count' && series(p));
    assert.equal(open?.value, 0);
  }
  // Losses are host-wide (any process's events share the ring buffer): exported, not asserted 0;
  // the exact counts of this test's own events above show none of them was lost.
  const dropped = last.find((p) => p.metric === 'tcpscope.receiver.dropped_events');
  assert.deepEqual(dropped && [dropped.attributes.receiver, typeof dropped.value], ['tcp_lifecycle', 'number']);
});
