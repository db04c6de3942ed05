// Time as the delivery queue sees it, injectable so tests drive backoff without sleeping.
//
// Monotonic: backoff waits, max_elapsed_time and linger deadlines are intervals, and the wall
// clock is not a ruler for intervals: an NTP step or a suspended VM would make a retry wait
// forever, or give up on a batch at once.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Clock {
  /** Milliseconds on a monotonic scale with an arbitrary origin: only differences mean anything. */
  now(): number;
  /** Resolves after `ms`, or as soon as `wake` aborts; never rejects. */
  sleep(ms: number, wake: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  // ref: false: a batch waiting to be retried must not by itself keep the agent process alive.
  sleep: (ms, wake) => sleep(ms, undefined, { signal: wake, ref: false }).catch(() => undefined),
};
