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
    ['0::/user.slice/user-0.slice/session-1.scope', {}],
    ['0::/', {}],
  ];
  for (const [path, expected] of cases) assert.deepEqual(parseContainerCgroup(path), expected, path);
});
