// Capture requests: defaults filled in, the cfg_capture bytes the kernel reads, and every wrong
// request refused with CAPTURE_INVALID_REQUEST naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureError, type CaptureRequest } from './capture_api';
import { SETTINGS } from './layout';
import { addressBytes, applyRequest, describeSelection, type CaptureDefaults } from './request';

const DEFAULTS: CaptureDefaults = { packets: 100, bytes: 10_000, snaplen: 0, durationMs: 5000, sampleOneIn: 1, packetsPerSecond: 50 };
const noIds = () => undefined;

test('IPv4 as ::ffff:a.b.c.d, IPv6 expanded (also with an embedded dotted quad)', () => {
  assert.equal(addressBytes('x', '198.18.0.1').toString('hex'), '00000000000000000000ffffc6120001');
  assert.equal(addressBytes('x', 'fd00:1::2').toString('hex'), 'fd000001000000000000000000000002');
  assert.equal(addressBytes('x', '::ffff:198.18.0.1').toString('hex'), '00000000000000000000ffffc6120001');
  assert.equal(addressBytes('x', '::').toString('hex'), '0'.repeat(32));
});

test('a tuple selection: defaults filled in, bidirectional by default, the kernel settings written, attached at the root', () => {
  const applied = applyRequest({ selection: { sourceAddress: '198.18.0.1', destinationPort: 80 } }, DEFAULTS, '/sys/fs/cgroup', noIds);
  assert.deepEqual(applied.selection, { sourceAddress: '198.18.0.1', destinationPort: 80, bidirectional: true });
  assert.deepEqual(applied.bounds, { packets: 100, bytes: 10_000, snaplen: 0, durationMs: 5000, sampleOneIn: 1, packetsPerSecond: 50 });
  assert.equal(applied.reason, 'on_demand');
  assert.deepEqual(applied.attachDirectories, ['/sys/fs/cgroup']);
  const s = applied.settings;
  assert.equal(s.length, SETTINGS.size);
  assert.equal(s.subarray(SETTINGS.source_address, SETTINGS.source_address + 16).toString('hex'), '00000000000000000000ffffc6120001');
  assert.deepEqual([s[SETTINGS.has_source_address], s[SETTINGS.has_destination_address], s[SETTINGS.bidirectional]], [1, 0, 1]);
  assert.deepEqual([s.readUInt16LE(SETTINGS.source_port), s.readUInt16LE(SETTINGS.destination_port)], [0, 80]);
  assert.deepEqual(
    [SETTINGS.max_packets, SETTINGS.max_bytes, SETTINGS.sample_one_in, SETTINGS.packets_per_second].map((o) => s.readBigUInt64LE(o)),
    [100n, 10_000n, 1n, 50n],
  );
  assert.equal(s.readUInt32LE(SETTINGS.snaplen), 0);
  assert.equal(describeSelection(applied.selection), '198.18.0.1:* <-> *:80');
});

test('cgroups by path (as /proc/<pid>/cgroup writes them or under the mount) and by id; nested ones attach once, at the outer', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tcpscope-cgroot-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'pod/container'), { recursive: true });
  mkdirSync(join(root, 'other'));
  const ids = new Map([[statSync(join(root, 'other')).ino, '/other']]);
  const applied = applyRequest(
    { selection: { cgroupPaths: ['/pod', join(root, 'pod/container')], cgroupIds: [statSync(join(root, 'other')).ino], bidirectional: false }, reason: 'schedule', name: 'nightly-1' },
    DEFAULTS,
    root,
    (id) => ids.get(id),
  );
  assert.deepEqual(applied.attachDirectories, [join(root, 'other'), join(root, 'pod')]);
  assert.deepEqual(applied.selection.cgroupIds, [statSync(join(root, 'other')).ino, statSync(join(root, 'pod')).ino, statSync(join(root, 'pod/container')).ino]);
  assert.equal(applied.selection.bidirectional, false);
  assert.equal(applied.settings[SETTINGS.bidirectional], 0);
  assert.equal(applied.reason, 'schedule');
  assert.equal(applied.name, 'nightly-1');
});

const REFUSED: readonly [string, unknown, RegExp][] = [
  ['no selection', {}, /^selection is required/],
  ['an empty selection', { selection: {} }, /^selection names nothing/],
  ['only bidirectional', { selection: { bidirectional: true } }, /^selection names nothing/],
  ['an unknown field', { selection: { port: 80 } }, /^selection\.port is not a selection field/],
  ['a bad address', { selection: { sourceAddress: '198.18.0.256' } }, /^selection\.sourceAddress must be an IPv4 or IPv6 address, got "198\.18\.0\.256"/],
  ['port 0', { selection: { destinationPort: 0 } }, /^selection\.destinationPort must be an integer from 1 to 65535, got 0/],
  ['a port as text', { selection: { sourcePort: '80' } }, /^selection\.sourcePort must be an integer from 1 to 65535, got "80"/],
  ['bidirectional as text', { selection: { sourcePort: 80, bidirectional: 'yes' } }, /^selection\.bidirectional must be true or false/],
  ['a cgroup path outside the root', { selection: { cgroupPaths: ['/sys/kernel'] } }, /^selection\.cgroupPaths: \/sys\/kernel is not a cgroup v2 directory/],
  ['an unknown cgroup id', { selection: { cgroupIds: [12345] } }, /^selection\.cgroupIds\[0\]: no cgroup v2 directory has id 12345/],
  ['packets 0', { selection: { sourcePort: 80 }, bounds: { packets: 0 } }, /^bounds\.packets must be an integer from 1 to 100000000, got 0/],
  ['a snaplen below the headers', { selection: { sourcePort: 80 }, bounds: { snaplen: 20 } }, /^bounds\.snaplen must be 0 \(headers only\) or at least 60/],
  ['a snaplen above the kernel\'s room', { selection: { sourcePort: 80 }, bounds: { snaplen: 9000 } }, /^bounds\.snaplen must be an integer from 0 to 4096/],
  ['sampling 0', { selection: { sourcePort: 80 }, bounds: { sampleOneIn: 0 } }, /^bounds\.sampleOneIn must be an integer from 1 to 1000000/],
  ['a negative rate', { selection: { sourcePort: 80 }, bounds: { packetsPerSecond: -1 } }, /^bounds\.packetsPerSecond must be an integer/],
  ['a fractional duration', { selection: { sourcePort: 80 }, bounds: { durationMs: 1.5 } }, /^bounds\.durationMs must be an integer/],
  ['an unknown reason', { selection: { sourcePort: 80 }, reason: 'because' }, /^reason must be one of on_demand, schedule, failed_connect, reset, retransmit_burst/],
  ['a name with a slash', { selection: { sourcePort: 80 }, name: '../x' }, /^name must match/],
];

for (const [what, request, message] of REFUSED) {
  test(`refused: ${what}`, () => {
    assert.throws(
      () => applyRequest(request as CaptureRequest, DEFAULTS, '/sys/fs/cgroup', noIds),
      (e: unknown) => e instanceof CaptureError && e.code === 'CAPTURE_INVALID_REQUEST' && message.test(e.message),
    );
  });
}

test('without a cgroup v2 hierarchy a capture is refused with the reason', () => {
  assert.throws(() => applyRequest({ selection: { sourcePort: 80 } }, DEFAULTS, undefined, noIds), /needs a cgroup v2 hierarchy/);
});
