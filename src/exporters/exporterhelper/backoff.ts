// Exponential backoff with jitter, with the semantics of the Collector's retry_on_failure (which
// uses cenkalti/backoff): each wait is the current interval randomized by ±randomization_factor,
// the interval grows by `multiplier` up to max_interval, and retrying stops once the next wait
// would end past max_elapsed_time (0: never stop).

export interface BackoffSettings {
  readonly initialIntervalMs: number;
  readonly maxIntervalMs: number;
  /** 0 means no limit. */
  readonly maxElapsedTimeMs: number;
  readonly multiplier: number;
  /** 0 gives exact intervals; 0.5 spreads each wait over [0.5, 1.5] × interval. */
  readonly randomizationFactor: number;
}

export class ExponentialBackoff {
  private interval: number;

  constructor(
    private readonly settings: BackoffSettings,
    /** Uniform in [0, 1); injectable so tests get exact waits. */
    private readonly random: () => number = Math.random,
  ) {
    this.interval = settings.initialIntervalMs;
  }

  /** The next wait in ms, or undefined when waiting it would pass the elapsed-time limit. */
  next(elapsedMs: number): number | undefined {
    const { maxIntervalMs, maxElapsedTimeMs, multiplier, randomizationFactor } = this.settings;
    // Jitter keeps a fleet of agents that lost the same Collector from retrying in lockstep.
    const delta = randomizationFactor * this.interval;
    const wait = this.interval - delta + this.random() * 2 * delta;
    this.interval = this.interval >= maxIntervalMs / multiplier ? maxIntervalMs : this.interval * multiplier;
    if (maxElapsedTimeMs > 0 && elapsedMs + wait > maxElapsedTimeMs) return undefined;
    return wait;
  }
}
