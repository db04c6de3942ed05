// The sampling predicate pushed down into tcp_lifecycle's kernel program, on real loopback
// connections: twin receivers see the same transitions, one with the predicate in the kernel and
// one without, and what crosses the pushed-down twin's ring buffer must be exactly what the
// processor keeps of the plain twin's events, with the same exported result and the same metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { HistogramMetricData, MetricData, SumMetricData } from '@opentelemetry/sdk-metrics';
import type { SamplingConfig } from '../../src/processors/sampling/config';
import type { TcpLifecycleConfig } from '../../src/receivers/tcp_lifecycle/config';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { RecordingMetricsConsumer } from '../support/recording_consumer';
import { connectionOf, identities, keptBy, pushdownSettings, ReceiverOutput } from '../support/sampling_twins';

const CONFIG: TcpLifecycleConfig = {
  collection_interval: '1h', // collected by hand
  drain_interval: '20ms',
  ring_buffer_size: 1 << 21,
  max_connections: 65536,
  max_cgroups: 1024,
  wakeup_min_bytes: 65536,
  sampling_pushdown: true,
  events: ['tcp.connect', 'tcp.accept', 'tcp.close'],
};

const host = { reportFatal: (e: Error) => assert.fail(e) };

interface Ports {
  v4: number;
  v6: number;
  dual: number;
}

/** A receiver, its sampling processor and what went in and out of it; pushed down or not. */
interface Twin {
  readonly name: string;
  readonly sampling: SamplingConfig;
  readonly output: ReceiverOutput;
  readonly receiver: TcpLifecycleReceiver;
}

function twin(name: string, sampling: SamplingConfig, pushdown: boolean): Twin {
  const output = new ReceiverOutput(sampling);
  const receiver = new TcpLifecycleReceiver(pushdownSettings('tcp_lifecycle', name, pushdown ? sampling : undefined), CONFIG, {
    logs: output,
    metrics: new RecordingMetricsConsumer(),
  });
  return { name, sampling, output, receiver };
}

/**
 * Connections from a client process per [host, port, count, local ports], all in `cgroup`, to one
 * server there. Local ports are random within the given range: the kernel hands out ephemeral
 * ports in sequence, and the hash's top bits vary little between neighbouring ports (FNV-1a mixes
 * its last bytes poorly), so the kept fraction of a few hundred sequential connections strays far
 * from the ratio. Exactness does not depend on it; the fraction checks below do.
 */
async function connectionsIn(cgroup: TestCgroup, children: RunningChild[], runs: (ports: Ports) => readonly [string, number, number, string][]): Promise<number> {
  const server = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'server', '10', 'client-first']));
  children.push(server);
  const ports = await server.nextJson<Ports>();
  const clients = runs(ports).map(([hostname, port, count, localPorts]) => {
    const child = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'client', hostname, String(port), String(count), '20', '0', 'client-first', localPorts]));
    children.push(child);
    return child.nextJson<{ done: number }>(2 * DEADLINE_MS);
  });
  const done = await Promise.all(clients);
  return done.reduce((n, d) => n + d.done, 0);
}

const ours = (cgroup: TestCgroup) => (r: ReadableLogRecord) => r.attributes['process.linux.cgroup'] === cgroup.attribute;

function counter(metrics: MetricData[], name: string): number {
  const metric = metrics.find((m) => m.descriptor.name === name) as SumMetricData | undefined;
  assert.ok(metric, `${name} is exported`);
  return metric.dataPoints[0].value;
}

