// tcp_rtt's sample_interval and group_by: one sample per socket per interval, and per-peer series.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ExponentialHistogramMetricData, HistogramMetricData } from '@opentelemetry/sdk-metrics';
import type { TcpRttConfig } from '../../src/receivers/tcp_rtt/config';
import { TcpRttReceiver } from '../../src/receivers/tcp_rtt/receiver';
import { DIST_ROOT, startChild, type RunningChild } from '../support/child';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { requireKernel } from '../support/kernel';
import { missedRuns } from '../support/missed_runs';
import { establishedSegments, segmentsInEstablished } from '../support/segments_in';
import { RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const PEER = join(DIST_ROOT, 'test', 'support', 'pingpong_peer.js');

async function run(t: { after: (fn: () => Promise<void> | void) => void }, config: Partial<TcpRttConfig>) {
  const base = testCgroupBase('rttopt');
  const group = TestCgroup.create(`${base}/app`);
  const children: RunningChild[] = [];
  const receiver = new TcpRttReceiver(
    testSettings('tcp_rtt'),
    // max_series is host-wide: with group_by peer_port every connection of every process on the
    // host takes a series, so a busy host (a churn benchmark beside the suite: seen once) filled 64
    // before this test's sockets had theirs and they landed in the overflow series. 4096 series
    // (about 16 MB of per-CPU histograms here) leave room for thousands of other connections.
    { collection_interval: '1h', sample_interval: '0', group_by: ['cgroup'], scale: 3, histogram: 'exponential', max_series: 4096, ...config },
    { metrics: new RecordingMetricsConsumer() },
  );
  t.after(async () => {
    for (const c of children) c.kill();
    await receiver.shutdown();
    group.remove(base);
  });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });
  const server = startChild(group.wrap([process.execPath, PEER, 'server', '127.0.0.1']));
  children.push(server);
  const { port } = await server.nextJson<{ port: number }>();
  const client = startChild(group.wrap([process.execPath, PEER, 'client', '127.0.0.1', String(port), '500']));
  children.push(client);
  const { localPort } = await client.nextJson<{ localPort: number }>(); // the connection stays open
  const metrics = receiver.collect().scopeMetrics[0].metrics;
  const points = metrics[0].dataPoints.filter((p) => p.attributes['process.linux.cgroup'] === group.attribute);
  // After collect(): segs_in then covers every segment that can have been sampled.
  const sockets = establishedSegments([`( sport = :${localPort} or dport = :${localPort} )`]);
  assert.equal(sockets.length, 2, `ss shows both ends of the connection from port ${localPort}`);
  return { points, port, localPort, sockets, missed: missedRuns(metrics, 'tcp_rtt_probe') };
}

test('sample_interval: at most one sample per socket per interval', async (t) => {
  if (!requireKernel(t)) return;
  const { points } = await run(t, { sample_interval: '1h' });
  const counts = (points as ExponentialHistogramMetricData['dataPoints']).map((p) => p.value.count);
  assert.deepEqual(counts, [2], 'one sample for each of the two sockets, over 500 round trips');
});

test('sample_interval: one sample for every socket, also one in the memory of a closed, sampled socket', async (t) => {
  if (!requireKernel(t)) return;
  // Regression: the last sample time was keyed by the socket's address, which the next socket
  // reuses as soon as one is freed, so 20 sequential connections (40 sockets) gave 4 samples.
  const base = testCgroupBase('rttseq');
  const group = TestCgroup.create(`${base}/app`);
  const receiver = new TcpRttReceiver(
    testSettings('tcp_rtt'),
    { collection_interval: '1h', sample_interval: '1h', group_by: ['cgroup'], scale: 3, histogram: 'exponential', max_series: 64 },
    { metrics: new RecordingMetricsConsumer() },
  );
  const children: RunningChild[] = [];
  t.after(async () => {
    for (const c of children) c.kill();
    await receiver.shutdown();
    group.remove(base);
  });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });
  const CONNECTIONS = 20;
  const sequence = startChild(group.wrap([process.execPath, join(DIST_ROOT, 'test', 'support', 'sequential_connections.js'), String(CONNECTIONS), '3']));
  children.push(sequence);
  await sequence.nextJson(30_000);
  const points = receiver.collect().scopeMetrics[0].metrics[0].dataPoints.filter((p) => p.attributes['process.linux.cgroup'] === group.attribute);
  const counts = (points as ExponentialHistogramMetricData['dataPoints']).map((p) => p.value.count);
  // Each socket (client and accepted, both in the cgroup) receives 3 segments in ESTABLISHED
  // after its RTT is known: one sample each, the first.
  assert.deepEqual(counts, [2 * CONNECTIONS], `one sample for each of the ${2 * CONNECTIONS} sockets`);
});

test('group_by peer_port: one series per peer port, labelled network.peer.port; explicit buckets on request', async (t) => {
  if (!requireKernel(t)) return;
  const { points, port, localPort, sockets, missed } = await run(t, { group_by: ['cgroup', 'peer_port'], histogram: 'explicit' });
  const byPort = new Map((points as HistogramMetricData['dataPoints']).map((p) => [p.attributes['network.peer.port'], p.value]));
  assert.deepEqual([...byPort.keys()].sort(), [port, localPort].sort(), 'the client socket (peer = server port) and the server socket (peer = client port)');
  for (const [peerPort, value] of byPort) {
    // Per socket: at most one sample per segment received in ESTABLISHED, exact from the kernel's
    // count (segments_in.ts).
    // No exact floor: besides the runs counted in missed_runs, a run can fail to happen uncounted
    // (tcp_rtt_shaped.test.ts). 500 segments arrive at each socket; at least half are sampled.
    const socket = sockets.find((s) => s.peerPort === peerPort);
    assert.ok(socket, `ss shows the socket whose peer port is ${String(peerPort)}`);
    const atMost = segmentsInEstablished(socket, peerPort === port ? 'client' : 'accepted');
    t.diagnostic(`peer port ${String(peerPort)}: ${value.count} samples, ${atMost} segments received in ESTABLISHED, ${missed} missed runs`);
    assert.ok(value.count <= atMost, `${value.count} samples <= ${atMost} segments received in ESTABLISHED`);
    assert.ok(value.count >= 250, `${value.count} samples (${missed} missed runs) for 500 round trips`);
    assert.equal(value.buckets.counts.reduce((a, b) => a + b, 0), value.count, 'explicit bucket counts add up');
    assert.equal(value.buckets.boundaries.length + 1, value.buckets.counts.length);
  }
});
