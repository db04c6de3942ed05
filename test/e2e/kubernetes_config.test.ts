// End to end with the shipped config/kubernetes.yaml: the real agent process, a stand-in API
// server that is down when the agent starts and comes up later, real connections from a
// kubelet-style cgroup, and a real OTLP/gRPC backend. The agent runs throughout: events pass
// through with container.id while the API is away and carry pod names once it is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';
import { findCgroupV2Root } from '../../src/host/cgroup_resolver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { cgroupPathOf, NODE, populateCluster } from '../support/k8s_fixture';
import { requireKernel } from '../support/kernel';
import { KubeApiStandIn } from '../support/kube_api_server';
import { attributesOf, startOtlpGrpcServer, type LogRecordMessage } from '../support/otlp-grpc-server';

// config/kubernetes.yaml samples events (hash 0.25) but keeps every connection that lived 1 s or
// more: these connections live 1.2 s, so all their close events must arrive.
const HOLD_MS = 1200;

test('config/kubernetes.yaml: API down at start, then up; the agent keeps running and names pods once synced', async (t) => {
  if (!requireKernel(t)) return;
  const api = new KubeApiStandIn();
  await api.start();
  const fixture = populateCluster(api, { peerPodIp: '198.18.14.2', clusterIp: '198.18.14.100', peerNodeIp: '198.18.14.3' });
  await api.setDown(true);
  const backend = await startOtlpGrpcServer();
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-e2e-k8s-'));
  const kubeconfig = join(dir, 'kubeconfig');
  api.writeKubeconfig(kubeconfig);
  const base = testCgroupBase('e2e-k8s');
  const podCgroup = TestCgroup.create(cgroupPathOf(fixture.checkout, base));
  const children: RunningChild[] = [];
  t.after(async () => {
    for (const c of children) c.kill();
    podCgroup.remove(base);
    await backend.close();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const hostCgroupRoot = findCgroupV2Root();
  assert.ok(hostCgroupRoot, 'a cgroup2 mount of the host\'s root cgroup (the test cgroups live there)');
  const agent = startChild([join(PACKAGE_ROOT, 'bin', 'tcpscope'), 'run', '--config', join(PACKAGE_ROOT, 'config', 'kubernetes.yaml')], {
    ...process.env,
    KUBECONFIG: kubeconfig,
    K8S_NODE_NAME: NODE,
    OTLP_ENDPOINT: backend.endpoint,
    // Not the shipped 0.0.0.0:13133: a fixed port on this shared machine could be taken.
    TCPSCOPE_HEALTH_ENDPOINT: '127.0.0.1:0',
    // Not the shipped /host/sys/fs/cgroup (where the DaemonSet mounts the host's cgroup2): on this
    // host the agent runs in the host's cgroup namespace and sees the mount point itself.
    TCPSCOPE_HOST_CGROUP_ROOT: hostCgroupRoot,
  });
  children.push(agent);
  await waitUntil(() => agent.stderr().includes('attached') && agent.stderr().includes('unreachable (ECONNREFUSED)'), DEADLINE_MS, 'the agent to start with the API down');

  const server = startChild(podCgroup.wrap([process.execPath, TCP_PEER, 'server', '100', 'client-first']));
  children.push(server);
  const { v4 } = await server.nextJson<{ v4: number }>();
  const connect = async () => {
    const client = startChild(podCgroup.wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(v4), '1', '100', String(HOLD_MS), 'client-first']));
    children.push(client);
    await client.nextJson();
  };
  const closes = (): Record<string, unknown>[] =>
    backend.logsRequests
      .flatMap((r) => r.resourceLogs ?? [])
      .flatMap((rl) => rl.scopeLogs ?? [])
      .flatMap((sl) => sl.logRecords ?? [])
      .filter((r: LogRecordMessage) => r.eventName === 'tcp.close')
      .map((r) => attributesOf(r.attributes))
      .filter((a) => a['process.linux.cgroup'] === podCgroup.attribute);

  // While the API is down: passed through with what the cgroup path says.
  await connect();
  await waitUntil(() => closes().length >= 2, DEADLINE_MS, 'the first connection\'s close events');
  for (const a of closes()) {
    assert.equal(a['container.id'], fixture.checkout.containerId);
    assert.equal(a['k8s.pod.uid'], fixture.checkout.uid);
    assert.equal(a['k8s.pod.name'], undefined, 'no names while the API is down');
  }
  // One warning per collection (six), each when its first attempt fails: waited for, not assumed.
  const warningsWhileDown = () => agent.stderr().split('\n').filter((l) => l.includes(' WARN ') && l.includes('unreachable (ECONNREFUSED)')).length;
  await waitUntil(() => warningsWhileDown() >= 6, DEADLINE_MS, 'a warning from each of the six collections');
  assert.equal(warningsWhileDown(), 6, `one warning per collection:\n${agent.stderr()}`);

  await api.setDown(false);
  await waitUntil(() => /pods \(spec\.nodeName=node-1\): synced, 3 listed/.test(agent.stderr()) && /replicasets: (synced|recovered)/.test(agent.stderr()), DEADLINE_MS, 'the agent to sync');
  // "synced" is logged as a list returns, before its objects reach the store; the informer opens
  // its watch only after it has applied the list. So a watch request means the list has landed.
  // (The stand-in records no request while it is down: any watch request came after the restart.)
  const watching = (kind: 'pods' | 'replicasets') => api.requests(kind).some((r) => r.verb === 'watch');
  await waitUntil(() => watching('pods') && watching('replicasets'), DEADLINE_MS, 'the pods and replicasets lists to land (their watches opened)');
  await connect();
  await waitUntil(() => closes().length >= 4, DEADLINE_MS, 'the second connection\'s close events');
  const named = closes().slice(2);
  for (const a of named) {
    for (const [key, value] of Object.entries(fixture.checkout.expected)) assert.equal(a[key], value, key);
    assert.ok(typeof a['tcpscope.sampling.probability'] === 'number', 'through the sampling processor');
  }

  agent.process.kill('SIGTERM');
  assert.equal(await agent.exited(), 0, agent.stderr());
  assert.equal(agent.stderr().split('\n').filter((l) => l.includes(' WARN ') && !/of another \w+ receiver are already loaded/.test(l)).length, 6, `no warnings beyond the outage:\n${agent.stderr()}`);
});
