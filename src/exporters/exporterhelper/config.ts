// The config keys every network exporter shares, as the Collector's exporterhelper defines them:
// `timeout`, `sending_queue` and `retry_on_failure`. An exporter spreads queueRetrySchema() into
// its own schema, calls validateQueueRetryConfig() from its factory's validate() and
// resolveQueueRetryConfig() from its create(): the keys, their defaults, their checks and their
// documentation are then the same in every exporter.
import type { Schema } from 'convict';
import type { SettingProblem } from '../../component';
import { durationFormat, parseDuration, type DurationSetting } from '../duration';
import type { RetrySettings } from './delivery_queue';

export interface QueueRetryConfig {
  timeout: DurationSetting;
  /** queue_bytes and flush_timeout are optional for configs built in code before they existed; the schema defaults them. */
  sending_queue: { queue_size: number; queue_bytes?: number; flush_timeout?: DurationSetting };
  retry_on_failure: {
    enabled: boolean;
    initial_interval: DurationSetting;
    max_interval: DurationSetting;
    max_elapsed_time: DurationSetting;
    multiplier: number;
    randomization_factor: number;
  };
}

/** The shared keys with durations in milliseconds, as the queue uses them. */
export interface QueueRetrySettings {
  readonly timeoutMs: number;
  readonly queueSize: number;
  /** Bytes of encoded requests that may wait (for the signals whose queue holds encoded requests). */
  readonly queueBytes: number;
  /** How long a lone batch waits for more to join it into one request (0: never). */
  readonly flushTimeoutMs?: number;
  readonly retry: RetrySettings;
}

/** 16 MiB: about 45,000 tcpscope events, at ~350 bytes each encoded. */
export const DEFAULT_QUEUE_BYTES = 16 * 1024 * 1024;

/**
 * 20 ms: at full churn a ring batch is a few hundred records; 20 ms gathers a full request (2048
 * records) at ~100,000 events/s, so that the receiver and the agent pay one export call per 2048
 * records rather than per ring batch, and delays delivery (never the pipeline) by at most that
 * at low rates. Measured in docs/benchmarks.md (bench/otlp_path.ts).
 */
export const DEFAULT_FLUSH_TIMEOUT = '20ms';

/** How the shared keys' documentation speaks of the exporter using them. */
export interface QueueRetryDocs {
  /** Which batches queue_bytes and flush_timeout apply to, as a prefix of their doc: e.g. `logs only: `, or ``. */
  readonly bytesScope: string;
  /** Examples of transient failures for retry_on_failure.enabled, e.g. `unreachable, UNAVAILABLE, timeout`. */
  readonly transientFailures: string;
}

export function positiveInteger(value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 1) throw new Error('must be an integer of at least 1');
}

function numberAtLeast(min: number, max = Infinity): (value: unknown) => void {
  return (value) => {
    if (typeof value !== 'number' || !(value >= min && value <= max)) {
      throw new Error(max === Infinity ? `must be a number of at least ${min}` : `must be a number from ${min} to ${max}`);
    }
  };
}

// Duration keys have string defaults: see ../duration.ts for why.
export function queueRetrySchema(docs: QueueRetryDocs): Schema<QueueRetryConfig> {
  return {
    timeout: {
      doc: 'deadline of one export attempt, and how long shutdown keeps delivering queued batches',
      format: durationFormat(1),
      default: '10s',
    },
    sending_queue: {
      queue_size: {
        doc: 'batches per signal that may wait while the backend is slow or down; beyond it the oldest waiting batch is dropped and counted',
        format: positiveInteger,
        default: 100,
      },
      queue_bytes: {
        doc: `${docs.bytesScope}bytes of encoded export requests that may wait, besides queue_size; beyond it the oldest waiting batch is dropped and counted. Bounds the memory the queue holds while the backend is down`,
        format: positiveInteger,
        default: DEFAULT_QUEUE_BYTES,
      },
      flush_timeout: {
        doc: `${docs.bytesScope}how long a lone waiting batch is held for later batches to join it into one export request (of at most 2048 records), unless a flush or shutdown needs it now; 0 sends every batch as soon as the sender is free. Fewer, larger requests cost the agent less CPU per record`,
        format: durationFormat(0),
        default: DEFAULT_FLUSH_TIMEOUT,
      },
    },
    retry_on_failure: {
      enabled: {
        doc: `retry batches that failed for a transient reason (${docs.transientFailures}); false drops them at the first failure`,
        format: Boolean,
        default: true,
      },
      initial_interval: {
        doc: 'wait before the first retry',
        format: durationFormat(1),
        default: '5s',
      },
      max_interval: {
        doc: 'longest wait between retries',
        format: durationFormat(1),
        default: '30s',
      },
      max_elapsed_time: {
        doc: 'how long one batch is retried before it is dropped; 0 retries until shutdown',
        format: durationFormat(0),
        default: '300s',
      },
      multiplier: {
        doc: 'growth factor of the wait after each failed attempt',
        format: numberAtLeast(1),
        default: 1.5,
      },
      randomization_factor: {
        doc: 'jitter: each wait is spread over interval × [1 - f, 1 + f]',
        format: numberAtLeast(0, 1),
        default: 0.5,
      },
    },
  };
}

/** Checks across the shared keys, for the exporter factory's validate(). */
export function validateQueueRetryConfig(config: QueueRetryConfig): SettingProblem | undefined {
  const retry = config.retry_on_failure;
  if (parseDuration(retry.max_interval) < parseDuration(retry.initial_interval)) {
    return {
      key: 'retry_on_failure.max_interval',
      message: `must be at least initial_interval (${JSON.stringify(retry.initial_interval)}), got ${JSON.stringify(retry.max_interval)}`,
    };
  }
  return undefined;
}

/** Durations in milliseconds; `config` passed validateQueueRetryConfig(). */
export function resolveQueueRetryConfig(config: QueueRetryConfig): QueueRetrySettings {
  const retry = config.retry_on_failure;
  return {
    timeoutMs: parseDuration(config.timeout),
    queueSize: config.sending_queue.queue_size,
    queueBytes: config.sending_queue.queue_bytes ?? DEFAULT_QUEUE_BYTES,
    flushTimeoutMs: parseDuration(config.sending_queue.flush_timeout ?? DEFAULT_FLUSH_TIMEOUT),
    retry: {
      enabled: retry.enabled,
      initialIntervalMs: parseDuration(retry.initial_interval),
      maxIntervalMs: parseDuration(retry.max_interval),
      maxElapsedTimeMs: parseDuration(retry.max_elapsed_time),
      multiplier: retry.multiplier,
      randomizationFactor: retry.randomization_factor,
    },
  };
}
