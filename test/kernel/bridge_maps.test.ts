// Map reads on map types without BPF_MAP_LOOKUP_BATCH: the bridge walks the keys instead, and a
// walk whose lookups fail reports the kernel's error instead of returning nothing (or spinning).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfLoadError } from '../../src/errors';
import { requireKernel } from '../support/kernel';
import { loadMapWalkFixture } from '../support/map_walk_fixture';

/** The kernel's ENOTSUPP, what reading an fd array from user space gets. */
const KERNEL_ENOTSUPP = 524;

function prefix(length: number, a: number, b: number, c: number, d: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeUInt32LE(length, 0);
  key.set([a, b, c, d], 4);
  return key;
}

test('a map without batch lookups is read by walking its keys: every entry, keys and values intact', (t) => {
  if (!requireKernel(t)) return;
  const bpf = loadMapWalkFixture(t);
  const written = new Map<string, bigint>([
    [prefix(8, 10, 0, 0, 0).toString('hex'), 1n],
    [prefix(16, 198, 18, 0, 0).toString('hex'), 2n],
    [prefix(32, 127, 0, 0, 1).toString('hex'), 3n],
  ]);
  for (const [key, value] of written) {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(value);
    bpf.updateMap('prefixes', Buffer.from(key, 'hex'), bytes);
  }
  const entries = bpf.readMap('prefixes');
  assert.equal(entries.count, written.size);
  const read = new Map<string, bigint>();
  for (let i = 0; i < entries.count; i++) read.set(entries.key(i).toString('hex'), entries.value(i).readBigUInt64LE(0));
  assert.deepEqual(read, written);
});

test('a key walk whose lookups fail reports the error, naming the map', (t) => {
  if (!requireKernel(t)) return;
  const bpf = loadMapWalkFixture(t);
  assert.throws(
    () => bpf.readMap('unreadable'),
    (e: unknown) => e instanceof BpfLoadError && e.errno === KERNEL_ENOTSUPP && /reading map unreadable: reading map failed/.test(e.message),
  );
});
