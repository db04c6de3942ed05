// ensureTracefs against fake mount tables and permissions: "not mounted" and "mounted but not
// readable by this user" are different problems with different fixes, and must be told apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfLoadError } from '../errors';
import { ensureTracefs, tracefsMountPoints, type TracefsProbe } from './preflight';

const MOUNTED = '42 23 0:13 / /sys/kernel/tracing rw,relatime - tracefs nodev rw\n24 1 0:22 / /sys rw - sysfs sysfs rw\n';
const CAP_BPF_PERFMON = (1n << 39n) | (1n << 38n);

function probe(overrides: Partial<TracefsProbe>): TracefsProbe {
  return {
    mountinfo: () => MOUNTED,
    stat: () => undefined,
    mount: () => assert.fail('must not mount what is mounted'),
    caps: () => CAP_BPF_PERFMON,
    uid: () => 65534,
    ...overrides,
  };
}

const eacces = () => {
  throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
};

test('reads tracefs mount points from mountinfo, unescaping octal', () => {
  assert.deepEqual(tracefsMountPoints(MOUNTED), ['/sys/kernel/tracing']);
  assert.deepEqual(tracefsMountPoints('7 1 0:9 / /mnt/my\\040trace rw - tracefs tracefs rw\n'), ['/mnt/my trace']);
  assert.deepEqual(tracefsMountPoints('24 1 0:22 / /sys rw - sysfs sysfs rw\n'), []);
});

test('a mounted tracefs that this user can read is used as is', () => {
  assert.equal(ensureTracefs(probe({})), '/sys/kernel/tracing');
});

test('mounted but mode 0700 for a non-root user: names CAP_DAC_READ_SEARCH, not "not mounted"', () => {
  assert.throws(
    () => ensureTracefs(probe({ stat: eacces })),
    (e: unknown) =>
      e instanceof BpfLoadError &&
      e.errno === 13 &&
      e.message.startsWith('tracefs is mounted at /sys/kernel/tracing but uid 65534 may not read it (it is mode 0700 root, and this process lacks CAP_DAC_READ_SEARCH)') &&
      e.message.includes('setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep'),
  );
});

test('not mounted: mounts it when it may, and says how when it may not', () => {
  let table = '';
  const mounts: string[] = [];
  assert.equal(ensureTracefs(probe({ mountinfo: () => table, mount: (dir) => ((table = MOUNTED), void mounts.push(dir)) })), '/sys/kernel/tracing');
  assert.deepEqual(mounts, ['/sys/kernel/tracing']);
  assert.throws(
    () => ensureTracefs(probe({ mountinfo: () => '', mount: () => eacces() })),
    (e: unknown) =>
      e instanceof BpfLoadError &&
      e.errno === 2 &&
      e.message ===
        'tracefs is not mounted and could not be mounted at /sys/kernel/tracing (mounting needs CAP_SYS_ADMIN, which a container lacks): ' +
          "the syscalls:* tracepoints are attached through it. In a container, mount the host's tracefs read-only: " +
          'DaemonSet: volume `tracefs`, hostPath /sys/kernel/tracing, mounted read-only at /sys/kernel/tracing; ' +
          'podman/docker: -v /sys/kernel/tracing:/sys/kernel/tracing:ro. On a host, run `mount -t tracefs nodev /sys/kernel/tracing`',
  );
});
