// The agent in a real container, run as the DaemonSet runs it (CAP_BPF + CAP_PERFMON only, the
// shipped seccomp profile, read-only root, no-new-privileges, private cgroup and PID namespaces,
// tracefs and the host's cgroup2 mount point read-only, no host network), watching workload
// containers under kubelet-style pod cgroups that talk across a netns pair in 198.18.0.0/15: a
// server and a client started by podman (kubelet's cgroupfs layout) and a client started by runc
// (kubelet's systemd layout with containerd). k8s_attributes in local mode: container.id and
// k8s.pod.uid come from the host cgroup path.
//
// The whole file runs under the runner's per-file --test-timeout (120 s in scripts/test.sh, which
// covers the image build too, whatever timeout a hook asks for): scripts/test.sh builds the image
// before the suite, so testImage() here is a layer-cache hit of a few seconds.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Teardown } from '../support/container_teardown';
import { DEADLINE_MS, waitUntil } from '../support/child';
import { cgroupfsPodParent, hierarchiesHolding, podCgroupBase, removeTestCgroups, systemdPodParent } from '../support/container_cgroups';
import { startRuncWorkload } from '../support/container_runc';
import {
  AGENT_OUTPUT_DIR,
  agentOutput,
  containerLogs,
  containerState,
  containerTestDir,
  firstJsonLine,
  removeLeftoversOfDeadRuns,
  startAgentContainer,
  startWorkload,
  waitForConnect,
  waitForLogs,
  writeContainerAgentConfig,
  type RunningContainer,
} from '../support/container_agent';
import { createTestLink } from '../support/netns';
import { readOtlpJsonFile, readOtlpJsonFileSoFar, type FlatAttributes, type FlatDataPoint } from '../support/otlp_json';
import { AGENT_HOST_CGROUP, containerTestUnavailable, hostCgroup2MountPoint, podman, requireContainers, testImage } from '../support/podman';

const CONNECTIONS = 3;
const SEND = 4321;
const REPLY = 777;
// The second client, under runc with kubelet's systemd-driver layout.
const RUNC_CONNECTIONS = 2;
const RUNC_SEND = 1234;

let image: string | undefined;
before(
  () => {
    if (containerTestUnavailable() === undefined) image = testImage();
  },
  // A cold build (debootstrap, apt-get, npm ci) takes minutes when this file is run on its own.
  { timeout: 15 * 60_000 },
);