test('hash push-down: exactly the connections the processor keeps cross the ring buffer, all four events of each', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('sampling');
  const cgroup = TestCgroup.create(`${base}/hash`);
  const children: RunningChild[] = [];
  const sampling: SamplingConfig = { keep_errors: true, combine: 'any', policies: [{ hash: { ratio: 0.25 } }] };
  const pushed = twin('pushed', sampling, true);
  const plain = twin('plain', sampling, false);
  t.after(async () => {
    for (const c of children) c.kill();
    await Promise.allSettled([pushed.receiver.shutdown(), plain.receiver.shutdown()]);
    cgroup.remove(base);
  });
  await pushed.receiver.start(host);
  await plain.receiver.start(host);

  // IPv4, IPv6, and IPv4 clients of a dual-stack listener, whose server sockets see v4-mapped
  // addresses: both sides of one connection must still decide alike.
  const connections = await connectionsIn(cgroup, children, (p) => [
    ['127.0.0.1', p.v4, 200, 'ports:10000-17000'],
    ['::1', p.v6, 100, 'ports:17000-24000'],
    ['127.0.0.1', p.dual, 100, 'ports:24000-31000'],
  ]);
  assert.equal(connections, 400);
  await waitUntil(() => plain.output.delivered.filter(ours(cgroup)).length >= 4 * connections, DEADLINE_MS, 'every event at the plain twin');
  // The kernel decided at each transition, so its counters are complete once the plain twin has all.
  const pushedMetrics = pushed.receiver.collect().scopeMetrics[0].metrics;
  const plainMetrics = plain.receiver.collect().scopeMetrics[0].metrics;
  await pushed.receiver.shutdown(); // drains its ring buffer
  await plain.receiver.shutdown();

  const all = plain.output.delivered.filter(ours(cgroup));
  assert.equal(all.length, 4 * connections, 'the plain twin saw connect, accept and two closes per connection');
  const delivered = pushed.output.delivered.filter(ours(cgroup));
  const expected = keptBy(sampling, all);
  assert.deepEqual(identities(delivered), identities(expected), 'what crossed the ring buffer is what the processor keeps');
  for (const name of ['tcp.connect', 'tcp.accept', 'tcp.close']) {
    const of = (records: readonly ReadableLogRecord[]) => records.filter((r) => r.eventName === name).length;
    assert.ok(of(delivered) > 0, `${name} events were kept`);
    assert.ok(of(delivered) < of(all), `${name} events were sampled out`);
  }

  // Client and server sides of a connection agree: a kept connection has all four events.
  const byConnection = new Map<string, string[]>();
  for (const r of delivered) byConnection.set(connectionOf(r), [...(byConnection.get(connectionOf(r)) ?? []), `${r.eventName}/${String(r.attributes['network.tcp.handshake.role'])}`]);
  for (const [connection, events] of byConnection) {
    assert.deepEqual(events.sort(), ['tcp.accept/server', 'tcp.close/client', 'tcp.close/server', 'tcp.connect/client'], connection);
  }
  const sigma = Math.sqrt(connections * 0.25 * 0.75);
  assert.ok(Math.abs(byConnection.size - connections * 0.25) < 4 * sigma, `${byConnection.size} of ${connections} connections kept at ratio 0.25`);

  // The pipeline's result is the same with and without push-down.
  assert.deepEqual(identities(pushed.output.exported.records.filter(ours(cgroup)), true), identities(plain.output.exported.records.filter(ours(cgroup)), true));

  // Sampled out is counted apart from losses. Losses are host-wide (other processes' events share
  // the ring buffers), so they are not asserted to be 0 (the exact count of ours above shows none
  // of ours was lost); but had the sampled-out events been counted as losses, there would be at
  // least as many as this test's alone.
  const sampledOutOfOurs = all.length - delivered.length;
  assert.ok(counter(pushedMetrics, 'tcpscope.receiver.dropped_events') < sampledOutOfOurs, 'sampled-out events are not losses');
  assert.equal(counter(plainMetrics, 'tcpscope.receiver.sampled_out_events'), 0, 'nothing is sampled in the kernel without push-down');
  const sampledOut = counter(pushedMetrics, 'tcpscope.receiver.sampled_out_events');
  // Other traffic on the host is sampled too, so ours is a lower bound.
  assert.ok(sampledOut >= sampledOutOfOurs, `sampled_out_events ${sampledOut} >= ours ${sampledOutOfOurs}`);
});

test('threshold and ratio push-down are exact at their boundaries: each twin delivers what the processor keeps', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('sampling');
  const cgroup = TestCgroup.create(`${base}/thresholds`);
  const children: RunningChild[] = [];
  const config = (c: Partial<SamplingConfig>): SamplingConfig => ({ keep_errors: true, combine: 'any', policies: [], ...c });
  // On loopback tcp.retransmits is 0: min 0 keeps every close, min 1 none; connect and accept do
  // not carry the field, so they never match it.
  const cases: { name: string; sampling: SamplingConfig; expect: (connections: number) => number }[] = [
    { name: 'retransmits-min-0', sampling: config({ policies: [{ threshold: { field: 'tcp.retransmits', min: 0 } }] }), expect: (n) => 2 * n },
    { name: 'retransmits-min-1', sampling: config({ policies: [{ threshold: { field: 'tcp.retransmits', min: 1 } }] }), expect: () => 0 },
    { name: 'retransmits-max-0', sampling: config({ policies: [{ threshold: { field: 'tcp.retransmits', max: 0 } }] }), expect: (n) => 2 * n },
    { name: 'handshake-max-10s', sampling: config({ policies: [{ threshold: { field: 'tcp.handshake.duration', max: 10 } }] }), expect: (n) => n },
    { name: 'rtt-min-0', sampling: config({ policies: [{ threshold: { field: 'tcp.rtt', min: 0 } }] }), expect: (n) => 2 * n },
    { name: 'duration-min-1h', sampling: config({ policies: [{ threshold: { field: 'tcp.duration', min: 3600 } }] }), expect: () => 0 },
    { name: 'ratio-0', sampling: config({ policies: [{ hash: { ratio: 0 } }] }), expect: () => 0 },
    { name: 'ratio-1', sampling: config({ policies: [{ hash: { ratio: 1 } }] }), expect: (n) => 4 * n },
    {
      name: 'all-hash-and-closes',
      sampling: config({ combine: 'all', policies: [{ hash: { ratio: 0.5 } }, { threshold: { field: 'tcp.duration', min: 0 } }] }),
      expect: () => -1, // about half the closes: checked against the processor only
    },
    {
      name: 'any-hash-or-handshake',
      sampling: config({ keep_errors: false, policies: [{ hash: { ratio: 0.3 } }, { threshold: { field: 'tcp.handshake.duration', min: 0 } }] }),
      expect: () => -1,
    },
  ];
  const twins = cases.map((c) => ({ ...c, twin: twin(c.name, c.sampling, true) }));
  const plain = twin('plain', config({ policies: [{ hash: { ratio: 1 } }] }), false);
  t.after(async () => {
    for (const c of children) c.kill();
    await Promise.allSettled([...twins.map((c) => c.twin.receiver.shutdown()), plain.receiver.shutdown()]);
    cgroup.remove(base);
  });
  for (const c of twins) await c.twin.receiver.start(host);
  await plain.receiver.start(host);

  const connections = await connectionsIn(cgroup, children, (p) => [
    ['127.0.0.1', p.v4, 40, 'ports:10000-17000'],
    ['::1', p.v6, 20, 'ports:17000-24000'],
  ]);
  await waitUntil(() => plain.output.delivered.filter(ours(cgroup)).length >= 4 * connections, DEADLINE_MS, 'every event at the plain twin');
  for (const c of twins) await c.twin.receiver.shutdown();
  await plain.receiver.shutdown();

  const all = plain.output.delivered.filter(ours(cgroup));
  assert.equal(all.length, 4 * connections);
  for (const c of twins) {
    const delivered = c.twin.output.delivered.filter(ours(cgroup));
    assert.deepEqual(identities(delivered), identities(keptBy(c.sampling, all)), `${c.name}: delivered = kept by the processor`);
    const expected = c.expect(connections);
    if (expected >= 0) assert.equal(delivered.length, expected, `${c.name}: events delivered`);
    else assert.ok(delivered.length > 0 && delivered.length < all.length, `${c.name}: some kept, some sampled out (${delivered.length})`);
  }
});

