// End to end: how the real agent process answers signals. SIGHUP flushes the exporters and the
// agent goes on; SIGTERM with a backend that accepts and never answers still ends in time, with
// exit 0 and a final line saying what was dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { agentArgv, pipelinesFor, startAgent, stopAgent, testDir, writeAgentConfig } from '../support/agent';
import { waitUntil } from '../support/child';
import { requireKernel } from '../support/kernel';
import { startOtlpGrpcServer } from '../support/otlp-grpc-server';
import { readOtlpJsonFile, readOtlpJsonFileSoFar } from '../support/otlp_json';
import { startTcpPeers } from '../support/tcp_peers';
import { workloadCgroup } from '../support/workload';

const CONNECTIONS = 8;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const occurrences = (text: string, what: string) => text.split(what).length - 1;

test('SIGHUP flushes the exporters and the agent keeps running; SIGTERM then stops it cleanly', async (t) => {
  if (!requireKernel(t)) return;
  const { cgroup, children } = workloadCgroup(t, 'hup');
  const dir = testDir(t, 'tcpscope-hup');
  const out = join(dir, 'telemetry.jsonl');
  // Nothing is written on its own within the test: a 1 h flush interval and collection interval.
  const config = writeAgentConfig(dir, {
    receivers: { tcp_lifecycle: { collection_interval: '1h', drain_interval: '20ms' } },
    exporters: { file: { path: out, flush_interval: '1h' } },
    pipelines: pipelinesFor(['logs'], ['tcp_lifecycle'], ['file']),
  });

  const agent = await startAgent(children, agentArgv(config), { ready: (stderr) => stderr.includes('running 1 pipeline'), what: 'the agent to start', timeoutMs: 20_000 });
  const { client } = await startTcpPeers(cgroup, children, { connections: CONNECTIONS, replyBytes: 100, sendBytes: 100, holdMs: 5 });
  await client.nextJson();

  const ours = () => {
    if (!existsSync(out)) return 0;
    // The agent is running: its exporter may be part-way through writing a line.
    return readOtlpJsonFileSoFar(out).logs.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute).length;
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

  await stopAgent(agent, 20_000);
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
  // Cleanups run in the order registered: the agent is killed before the backend closes.
  const { cgroup, children } = workloadCgroup(t, 'hung');
  const backend = await startOtlpGrpcServer();
  backend.stall(true);
  t.after(async () => {
    backend.stall(false);
    await backend.close();
  });
  const dir = testDir(t, 'tcpscope-hung');
  // otlp timeout left at its default (10 s), which once equalled the agent's whole shutdown limit.
  const config = writeAgentConfig(dir, {
    receivers: { tcp_lifecycle: { collection_interval: '200ms', drain_interval: '20ms' } },
    exporters: { otlp: { endpoint: backend.endpoint, tls: { insecure: true } } },
    pipelines: pipelinesFor(['metrics', 'logs'], ['tcp_lifecycle'], ['otlp']),
  });

  const agent = await startAgent(children, agentArgv(config), { ready: (stderr) => stderr.includes('running 2 pipeline'), what: 'the agent to start', timeoutMs: 20_000 });
  const { client } = await startTcpPeers(cgroup, children, { connections: CONNECTIONS, replyBytes: 100, sendBytes: 100, holdMs: 5 });
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
