import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { goFixed6, goFloat, goTimestamp, isoTimestamp, token, typedValue } from './text';

describe('Go-compatible number and time text', () => {
  const fixed: [number, string][] = [
    [0.25, '0.250000'],
    [3, '3.000000'],
    [123.4567895, '123.456789'], // the double is just below the tie
    [0.0078125, '0.007812'], // exact tie: Go rounds half to even
    [0.0234375, '0.023438'], // exact tie, odd digit: up
    [-1e-9, '-0.000000'], // Go keeps the sign
    [1e22, '10000000000000000000000.000000'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ];
  for (const [value, text] of fixed) it(`%f of ${value} is ${text}`, () => assert.equal(goFixed6(value), text));

  const shortest: [number, string][] = [
    [0.1, '0.1'],
    [1e-7, '0.0000001'],
    [-1.5e-7, '-0.00000015'],
    [1e21, '1000000000000000000000'],
    [1.25e22, '12500000000000000000000'],
    [2.0000000000000004, '2.0000000000000004'],
  ];
  for (const [value, text] of shortest) it(`FormatFloat of ${value} is ${text}`, () => assert.equal(goFloat(value), text));

  it('timestamps', () => {
    assert.equal(goTimestamp([1700000010, 500]), '2023-11-14 22:13:30.0000005 +0000 UTC');
    assert.equal(goTimestamp([1700000010, 0]), '2023-11-14 22:13:30 +0000 UTC');
    assert.equal(goTimestamp([1700000009, 1_250_000_000]), '2023-11-14 22:13:30.25 +0000 UTC');
    assert.equal(isoTimestamp([1700000005, 250000000]), '2023-11-14T22:13:25.250000000Z');
  });

  it('typed values', () => {
    assert.equal(typedValue('x'), 'Str(x)');
    assert.equal(typedValue(443), 'Int(443)');
    assert.equal(typedValue(2 ** 60), 'Int(1152921504606846976)');
    assert.equal(typedValue(0.5), 'Double(0.5)');
    assert.equal(typedValue(false), 'Bool(false)');
    assert.equal(typedValue(new Uint8Array([1, 2])), 'Bytes(AQI=)');
    assert.equal(typedValue({ b: 1, a: [true, null] }), 'Map({"a":[true,null],"b":1})');
    assert.equal(typedValue(undefined), 'Empty()');
  });

  it('tokens', () => {
    assert.equal(token('plain'), 'plain');
    assert.equal(token(''), '""');
    assert.equal(token('a b'), '"a b"');
    assert.equal(token('a=b'), '"a=b"');
    assert.equal(token('tab\there'), '"tab\\there"');
    assert.equal(token('a,b', /[,]/), '"a,b"');
  });
});
