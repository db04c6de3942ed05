// Stacks read from the stack-trace map once, named, cached; an unknown id reads the map at most
// once per ring batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MapEntries } from '../../bridge/bpf_object';
import { KernelSymbols } from '../../host/kernel_symbols';
import { KernelStacks } from './kernel_stacks';

const SYMBOLS = KernelSymbols.parse('ffffffff81000000 T tcp_v4_send_reset\nffffffff81001000 T tcp_v4_rcv\n');

function stackMap(stacks: Map<number, bigint[]>): MapEntries {
  const ids = [...stacks.keys()];
  const value = (frames: bigint[]) => {
    const v = Buffer.alloc(32 * 8);
    frames.forEach((f, i) => v.writeBigUInt64LE(f, 8 * i));
    return v;
  };
  const keys = ids.map((id) => {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(id);
    return k;
  });
  const values = ids.map((id) => value(stacks.get(id)!));
  return { count: ids.length, keySize: 4, valueSize: 256, cpus: 1, keys: Buffer.concat(keys), values: Buffer.concat(values), key: (i) => keys[i], value: (i) => values[i] };
}

test('a stack is named frame by frame, read once, and an unknown id reads the map once per batch', () => {
  const kernel = new Map<number, bigint[]>([[7, [0xffffffff81000010n, 0xffffffff81001234n]]]);
  let reads = 0;
  let symbolLoads = 0;
  const stacks = new KernelStacks(
    () => {
      reads++;
      return stackMap(kernel);
    },
    () => {
      symbolLoads++;
      return SYMBOLS;
    },
  );
  assert.equal(stacks.preload(), 2);
  const batch1 = {};
  assert.deepEqual(stacks.stack(7, batch1), ['tcp_v4_send_reset+0x10', 'tcp_v4_rcv+0x234']);
  assert.deepEqual(stacks.stack(7, {}), ['tcp_v4_send_reset+0x10', 'tcp_v4_rcv+0x234']);
  assert.equal(reads, 1, 'cached');
  assert.equal(stacks.stack(9, batch1), undefined);
  assert.equal(stacks.stack(9, batch1), undefined);
  assert.equal(reads, 1, 'the map was read for this batch already');
  kernel.set(9, [0xffffffff81001000n]);
  assert.deepEqual(stacks.stack(9, {}), ['tcp_v4_rcv+0x0']);
  assert.equal(reads, 2);
  assert.equal(symbolLoads, 1, 'symbols read once');
});
