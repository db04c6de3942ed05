import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOW_TO_MOUNT, HostCgroupError, INIT_CGROUP_NAMESPACE, locateHostCgroupRoot, parseMountinfo, type CgroupProbe } from './host_cgroup_root';

// mountinfo of a hybrid host (cgroup v1 controllers plus /sys/fs/cgroup/unified), as read here
const HOST_MOUNTINFO = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
// a pod: its own cgroup2 at /sys/fs/cgroup (mounted in its namespace: root field "/"), and the
// host's bound at /host/sys/fs/cgroup (root field relative to the pod's namespace root)
const POD_MOUNTINFO = [
  '900 800 0:38 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw',
  '901 800 0:38 /../../.. /host/sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw',
  '902 800 0:60 / /tmp\\040dir rw - tmpfs tmpfs rw',
].join('\n');
const POD_NAMESPACE = 'cgroup:[4026532712]';

function fakeProbe(
  mountinfo: string,
  dirs: Record<string, { ino: bigint; cgroup2: boolean }>,
  namespace: string | undefined = INIT_CGROUP_NAMESPACE,
  selfCgroup = '0::/system.slice/tcpscope.service\n',
): CgroupProbe {
  return { mountinfo: () => mountinfo, selfCgroup: () => selfCgroup, cgroupNamespace: () => namespace, inspect: (path) => dirs[path] };
}

test('mountinfo: root field, mount point (octal escapes decoded) and file system type', () => {
  assert.deepEqual(parseMountinfo(POD_MOUNTINFO), [
    { root: '/', mountPoint: '/sys/fs/cgroup', fsType: 'cgroup2' },
    { root: '/../../..', mountPoint: '/host/sys/fs/cgroup', fsType: 'cgroup2' },
    { root: '/', mountPoint: '/tmp dir', fsType: 'tmpfs' },
  ]);
  // optional fields before the separator
  assert.deepEqual(parseMountinfo('41 31 0:38 / /sys/fs/cgroup rw,relatime shared:9 master:1 - cgroup2 cgroup2 rw\n'), [
    { root: '/', mountPoint: '/sys/fs/cgroup', fsType: 'cgroup2' },
  ]);
});

test('on the host: the cgroup2 mount whose directory is cgroup id 1, hybrid or unified', () => {
  const hybrid = fakeProbe(HOST_MOUNTINFO, { '/sys/fs/cgroup': { ino: 1n, cgroup2: false }, '/sys/fs/cgroup/unified': { ino: 1n, cgroup2: true } });
  assert.equal(locateHostCgroupRoot(undefined, hybrid).root, '/sys/fs/cgroup/unified');
  // the host's agent sitting in the root cgroup also reads 0::/ — not a reason to refuse
  const unified = fakeProbe('41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw', { '/sys/fs/cgroup': { ino: 1n, cgroup2: true } }, INIT_CGROUP_NAMESPACE, '0::/\n');
  assert.equal(locateHostCgroupRoot(undefined, unified).root, '/sys/fs/cgroup');
});

test('a cgroup v1 host (no cgroup2 anywhere, host namespace): nothing to walk, no refusal', () => {
  const v1 = fakeProbe('32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu', {});
  assert.equal(locateHostCgroupRoot(undefined, v1).root, undefined);
});

test("in a pod: the host's hierarchy bound into the container, never the pod's own cgroup2", () => {
  const dirs = { '/sys/fs/cgroup': { ino: 4711n, cgroup2: true }, '/host/sys/fs/cgroup': { ino: 1n, cgroup2: true } };
  const pod = fakeProbe(POD_MOUNTINFO, dirs, POD_NAMESPACE, '0::/\n');
  assert.equal(locateHostCgroupRoot(undefined, pod).root, '/host/sys/fs/cgroup');
  assert.equal(locateHostCgroupRoot('/host/sys/fs/cgroup', pod).root, '/host/sys/fs/cgroup');
});

test('the fix names the DaemonSet volume, its host path and mount path, and the config key', () => {
  assert.equal(
    HOW_TO_MOUNT,
    "mount the host's cgroup2 mount point itself read-only into the container (DaemonSet: volume `host-cgroup`, hostPath /sys/fs/cgroup, " +
      'or /sys/fs/cgroup/unified on a hybrid host, mounted read-only at /host/sys/fs/cgroup, and service.host.cgroup_root: /host/sys/fs/cgroup ' +
      'in its config.yaml; podman/docker: -v /sys/fs/cgroup:/host/sys/fs/cgroup:ro) and set service.host.cgroup_root to it',
  );
});

test('refusals name what is wrong and the key to set', () => {
  const ownOnly = fakeProbe(POD_MOUNTINFO.split('\n')[0], { '/sys/fs/cgroup': { ino: 4711n, cgroup2: true } }, POD_NAMESPACE, '0::/\n');
  const nothing = fakeProbe('', {}, POD_NAMESPACE, '0::/\n');
  const bound = fakeProbe(POD_MOUNTINFO, {
    '/sys/fs/cgroup': { ino: 4711n, cgroup2: true },
    '/host/sys/fs/cgroup': { ino: 1n, cgroup2: true },
    '/host/tmpfs': { ino: 1n, cgroup2: false },
  }, POD_NAMESPACE, '0::/\n');
  const cases: [string, () => unknown, RegExp][] = [
    [
      'private namespace, only its own cgroup2',
      () => locateHostCgroupRoot(undefined, ownOnly),
      /^no cgroup2 mount here is the host's root cgroup: \/sys\/fs\/cgroup is a cgroup2 directory with cgroup id 4711, mounted from \/, not the host's root cgroup \(id 1\): the agent runs in a private cgroup namespace \(cgroup:\[4026532712\], \/proc\/self\/cgroup 0::\/\).*set service\.host\.cgroup_root to it$/,
    ],
    ['private namespace, no cgroup2 at all', () => locateHostCgroupRoot(undefined, nothing), /^no cgroup2 is mounted and the agent runs in a private cgroup namespace .*service\.host\.cgroup_root/],
    ['configured: the pod\'s own cgroup2', () => locateHostCgroupRoot('/sys/fs/cgroup', bound), /^service\.host\.cgroup_root: \/sys\/fs\/cgroup is a cgroup2 directory with cgroup id 4711/],
    ['configured: missing', () => locateHostCgroupRoot('/host/missing', bound), /^service\.host\.cgroup_root: \/host\/missing is not a directory; mount the host's cgroup2/],
    ['configured: not cgroup2', () => locateHostCgroupRoot('/host/tmpfs', bound), /^service\.host\.cgroup_root: \/host\/tmpfs is not a cgroup2 file system/],
  ];
  for (const [name, run, message] of cases) {
    assert.throws(run, (error: unknown) => {
      assert.ok(error instanceof HostCgroupError, name);
      assert.equal(error.code, 'HOST_CGROUP_UNUSABLE', name);
      assert.match(error.message, message, name);
      // Every refusal ends with what to fix, by the DaemonSet's volume and config key.
      assert.ok(error.message.endsWith(`; ${HOW_TO_MOUNT}`), name);
      return true;
    }, name);
  }
});
