// The agent container with the Kubernetes API: a stand-in API server (the real list/watch
// protocol, test/support/kube_api_server.ts) runs inside the network namespace the agent
// container joins, on that namespace's loopback, and the agent gets a kubeconfig mounted
// read-only (auth_type kubeConfig). Two workload containers in kubelet pod cgroups, whose pods the
// API lists with their container ids, talk across a netns pair in 198.18.0.0/15: their events
// carry pod and container names, and the client's the server pod as its peer.
//
// Like container_agent.test.ts, the whole file runs under the runner's per-file timeout
// (scripts/test.sh builds the image before the suite).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Teardown } from '../support/container_teardown';
import { DEADLINE_MS, DIST_ROOT, startChild, waitUntil } from '../support/child';
import { cgroupfsPodParent, podCgroupBase, removeTestCgroups } from '../support/container_cgroups';
import {
  AGENT_OUTPUT_DIR,
  agentOutput,
  containerLogs,
  containerState,
  createWorkload,
  containerTestDir,
  firstJsonLine,
  removeLeftoversOfDeadRuns,
  startAgentContainer,
  startCreated,
  waitForConnect,
  waitForLogs,
  writeContainerAgentConfig,
} from '../support/container_agent';
import type { StandInCluster } from '../support/kube_api_child';
import { createTestLink } from '../support/netns';
import { readOtlpJsonFile, type FlatAttributes } from '../support/otlp_json';
import { AGENT_HOST_CGROUP, containerTestUnavailable, podman, requireContainers, testImage } from '../support/podman';

const NODE = 'node-ctr';
const CONNECTIONS = 2;
const SEND = 3000;
const REPLY = 500;
const KUBECONFIG_IN_AGENT = '/var/run/tcpscope/kubeconfig';
const HEALTH_PORT = 13133;

let image: string | undefined;
before(
  () => {
    if (containerTestUnavailable() === undefined) image = testImage();
  },
  { timeout: 15 * 60_000 },
);

