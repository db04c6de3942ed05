// Config of the `otlp` exporter, as written under `exporters: otlp[/name]:`, shaped like the
// Collector's otlp exporter (endpoint, tls, headers, compression, timeout, sending_queue,
// retry_on_failure). The queue and retry keys are the shared ones of ../exporterhelper/config.ts.
import type { Schema } from 'convict';
import type { SettingProblem } from '../../component';
import { queueRetrySchema, resolveQueueRetryConfig, validateQueueRetryConfig, type QueueRetryConfig, type QueueRetrySettings } from '../exporterhelper/config';

export { DEFAULT_FLUSH_TIMEOUT, DEFAULT_QUEUE_BYTES } from '../exporterhelper/config';

export interface OtlpExporterConfig extends QueueRetryConfig {
  endpoint: string;
  tls: { insecure: boolean };
  headers: Record<string, string>;
  compression: 'none' | 'gzip';
}

/**
 * The config with durations in milliseconds, as the exporter uses it. queueBytes and
 * flushTimeoutMs apply to logs only: the logs queue holds encoded requests, the metrics queue
 * holds one collection's data each.
 */
export interface OtlpExporterSettings extends QueueRetrySettings {
  readonly endpoint: string;
  readonly insecure: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: 'none' | 'gzip';
}

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
  ...queueRetrySchema({ bytesScope: 'logs only: ', transientFailures: 'unreachable, UNAVAILABLE, timeout' }),
};

/** The otlp factory's validate(): checks across keys, the same for `validate` and `run`. */
export function validateOtlpExporterConfig(config: OtlpExporterConfig): SettingProblem | undefined {
  return validateQueueRetryConfig(config);
}

/** Durations in milliseconds; `config` passed validateOtlpExporterConfig(). */
export function resolveOtlpExporterConfig(config: OtlpExporterConfig): OtlpExporterSettings {
  return {
    endpoint: config.endpoint,
    insecure: config.tls.insecure,
    headers: Object.fromEntries(Object.entries(config.headers).map(([k, v]) => [k.toLowerCase(), v])),
    compression: config.compression,
    ...resolveQueueRetryConfig(config),
  };
}
