// The byte writer and the OTLP/JSON pieces written with it must give exactly the UTF-8 bytes of the
// texts the string functions build (Buffer.from(text, 'utf8')), whatever the value, and whatever
// the buffer had to grow through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HrTime } from '@opentelemetry/api';
import { fragment, JsonByteWriter } from './json_byte_writer';
import {
  attributesJson,
  int64Text,
  nanosText,
  numberValueJson,
  scalarValueJson,
  writeAttributes,
  writeDecimalValue,
  writeInt64,
  writeNanos,
  writeNumberValue,
  writeScalarValue,
} from './otlp_json_fragments';

/** A fixed pseudo-random sequence (xorshift32), so that every run checks the same values. */
function sequence(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** Integers spread over every magnitude up to 2^53, plus the boundaries of the writer's branches. */
function integers(count: number): number[] {
  const next = sequence(0x5eed);
  const out = [0, 1, 9, 10, 99, 100, 101, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 999_999_999, 1e9, 1e15 - 1, 1e15, 1e15 + 1, 2 ** 53 - 1];
  for (let i = 0; i < count; i++) out.push(Math.floor(next() * 10 ** (next() * 16)));
  return out;
}

function written(write: (w: JsonByteWriter) => void, capacity = 64): Buffer {
  const w = new JsonByteWriter(capacity);
  write(w);
  return w.copyOut();
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');

test('uint and paddedUint write the decimal digits String() writes', () => {
  for (const value of integers(20_000)) {
    assert.deepEqual(written((w) => w.uint(value)), utf8(String(value)), `uint(${value})`);
  }
  for (const value of [0, 5, 42, 123_456_789, 999_999_999, 100_000_000]) {
    assert.deepEqual(written((w) => w.paddedUint(value, 9)), utf8(String(value).padStart(9, '0')));
  }
});

test('string() writes JSON.stringify as UTF-8: quotes, escapes, controls, non-ASCII, lone surrogates', () => {
  const values = ['', 'plain /path/of-a_cgroup.scope', 'a "q" \\ b', 'tab\tnl\ncr\r\x00\x01\x1f\x7f', 'é ü ß', '☃ 中文', '😀 pod', '\ud800 lone', 'lone \udfff', 'ÿ\u0080\u00a0'];
  for (const value of values) {
    assert.deepEqual(written((w) => w.string(value)), utf8(JSON.stringify(value)), JSON.stringify(value));
  }
});

test('utf8() writes Buffer.from(text), surrogate pairs and lone surrogates included', () => {
  for (const text of ['', 'ascii', 'é☃😀', '\ud800', 'x\udc00y', 'a'.repeat(1000) + '中']) {
    assert.deepEqual(written((w) => w.utf8(text)), utf8(text));
  }
});

test('the buffer grows through writes larger than it and many small ones, keeping every byte', () => {
  const big = utf8('{"k":"' + 'x'.repeat(10_000) + '"}');
  const expected: Buffer[] = [];
  const w = new JsonByteWriter(64);
  const firstBuffer = w.buf;
  for (let i = 0; i < 3_000; i++) {
    // a fragment 150 times the initial capacity, short fragments, digits, text and non-ASCII
    if (i % 1_000 === 0) {
      w.bytes(big);
      expected.push(big);
    }
    w.bytes(fragment(','));
    w.uint(i * 7919);
    w.string(`cgroup-é-${i}`);
    w.byte(0x0a);
    expected.push(utf8(`,${i * 7919}${JSON.stringify(`cgroup-é-${i}`)}\n`));
  }
  assert.notEqual(w.buf, firstBuffer, 'it grew');
  assert.deepEqual(w.copyOut(), Buffer.concat(expected));
  // truncate cuts back, reset forgets, and the grown buffer is kept
  const grown = w.buf;
  w.truncate(big.length);
  assert.deepEqual(w.copyOut(), Buffer.from(big));
  w.reset();
  assert.equal(w.length, 0);
  w.ascii('again');
  assert.equal(w.toString(), 'again');
  assert.equal(w.buf, grown);
});

test('number pieces write the bytes of their text counterparts', () => {
  const next = sequence(42);
  const doubles = [0.125, 4.2e-5, -7.5, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity, -0, 2 ** 53 + 2, -(2 ** 60), 1.8e19];
  for (let i = 0; i < 2_000; i++) doubles.push((next() - 0.5) * 10 ** (next() * 40 - 20));
  for (const value of [...integers(2_000), ...integers(200).map((v) => -v), ...doubles]) {
    assert.deepEqual(written((w) => writeNumberValue(w, value)), utf8(numberValueJson(value)), `writeNumberValue(${value})`);
    if (Number.isInteger(value)) assert.deepEqual(written((w) => writeInt64(w, value)), utf8(int64Text(value)), `writeInt64(${value})`);
  }
});

test('writeDecimalValue(count, d) writes numberValueJson(count / 10^d) for every magnitude of count', () => {
  const counts = integers(40_000);
  for (let c = 0; c < 20_000; c++) counts.push(c);
  counts.push(2 ** 53, 2 ** 60, 2 ** 64 - 1, 1e15 + 2, 123_456_789_012_345);
  for (const decimals of [6, 9]) {
    for (const count of counts) {
      assert.deepEqual(written((w) => writeDecimalValue(w, count, decimals)), utf8(numberValueJson(count / 10 ** decimals)), `${count} / 1e${decimals}`);
    }
  }
});

test('writeNanos writes nanosText for clock times and odd ones', () => {
  const times: HrTime[] = [[0, 0], [0, 42], [1_763_900_000, 5], [1_763_900_000, 999_999_999], [2 ** 31, 1], [9_223_372_036, 854_775_807], [1.5, 3], [5, 1.5]];
  for (const time of times) assert.deepEqual(written((w) => writeNanos(w, time)), utf8(nanosText(time)), `${time}`);
});

test('writeScalarValue and writeAttributes write scalarValueJson and attributesJson, and refuse the rest', () => {
  const attributes = { s: 'é "x"', n: 443, d: 0.5, t: true, f: false, big: 2 ** 63, neg: -1, 'key "quoted" ☃': 'v' };
  assert.deepEqual(written((w) => assert.ok(writeAttributes(w, attributes))), utf8(attributesJson(attributes)!));
  for (const value of Object.values(attributes)) assert.deepEqual(written((w) => assert.ok(writeScalarValue(w, value))), utf8(scalarValueJson(value)!));
  assert.equal(writeAttributes(new JsonByteWriter(), { list: ['a'] }), false);
  assert.equal(writeScalarValue(new JsonByteWriter(), undefined), false);
});
