// End to end over a real OTLP/gRPC connection: the real agent process with config/otlp.yaml
// pointed at a receiver built in the test from the OTLP protos, real loopback traffic, SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import { agentArgv, startAgent, stopAgent } from '../support/agent';
import { DEADLINE_MS, waitUntil } from '../support/child';
import { requireKernel } from '../support/kernel';
import { attributesOf, startOtlpGrpcServer, type LogRecordMessage, type MetricMessage } from '../support/otlp-grpc-server';
import { startTcpPeers } from '../support/tcp_peers';
import { workloadCgroup } from '../support/workload';

const CONNECTIONS = 5;

test('config/otlp.yaml delivers events and metrics over OTLP/gRPC', async (t) => {
  if (!requireKernel(t)) return;
  // Cleanups run in the order registered: the agent is killed before the backend closes.
  const { cgroup, children } = workloadCgroup(t, 'otlp');
  const backend = await startOtlpGrpcServer();
  t.after(() => backend.close());

  const agent = await startAgent(children, agentArgv(join(PACKAGE_ROOT, 'config', 'otlp.yaml')), {
    env: { ...process.env, OTLP_ENDPOINT: backend.endpoint },
    ready: (stderr) => stderr.includes('attached'),
    what: 'the agent to attach',
  });

  const { client } = await startTcpPeers(cgroup, children, { connections: CONNECTIONS, replyBytes: 300, sendBytes: 200, holdMs: 5, host: '::1' });
  assert.deepEqual(await client.nextJson(), { done: CONNECTIONS });

  const records = (): LogRecordMessage[] => backend.logsRequests.flatMap((r) => r.resourceLogs ?? []).flatMap((rl) => rl.scopeLogs ?? []).flatMap((sl) => sl.logRecords ?? []);
  const ours = () => records().filter((r) => attributesOf(r.attributes)['process.linux.cgroup'] === cgroup.attribute);
  // The server's closes come after the client is done: SIGTERM once every event of ours arrived
  // (the final metrics export, made at shutdown, is what comes after).
  await waitUntil(() => ours().length >= 4 * CONNECTIONS, DEADLINE_MS, 'every event of ours at the backend');
  await stopAgent(agent);

  const count = (name: string) => ours().filter((r) => r.eventName === name).length;
  assert.deepEqual([count('tcp.connect'), count('tcp.accept'), count('tcp.close')], [CONNECTIONS, CONNECTIONS, 2 * CONNECTIONS]);
  for (const r of ours().filter((x) => x.eventName === 'tcp.close')) {
    const a = attributesOf(r.attributes);
    assert.equal(a['network.type'], 'ipv6');
    assert.equal(a['network.peer.address'], '::1');
    assert.equal(a['tcp.bytes.sent'], a['network.tcp.handshake.role'] === 'client' ? 200 : 300);
  }
  const resource = attributesOf(backend.logsRequests[0].resourceLogs?.[0].resource?.attributes);
  assert.equal(resource['service.name'], 'tcpscope');

  // The last metrics export (the final flush) counts every connection of ours.
  const lastExport = backend.metricsRequests.at(-1);
  const metrics: MetricMessage[] = (lastExport?.resourceMetrics ?? []).flatMap((rm) => rm.scopeMetrics ?? []).flatMap((sm) => sm.metrics ?? []);
  const duration = metrics.find((m) => m.name === 'system.network.tcp.connection.duration');
  const clientPoint = duration?.histogram?.dataPoints?.find((p) => {
    const a = attributesOf(p.attributes);
    return a['process.linux.cgroup'] === cgroup.attribute && a['network.tcp.handshake.role'] === 'client';
  });
  assert.equal(clientPoint?.count, String(CONNECTIONS));
  const drops = metrics.find((m) => m.name === 'tcpscope.exporter.dropped_items');
  assert.deepEqual(
    drops?.sum?.dataPoints?.map((p) => [attributesOf(p.attributes).exporter, attributesOf(p.attributes).signal, p.asInt]),
    [
      ['otlp', 'metrics', '0'],
      ['otlp', 'logs', '0'],
    ],
  );
});
