// What the interface descriptions say about whose packets they hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workloadOf } from './capture_writer';

test('a pod container\'s cgroup names its pod uid and container id; other cgroups add nothing', () => {
  const id = 'a'.repeat(64);
  assert.equal(
    workloadOf(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234abcd_0000_1111_2222_333344445555.slice/cri-containerd-${id}.scope`),
    `, k8s.pod.uid 1234abcd-0000-1111-2222-333344445555, container.id ${id}`,
  );
  assert.equal(workloadOf('/system.slice/nginx.service'), '');
});
