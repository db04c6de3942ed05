// The kernel-timestamp → wall-clock conversion against an injected clock: re-derived after a
// wall-clock step (either way), steady against Date.now()'s millisecond resolution, and corrected
// for a time namespace's monotonic offset.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { HrTime } from '@opentelemetry/api';
import { MonotonicClock, RESAMPLE_INTERVAL_NS, timeNamespaceMonotonicOffsetNs, type ClockSource } from './monotonic_clock';

const SECOND = 1_000_000_000n;
const WALL_AT_BOOT_MS = 1_700_000_000_000; // the wall clock when the host's monotonic clock read 0

/** Host monotonic time advanced by hand; the wall clock follows it plus `stepMs`, floored to ms like Date.now(). */
class FakeClocks implements ClockSource {
  hostNs = 5_000n * SECOND;
  stepMs = 0;
  constructor(private readonly namespaceOffsetNs = 0n) {}
  wallMs(): number {
    return WALL_AT_BOOT_MS + this.stepMs + Number(this.hostNs / 1_000_000n);
  }
  monotonicNs(): bigint {
    return this.hostNs + this.namespaceOffsetNs;
  }
}

const ns = (t: HrTime) => BigInt(t[0]) * SECOND + BigInt(t[1]);
const trueWallNs = (hostNs: bigint, stepMs = 0) => BigInt(WALL_AT_BOOT_MS + stepMs) * 1_000_000n + hostNs;

describe('MonotonicClock', () => {
  it('reads now through the offset it stamps with: an age is never negative, in a time namespace too', () => {
    const clocks = new FakeClocks(7n * SECOND);
    clocks.hostNs += 999_000n; // the first sample errs low by 0.999 ms
    const clock = new MonotonicClock(clocks, 7n * SECOND);
    const event = clocks.hostNs;
    const stamped = ns(clock.toHrTime(event));
    assert.equal(ns(clock.nowHrTime()) - stamped, 0n, 'no time passed: age 0');
    // A resample a second later raises the offset by the first sample's error: the age only grows.
    clocks.hostNs += RESAMPLE_INTERVAL_NS + 1_000n;
    const age = ns(clock.nowHrTime()) - stamped;
    assert.ok(age >= RESAMPLE_INTERVAL_NS + 1_000n && age <= RESAMPLE_INTERVAL_NS + 1_000_000n, `age ${age} ns`);
  });

  it('converts a kernel timestamp to the wall-clock time it happened, within Date.now() resolution', () => {
    const clocks = new FakeClocks();
    clocks.hostNs += 123_456n; // not on a millisecond edge: the first sample errs low by 0.123 ms
    const clock = new MonotonicClock(clocks, 0n);
    const event = clocks.hostNs - 2n * SECOND;
    const error = trueWallNs(event) - ns(clock.toHrTime(event));
    assert.ok(error >= 0n && error < 1_000_000n, `error ${error} ns`);
  });

  it('follows a wall-clock step within one resample interval, forward and backward', () => {
    const clocks = new FakeClocks();
    const clock = new MonotonicClock(clocks, 0n);
    for (const stepMs of [3_600_000, -86_400_000]) {
      clocks.stepMs += stepMs;
      clocks.hostNs += RESAMPLE_INTERVAL_NS;
      const event = clocks.hostNs - 1_000n;
      assert.equal(ns(clock.toHrTime(event)), trueWallNs(event, clocks.stepMs), `after a step of ${stepMs} ms`);
    }
  });

  it('does not follow a step before the resample interval has passed (conversion stays cheap)', () => {
    const clocks = new FakeClocks();
    const clock = new MonotonicClock(clocks, 0n);
    const before = clock.currentOffsetNs();
    clocks.stepMs = 5_000;
    clocks.hostNs += RESAMPLE_INTERVAL_NS / 2n;
    assert.equal(clock.currentOffsetNs(), before);
    clocks.hostNs += RESAMPLE_INTERVAL_NS / 2n;
    assert.equal(clock.currentOffsetNs(), before + 5_000_000_000n);
  });

  it('keeps the best sample: millisecond flooring never moves the offset backwards', () => {
    const clocks = new FakeClocks();
    clocks.hostNs += 999_000n; // first sample 0.999 ms low
    const clock = new MonotonicClock(clocks, 0n);
    let last = clock.currentOffsetNs();
    for (let i = 1; i <= 50; i++) {
      clocks.hostNs += RESAMPLE_INTERVAL_NS + BigInt(i) * 17_000n;
      const offset = clock.currentOffsetNs();
      assert.ok(offset >= last, `sample ${i}: ${offset} < ${last}`);
      last = offset;
    }
    const exact = BigInt(WALL_AT_BOOT_MS) * 1_000_000n;
    assert.ok(exact - last >= 0n && exact - last < 1_000_000n);
  });

  it('in a time namespace, takes the namespace offset out: BPF reads the host clock', () => {
    const day = 86_400n * SECOND;
    const clocks = new FakeClocks(day); // the process's monotonic clock runs a day ahead of the host's
    const clock = new MonotonicClock(clocks, day);
    const event = clocks.hostNs - SECOND; // bpf_ktime_get_ns(): host time
    const error = trueWallNs(event) - ns(clock.toHrTime(event));
    assert.ok(error >= 0n && error < 1_000_000n, `error ${error} ns`);
    // Without the correction every event would be a day early: what the probe saw.
    const naive = new MonotonicClock(clocks, 0n);
    assert.equal(trueWallNs(event) - ns(naive.toHrTime(event)) > day - SECOND, true);
  });
});

describe('timeNamespaceMonotonicOffsetNs', () => {
  it('reads the monotonic line of /proc/self/timens_offsets', () => {
    assert.equal(timeNamespaceMonotonicOffsetNs(() => 'monotonic      86400         5\nboottime           0         0\n'), 86_400n * SECOND + 5n);
    assert.equal(timeNamespaceMonotonicOffsetNs(() => 'monotonic -3600 0\nboottime 0 0\n'), -3_600n * SECOND);
  });
  it('is 0 without time namespace support', () => {
    assert.equal(
      timeNamespaceMonotonicOffsetNs(() => {
        throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      }),
      0n,
    );
  });
});