test('agent container with a Kubernetes API in its network namespace: events carry pod, namespace and container names', { timeout: 10 * 60_000 }, async (t) => {
  if (!requireContainers(t)) return;
  assert.ok(image, 'the image was built');
  removeLeftoversOfDeadRuns();
  const teardown = new Teardown(t);
  const dir = containerTestDir(teardown, 'k8s');
  const link = createTestLink('ctrk8s');
  teardown.add('network namespaces', () => link.cleanup());
  const base = podCgroupBase('ctrk8s');
  teardown.add(`cgroup ${base}`, () => removeTestCgroups(base, DEADLINE_MS));
  const serverPod = cgroupfsPodParent(base, 'burstable', randomUUID());
  const clientPod = cgroupfsPodParent(base, 'guaranteed', randomUUID());

  // ---- workloads made first: the API lists their pods with the containers' ids ----
  const serverContainer = createWorkload(teardown, { image, kind: 'ctrk8s-server', netns: link.peer, cgroupParent: serverPod.path, peerArgs: ['server', String(REPLY), 'client-first'] });
  const pods = {
    server: { name: 'cart-6f7d8-abcde', namespace: 'shop', container: 'cart', uid: serverPod.uid, ip: link.peerV4, id: serverContainer.id },
    client: { name: 'checkout-0', namespace: 'shop', container: 'checkout', uid: clientPod.uid, ip: link.clientV4 },
  };

  // ---- the API stand-in, inside the namespace the agent joins ----
  const cluster = (clientId: string): StandInCluster => ({
    nodes: [{ name: NODE, internalIPs: ['198.18.99.1'] }],
    pods: [
      { name: pods.server.name, namespace: pods.server.namespace, uid: pods.server.uid, nodeName: NODE, ip: pods.server.ip, containers: [{ name: pods.server.container, id: `containerd://${pods.server.id}` }] },
      { name: pods.client.name, namespace: pods.client.namespace, uid: pods.client.uid, nodeName: NODE, ip: pods.client.ip, containers: [{ name: pods.client.container, id: `containerd://${clientId}` }] },
    ],
  });
  const server = startCreated(serverContainer);
  const port = (await firstJsonLine<{ dual: number }>(server.name)).dual;
  const clientContainer = createWorkload(teardown, {
    image, kind: 'ctrk8s-client', netns: link.client, cgroupParent: clientPod.path,
    peerArgs: ['client', link.peerV4, String(port), String(CONNECTIONS), String(SEND), '-1', 'client-first'],
  });
  const clusterFile = join(dir, 'cluster.json');
  writeFileSync(clusterFile, JSON.stringify(cluster(clientContainer.id)));
  const kubeDir = join(dir, 'kube');
  mkdirSync(kubeDir);
  const api = startChild(['ip', 'netns', 'exec', link.isolated, process.execPath, join(DIST_ROOT, 'test', 'support', 'kube_api_child.js'), clusterFile, join(kubeDir, 'config')]);
  teardown.add('the API stand-in', () => api.kill());
  const { url } = await api.nextJson<{ url: string }>();
  assert.match(url, /^http:\/\/127\.\d+\.\d+\.\d+:\d+$/, 'the API is on loopback of the agent\'s namespace');

  // ---- the agent, in API mode ----
  writeContainerAgentConfig(dir, {
    receivers: {
      tcp_lifecycle: { collection_interval: '500ms', drain_interval: '20ms' },
      tcp_handshake: { collection_interval: '500ms' },
    },
    processors: { k8s_attributes: { auth_type: 'kubeConfig', node_name: NODE } },
    exporters: { file: { path: `${AGENT_OUTPUT_DIR}/telemetry.jsonl`, flush_interval: '100ms' } },
    service: {
      host: { cgroup_root: AGENT_HOST_CGROUP },
      // As the DaemonSet's probes reach it: the pod's port 13133 on every address (here, in a
      // namespace the test made, no other process can hold the port).
      telemetry: { health: { endpoint: `0.0.0.0:${HEALTH_PORT}` } },
      pipelines: {
        logs: { receivers: ['tcp_lifecycle', 'tcp_handshake'], processors: ['k8s_attributes'], exporters: ['file'] },
      },
    },
  });
  const agent = startAgentContainer(teardown, {
    image, netns: link.isolated, dir,
    readOnlyMounts: { [join(kubeDir, 'config')]: KUBECONFIG_IN_AGENT },
    env: { KUBECONFIG: KUBECONFIG_IN_AGENT },
  });
  await waitForLogs(
    agent.name,
    (l) => (/tcp_lifecycle: attached/.test(l) && /tcp_handshake: attached/.test(l) && /pods \(spec\.nodeName=node-ctr\): synced, 2 listed/.test(l)) || containerState(agent.name).status !== 'running',
    'the agent to attach and list this node\'s pods',
  );
  assert.equal(containerState(agent.name).status, 'running', containerLogs(agent.name));
  // The informer opens its watch only after applying its list: once this node's pods and every
  // pod (peer resolution) are watched, both lists are in the agent's store.
  const podWatches = new Set<string>();
  const deadline = Date.now() + DEADLINE_MS;
  while (podWatches.size < 2) {
    const line = await api.nextJson<{ watch?: { kind: string; fieldSelector: string } }>(Math.max(1, deadline - Date.now()));
    if (line.watch?.kind === 'pods') podWatches.add(line.watch.fieldSelector);
  }
  assert.deepEqual([...podWatches].sort(), ['', `spec.nodeName=${NODE}`]);

  // The readiness probe, from the pod's network namespace: every receiver attached.
  const probe = (path: string): string =>
    execFileSync('ip', ['netns', 'exec', link.isolated, process.execPath, '-e',
      `fetch('http://127.0.0.1:${HEALTH_PORT}${path}').then(async (r) => console.log(r.status, await r.text()), (e) => console.log('error', e.cause?.code ?? e.message))`,
    ], { encoding: 'utf8', timeout: DEADLINE_MS }).trim();
  let readyz = '';
  await waitUntil(() => (readyz = probe('/readyz')).startsWith('200 '), DEADLINE_MS, '/readyz to answer 200', () => readyz);
  assert.match(probe('/healthz'), /^200 /);

  const client = startCreated(clientContainer);
  const serverCgroup = `0::${serverPod.path}/libpod-${server.id}`;
  const clientCgroup = `0::${clientPod.path}/libpod-${client.id}`;
  await waitForConnect(agentOutput(dir, 'telemetry.jsonl'), clientCgroup, 'the client');
  podman(['kill', '--signal', 'USR1', client.name]);
  assert.equal(podman(['wait', client.name], DEADLINE_MS), '0', containerLogs(client.name));

  podman(['stop', '--time', '30', agent.name], 60_000);
  assert.deepEqual([containerState(agent.name).status, containerState(agent.name).exitCode], ['exited', 0], containerLogs(agent.name));

  const file = readOtlpJsonFile(agentOutput(dir, 'telemetry.jsonl'));
  const events = (cgroup: string, name?: string): FlatAttributes[] =>
    file.logs.filter((r) => r.attributes['process.linux.cgroup'] === cgroup && (name === undefined || r.eventName === name)).map((r) => r.attributes);
  assert.equal(events(clientCgroup, 'tcp.connect').length, CONNECTIONS);
  assert.equal(events(clientCgroup, 'tcp.close').length, CONNECTIONS);
  assert.equal(events(serverCgroup, 'tcp.accept').length, CONNECTIONS);
  assert.equal(events(serverCgroup, 'tcp.close').length, CONNECTIONS);
  for (const [cgroup, pod, id] of [
    [clientCgroup, pods.client, client.id],
    [serverCgroup, pods.server, server.id],
  ] as const) {
    for (const a of events(cgroup)) {
      assert.equal(a['k8s.pod.name'], pod.name, `${pod.name}: k8s.pod.name`);
      assert.equal(a['k8s.namespace.name'], pod.namespace);
      assert.equal(a['k8s.container.name'], pod.container);
      assert.equal(a['k8s.pod.uid'], pod.uid);
      assert.equal(a['container.id'], id);
      assert.equal(a['k8s.node.name'], NODE);
    }
  }
  for (const a of events(clientCgroup, 'tcp.close')) {
    assert.deepEqual([a['tcp.bytes.sent'], a['tcp.bytes.received'], a['process.pid']], [SEND, REPLY, client.pid]);
    assert.equal(a['peer.k8s.pod.name'], pods.server.name, 'the peer address is the server pod\'s IP');
  }
});
