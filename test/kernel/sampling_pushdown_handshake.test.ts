// The sampling predicate pushed down into tcp_handshake's kernel program: keep_errors delivers
// every failed connect whatever the hash says, and without keep_errors the hash decides failures
// too, including connect() failures before any SYN (no local address: hashed as zeros). Twin
// receivers see the same attempts; each pushed-down twin must deliver exactly what the processor
// keeps of the plain twin's events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { SumMetricData } from '@opentelemetry/sdk-metrics';
import type { SamplingConfig } from '../../src/processors/sampling/config';
import { SamplingProcessor } from '../../src/processors/sampling/processor';
import { TcpHandshakeReceiver } from '../../src/receivers/tcp_handshake/receiver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, DIST_ROOT, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { HANDSHAKE_TEST_CONFIG } from '../support/handshake';
import { requireKernel } from '../support/kernel';
import { createTestLink } from '../support/netns';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { identities, keptBy, pushdownSettings, ReceiverOutput } from '../support/sampling_twins';

const CONNECT_ATTEMPTS = join(DIST_ROOT, 'test', 'support', 'connect_attempts.js');
const host = { reportFatal: (e: Error) => assert.fail(e) };

const SUCCESSES = 20;
const REFUSED = 30;
const UNREACHABLE = 20;

/** Port 1 on the loopback of a namespace the test made: nobody listens there, connects are refused (RST). */
const CLOSED_PORT = 1;

test('tcp_handshake push-down: keep_errors delivers every failed connect; the hash decides the rest exactly', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('sampling-hs');
  const cgroup = TestCgroup.create(`${base}/client`);
  const link = createTestLink('sp', 9);
  const children: RunningChild[] = [];
  const cases: Record<string, SamplingConfig> = {
    errorsOnly: { keep_errors: true, combine: 'any', policies: [{ hash: { ratio: 0 } }] },
    hashDecidesFailures: { keep_errors: false, combine: 'any', policies: [{ hash: { ratio: 0.5 } }] },
    shortHandshakes: { keep_errors: false, combine: 'all', policies: [{ hash: { ratio: 1 } }, { threshold: { field: 'tcp.handshake.duration', max: 10 } }] },
  };
  const twins = Object.entries(cases).map(([name, sampling]) => {
    const output = new ReceiverOutput(sampling);
    const receiver = new TcpHandshakeReceiver(pushdownSettings('tcp_handshake', name, sampling), HANDSHAKE_TEST_CONFIG, { logs: output, metrics: new RecordingMetricsConsumer() });
    return { name, sampling, output, receiver };
  });
  const plainOutput = new ReceiverOutput(cases.errorsOnly);
  const plain = new TcpHandshakeReceiver(pushdownSettings('tcp_handshake', 'plain'), HANDSHAKE_TEST_CONFIG, { logs: plainOutput, metrics: new RecordingMetricsConsumer() });
  t.after(async () => {
    for (const c of children) c.kill();
    await Promise.allSettled([...twins.map((w) => w.receiver.shutdown()), plain.shutdown()]);
    link.cleanup();
    cgroup.remove(base);
  });
  for (const w of twins) await w.receiver.start(host);
  await plain.start(host);

  // Successful handshakes (a client and a server event each), refused connects on loopback, and
  // connects with no route from a namespace with only loopback (failing in connect(), no SYN).
  const server = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'server', '10', 'client-first']));
  children.push(server);
  const { v4 } = await server.nextJson<{ v4: number }>();
  const client = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(v4), String(SUCCESSES), '10', '0', 'client-first', 'ports:10000-20000']));
  children.push(client);
  assert.deepEqual(await client.nextJson(), { done: SUCCESSES });
  const refused = startChild(cgroup.wrap(['ip', 'netns', 'exec', link.isolated, process.execPath, CONNECT_ATTEMPTS, '127.0.0.1', String(CLOSED_PORT), String(REFUSED), 'ports:20000-30000']));
  children.push(refused);
  assert.deepEqual(await refused.nextJson(), { ECONNREFUSED: REFUSED });
  const unreachable = startChild(cgroup.wrap(['ip', 'netns', 'exec', link.isolated, process.execPath, CONNECT_ATTEMPTS, link.peerV4, '1000-60000', String(UNREACHABLE)]));
  children.push(unreachable);
  assert.deepEqual(await unreachable.nextJson(), { ENETUNREACH: UNREACHABLE });

  const ours = (r: ReadableLogRecord) => r.attributes['process.linux.cgroup'] === cgroup.attribute;
  const total = 2 * SUCCESSES + REFUSED + UNREACHABLE;
  await waitUntil(() => plainOutput.delivered.filter(ours).length >= total, DEADLINE_MS, 'every outcome at the plain twin');
  const sampledOut = new Map(twins.map((w) => [w.name, w.receiver.collect().scopeMetrics[0].metrics]));
  for (const w of twins) await w.receiver.shutdown();
  await plain.shutdown();

  const all = plainOutput.delivered.filter(ours);
  const failures = all.filter((r) => r.attributes['error.type'] !== undefined);
  assert.equal(all.length, total, 'one event per outcome, two per successful connection');
  assert.deepEqual(
    failures.map((r) => r.attributes['error.type']).sort(),
    [...Array<string>(REFUSED).fill('ECONNREFUSED'), ...Array<string>(UNREACHABLE).fill('ENETUNREACH')],
  );
  assert.equal(failures.filter((r) => r.attributes['network.local.address'] === undefined).length, UNREACHABLE, 'failures before any SYN have no local address');

  for (const w of twins) {
    const delivered = w.output.delivered.filter(ours);
    assert.deepEqual(identities(delivered), identities(keptBy(w.sampling, all)), `${w.name}: delivered = kept by the processor`);
    const reference = new RecordingLogsConsumer(); // the processor on the plain twin's events
    await new SamplingProcessor(w.sampling, reference).consume(all);
    assert.deepEqual(identities(w.output.exported.records.filter(ours), true), identities(reference.records, true), `${w.name}: exported as without push-down`);
    const counted = (sampledOut.get(w.name)?.find((m) => m.descriptor.name === 'tcpscope.receiver.sampled_out_events') as SumMetricData).dataPoints[0].value;
    assert.ok(counted >= all.length - delivered.length, `${w.name}: sampled_out_events ${counted} >= ours ${all.length - delivered.length}`);
  }
  const delivered = (name: string) => twins.find((w) => w.name === name)!.output.delivered.filter(ours);
  assert.deepEqual(identities(delivered('errorsOnly')), identities(failures), 'keep_errors: every failure, no success');
  const byHash = delivered('hashDecidesFailures');
  const keptFailures = byHash.filter((r) => r.attributes['error.type'] !== undefined);
  assert.ok(keptFailures.length > 0 && keptFailures.length < failures.length, `without keep_errors, the hash keeps some failures (${keptFailures.length} of ${failures.length})`);
  const keptUnreachable = byHash.filter((r) => r.attributes['error.type'] === 'ENETUNREACH').length;
  assert.ok(keptUnreachable > 0 && keptUnreachable < UNREACHABLE, `... including failures before any SYN (${keptUnreachable} of ${UNREACHABLE})`);
  assert.equal(delivered('shortHandshakes').length, total, 'every handshake here took less than 10 s');
});
