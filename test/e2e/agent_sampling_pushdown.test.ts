// End to end: the real agent with two tcp_lifecycle receivers behind the same sampling processor,
// one pushing the predicate down into the kernel (the default) and one with sampling_pushdown:
// false. The two exported event sets must be identical, and only the first samples in the kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { agentArgv, startAgent, stopAgent, testDir, writeAgentConfig } from '../support/agent';
import { DEADLINE_MS, waitUntil } from '../support/child';
import { requireKernel } from '../support/kernel';
import { readOtlpJsonFile, readOtlpJsonFileSoFar, type FlatDataPoint, type FlatLogRecord } from '../support/otlp_json';
import { startTcpPeers } from '../support/tcp_peers';
import { workloadCgroup } from '../support/workload';

const CONNECTIONS = 80;

const identity = (r: FlatLogRecord) =>
  ['network.tcp.handshake.role', 'network.local.address', 'network.local.port', 'network.peer.address', 'network.peer.port', 'process.pid', 'tcpscope.sampling.probability']
    .map((key) => String(r.attributes[key]))
    .concat(r.eventName ?? '')
    .join(' ');

test('tcpscope run: a sampling processor pushed down exports what it exports without push-down', async (t) => {
  if (!requireKernel(t)) return;
  const { cgroup, children } = workloadCgroup(t, 'e2e-sampling');
  const dir = testDir(t, 'tcpscope-e2e-sampling');
  const pushedFile = join(dir, 'pushed.jsonl');
  const plainFile = join(dir, 'plain.jsonl');
  const metricsFile = join(dir, 'metrics.jsonl');
  const sampled = ['k8s_attributes', 'sampling'];
  const config = writeAgentConfig(dir, {
    receivers: {
      // Both receivers see every connection of the host, and the plain one takes all of their
      // events into its ring: with the default 4 MiB, a churn load elsewhere on a CPU-starved host
      // overflowed it once (5 of the test's connections missing from one side only). 64 MiB holds
      // seconds of such a load; dropped_events is checked below all the same.
      tcp_lifecycle: { collection_interval: '500ms', drain_interval: '20ms', ring_buffer_size: 64 * 1024 * 1024 },
      'tcp_lifecycle/plain': { collection_interval: '500ms', drain_interval: '20ms', sampling_pushdown: false, ring_buffer_size: 64 * 1024 * 1024 },
    },
    processors: { k8s_attributes: null, sampling: { policies: [{ hash: { ratio: 0.3 } }] } },
    exporters: {
      'file/pushed': { path: pushedFile, flush_interval: '100ms' },
      'file/plain': { path: plainFile, flush_interval: '100ms' },
      'file/metrics': { path: metricsFile, flush_interval: '100ms' },
    },
    pipelines: {
      metrics: { receivers: ['tcp_lifecycle', 'tcp_lifecycle/plain'], exporters: ['file/metrics'] },
      logs: { receivers: ['tcp_lifecycle'], processors: sampled, exporters: ['file/pushed'] },
      'logs/plain': { receivers: ['tcp_lifecycle/plain'], processors: sampled, exporters: ['file/plain'] },
    },
  });

  const agent = await startAgent(children, agentArgv(config), {
    ready: (stderr) => (stderr.match(/attached/g) ?? []).length === 2,
    what: 'both receivers to attach',
  });
  assert.match(agent.stderr(), /tcp_lifecycle: sampling pushed down to the kernel: any of hash ratio 0\.3/);
  assert.match(agent.stderr(), /tcp_lifecycle\/plain: sampling is not pushed down to the kernel \(sampling_pushdown: false\)/);

  // Random local ports: sequential ephemeral ports would be kept or dropped nearly as a block.
  const { client } = await startTcpPeers(cgroup, children, { connections: CONNECTIONS, replyBytes: 10, sendBytes: 10, holdMs: 0, localPorts: [10000, 30000] });
  assert.deepEqual(await client.nextJson(), { done: CONNECTIONS });
  // SIGTERM once both receivers' kernel aggregates count every connection closed on both sides
  // (the same program run that counts a close submits its event): every event is then in a ring
  // buffer, and SIGTERM must drain them. An export is one receiver's (its tcpscope.receiver.*
  // points name it); both must have made such an export.
  const allClosed = (points: readonly FlatDataPoint[], receiver: string) =>
    points.some((p) => p.attributes.receiver === receiver) &&
    points.filter((p) => p.metric === 'system.network.tcp.connection.duration' && p.attributes['process.linux.cgroup'] === cgroup.attribute && p.value === CONNECTIONS).length === 2;
  await waitUntil(
    () => ['tcp_lifecycle', 'tcp_lifecycle/plain'].every((receiver) => readOtlpJsonFileSoFar(metricsFile).metricExports.some((points) => allClosed(points, receiver))),
    DEADLINE_MS,
    'a metrics export counting every connection closed, client and server, in both receivers',
  );
  await stopAgent(agent);

  // A comparison of two event streams means nothing if either lost events on the way.
  const dropped = (receiver: string) => {
    const points = readOtlpJsonFile(metricsFile)
      .metricExports.flat()
      .filter((p) => p.metric === 'tcpscope.receiver.dropped_events' && p.attributes.receiver === receiver);
    assert.ok(points.length > 0, `${receiver} exported tcpscope.receiver.dropped_events`);
    return points.reduce((most, p) => Math.max(most, Number(p.value)), 0);
  };
  // Cumulative series (one per drop reason): all zero in the last export means none were lost.
  for (const receiver of ['tcp_lifecycle', 'tcp_lifecycle/plain']) assert.equal(dropped(receiver), 0, `${receiver} dropped no events`);

  const ours = (path: string) => readOtlpJsonFile(path).logs.filter((r) => r.attributes['process.linux.cgroup'] === cgroup.attribute);
  const pushed = ours(pushedFile);
  const plain = ours(plainFile);
  assert.deepEqual(pushed.map(identity).sort(), plain.map(identity).sort(), 'the same events, with the same probability');
  assert.ok(pushed.length > 0 && pushed.length < 4 * CONNECTIONS, `sampled: ${pushed.length} of ${4 * CONNECTIONS} events`);
  assert.ok(pushed.every((r) => r.attributes['tcpscope.sampling.probability'] === 0.3));

  const lastValue = (receiver: string) =>
    readOtlpJsonFile(metricsFile)
      .metricExports.flat()
      .filter((p) => p.metric === 'tcpscope.receiver.sampled_out_events' && p.attributes.receiver === receiver)
      .at(-1)?.value;
  assert.ok((lastValue('tcp_lifecycle') ?? 0) >= 4 * CONNECTIONS - pushed.length, 'the pushed-down receiver counts what its kernel program sampled out');
  assert.equal(lastValue('tcp_lifecycle/plain'), 0, 'the other samples in the agent only');
});
