// `tcpscope capture start --pod / --selector / --namespace` against a real agent whose
// k8s_attributes processor watches a stand-in Kubernetes API server (the real list/watch
// protocol): pods of this node resolved to their kubelet-style cgroups (made by the test under
// its own base, in three layouts), by any label (also one k8s_attributes does not extract), a pod
// that appears later, and the errors when nothing matches or a pod has no cgroup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ControlCaptureStatus } from '../../src/receivers/packet_capture/control/capture_starter';
import { testDir } from '../support/agent';
import { captureAgentArgv, captureJson, REAL_CAPTURE_ENGINE, runTcpscope, writeCaptureAgentConfig } from '../support/capture_agent';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, waitUntil, type RunningChild } from '../support/child';
import { cgroupPathOf, NODE, populateCluster, type LocalPod } from '../support/k8s_fixture';
import { requireKernel } from '../support/kernel';
import { containerId, KubeApiStandIn, podObject } from '../support/kube_api_server';

test('pods selected by namespace/name, labels and namespace through k8s_attributes\' view, resolved to their cgroups', async (t) => {
  if (REAL_CAPTURE_ENGINE && !requireKernel(t)) return;
  const api = new KubeApiStandIn();
  await api.start();
  const fixture = populateCluster(api, { peerPodIp: '198.18.15.2', clusterIp: '198.18.15.100', peerNodeIp: '198.18.15.3' });
  const dir = testDir(t, 'tcpscope-capctl-k8s');
  const kubeconfig = join(dir, 'kubeconfig');
  api.writeKubeconfig(kubeconfig);
  const base = testCgroupBase('capctl-k8s');
  const cgroups: TestCgroup[] = [];
  const children: RunningChild[] = [];
  t.after(async () => {
    for (const child of children) child.kill();
    for (const cgroup of cgroups) cgroup.remove(base);
    await api.stop();
  });
  /** The pod's own cgroup directory (its container's is below it), made the way kubelet lays it out. */
  const podCgroup = (pod: LocalPod): string => {
    const container = TestCgroup.create(cgroupPathOf(pod, base));
    cgroups.push(container);
    return dirname(container.directory);
  };
  const ino = (path: string) => statSync(path).ino;
  const checkoutDir = podCgroup(fixture.checkout);
  const cartDir = podCgroup(fixture.cart);
  const backupDir = podCgroup(fixture.backup);

  const config = writeCaptureAgentConfig({ dir, processors: { k8s_attributes: { auth_type: 'kubeConfig', node_name: NODE, extract: { labels: ['app'] } } } });
  const agent = startChild(captureAgentArgv(config.path), { ...process.env, KUBECONFIG: kubeconfig });
  children.push(agent);
  await waitUntil(() => agent.stderr().includes('capture control listening on') || agent.process.exitCode !== null, DEADLINE_MS, 'the agent to serve captures');
  assert.equal(agent.process.exitCode, null, agent.stderr());
  const socket = config.socket;
  const start = (...args: string[]) => captureJson<ControlCaptureStatus>(socket, ['start', ...args]);
  const stop = (capture: ControlCaptureStatus) => captureJson<ControlCaptureStatus>(socket, ['stop', capture.id]);
  const podsOf = (capture: ControlCaptureStatus) => capture.pods?.map((p) => `${p.namespace}/${p.name}`);

  // By labels (the first start also waits for the view to list this node's pods).
  const byLabel = await start('--selector', 'app=checkout');
  assert.deepEqual(podsOf(byLabel), ['shop/checkout-7d4b9c-x2x9z']);
  assert.equal(byLabel.pods![0].uid, fixture.checkout.uid);
  assert.deepEqual(byLabel.selection, { cgroupIds: [ino(checkoutDir)], bidirectional: true });
  await stop(byLabel);

  // A label k8s_attributes does not extract (team) selects as well: the view keeps every label.
  const byOtherLabel = await start('--selector', 'team=payments', '--namespace', 'shop', '--port', '8080', '--no-bidirectional');
  assert.deepEqual(podsOf(byOtherLabel), ['shop/checkout-7d4b9c-x2x9z']);
  assert.deepEqual(byOtherLabel.selection, { cgroupIds: [ino(checkoutDir)], sourcePort: 8080, bidirectional: false });
  await stop(byOtherLabel);

  // By namespace: both pods of shop, in either cgroup layout.
  const byNamespace = await start('--namespace', 'shop');
  assert.deepEqual(podsOf(byNamespace), ['shop/cart-0', 'shop/checkout-7d4b9c-x2x9z']);
  assert.deepEqual([...byNamespace.selection.cgroupIds!].sort(), [ino(cartDir), ino(checkoutDir)].sort());
  await stop(byNamespace);

  // By namespace/name, a cgroupfs-layout pod; printed for a person with its pod named.
  const byName = await runTcpscope(['capture', 'start', '--pod', `ops/${fixture.backup.name}`, '--socket', socket]);
  assert.equal(byName.code, 0, byName.stderr);
  assert.match(byName.stdout, new RegExp(`^cap-\\d+ running  receiver packet_capture, on_demand\\n  pods: ops/${fixture.backup.name}\\n  selection: cgroup ids ${ino(backupDir)}; both directions\\n`));
  await captureJson(socket, ['stop', /^(cap-\d+)/.exec(byName.stdout)![1]]);

  // Nothing matches: exit 2, the selection named and how many pods the agent knows here.
  assert.deepEqual(await runTcpscope(['capture', 'start', '--selector', 'app=nothing', '--socket', socket]), {
    code: 2,
    stdout: '',
    stderr: 'tcpscope: CAPTURE_INVALID_REQUEST: no pods with labels app=nothing on this node (3 pods known here; hostNetwork pods are not selectable: select them by --port); check the names with kubectl get pods -o wide\n',
  });
  // A pod on another node is not this agent's to capture.
  assert.equal((await runTcpscope(['capture', 'start', '--pod', `${fixture.peerPod.namespace}/${fixture.peerPod.name}`, '--socket', socket])).code, 2);

  // A pod that comes later is selected once the watch has delivered it.
  const replica: LocalPod = { ...fixture.checkout, name: 'checkout-7d4b9c-q8w2e', uid: randomUUID(), containerId: containerId() };
  const replicaDir = podCgroup(replica);
  api.apply('pods', podObject({
    name: replica.name, namespace: 'shop', uid: replica.uid, nodeName: NODE, ip: '198.18.15.21', labels: { app: 'checkout' },
    containers: [{ name: 'app', id: replica.containerId }],
  }));
  let both: ControlCaptureStatus | undefined;
  for (let i = 0; i < 100 && (both?.pods?.length ?? 0) < 2; i++) {
    if (both) await stop(both);
    both = await start('--selector', 'app=checkout');
    if (both.pods!.length < 2) await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(podsOf(both!), ['shop/checkout-7d4b9c-q8w2e', 'shop/checkout-7d4b9c-x2x9z']);
  assert.deepEqual([...both!.selection.cgroupIds!].sort(), [ino(checkoutDir), ino(replicaDir)].sort());
  await stop(both!);

  // A pod the API lists but whose cgroup is not on this host (not started yet): exit 1, said so.
  api.apply('pods', podObject({ name: 'ghost-0', namespace: 'shop', uid: randomUUID(), nodeName: NODE, labels: { app: 'ghost' } }));
  let ghost = await runTcpscope(['capture', 'start', '--selector', 'app=ghost', '--socket', socket]);
  for (let i = 0; i < 100 && ghost.code === 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    ghost = await runTcpscope(['capture', 'start', '--selector', 'app=ghost', '--socket', socket]);
  }
  assert.equal(ghost.code, 1, ghost.stderr);
  assert.match(ghost.stderr, /^tcpscope: CAPTURE_FAILED: no cgroup found under \S+ for shop\/ghost-0 \(pod not started yet, or service.host.cgroup_root is not the host's cgroup2 hierarchy\)\n$/);

  agent.process.kill('SIGTERM');
  assert.equal(await agent.exited(DEADLINE_MS), 0, agent.stderr());
});
