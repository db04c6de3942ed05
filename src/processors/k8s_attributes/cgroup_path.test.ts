import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseContainerCgroup } from './cgroup_path';

const ID = 'a'.repeat(32) + '0123456789abcdef0123456789abcdef';
const UID = '3f2a8c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const UID_ = UID.replace(/-/g, '_');

test('kubelet and runtime cgroup layouts map to container id, pod uid and QoS', () => {
  const cases: [string, ReturnType<typeof parseContainerCgroup>][] = [
    [`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`, { containerId: ID, podUid: UID, qosClass: 'burstable', runtime: 'containerd' }],
    [`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`, { containerId: ID, podUid: UID, qosClass: 'besteffort', runtime: 'cri-o' }],
    [`/kubepods.slice/kubepods-pod${UID_}.slice/docker-${ID}.scope`, { containerId: ID, podUid: UID, qosClass: 'guaranteed', runtime: 'docker' }],
    [`/kubepods/besteffort/pod${UID}/${ID}`, { containerId: ID, podUid: UID, qosClass: 'besteffort' }],
    [`/kubepods/pod${UID}/${ID}`, { containerId: ID, podUid: UID, qosClass: 'guaranteed' }],
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`, { podUid: UID, qosClass: 'burstable' }],
    [`/system.slice/docker-${ID}.scope`, { containerId: ID, runtime: 'docker' }],
    // podman with a kubelet-style --cgroup-parent (cgroupfs and systemd managers)
    [`/kubepods/besteffort/pod${UID}/libpod-${ID}`, { containerId: ID, podUid: UID, qosClass: 'besteffort', runtime: 'podman' }],
    [`/kubepods.slice/kubepods-pod${UID_}.slice/libpod-${ID}.scope`, { containerId: ID, podUid: UID, qosClass: 'guaranteed', runtime: 'podman' }],
    ['0::/user.slice/user-0.slice/session-1.scope', {}],
    ['0::/', {}],
  ];
  for (const [path, expected] of cases) assert.deepEqual(parseContainerCgroup(path), expected, path);
});

test('Docker and podman without Kubernetes: container.id, never k8s.pod.uid', () => {
  const OTHER = 'f'.repeat(64);
  const cases: [string, ReturnType<typeof parseContainerCgroup>][] = [
    // Docker, systemd and cgroupfs drivers
    [`0::/system.slice/docker-${ID}.scope`, { containerId: ID, runtime: 'docker' }],
    [`/docker/${ID}`, { containerId: ID, runtime: 'docker' }],
    [`/docker/${ID}/sub`, { containerId: ID, runtime: 'docker' }],
    // Docker in Docker: the innermost container is the process's
    [`/docker/${OTHER}/docker/${ID}`, { containerId: ID, runtime: 'docker' }],
    // podman, systemd manager (rootful and rootless), with its split "container" sub-cgroup
    [`0::/machine.slice/libpod-${ID}.scope`, { containerId: ID, runtime: 'podman' }],
    [`/machine.slice/libpod-${ID}.scope/container`, { containerId: ID, runtime: 'podman' }],
    [`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`, { containerId: ID, runtime: 'podman' }],
    // a podman pod is not a Kubernetes pod: no k8s.pod.uid
    [`/machine.slice/machine-libpod_pod_${OTHER}.slice/libpod-${ID}.scope`, { containerId: ID, runtime: 'podman' }],
    // podman, cgroupfs manager
    [`/libpod_parent/libpod-${ID}`, { containerId: ID, runtime: 'podman' }],
    [`/libpod_parent/libpod-${ID}/sub`, { containerId: ID, runtime: 'podman' }],
    // the runtimes' monitors are not containers
    [`/machine.slice/libpod-conmon-${ID}.scope`, {}],
    [`/system.slice/crio-conmon-${ID}.scope`, {}],
    // a bare id names a container only under a kubelet pod or Docker's own parent
    [`/system.slice/${ID}`, {}],
    [`/libpod_parent/${ID}`, {}],
    // kubelet-like names outside a kubepods tree are not pods
    [`/machine.slice/pod${UID}/libpod-${ID}`, { containerId: ID, runtime: 'podman' }],
    [`/docker-${ID.slice(1)}.scope`, {}],
  ];
  for (const [path, expected] of cases) {
    const identity = parseContainerCgroup(path);
    assert.deepEqual(identity, expected, path);
    assert.equal(identity.podUid, undefined, path);
  }
});
