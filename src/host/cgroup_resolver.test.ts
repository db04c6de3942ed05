import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CgroupResolver, findCgroupV2Root } from './cgroup_resolver';

test('finds the cgroup2 mount on unified and hybrid hosts', () => {
  assert.equal(findCgroupV2Root('cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n'), '/sys/fs/cgroup');
  assert.equal(
    findCgroupV2Root('tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n'),
    '/sys/fs/cgroup/unified',
  );
  assert.equal(findCgroupV2Root('cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n'), undefined);
});

test('resolves directory inodes to paths; a new id gets a rescan at once, an id no rescan found waits for the interval', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tcpscope-cgroups-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'kubepods.slice', 'pod1'), { recursive: true });
  let now = 0;
  const resolver = new CgroupResolver(root, 1000, () => now);
  resolver.scan();
  const ino = (p: string) => statSync(join(root, p), { bigint: true }).ino;
  assert.equal(resolver.resolve(ino('.')), '/');
  assert.equal(resolver.resolve(ino('kubepods.slice/pod1')), '/kubepods.slice/pod1');

  mkdirSync(join(root, 'late'));
  assert.equal(resolver.resolve(ino('late')), '/late', 'a cgroup created just now is found by an immediate rescan');
  const removed = 123456789n; // an id no walk finds (a cgroup already gone)
  assert.equal(resolver.resolve(removed), undefined);
  mkdirSync(join(root, 'later'));
  assert.equal(resolver.resolve(removed), undefined, 'no second walk for it within the interval');
  assert.equal(resolver.resolve(ino('later')), '/later', 'another new id still gets its walk');
  now = 1000;
  assert.equal(resolver.resolve(removed), undefined, 'walked again after the interval, still unknown');
});
