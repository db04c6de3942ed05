// k8s_attributes without a Kubernetes API: real cgroups laid out the way kubelet and the runtimes
// do (systemd driver with containerd and CRI-O, cgroupfs driver), real processes connecting from
// inside them, and the events and metrics of tcp_lifecycle enriched with container.id and pod uid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { k8sAttributesProcessorFactory } from '../../src/processors/k8s_attributes/factory';
import { k8sAttributesConfig } from '../support/k8s_fixture';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const id = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
const uid = (n: number) => `${n}1111111-2222-4333-8444-55555555555${n}`;

test('events and metrics of kubelet-style cgroups carry container.id and k8s.pod.uid', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('k8s');
  const layouts = {
    server: { path: `${base}/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid(1).replace(/-/g, '_')}.slice/cri-containerd-${id(1)}.scope`, containerId: id(1), podUid: uid(1) },
    crio: { path: `${base}/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid(2).replace(/-/g, '_')}.slice/crio-${id(2)}.scope`, containerId: id(2), podUid: uid(2) },
    cgroupfs: { path: `${base}/kubepods/burstable/pod${uid(3)}/${id(3)}`, containerId: id(3), podUid: uid(3) },
  };
  const cgroups = Object.fromEntries(Object.entries(layouts).map(([k, l]) => [k, TestCgroup.create(l.path)])) as Record<keyof typeof layouts, TestCgroup>;
  const children: RunningChild[] = [];
  const logs = new RecordingLogsConsumer();
  const metrics = new RecordingMetricsConsumer();
  // auth_type none: the mode of a host without Kubernetes (this one may have a kubeconfig).
  const config = k8sAttributesConfig({ auth_type: 'none' });
  const processors = {
    logs: k8sAttributesProcessorFactory.create(testSettings('k8s_attributes'), config, 'logs', logs),
    metrics: k8sAttributesProcessorFactory.create(testSettings('k8s_attributes'), config, 'metrics', metrics),
  };
  const receiver = new TcpLifecycleReceiver(
    testSettings('tcp_lifecycle'),
    { collection_interval: '1h', drain_interval: '20ms', ring_buffer_size: 1 << 20, max_connections: 65536, max_cgroups: 1024, wakeup_min_bytes: 65536, sampling_pushdown: true, events: ['tcp.connect', 'tcp.accept', 'tcp.close'] },
    { logs: processors.logs, metrics: processors.metrics },
  );
  t.after(async () => {
    for (const c of children) c.kill();
    await receiver.shutdown();
    await processors.logs.shutdown();
    await processors.metrics.shutdown();
    for (const c of Object.values(cgroups)) c.remove(base);
  });
  for (const p of Object.values(processors)) await p.start({ reportFatal: (e) => assert.fail(e) });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });

  const server = startChild(cgroups.server.wrap([process.execPath, TCP_PEER, 'server', '10', 'client-first']));
  children.push(server);
  const { v4 } = await server.nextJson<{ v4: number }>();
  for (const name of ['crio', 'cgroupfs'] as const) {
    const client = startChild(cgroups[name].wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(v4), '2', '10', '0', 'client-first']));
    children.push(client);
    await client.nextJson();
  }
  const of = (name: keyof typeof layouts) => logs.records.filter((r: ReadableLogRecord) => r.attributes['process.linux.cgroup'] === cgroups[name].attribute);
  await waitUntil(() => of('server').filter((r) => r.eventName === 'tcp.close').length >= 4, DEADLINE_MS, 'the server closes');

  for (const name of ['server', 'crio', 'cgroupfs'] as const) {
    const events = of(name);
    // the server accepted all 4 connections; each client made 2: one connect or accept and one close each
    assert.equal(events.length, name === 'server' ? 8 : 4, `${name}: events`);
    for (const r of events) {
      assert.equal(r.attributes['container.id'], layouts[name].containerId, `${name}: container.id`);
      assert.equal(r.attributes['k8s.pod.uid'], layouts[name].podUid, `${name}: k8s.pod.uid`);
    }
  }

  await receiver.shutdown(); // pushes the final metrics through the processor
  const last: ResourceMetrics | undefined = metrics.batches.at(-1);
  assert.ok(last);
  const points = last.scopeMetrics.flatMap((sm) => sm.metrics).flatMap((m) => m.dataPoints as { attributes: Record<string, unknown> }[]);
  for (const name of ['server', 'crio', 'cgroupfs'] as const) {
    const mine = points.filter((p) => p.attributes['process.linux.cgroup'] === cgroups[name].attribute);
    assert.ok(mine.length > 0, `${name}: data points`);
    for (const p of mine) assert.equal(p.attributes['container.id'], layouts[name].containerId, `${name}: data point container.id`);
  }
});
