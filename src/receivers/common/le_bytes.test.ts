// The byte-by-byte readers agree with Buffer's own, at the edges of every width.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { u16le, u32be, u32le, u64leNumber } from './le_bytes';

const EDGES = [0n, 1n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];

test('u16le, u32le, u32be and u64leNumber read what Buffer reads, at every width edge and any offset', () => {
  const buf = Buffer.alloc(12);
  for (const value of EDGES) {
    for (const at of [0, 1, 3]) {
      buf.fill(0xa5);
      buf.writeBigUInt64LE(value, at);
      assert.equal(u64leNumber(buf, at), Number(buf.readBigUInt64LE(at)), `u64 ${value} at ${at}`);
      assert.equal(u32le(buf, at), buf.readUInt32LE(at), `u32le ${value} at ${at}`);
      assert.equal(u32be(buf, at), buf.readUInt32BE(at), `u32be ${value} at ${at}`);
      assert.equal(u16le(buf, at), buf.readUInt16LE(at), `u16le ${value} at ${at}`);
    }
  }
});
