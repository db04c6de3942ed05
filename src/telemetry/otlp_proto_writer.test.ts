// The writer's byte helpers that records writing their own protobuf call directly (writeDouble,
// writeHrTime) and its copies on both sides of the byte-loop / TypedArray.set threshold: exact
// bytes, against Buffer's own writers and hand-computed values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtoWriter, writeDouble, writeHrTime } from './otlp_proto_writer';

test('writeDouble writes the bytes Buffer.writeDoubleLE writes, at any offset', () => {
  const values = [0, -0, 1, -1, 0.1, 1.5, 2 ** 53, 2 ** 64, -(2 ** 63), 5e-324, 1.7976931348623157e308, Infinity, -Infinity, 0.000125, 1_234_567 / 1e9];
  for (const value of values) {
    for (const at of [0, 3]) {
      const ours = Buffer.alloc(12, 0xaa);
      const theirs = Buffer.alloc(12, 0xaa);
      assert.equal(writeDouble(ours, at, value), at + 8);
      theirs.writeDoubleLE(value, at);
      assert.equal(ours.toString('hex'), theirs.toString('hex'), `${value} at ${at}`);
    }
  }
});

test('writeHrTime writes fixed64 nanoseconds, exact past 2^53', () => {
  const cases: [number, number, bigint][] = [
    [0, 0, 0n],
    [1, 5, 1_000_000_005n],
    [1_763_900_001, 999_999_999, 1_763_900_001_999_999_999n],
    // 2^64 - 1 ns: the largest a u64 kernel time converts to
    [18_446_744_073, 709_551_615, 2n ** 64n - 1n],
  ];
  for (const [seconds, nanos, expected] of cases) {
    const buf = Buffer.alloc(10, 0xaa);
    assert.equal(writeHrTime(buf, 1, seconds, nanos), 9);
    assert.equal(buf.readBigUInt64LE(1), expected, `${seconds} s ${nanos} ns`);
    assert.equal(buf[0], 0xaa);
    assert.equal(buf[9], 0xaa);
    const w = new ProtoWriter(16);
    w.hrTime(seconds, nanos);
    assert.equal(w.copy().toString('hex'), buf.subarray(1, 9).toString('hex'));
  }
});

test('raw() copies fragments below, at and above the byte-loop threshold, Uint8Arrays and Buffers alike, growing the buffer', () => {
  const w = new ProtoWriter(8);
  const expected: number[] = [];
  for (const length of [0, 1, 15, 16, 17, 63, 64, 200]) {
    const fragment = Uint8Array.from({ length }, (_, i) => (i * 7 + length) & 0xff);
    w.raw(fragment);
    w.raw(Buffer.from(fragment));
    expected.push(...fragment, ...fragment);
  }
  assert.equal(w.copy().toString('hex'), Buffer.from(expected).toString('hex'));
});

test('double() writes the IEEE little-endian bytes after the position', () => {
  const w = new ProtoWriter(4);
  w.byte(0x21);
  w.double(0.000042);
  const reference = Buffer.alloc(9);
  reference[0] = 0x21;
  reference.writeDoubleLE(0.000042, 1);
  assert.equal(w.copy().toString('hex'), reference.toString('hex'));
});
