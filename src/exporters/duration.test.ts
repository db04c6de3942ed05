import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { durationFormat, MAX_DURATION_MS, parseDuration } from './duration';

describe('parseDuration', () => {
  const valid: [unknown, number][] = [
    [0, 0],
    [1500, 1500],
    ['250', 250],
    ['250ms', 250],
    ['1s', 1000],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['100us', 0.1],
    ['100µs', 0.1],
    ['5000000ns', 5],
    [' 5s ', 5000],
  ];
  for (const [input, ms] of valid) {
    it(`${JSON.stringify(input)} is ${ms}ms`, () => assert.equal(parseDuration(input), ms));
  }
  for (const input of ['', 's', '5 s', '5sec', '1s2', '-1s', 'soon', -1, NaN, Infinity, true, null, {}]) {
    it(`${String(JSON.stringify(input))} is rejected`, () => assert.throws(() => parseDuration(input), /must be a duration/));
  }
  it('durationFormat refuses what a Node.js timer cannot wait (it would fire after 1 ms)', () => {
    const tooLong = /^Error: must be a duration of at most 2147483647ms \(about 596h\): Node\.js runs longer timers after 1 ms$/;
    for (const input of ['1000h', '596h31m24s', MAX_DURATION_MS + 1, '99999999999999999999999ms']) {
      assert.throws(() => durationFormat(1)(input), tooLong, String(input));
    }
    durationFormat(1)(MAX_DURATION_MS);
    durationFormat(1)('596h');
    assert.equal(MAX_DURATION_MS, 2 ** 31 - 1);
  });
  it('durationFormat enforces a minimum', () => {
    assert.throws(() => durationFormat(10)('5ms'), /must be a duration of at least 10ms/);
    durationFormat(10)('10ms');
  });
});