test('agent container as the DaemonSet runs it: exact events of workload containers in kubelet pod cgroups, read-only host cgroups, flush on podman stop', { timeout: 10 * 60_000 }, async (t) => {
  if (!requireContainers(t)) return;
  assert.ok(image, 'the image was built');
  removeLeftoversOfDeadRuns();
  const teardown = new Teardown(t);
  const dir = containerTestDir(teardown, '');
  const link = createTestLink('ctr');
  teardown.add('network namespaces', () => link.cleanup());
  const base = podCgroupBase('ctr');
  // Added before any container: removed after all of them (podman and runc remove their own
  // cgroups, never the parents they made).
  teardown.add(`cgroup ${base}`, () => removeTestCgroups(base, DEADLINE_MS));
  const serverPod = cgroupfsPodParent(base, 'burstable', randomUUID());
  const clientPod = cgroupfsPodParent(base, 'besteffort', randomUUID());
  const runcPod = systemdPodParent(base, 'guaranteed', randomUUID());

  writeContainerAgentConfig(dir, {
    receivers: { tcp_lifecycle: { collection_interval: '500ms', drain_interval: '20ms' } },
    processors: { k8s_attributes: { auth_type: 'none' } },
    exporters: {
      // live: flushed often, for waiting on conditions. final: flushed only on shutdown (or at
      // 1 MiB of lines), so what it holds after `podman stop` was written by the stop.
      'file/live': { path: `${AGENT_OUTPUT_DIR}/live.jsonl`, flush_interval: '100ms' },
      'file/final': { path: `${AGENT_OUTPUT_DIR}/final.jsonl`, flush_interval: '596h' },
    },
    service: {
      host: { cgroup_root: AGENT_HOST_CGROUP },
      pipelines: {
        logs: { receivers: ['tcp_lifecycle'], processors: ['k8s_attributes'], exporters: ['file/live', 'file/final'] },
        metrics: { receivers: ['tcp_lifecycle'], processors: ['k8s_attributes'], exporters: ['file/live'] },
      },
    },
  });

  // ---- the agent: attached, with the host's cgroup root ----
  const agent = startAgentContainer(teardown, { image, netns: link.isolated, dir });
  const startup = await waitForLogs(agent.name, (l) => /tcp_lifecycle: attached /.test(l) || containerState(agent.name).status !== 'running', 'the agent container to attach its programs');
  assert.equal(containerState(agent.name).status, 'running', startup);
  assert.match(startup, /tcp_lifecycle: attached tp_btf\/inet_sock_set_state/, 'startup names the hooks');

  // ---- workloads: a server pod and a client pod, each container in its own netns ----
  const server = startWorkload(teardown, { image, kind: 'ctr-server', netns: link.peer, cgroupParent: serverPod.path, peerArgs: ['server', String(REPLY), 'client-first'] });
  const { dual } = await firstJsonLine<{ dual: number }>(server.name);

  // ---- the agent cannot write the host's cgroup tree (the server's pod cgroup exists now) ----
  const probe = JSON.parse(
    podman([
      'exec', agent.name, 'node', '-e',
      `const fs = require('fs');
       const code = (f) => { try { f(); return 'written'; } catch (e) { return e.code; } };
       const mount = fs.readFileSync('/proc/self/mounts', 'utf8').split('\\n').find((l) => l.split(' ')[1] === '${AGENT_HOST_CGROUP}');
       console.log(JSON.stringify({
         mkdir: code(() => fs.mkdirSync('${AGENT_HOST_CGROUP}${base}/escape')),
         freeze: code(() => fs.writeFileSync('${AGENT_HOST_CGROUP}${serverPod.path}/cgroup.freeze', '1')),
         mount,
       }));`,
    ]),
  ) as { mkdir: string; freeze: string; mount: string };
  assert.equal(probe.mkdir, 'EROFS', 'mkdir under the host cgroup tree');
  assert.equal(probe.freeze, 'EROFS', 'writing cgroup.freeze');
  const [, mountPoint, fsType, options] = probe.mount.split(' ');
  assert.deepEqual([mountPoint, fsType, options!.split(',')[0]], [AGENT_HOST_CGROUP, 'cgroup2', 'ro'], probe.mount);
  assert.equal(readFileSync(join(hostCgroup2MountPoint(readFileSync('/proc/self/mountinfo', 'utf8')), serverPod.path, 'cgroup.freeze'), 'utf8').trim(), '0', 'the host cgroup is not frozen');
  assert.equal(hierarchiesHolding(`${base}/escape`).length, 0);

  // The client holds its first connection until SIGUSR1: it cannot exit before its pid is read.
  const client = startWorkload(teardown, {
    image, kind: 'ctr-client', netns: link.client, cgroupParent: clientPod.path,
    peerArgs: ['client', link.peerV4, String(dual), String(CONNECTIONS), String(SEND), '-1', 'client-first'],
  });
  // A second client as containerd would run it: runc, cgroupsPath in kubelet's systemd layout.
  const runcClient = await startRuncWorkload(teardown, {
    image, dir, netns: link.client,
    cgroupsPath: (id) => `${runcPod.path}/cri-containerd-${id}.scope`,
    peerArgs: ['client', link.peerV4, String(dual), String(RUNC_CONNECTIONS), String(RUNC_SEND), '-1', 'client-first'],
  });
  const cgroupOf = (pod: { path: string }, c: RunningContainer) => `0::${pod.path}/libpod-${c.id}`;
  const serverCgroup = cgroupOf(serverPod, server);
  const clientCgroup = cgroupOf(clientPod, client);
  const runcCgroup = `0::${runcPod.path}/cri-containerd-${runcClient.id}.scope`;
  const live = agentOutput(dir, 'live.jsonl');
  await waitForConnect(live, clientCgroup, 'the podman client');
  await waitForConnect(live, runcCgroup, 'the runc client');
  podman(['kill', '--signal', 'USR1', client.name]);
  runcClient.signal('USR1');
  assert.equal(podman(['wait', client.name], DEADLINE_MS), '0', `client: ${containerLogs(client.name)}`);
  assert.equal(await runcClient.exited(), 0, 'the runc client exits 0');
  assert.deepEqual(JSON.parse(runcClient.stdout()), { done: RUNC_CONNECTIONS });

  // podman stop once the kernel has closed every connection on both sides (the live metrics say
  // so; the program run that counts a close submits its event): the stop must deliver the rest.
  const closed = (points: readonly FlatDataPoint[], cgroup: string) =>
    points.find((p) => p.metric === 'system.network.tcp.connection.duration' && p.attributes['process.linux.cgroup'] === cgroup)?.value;
  await waitUntil(
    () => readOtlpJsonFileSoFar(live).metricExports.some((points) => closed(points, serverCgroup) === CONNECTIONS + RUNC_CONNECTIONS && closed(points, clientCgroup) === CONNECTIONS && closed(points, runcCgroup) === RUNC_CONNECTIONS),
    DEADLINE_MS,
    'a metrics export counting every connection closed in both workload containers',
    () => `cgroups seen: ${[...new Set(readOtlpJsonFileSoFar(live).metricExports.flat().map((p) => p.attributes['process.linux.cgroup']))].join(' ')}`,
  );

  // ---- podman stop: flush and exit 0 ----
  podman(['stop', '--time', '30', agent.name], 60_000);
  const stopped = containerState(agent.name);
  assert.deepEqual([stopped.status, stopped.exitCode], ['exited', 0], containerLogs(agent.name));
  assert.match(containerLogs(agent.name), /stopped/);

  const file = readOtlpJsonFile(agentOutput(dir, 'final.jsonl'));
  const events = (cgroup: string, name: string): FlatAttributes[] =>
    file.logs.filter((r) => r.attributes['process.linux.cgroup'] === cgroup && r.eventName === name).map((r) => r.attributes);
  const all = (cgroup: string) => [...events(cgroup, 'tcp.connect'), ...events(cgroup, 'tcp.accept'), ...events(cgroup, 'tcp.close')];
  const netnsInode = (ns: string) => statSync(`/run/netns/${ns}`).ino;
  // The clients: connect and close events only, each from its container's first process.
  for (const c of [
    { what: 'podman client', cgroup: clientCgroup, id: client.id, pid: client.pid, uid: clientPod.uid, connections: CONNECTIONS, send: SEND },
    { what: 'runc client', cgroup: runcCgroup, id: runcClient.id, pid: runcClient.pid, uid: runcPod.uid, connections: RUNC_CONNECTIONS, send: RUNC_SEND },
  ]) {
    assert.deepEqual(
      ['tcp.connect', 'tcp.accept', 'tcp.close'].map((name) => events(c.cgroup, name).length),
      [c.connections, 0, c.connections],
      `${c.what}: connect, accept, close events`,
    );
    for (const a of all(c.cgroup)) {
      assert.equal(a['container.id'], c.id, `${c.what}: container.id is the full container id`);
      assert.equal(a['k8s.pod.uid'], c.uid, `${c.what}: k8s.pod.uid is the uid in the pod cgroup`);
      assert.equal(a['process.pid'], c.pid, `${c.what}: the container's first process, as the host sees it`);
      assert.equal(a['network.peer.address'], link.peerV4);
      assert.equal(a['tcp.netns.inode'], netnsInode(link.client), `${c.what}: the socket's network namespace`);
    }
    for (const a of events(c.cgroup, 'tcp.close')) {
      assert.deepEqual([a['tcp.bytes.sent'], a['tcp.bytes.received']], [c.send, REPLY], `${c.what}: bytes of a connection`);
    }
  }
  // The server: one accept and one close per connection of either client.
  assert.deepEqual(
    ['tcp.connect', 'tcp.accept', 'tcp.close'].map((name) => events(serverCgroup, name).length),
    [0, CONNECTIONS + RUNC_CONNECTIONS, CONNECTIONS + RUNC_CONNECTIONS],
    'server: connect, accept, close events',
  );
  for (const a of all(serverCgroup)) {
    assert.equal(a['container.id'], server.id, 'server: container.id');
    assert.equal(a['k8s.pod.uid'], serverPod.uid, 'server: k8s.pod.uid');
    assert.equal(a['process.pid'], server.pid, 'server: pid');
    assert.equal(a['network.local.address'], link.peerV4);
    assert.equal(a['network.peer.address'], link.clientV4);
    assert.equal(a['tcp.netns.inode'], netnsInode(link.peer), 'server: the socket\'s network namespace');
  }
  const received = events(serverCgroup, 'tcp.close').map((a) => [a['tcp.bytes.sent'], a['tcp.bytes.received']]);
  assert.deepEqual(
    received.sort((x, y) => Number(x[1]) - Number(y[1])),
    [...Array<number[]>(RUNC_CONNECTIONS).fill([REPLY, RUNC_SEND]), ...Array<number[]>(CONNECTIONS).fill([REPLY, SEND])],
    'server: bytes of each connection',
  );
});
