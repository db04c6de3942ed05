// Config of the `otlp` exporter, as written under `exporters: otlp[/name]:`, shaped like the
// Collector's otlp exporter (endpoint, tls, headers, compression, timeout, sending_queue,
// retry_on_failure).
import type { Schema } from 'convict';
import type { SettingProblem } from '../../component';
import { durationFormat, parseDuration, type DurationSetting } from '../duration';
import type { RetrySettings } from './delivery_queue';

export interface OtlpExporterConfig {
  endpoint: string;
  tls: { insecure: boolean };
  headers: Record<string, string>;
  compression: 'none' | 'gzip';
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

/** The config with durations in milliseconds, as the exporter uses it. */
export interface OtlpExporterSettings {
  readonly endpoint: string;
  readonly insecure: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: 'none' | 'gzip';
  readonly timeoutMs: number;
  readonly queueSize: number;
  /** Bytes of encoded log requests that may wait (the logs queue holds encoded requests). */
  readonly queueBytes: number;
  /** How long a lone log batch waits for more to join it into one request (0: never). */
  readonly flushTimeoutMs?: number;
  readonly retry: RetrySettings;
}

/** 16 MiB: about 45,000 tcpscope events, at ~350 bytes each encoded. */
export const DEFAULT_QUEUE_BYTES = 16 * 1024 * 1024;

/**
 * 20 ms: at full churn a ring batch is a few hundred records; 20 ms gathers a full request (2048
 * records) at ~100,000 events/s, so that the receiver and the agent pay one gRPC call per 2048
 * records rather than per ring batch, and delays delivery (never the pipeline) by at most that
 * at low rates. Measured in docs/benchmarks.md (bench/otlp_path.ts).
 */
export const DEFAULT_FLUSH_TIMEOUT = '20ms';

// host:port, with a DNS name, an IPv4 address or a bracketed IPv6 address.
const ENDPOINT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;
// gRPC metadata keys are lowercase ASCII; we lowercase them, as HTTP/2 requires. `-bin` keys
// carry binary values, which a YAML string cannot express.
const HEADER_KEY = /^[A-Za-z0-9_.-]+$/;
const HEADER_VALUE = /^[\x20-\x7e]*$/;

function endpointFormat(value: unknown): void {
  const match = typeof value === 'string' ? ENDPOINT.exec(value) : null;
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new Error(
      'must be host:port, e.g. otel-collector:4317 or [fd00::1]:4317, without a scheme; plaintext or TLS is chosen with tls.insecure',
    );
  }
}

function headersFormat(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('must be a map of header name to string value');
  }
  for (const [key, v] of Object.entries(value)) {
    if (!HEADER_KEY.test(key) || key.toLowerCase().endsWith('-bin')) {
      throw new Error(`header name ${JSON.stringify(key)} must be letters, digits, "-", "_" or "." (and not end in -bin)`);
    }
    if (typeof v !== 'string' || !HEADER_VALUE.test(v)) {
      throw new Error(`header ${JSON.stringify(key)} must have a printable ASCII string value (quote numbers in YAML)`);
    }
  }
}

function positiveInteger(value: unknown): void {
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
export const otlpExporterSchema: Schema<OtlpExporterConfig> = {
  endpoint: {
    doc: 'host:port of the OTLP/gRPC receiver (a Collector or a backend)',
    format: endpointFormat,
    default: 'localhost:4317',
  },
  tls: {
    insecure: {
      doc: 'true: plaintext gRPC; false: TLS, verifying the server against the system CAs',
      format: Boolean,
      default: false,
    },
  },
  headers: {
    doc: 'gRPC metadata sent with every export, e.g. an authorization token',
    format: headersFormat,
    default: {},
  },
  compression: {
    doc: 'compression of export requests',
    format: ['gzip', 'none'],
    default: 'gzip',
  },
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
      doc: 'logs only: bytes of encoded export requests that may wait, besides queue_size; beyond it the oldest waiting batch is dropped and counted. Bounds the memory the queue holds while the backend is down',
      format: positiveInteger,
      default: DEFAULT_QUEUE_BYTES,
    },
    flush_timeout: {
      doc: 'logs only: how long a lone waiting batch is held for later batches to join it into one export request (of at most 2048 records), unless a flush or shutdown needs it now; 0 sends every batch as soon as the sender is free. Fewer, larger requests cost the agent less CPU per record',
      format: durationFormat(0),
      default: DEFAULT_FLUSH_TIMEOUT,
    },
  },
  retry_on_failure: {
    enabled: {
      doc: 'retry batches that failed for a transient reason (unreachable, UNAVAILABLE, timeout); false drops them at the first failure',
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

/** The otlp factory's validate(): checks across keys, the same for `validate` and `run`. */
export function validateOtlpExporterConfig(config: OtlpExporterConfig): SettingProblem | undefined {
  const retry = config.retry_on_failure;
  if (parseDuration(retry.max_interval) < parseDuration(retry.initial_interval)) {
    return {
      key: 'retry_on_failure.max_interval',
      message: `must be at least initial_interval (${JSON.stringify(retry.initial_interval)}), got ${JSON.stringify(retry.max_interval)}`,
    };
  }
  return undefined;
}

/** Durations in milliseconds; `config` passed validateOtlpExporterConfig(). */
export function resolveOtlpExporterConfig(config: OtlpExporterConfig): OtlpExporterSettings {
  const retry = config.retry_on_failure;
  return {
    endpoint: config.endpoint,
    insecure: config.tls.insecure,
    headers: Object.fromEntries(Object.entries(config.headers).map(([k, v]) => [k.toLowerCase(), v])),
    compression: config.compression,
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
