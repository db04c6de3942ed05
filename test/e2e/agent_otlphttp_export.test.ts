// End to end over OTLP/HTTP: the real agent process with config/otlphttp.yaml pointed at an
// OTLP/HTTP receiver built in the test (bodies decoded with the official OTLP protos), real
// loopback traffic from a cgroup of the test's own, SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import { agentArgv, startAgent, stopAgent } from '../support/agent';
import { DEADLINE_MS, waitUntil } from '../support/child';
import { requireKernel } from '../support/kernel';
import { startOtlpHttpServer } from '../support/otlp_http_server';
import { startTcpPeers } from '../support/tcp_peers';
import { workloadCgroup } from '../support/workload';

const CONNECTIONS = 5;

interface Attr {
  key: string;
  /** The set member of the AnyValue oneof only (oneof members get no defaults). */
  value: { stringValue?: string; intValue?: string; doubleValue?: number };
}
interface Decoded {
  resourceLogs: { scopeLogs: { logRecords: { eventName: string; attributes: Attr[] }[] }[] }[];
  resourceMetrics: { scopeMetrics: { metrics: { name: string; histogram?: { dataPoints: { count: string; attributes: Attr[] }[] }; sum?: { dataPoints: { asInt: string; attributes: Attr[] }[] } }[] }[] }[];
}

/** Attribute values as plain values (int64 strings as numbers, exact below 2^53). */
function attributesOf(list: Attr[]): Record<string, string | number | undefined> {
  return Object.fromEntries(list.map(({ key, value }) => [key, value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : value.doubleValue)]));
}

test('config/otlphttp.yaml delivers events and metrics over OTLP/HTTP', async (t) => {
  if (!requireKernel(t)) return;
  // Cleanups run in the order registered: the agent is killed before the backend closes.
  const { cgroup, children } = workloadCgroup(t, 'otlphttp');
  const backend = await startOtlpHttpServer();
  t.after(() => backend.close());

  const agent = await startAgent(children, agentArgv(join(PACKAGE_ROOT, 'config', 'otlphttp.yaml')), {
    env: { ...process.env, OTLPHTTP_ENDPOINT: backend.url },
    ready: (stderr) => stderr.includes('attached'),
    what: 'the agent to attach',
  });

  const { client } = await startTcpPeers(cgroup, children, { connections: CONNECTIONS, replyBytes: 300, sendBytes: 200, holdMs: 5, host: '::1' });
  assert.deepEqual(await client.nextJson(), { done: CONNECTIONS });

  const records = () => (backend.accepted('logs') as unknown as Decoded[]).flatMap((r) => r.resourceLogs).flatMap((rl) => rl.scopeLogs).flatMap((sl) => sl.logRecords);
  const ours = () => records().filter((r) => attributesOf(r.attributes)['process.linux.cgroup'] === cgroup.attribute);
  await waitUntil(() => ours().length >= 4 * CONNECTIONS, DEADLINE_MS, 'every event of ours at the backend');
  await stopAgent(agent);

  for (const r of backend.requests) {
    assert.equal(r.headers['content-type'], 'application/x-protobuf');
    assert.equal(r.headers['content-encoding'], 'gzip');
  }
  const count = (name: string) => ours().filter((r) => r.eventName === name).length;
  assert.deepEqual([count('tcp.connect'), count('tcp.accept'), count('tcp.close')], [CONNECTIONS, CONNECTIONS, 2 * CONNECTIONS]);
  for (const r of ours().filter((x) => x.eventName === 'tcp.close')) {
    const a = attributesOf(r.attributes);
    assert.equal(a['network.type'], 'ipv6');
    assert.equal(a['network.peer.address'], '::1');
    assert.equal(a['tcp.bytes.sent'], a['network.tcp.handshake.role'] === 'client' ? 200 : 300);
  }

  // The last metrics export (the final flush) counts every connection of ours, and no drops.
  const lastExport = (backend.accepted('metrics') as unknown as Decoded[]).at(-1);
  const metrics = (lastExport?.resourceMetrics ?? []).flatMap((rm) => rm.scopeMetrics).flatMap((sm) => sm.metrics);
  const duration = metrics.find((m) => m.name === 'system.network.tcp.connection.duration');
  const clientPoint = duration?.histogram?.dataPoints.find((p) => {
    const a = attributesOf(p.attributes);
    return a['process.linux.cgroup'] === cgroup.attribute && a['network.tcp.handshake.role'] === 'client';
  });
  assert.equal(clientPoint?.count, String(CONNECTIONS));
  const drops = metrics.find((m) => m.name === 'tcpscope.exporter.dropped_items');
  assert.deepEqual(
    drops?.sum?.dataPoints.map((p) => [attributesOf(p.attributes).exporter, attributesOf(p.attributes).signal, p.asInt]),
    [
      ['otlphttp', 'metrics', '0'],
      ['otlphttp', 'logs', '0'],
    ],
  );
});
