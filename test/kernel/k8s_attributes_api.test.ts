// k8s_attributes with real sockets: processes in kubelet-style cgroups (containerd and CRI-O under
// the systemd driver, the cgroupfs driver) make real connections from a test network namespace
// to a "peer pod" in another one (198.18.13.2) and to a Service ClusterIP (198.18.13.100, DNATed
// to that pod inside the peer namespace, as kube-proxy would). The names come from a stand-in API
// server through the real @kubernetes/client-node. A pod deleted while its connection is open
// still names the connection's close event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { k8sAttributesProcessorFactory } from '../../src/processors/k8s_attributes/factory';
import type { K8sAttributesProcessor } from '../../src/processors/k8s_attributes/processor';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { cgroupPathOf, k8sAttributesConfig, NODE, PEER_NODE, populateCluster, withKubeconfig, type LocalPod } from '../support/k8s_fixture';
import { requireKernel } from '../support/kernel';
import { KubeApiStandIn } from '../support/kube_api_server';
import { createTestLink } from '../support/netns';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const SUBNET = 13;
const CLUSTER_IP = `198.18.${SUBNET}.100`;
const SERVICE_PORT = 80;

test('real connections from kubelet-style cgroups carry pod, namespace, container, owner and peer pod / service names', async (t) => {
  if (!requireKernel(t)) return;
  const link = createTestLink('k8s', SUBNET);
  const api = new KubeApiStandIn();
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-k8s-kernel-'));
  const base = testCgroupBase('k8sapi');
  const cgroups: TestCgroup[] = [];
  const children: RunningChild[] = [];
  let shutdown = async () => {};
  t.after(async () => {
    for (const c of children) c.kill();
    await shutdown();
    await api.stop();
    for (const c of cgroups) c.remove(base);
    link.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  await api.start();
  const fixture = populateCluster(api, { peerPodIp: link.peerV4, clusterIp: CLUSTER_IP, peerNodeIp: `198.18.${SUBNET}.3` });
  const kubeconfig = join(dir, 'kubeconfig');
  api.writeKubeconfig(kubeconfig);
  const config = k8sAttributesConfig({ auth_type: 'kubeConfig', node_name: NODE, extract: { labels: ['app'] } });
  const logs = new RecordingLogsConsumer();
  const metrics = new RecordingMetricsConsumer();
  const [logsProcessor, metricsProcessor] = withKubeconfig(kubeconfig, () => [
    k8sAttributesProcessorFactory.create(testSettings('k8s_attributes'), config, 'logs', logs) as K8sAttributesProcessor<'logs'>,
    k8sAttributesProcessorFactory.create(testSettings('k8s_attributes'), config, 'metrics', metrics),
  ] as const);
  const receiver = new TcpLifecycleReceiver(
    testSettings('tcp_lifecycle'),
    { collection_interval: '1h', drain_interval: '20ms', ring_buffer_size: 1 << 20, max_connections: 65536, max_cgroups: 1024, wakeup_min_bytes: 65536, sampling_pushdown: true, events: ['tcp.connect', 'tcp.accept', 'tcp.close'] },
    { logs: logsProcessor, metrics: metricsProcessor },
  );
  shutdown = async () => {
    await receiver.shutdown();
    await logsProcessor.shutdown();
    await metricsProcessor.shutdown();
  };
  const host = { reportFatal: (e: Error) => assert.fail(e) };
  await logsProcessor.start(host);
  await metricsProcessor.start(host);
  await receiver.start(host);
  const view = logsProcessor.clusterView!;
  await waitUntil(
    () => view.synced && view.controllerOf('ReplicaSet', 'shop', 'checkout-7d4b9c') !== undefined && view.controllerOf('Job', 'ops', 'backup-29345678') !== undefined && view.peer(CLUSTER_IP) !== undefined,
    DEADLINE_MS,
    'the stand-in API listed',
  );

  // The peer pod: a server in the peer namespace; the Service: DNAT of ClusterIP:80 to it there.
  const server = startChild(['ip', 'netns', 'exec', link.peer, process.execPath, TCP_PEER, 'server', '100', 'client-first']);
  children.push(server);
  const { dual } = await server.nextJson<{ dual: number }>();
  link.run(link.peer, ['iptables', '-t', 'nat', '-A', 'PREROUTING', '-d', CLUSTER_IP, '-p', 'tcp', '--dport', String(SERVICE_PORT), '-j', 'DNAT', '--to-destination', `${link.peerV4}:${dual}`]);
  link.run(link.client, ['ip', 'route', 'add', `${CLUSTER_IP}/32`, 'via', link.peerV4]);

  const cgroupOf = (pod: LocalPod) => {
    const cgroup = TestCgroup.create(cgroupPathOf(pod, base));
    cgroups.push(cgroup);
    return cgroup;
  };
  const runClient = (pod: LocalPod, host: string, port: number, count: number, holdMs: number) => {
    const cgroup = cgroupOf(pod);
    const child = startChild(cgroup.wrap(['ip', 'netns', 'exec', link.client, process.execPath, TCP_PEER, 'client', host, String(port), String(count), '200', String(holdMs), 'client-first']));
    children.push(child);
    return { cgroup, child };
  };
  const { checkout, cart, backup } = fixture;
  const toPod = runClient(checkout, link.peerV4, dual, 2, 0);
  const toService = runClient(cart, CLUSTER_IP, SERVICE_PORT, 2, 0);
  // backup's connection stays open while its pod is deleted from the API.
  const deleted = runClient(backup, link.peerV4, dual, 1, 3000);
  const eventsOf = (cgroup: TestCgroup) => logs.records.filter((r: ReadableLogRecord) => r.attributes['process.linux.cgroup'] === cgroup.attribute);
  await waitUntil(() => eventsOf(deleted.cgroup).some((r) => r.eventName === 'tcp.connect'), DEADLINE_MS, 'backup connected');
  api.remove('pods', backup.namespace, backup.name);
  await waitUntil(() => view.localPods.isDeleted(backup.uid), DEADLINE_MS, 'the deletion reached the agent');
  assert.equal(deleted.child.process.exitCode, null, 'its connection is still open');
  for (const c of [toPod, toService, deleted]) await c.child.nextJson();
  await waitUntil(() => [toPod, toService, deleted].every((c) => eventsOf(c.cgroup).filter((r) => r.eventName === 'tcp.close').length >= (c === deleted ? 1 : 2)), DEADLINE_MS, 'every close');

  const expectLocal = (pod: LocalPod, attributes: Record<string, unknown>, what: string) => {
    for (const [key, value] of Object.entries({ ...pod.expected, 'container.id': pod.containerId, 'k8s.pod.uid': pod.uid })) assert.equal(attributes[key], value, `${what}: ${key}`);
  };
  for (const [client, pod, peer] of [
    [toPod, checkout, { 'network.peer.address': link.peerV4, 'peer.k8s.pod.name': 'db-0', 'peer.k8s.namespace.name': 'data', 'peer.k8s.node.name': PEER_NODE }],
    // The client's socket sees the ClusterIP (DNAT happens after it): the Service is named.
    [toService, cart, { 'network.peer.address': CLUSTER_IP, 'network.peer.port': SERVICE_PORT, 'peer.k8s.service.name': 'cart', 'peer.k8s.namespace.name': 'shop' }],
    [deleted, backup, { 'network.peer.address': link.peerV4, 'peer.k8s.pod.name': 'db-0' }],
  ] as const) {
    const events = eventsOf(client.cgroup);
    const connections = pod === backup ? 1 : 2;
    assert.equal(events.filter((r) => r.eventName === 'tcp.connect').length, connections, `${pod.name}: connects`);
    assert.equal(events.filter((r) => r.eventName === 'tcp.close').length, connections, `${pod.name}: closes`);
    for (const r of events) {
      expectLocal(pod, r.attributes as Record<string, unknown>, `${pod.name} ${r.eventName}`);
      for (const [key, value] of Object.entries(peer)) assert.equal(r.attributes[key], value, `${pod.name} ${r.eventName}: ${key}`);
      if (peer['peer.k8s.service.name']) assert.equal(r.attributes['peer.k8s.pod.name'], undefined, 'a ClusterIP names the service, not a pod');
    }
  }
  const lastClose = eventsOf(deleted.cgroup).find((r) => r.eventName === 'tcp.close')!;
  assert.equal(lastClose.attributes['k8s.cronjob.name'], 'backup', 'the close after the pod was deleted is still named');

  await shutdown(); // the final collection goes through the metrics processor
  const points = metrics.batches.flatMap((b) => b.scopeMetrics.flatMap((sm) => sm.metrics.flatMap((m) => m.dataPoints as { attributes: Record<string, unknown> }[])));
  for (const [client, pod] of [
    [toPod, checkout],
    [toService, cart],
    [deleted, backup],
  ] as const) {
    const mine = points.filter((p) => p.attributes['process.linux.cgroup'] === client.cgroup.attribute);
    assert.ok(mine.length >= 3, `${pod.name}: data points`);
    for (const p of mine) expectLocal(pod, p.attributes, `${pod.name} data point`);
  }
});
