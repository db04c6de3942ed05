// tcp_anomalies on a kernel without the reasons: the program built as for a kernel whose
// tcp_send_reset has no reason (bpf/Makefile's tcp_anomalies_noreason, compiled with the CO-RE
// check forced off, so the kernel side writes its `unknown` value while user space still knows
// this kernel's names: an `unknown` can only come from the program), and user space told that the
// kernel has no drop reasons (as before 5.17). It loads, counts resets as `unknown`, leaves the
// drop hook out. A kernel without any of these enums in its BTF: kernelReasons(undefined), below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { bpfObjectPath, PACKAGE_ROOT } from '../../src/paths';
import { KernelBtf } from '../../src/host/kernel_btf';
import { kernelReasons } from '../../src/receivers/tcp_anomalies/kernel_reasons';
import { TcpAnomaliesReceiver } from '../../src/receivers/tcp_anomalies/receiver';
import { ANOMALIES_TEST_CONFIG, eventsOf, netnsInode, sumPoints } from '../support/anomalies';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { createTestLink } from '../support/netns';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const PROBE = join(PACKAGE_ROOT, 'test', 'support', 'anomaly_probe.py');

test('tcp_anomalies without reset and drop reasons: loads, reports `unknown`, no drop hook', async (t) => {
  if (!requireKernel(t)) return;
  const link = createTestLink('and', 10);
  const base = testCgroupBase('and');
  const cgroup = TestCgroup.create(`${base}/client`);
  const children: RunningChild[] = [];
  const logs = new RecordingLogsConsumer();
  const bare = kernelReasons(undefined);
  assert.equal(bare.resetReasons, false);
  assert.equal(bare.dropReasons, false);
  assert.equal(bare.resetReasonName(1), 'unknown');
  assert.match(bare.describe(), /reset reasons: unavailable.*drop reasons: unavailable/);
  const real = KernelBtf.read(undefined, kernelReasons);
  assert.equal(real.resetReasonName(1), 'NO_SOCKET', 'this kernel names its reset reasons');
  const reasons = { ...real, dropReasons: false };
  const receiver = new TcpAnomaliesReceiver(testSettings('tcp_anomalies', 'degraded'), ANOMALIES_TEST_CONFIG, { logs, metrics: new RecordingMetricsConsumer() }, {
    objectPath: bpfObjectPath('tcp_anomalies_noreason'),
    reasons,
  });
  t.after(async () => {
    for (const c of children) c.kill();
    try {
      await receiver.shutdown();
    } finally {
      link.cleanup();
      cgroup.remove(base);
    }
  });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });
  const programs = receiver.programInfo().map((p) => p.program);
  assert.ok(!programs.includes('tcp_anomalies_kfree_skb'), `no drop hook without drop reasons: ${programs.join(', ')}`);
  assert.ok(programs.includes('tcp_anomalies_send_reset'));

  const child = startChild(cgroup.wrap(['ip', 'netns', 'exec', link.client, 'python3', PROBE, 'refused', link.peerV4, '1']));
  children.push(child);
  assert.equal((await child.nextJson<{ error: string }>()).error, 'ECONNREFUSED');
  const match = { 'tcp.netns.inode': netnsInode(link.peer), 'network.local.port': 1, 'network.io.direction': 'transmit' };
  await waitUntil(() => eventsOf(logs.records, 'tcp.reset', match).length >= 1, DEADLINE_MS, 'the reset sent for no socket');
  const sent = eventsOf(logs.records, 'tcp.reset', match);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].attributes['tcp.reset.reason'], 'unknown');
  const metrics = receiver.collect();
  assert.ok((sumPoints(metrics, 'system.network.tcp.resets', { 'network.io.direction': 'transmit' }, ['tcp.reset.reason'])['tcp.reset.reason=unknown'] ?? 0) >= 1);
  assert.deepEqual(sumPoints(metrics, 'system.network.tcp.resets', { 'process.linux.cgroup': cgroup.attribute }, ['network.io.direction']), { 'network.io.direction=receive': 1 });
  const names = metrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => m.descriptor.name);
  assert.ok(!names.includes('system.network.tcp.drops'), 'no drops metric without drop reasons');
  assert.ok(names.includes('system.network.tcp.retransmits'));
});
