// End to end: how the real agent process answers signals. SIGHUP flushes the exporters and the
// agent goes on; SIGTERM with a backend that accepts and never answers still ends in time, with
// exit 0 and a final line saying what was dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import { TestCgroup } from '../support/cgroup';
import { startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { startOtlpGrpcServer } from '../support/otlp-grpc-server';
import { readOtlpJsonFile } from '../support/otlp_json';

const CONNECTIONS = 8;
const TCPSCOPE = join(PACKAGE_ROOT, 'bin', 'tcpscope');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const suffix = () => randomBytes(4).toString('hex');
const occurrences = (text: string, what: string) => text.split(what).length - 1;

test('SIGHUP flushes the exporters and the agent keeps running; SIGTERM then stops it cleanly', async (t) => {
  if (!requireKernel(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-hup-'));
  const out = join(dir, 'telemetry.jsonl');
  const config = join(dir, 'tcpscope.yaml');
  // Nothing is written on its own within the test: a 1 h flush interval and collection interval.
  writeFileSync(
    config,
    `receivers:
  tcp_lifecycle:
    collection_interval: 1h
    drain_interval: 20ms
exporters:
  file:
    path: ${out}
    flush_interval: 1h
service:
  pipelines:
    logs: {receivers: [tcp_lifecycle], exporters: [file]}
`,
  );
  const base = `/tcpscope-hup-${suffix()}`;
  const cgroup = TestCgroup.create(`${base}/app`);
  const children: RunningChild[] = [];
  t.after(() => {
    for (const c of children) c.kill();
    cgroup.remove(base);
    rmSync(dir, { recursive: true, force: true });
  });

  const agent = startChild([TCPSCOPE, 'run', '--config', config]);
  children.push(agent);
  await waitUntil(() => agent.stderr().includes('running 1 pipeline'), 20_000, 'the agent to start');

  const server = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'server', '100', 'client-first']));
  children.push(server);
  const ports = await server.nextJson<{ v4: number }>();
  const client = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(ports.v4), String(CONNECTIONS), '100', '5', 'client-first']));
  children.push(client);
  await client.nextJson();

  const ours = () => {
    if (!existsSync(out)) return 0;
    return readOtlpJsonFile(out).logs.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute).length;
  };
  // The events reach the exporter's buffer within a few drain intervals; each SIGHUP writes out
  // what is there. Bounded in count, each round waiting for the agent to say it flushed.
  const expected = 4 * CONNECTIONS; // connect + accept + a close on each side
  let hups = 0;
  for (; hups < 40 && ours() < expected; hups++) {
    agent.process.kill('SIGHUP');
    await waitUntil(() => occurrences(agent.stderr(), 'flushed 1 of 1 exporter(s)') > hups, 10_000, `flush ${hups + 1}`);
    if (ours() < expected) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(ours(), expected, `all events written by SIGHUP flushes: ${agent.stderr()}`);
  assert.equal(agent.process.exitCode, null, 'the agent is still running after SIGHUP');
  assert.equal(agent.process.signalCode, null);
  assert.match(agent.stderr(), /received SIGHUP: flushing exporters and continuing \(the config is not reloaded/);

  agent.process.kill('SIGTERM');
  assert.equal(await agent.exited(20_000), 0, agent.stderr());
  const file = readOtlpJsonFile(out);
  const events = file.logs.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute);
  const count = (name: string) => events.filter((r) => r.eventName === name).length;
  assert.deepEqual([count('tcp.connect'), count('tcp.accept'), count('tcp.close')], [CONNECTIONS, CONNECTIONS, 2 * CONNECTIONS]);
  const ids = new Set(file.resources.map((r) => r['service.instance.id']));
  assert.equal(ids.size, 1, 'one service.instance.id per run');
  assert.match(String([...ids][0]), UUID);
  assert.match(agent.stderr(), /dropped since start: exporter "file" 0 data points, 0 log records/);
});

test('SIGTERM with an OTLP backend that never answers: exit 0 within the shutdown limit, and the drop count logged', async (t) => {
  if (!requireKernel(t)) return;
  const backend = await startOtlpGrpcServer();
  backend.stall(true);
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-hung-'));
  const config = join(dir, 'tcpscope.yaml');
  // otlp timeout left at its default (10 s), which once equalled the agent's whole shutdown limit.
  writeFileSync(
    config,
    `receivers:
  tcp_lifecycle:
    collection_interval: 200ms
    drain_interval: 20ms
exporters:
  otlp:
    endpoint: ${backend.endpoint}
    tls: {insecure: true}
service:
  pipelines:
    metrics: {receivers: [tcp_lifecycle], exporters: [otlp]}
    logs: {receivers: [tcp_lifecycle], exporters: [otlp]}
`,
  );
  const base = `/tcpscope-hung-${suffix()}`;
  const cgroup = TestCgroup.create(`${base}/app`);
  const children: RunningChild[] = [];
  t.after(async () => {
    for (const c of children) c.kill();
    cgroup.remove(base);
    backend.stall(false);
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const agent = startChild([TCPSCOPE, 'run', '--config', config]);
  children.push(agent);
  await waitUntil(() => agent.stderr().includes('running 2 pipeline'), 20_000, 'the agent to start');
  const server = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'server', '100', 'client-first']));
  children.push(server);
  const ports = await server.nextJson<{ v4: number }>();
  const client = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(ports.v4), String(CONNECTIONS), '100', '5', 'client-first']));
  children.push(client);
  await client.nextJson();
  // Both lanes have a request held by the backend: the hung state the shutdown must get out of.
  await backend.waitFor(() => backend.stalled >= 2, 20_000);

  const stoppingAt = Date.now();
  agent.process.kill('SIGTERM');
  const limit = /shutting down \(limit (\d+) s\)/;
  await waitUntil(() => limit.test(agent.stderr()), 10_000, 'the shutdown line');
  const limitSeconds = Number(limit.exec(agent.stderr())![1]);
  assert.equal(limitSeconds, 16, 'the limit exceeds otlp timeout (10 s) + its close margin (1 s) + the 5 s allowance');
  // Generous: the limit plus time for a loaded machine to schedule the exit.
  assert.equal(await agent.exited((limitSeconds + 20) * 1000), 0, agent.stderr());
  const elapsed = Date.now() - stoppingAt;
  assert.ok(elapsed < (limitSeconds + 20) * 1000, `stopped after ${elapsed} ms`);
  assert.doesNotMatch(agent.stderr(), /shutdown did not finish/);
  const dropped = /WARN  dropped since start: exporter "otlp" (\d+) data points, (\d+) log records$/m.exec(agent.stderr());
  assert.ok(dropped, `a final drop line: ${agent.stderr()}`);
  assert.ok(Number(dropped[1]) > 0, 'the held metrics batch is counted');
  assert.ok(Number(dropped[2]) >= 4 * CONNECTIONS, 'every event of ours (at least) is counted as dropped');
  assert.equal(backend.logsRequests.length + backend.metricsRequests.length, 0, 'nothing was answered');
});
