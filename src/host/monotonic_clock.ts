// BPF timestamps are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns); process.hrtime uses the
// same clock on Linux, so one offset taken at start converts them to wall-clock time.
import type { HrTime } from '@opentelemetry/api';

export class MonotonicClock {
  private readonly offsetNs: bigint;

  constructor() {
    const wallNs = BigInt(Date.now()) * 1_000_000n;
    this.offsetNs = wallNs - process.hrtime.bigint();
  }

  /** Wall-clock HrTime of a kernel monotonic timestamp. */
  toHrTime(monotonicNs: bigint): HrTime {
    const wall = monotonicNs + this.offsetNs;
    return [Number(wall / 1_000_000_000n), Number(wall % 1_000_000_000n)];
  }
}

export function hrTimeNow(): HrTime {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}
