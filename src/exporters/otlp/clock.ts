// Time as the delivery queue sees it, injectable so tests drive backoff without sleeping.
import { setTimeout as sleep } from 'node:timers/promises';

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or as soon as `wake` aborts; never rejects. */
  sleep(ms: number, wake: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // ref: false: a batch waiting to be retried must not by itself keep the agent process alive.
  sleep: (ms, wake) => sleep(ms, undefined, { signal: wake, ref: false }).catch(() => undefined),
};
