// The reaper's rules, on a cgroup hierarchy made of plain directories (a directory's inode is its
// id, as for cgroup v2) and a map that records deletes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HrTime } from '@opentelemetry/api';
import { CgroupResolver } from '../../host/cgroup_resolver';
import { CgroupSeriesReaper, type CgroupSeriesEntry } from './cgroup_series';
import { OVERFLOW_CGROUP_ID } from './workload_attributes';

const RECEIVER_START: HrTime = [100, 0];

function setup(t: { after: (fn: () => void) => void }) {
  const root = mkdtempSync(join(tmpdir(), 'tcpscope-series-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const make = (name: string) => {
    mkdirSync(join(root, name));
    return statSync(join(root, name), { bigint: true }).ino;
  };
  const resolver = new CgroupResolver(root);
  resolver.scan();
  let clock = 200;
  const reaper = new CgroupSeriesReaper(resolver, () => [clock, 0]);
  // The "kernel map": key text -> entry; deletes remove from it.
  const map = new Map<string, CgroupSeriesEntry>();
  const bpf = {
    deleteFromMap: (name: string, key: Buffer) => {
      assert.equal(name, 'stats');
      return map.delete(key.toString('hex'));
    },
  };
  const put = (cgroupId: bigint, openConnections?: bigint) => {
    const key = Buffer.alloc(8);
    key.writeBigUInt64LE(cgroupId);
    map.set(key.toString('hex'), { key, cgroupId, ...(openConnections === undefined ? {} : { openConnections }) });
  };
  /** One collection: what was exported (ids and the path each was named by). */
  const collect = () =>
    reaper.collect(bpf, 'stats', () => [...map.values()], (series) => series.map((s) => ({ id: s.cgroupId, path: resolver.resolve(s.cgroupId), start: reaper.startTime(s.cgroupId, RECEIVER_START) })));
  return { root, make, resolver, reaper, map, put, collect, tick: () => (clock += 10) };
}

test('a vanished cgroup is exported once more with the read taken after it was gone, then removed; live ones stay', (t) => {
  const { root, make, map, put, collect, reaper } = setup(t);
  const live = make('live');
  const pod = make('pod');
  put(live);
  put(pod);
  put(OVERFLOW_CGROUP_ID);
  assert.deepEqual(collect().map((e) => e.path), ['/live', '/pod', undefined]);
  rmdirSync(join(root, 'pod'));
  // Read after the removal: exported (under its last path), then deleted from the map.
  const last = collect();
  assert.deepEqual(last.map((e) => e.path), ['/live', '/pod', undefined]);
  assert.deepEqual([...map.values()].map((e) => e.cgroupId), [live, OVERFLOW_CGROUP_ID], 'the overflow series is never removed');
  assert.equal(reaper.removed, 1);
  assert.deepEqual(collect().map((e) => e.id), [live, OVERFLOW_CGROUP_ID]);
});

test('a cgroup removed between two reads is exported by the next read before it goes (never from a read taken before)', (t) => {
  const { root, make, map, put, collect } = setup(t);
  const pod = make('pod');
  put(pod);
  // First read of this series: the cgroup is already gone, but only this read's values are
  // known; it stays for the next read, which then holds everything.
  rmdirSync(join(root, 'pod'));
  assert.deepEqual(collect().map((e) => e.id), [pod]);
  assert.equal(map.size, 1, 'not removed on its first read');
  assert.deepEqual(collect().map((e) => e.id), [pod], 'exported again with the final read');
  assert.equal(map.size, 0);
});

test('a vanished cgroup with a connection still open keeps its series until the connection closes', (t) => {
  const { root, make, map, put, collect } = setup(t);
  const pod = make('pod');
  put(pod, 1n);
  collect();
  rmdirSync(join(root, 'pod'));
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(collect().map((e) => e.path), ['/pod']);
    assert.equal(map.size, 1, 'kept while a connection is open');
  }
  put(pod, 0n); // the connection closed
  assert.deepEqual(collect().map((e) => e.path), ['/pod'], 'its close is exported');
  assert.equal(map.size, 0);
});

test('a series re-created after removal starts at the removal time, not at the receiver start', (t) => {
  const { root, make, put, collect, tick } = setup(t);
  const pod = make('pod');
  const other = make('other');
  put(pod);
  put(other);
  assert.deepEqual(collect().map((e) => e.start), [RECEIVER_START, RECEIVER_START]);
  rmdirSync(join(root, 'pod'));
  collect();
  tick();
  put(pod); // a surviving socket's sample re-creates it
  const after = collect();
  assert.deepEqual(after.find((e) => e.id === pod)?.start, [200, 0]);
  assert.deepEqual(after.find((e) => e.id === other)?.start, RECEIVER_START);
});

test('a directory re-created at the same path is a new cgroup: the old id is gone', (t) => {
  const { root, make, map, put, collect } = setup(t);
  const old = make('pod');
  put(old);
  collect();
  // (renamed away first so that the file system cannot hand the new directory the old inode,
  // as ext4 does; cgroup ids are never reused)
  renameSync(join(root, 'pod'), join(root, 'pod.old'));
  const renewed = make('pod');
  rmdirSync(join(root, 'pod.old'));
  assert.notEqual(renewed, old);
  put(renewed);
  collect();
  assert.deepEqual([...map.values()].map((e) => e.cgroupId), [renewed]);
});