/** The test cgroup's points of the metrics sampling must never change, as comparable values. */
function cgroupMetrics(metrics: MetricData[], cgroup: TestCgroup): Record<string, number> {
  const values: Record<string, number> = {};
  for (const metric of metrics) {
    for (const point of metric.dataPoints as { attributes: Record<string, unknown>; value: unknown }[]) {
      if (point.attributes['process.linux.cgroup'] !== cgroup.attribute) continue;
      const series = `${metric.descriptor.name} ${String(point.attributes['network.tcp.handshake.role'])} ${String(point.attributes['network.io.direction'] ?? '')}`;
      if (metric.descriptor.name === 'system.network.tcp.connection.duration') {
        // Each twin's program reads the clock itself: the sums differ by nanoseconds, the counts cannot.
        values[`${series} count`] = (point as HistogramMetricData['dataPoints'][number]).value.count;
      } else {
        values[series] = point.value as number;
      }
    }
  }
  return values;
}

test('metrics are unchanged by sampling: a ratio 0.1 pushed down changes events, not one metric value', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('sampling');
  const cgroup = TestCgroup.create(`${base}/metrics`);
  const children: RunningChild[] = [];
  const sampling: SamplingConfig = { keep_errors: true, combine: 'any', policies: [{ hash: { ratio: 0.1 } }] };
  const sampled = twin('sampled', sampling, true);
  const unsampled = twin('unsampled', { ...sampling, policies: [{ hash: { ratio: 1 } }] }, false);
  t.after(async () => {
    for (const c of children) c.kill();
    await Promise.allSettled([sampled.receiver.shutdown(), unsampled.receiver.shutdown()]);
    cgroup.remove(base);
  });
  await sampled.receiver.start(host);
  await unsampled.receiver.start(host);

  const connections = await connectionsIn(cgroup, children, (p) => [
    ['127.0.0.1', p.v4, 100, 'ports:10000-17000'],
    ['::1', p.v6, 100, 'ports:17000-24000'],
  ]);
  await waitUntil(() => unsampled.output.delivered.filter(ours(cgroup)).length >= 4 * connections, DEADLINE_MS, 'every event');
  const withSampling = cgroupMetrics(sampled.receiver.collect().scopeMetrics[0].metrics, cgroup);
  const withoutSampling = cgroupMetrics(unsampled.receiver.collect().scopeMetrics[0].metrics, cgroup);
  await sampled.receiver.shutdown();
  await unsampled.receiver.shutdown();

  assert.deepEqual(withSampling, withoutSampling);
  // and they are the right numbers, not two equal zeros
  assert.equal(withoutSampling['system.network.tcp.connection.duration client  count'], connections);
  assert.equal(withoutSampling['system.network.tcp.connection.duration server  count'], connections);
  assert.equal(withoutSampling['system.network.tcp.io client transmit'], 20 * connections, 'tcp_peer clients send 20 bytes each');
  assert.equal(withoutSampling['system.network.tcp.io server transmit'], 10 * connections, 'the server replies 10 bytes');
  assert.equal(withoutSampling['system.network.connection.count client '], 0);
  const delivered = sampled.output.delivered.filter(ours(cgroup)).length;
  assert.ok(delivered < 0.25 * 4 * connections, `the event stream was sampled (${delivered} of ${4 * connections})`);
});
