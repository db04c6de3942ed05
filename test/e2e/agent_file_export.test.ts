// End to end: the real `tcpscope run` process, a config with the file exporter, real loopback
// traffic from processes in a test cgroup, SIGTERM, and the OTLP-JSON file read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { readOtlpJsonFile, readOtlpJsonFileSoFar, type FlatDataPoint } from '../support/otlp_json';

const CONNECTIONS = 6;
const SEND = 4321;
const REPLY = 1234;

test('tcpscope run exports connection events and metrics as OTLP-JSON and stops cleanly on SIGTERM', async (t) => {
  if (!requireKernel(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'telemetry.jsonl');
  const config = join(dir, 'tcpscope.yaml');
  writeFileSync(
    config,
    `receivers:
  tcp_lifecycle:
    collection_interval: 500ms
    drain_interval: 20ms
exporters:
  file:
    path: \${env:TCPSCOPE_E2E_OUT}
    flush_interval: 100ms
service:
  pipelines:
    metrics: {receivers: [tcp_lifecycle], exporters: [file]}
    logs: {receivers: [tcp_lifecycle], exporters: [file]}
`,
  );
  const base = testCgroupBase('e2e');
  const cgroup = TestCgroup.create(`${base}/app`);
  const children: RunningChild[] = [];
  t.after(() => {
    for (const c of children) c.kill();
    cgroup.remove(base);
  });

  const agent = startChild([join(PACKAGE_ROOT, 'bin', 'tcpscope'), 'run', '--config', config], {
    ...process.env,
    TCPSCOPE_E2E_OUT: out,
  });
  children.push(agent);
  await waitUntil(() => agent.stderr().includes('attached'), DEADLINE_MS, 'the agent to attach its programs');
  assert.match(agent.stderr(), /tp_btf\/inet_sock_set_state/, 'startup names the hooks');
  assert.match(agent.stderr(), /pipeline .*logs.*tcp_lifecycle.*file/, 'startup names the pipelines');

  const server = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'server', String(REPLY), 'client-first']));
  children.push(server);
  const ports = await server.nextJson<{ v4: number }>();
  const client = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(ports.v4), String(CONNECTIONS), String(SEND), '10', 'client-first']));
  children.push(client);
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
  agent.process.kill('SIGTERM');
  assert.equal(await agent.exited(), 0, `agent exits 0 after SIGTERM: ${agent.stderr()}`);

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
