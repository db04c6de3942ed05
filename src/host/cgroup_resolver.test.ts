import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CgroupResolver, findCgroupV2Root } from './cgroup_resolver';

test('finds the cgroup2 mount on unified and hybrid hosts', () => {
  const any = () => true;
  assert.equal(findCgroupV2Root('cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n', any), '/sys/fs/cgroup');
  assert.equal(
    findCgroupV2Root('tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n', any),
    '/sys/fs/cgroup/unified',
  );
  assert.equal(findCgroupV2Root('cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n', any), undefined);
});

test("skips cgroup2 mounts that are not the host's root cgroup (a container's own, rooted at its cgroup)", () => {
  const mounts = 'cgroup2 /sys/fs/cgroup cgroup2 ro 0 0\ncgroup2 /host/sys/fs/cgroup cgroup2 ro 0 0\n';
  assert.equal(findCgroupV2Root(mounts, (path) => path === '/host/sys/fs/cgroup'), '/host/sys/fs/cgroup');
  assert.equal(findCgroupV2Root(mounts, () => false), undefined);
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

test('vanished(): one walk for many ids; a removed cgroup keeps its last path for resolve() until forget()', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tcpscope-cgroups-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const ids = ['a', 'b', 'c'].map((name) => {
    mkdirSync(join(root, name));
    return statSync(join(root, name), { bigint: true }).ino;
  });
  const resolver = new CgroupResolver(root, 1000, () => 0);
  resolver.scan();
  let walks = 0;
  const scan = resolver.scan.bind(resolver);
  resolver.scan = () => {
    walks++;
    scan();
  };
  assert.deepEqual([...resolver.vanished(ids)], [], 'known and present: no walk');
  assert.equal(walks, 0);
  // b: same path, a new cgroup. Made before anything is removed: a file system may hand a freed
  // inode to the next directory at once (cgroup ids are never reused).
  renameSync(join(root, 'b'), join(root, 'b.old'));
  mkdirSync(join(root, 'b'));
  rmdirSync(join(root, 'b.old'));
  rmdirSync(join(root, 'a'));
  assert.deepEqual([...resolver.vanished([...ids, 987654321n])].sort(), [ids[0], ids[1], 987654321n].sort());
  assert.equal(walks, 1, 'one walk for every unsure id');
  assert.equal(resolver.resolve(ids[0]), '/a', 'the last path of a removed cgroup, for its last export');
  assert.equal(resolver.resolve(ids[1]), '/b');
  assert.ok(resolver.isGone(ids[0]));
  resolver.forget(ids[0]);
  assert.equal(resolver.resolve(ids[0]), undefined);
});

test('prepare(): one walk names every new id of a collection', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tcpscope-cgroups-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const resolver = new CgroupResolver(root, 1000, () => 0);
  resolver.scan();
  const ids = Array.from({ length: 20 }, (_, i) => {
    mkdirSync(join(root, `pod${i}`));
    return statSync(join(root, `pod${i}`), { bigint: true }).ino;
  });
  let walks = 0;
  const scan = resolver.scan.bind(resolver);
  resolver.scan = () => {
    walks++;
    scan();
  };
  resolver.prepare([...ids, 55555555n]);
  assert.equal(walks, 1);
  ids.forEach((id, i) => assert.equal(resolver.resolve(id), `/pod${i}`));
  assert.equal(resolver.resolve(55555555n), undefined);
  assert.equal(walks, 1, 'an id the walk did not find waits for the interval');
});

test('vanished(): with no readable hierarchy nothing is known to be gone', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tcpscope-cgroups-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.deepEqual([...new CgroupResolver(join(root, 'missing')).vanished([1n, 2n])], [], 'mount point not there');
});
