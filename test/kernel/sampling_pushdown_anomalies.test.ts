// The sampling predicate pushed down into tcp_anomalies' kernel program: a twin with the hash
// policy pushed down must deliver exactly what the processor keeps of a plain twin's events (both
// the reset sent and the reset received of one refused connect: one connection, one decision),
// and the events it exports equal the processor's output on the plain twin's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { SamplingConfig } from '../../src/processors/sampling/config';
import { SamplingProcessor } from '../../src/processors/sampling/processor';
import { TcpAnomaliesReceiver } from '../../src/receivers/tcp_anomalies/receiver';
import { ANOMALIES_TEST_CONFIG, netnsInode } from '../support/anomalies';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, DIST_ROOT, startChild, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { createTestLink } from '../support/netns';
import { RecordingLogsConsumer } from '../support/recording_consumer';
import { connectionOf, identities, keptBy, pushdownSettings, ReceiverOutput } from '../support/sampling_twins';

const CONNECT_ATTEMPTS = join(DIST_ROOT, 'test', 'support', 'connect_attempts.js');
const REFUSED = 60;

test('tcp_anomalies push-down: the kernel delivers exactly what the sampling processor keeps', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('sampling-an');
  const cgroup = TestCgroup.create(`${base}/client`);
  const link = createTestLink('spa', 11);
  const children: RunningChild[] = [];
  const sampling: SamplingConfig = { keep_errors: true, combine: 'any', policies: [{ hash: { ratio: 0.5 } }] };
  const output = new ReceiverOutput(sampling);
  const pushed = new TcpAnomaliesReceiver(pushdownSettings('tcp_anomalies', 'pushed', sampling), { ...ANOMALIES_TEST_CONFIG, drops: false }, { logs: output });
  const plainOutput = new ReceiverOutput(sampling);
  const plain = new TcpAnomaliesReceiver(pushdownSettings('tcp_anomalies', 'plain'), { ...ANOMALIES_TEST_CONFIG, drops: false }, { logs: plainOutput });
  t.after(async () => {
    for (const c of children) c.kill();
    await Promise.allSettled([pushed.shutdown(), plain.shutdown()]);
    link.cleanup();
    cgroup.remove(base);
  });
  await pushed.start({ reportFatal: (e) => assert.fail(e) });
  await plain.start({ reportFatal: (e) => assert.fail(e) });

  // Refused connects on the loopback of a namespace with nothing else in it: each makes a reset
  // sent for no socket and a reset received by the client, both in this namespace.
  const refused = startChild(cgroup.wrap(['ip', 'netns', 'exec', link.isolated, process.execPath, CONNECT_ATTEMPTS, '127.0.0.1', '1', String(REFUSED), 'ports:20000-30000']));
  children.push(refused);
  assert.deepEqual(await refused.nextJson(), { ECONNREFUSED: REFUSED });
  const inode = netnsInode(link.isolated);
  const ours = (r: ReadableLogRecord) => r.attributes['tcp.netns.inode'] === inode;
  await waitUntil(() => plainOutput.delivered.filter(ours).length >= 2 * REFUSED, DEADLINE_MS, 'every reset at the plain twin');
  const all = plainOutput.delivered.filter(ours);
  await waitUntil(() => output.delivered.filter(ours).length >= keptBy(sampling, all).length, DEADLINE_MS, 'the pushed-down twin\'s events');
  await Promise.all([pushed.shutdown(), plain.shutdown()]);

  assert.equal(all.length, 2 * REFUSED, 'a reset sent and a reset received per refused connect');
  const delivered = output.delivered.filter(ours);
  assert.deepEqual(identities(delivered), identities(keptBy(sampling, all)), 'delivered = kept by the processor');
  assert.ok(delivered.length > 0 && delivered.length < all.length, `the hash kept some (${delivered.length} of ${all.length})`);
  const connections = new Map<string, number>();
  for (const r of delivered) connections.set(connectionOf(r), (connections.get(connectionOf(r)) ?? 0) + 1);
  assert.ok([...connections.values()].every((n) => n === 2), 'both resets of a connection share its fate');
  const reference = new RecordingLogsConsumer();
  await new SamplingProcessor(sampling, reference).consume(all);
  assert.deepEqual(identities(output.exported.records.filter(ours), true), identities(reference.records, true), 'exported as without push-down');
});
