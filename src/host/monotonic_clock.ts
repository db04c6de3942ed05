// Kernel event timestamps are the host's CLOCK_MONOTONIC in nanoseconds (bpf_ktime_get_ns); log
// records need wall-clock time. The conversion adds an offset (wall − monotonic) that is not a
// constant:
// - The wall clock can be stepped (NTP at boot, an operator's `date -s`, a VM resumed) while the
//   monotonic clock runs on. So the offset is re-derived from the clocks at most every
//   RESAMPLE_INTERVAL_NS of monotonic time, lazily on conversion.
// - Date.now() has millisecond resolution, so one sample of the offset is up to 1 ms low. Samples
//   only ever err low, so the largest seen is kept — until a sample is more than STEP_NS below it,
//   which only a backward step of the wall clock explains; a forward step raises it at once.
// - In a time namespace (`unshare --time --monotonic …`, some containers) the process's
//   CLOCK_MONOTONIC is the host's plus the namespace's offset, but BPF programs read the host's
//   clock. The offset from /proc/self/timens_offsets is taken out, or every event would be off by
//   it (a namespace a day ahead put every event a day in the past).
import { readFileSync } from 'node:fs';
import type { HrTime } from '@opentelemetry/api';

/** Where the clocks are read; the process's own in the agent, a fake in tests. */
export interface ClockSource {
  /** Wall-clock milliseconds since the epoch (Date.now()). */
  wallMs(): number;
  /** CLOCK_MONOTONIC nanoseconds as this process sees it (process.hrtime.bigint()). */
  monotonicNs(): bigint;
}

export const systemClockSource: ClockSource = {
  wallMs: () => Date.now(),
  monotonicNs: () => process.hrtime.bigint(),
};

/** How often (monotonic time) the wall − monotonic offset is sampled again. */
export const RESAMPLE_INTERVAL_NS = 1_000_000_000n;
/** A sample this far below the kept offset is a backward step of the wall clock, not resolution. */
export const STEP_NS = 2_000_000n;

/**
 * This process's CLOCK_MONOTONIC minus the host's, from /proc/self/timens_offsets (`monotonic
 * <seconds> <nanoseconds>`); 0 outside a time namespace or on kernels without them (< 5.6).
 */
export function timeNamespaceMonotonicOffsetNs(read: () => string = () => readFileSync('/proc/self/timens_offsets', 'utf8')): bigint {
  let text: string;
  try {
    text = read();
  } catch {
    return 0n;
  }
  const match = /^monotonic\s+(-?\d+)\s+(\d+)\s*$/m.exec(text);
  return match ? BigInt(match[1]) * 1_000_000_000n + BigInt(match[2]) : 0n;
}

export class MonotonicClock {
  /** Wall-clock ns minus host CLOCK_MONOTONIC ns. */
  private offsetNs: bigint;
  private sampledAtNs: bigint;

  constructor(
    private readonly source: ClockSource = systemClockSource,
    /** The process's monotonic clock minus the host's (BPF's). */
    private readonly namespaceOffsetNs: bigint = timeNamespaceMonotonicOffsetNs(),
  ) {
    const first = this.sample();
    this.offsetNs = first.offsetNs;
    this.sampledAtNs = first.atNs;
  }

  /** Wall-clock HrTime of a kernel (host CLOCK_MONOTONIC) timestamp. */
  toHrTime(monotonicNs: bigint): HrTime {
    const wall = monotonicNs + this.currentOffsetNs();
    return [Number(wall / 1_000_000_000n), Number(wall % 1_000_000_000n)];
  }

  /**
   * Wall-clock now through the same offset as toHrTime: the age of a record this clock stamped,
   * now − its hrTime, is never negative (the offset only rises, unless the wall clock stepped back).
   */
  nowHrTime(): HrTime {
    return this.toHrTime(this.source.monotonicNs() - this.namespaceOffsetNs);
  }

  /** The offset in use, re-derived when the last sample is older than RESAMPLE_INTERVAL_NS. */
  currentOffsetNs(): bigint {
    const now = this.source.monotonicNs();
    if (now - this.sampledAtNs >= RESAMPLE_INTERVAL_NS) {
      const { offsetNs } = this.sample();
      this.sampledAtNs = now;
      if (offsetNs > this.offsetNs || this.offsetNs - offsetNs > STEP_NS) this.offsetNs = offsetNs;
    }
    return this.offsetNs;
  }

  private sample(): { offsetNs: bigint; atNs: bigint } {
    const atNs = this.source.monotonicNs();
    const wallNs = BigInt(this.source.wallMs()) * 1_000_000n;
    return { offsetNs: wallNs - (atNs - this.namespaceOffsetNs), atNs };
  }
}

let processClock: MonotonicClock | undefined;

/**
 * The agent's one kernel-to-wall clock: every receiver stamps its records with it and the pipeline
 * measures event delay against it (src/pipeline/event_delay.ts), so the two share one offset.
 */
export function processMonotonicClock(): MonotonicClock {
  processClock ??= new MonotonicClock();
  return processClock;
}

export function hrTimeNow(): HrTime {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}
