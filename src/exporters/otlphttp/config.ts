// Config of the `otlphttp` exporter, as written under `exporters: otlphttp[/name]:`, shaped like
// the Collector's otlphttp exporter (endpoint, metrics_endpoint, logs_endpoint, encoding, headers,
// compression, tls, and the shared timeout, sending_queue and retry_on_failure of
// ../exporterhelper/config.ts).
import { readFileSync } from 'node:fs';
import type { Schema } from 'convict';
import type { SettingProblem } from '../../component';
import { ConfigError } from '../../errors';
import { queueRetrySchema, resolveQueueRetryConfig, validateQueueRetryConfig, type QueueRetryConfig, type QueueRetrySettings } from '../exporterhelper/config';

export type OtlpHttpEncoding = 'proto' | 'json';

export interface OtlpHttpExporterConfig extends QueueRetryConfig {
  endpoint: string;
  metrics_endpoint: string;
  logs_endpoint: string;
  encoding: OtlpHttpEncoding;
  headers: Record<string, string>;
  compression: 'none' | 'gzip';
  tls: { ca_file: string; cert_file: string; key_file: string; insecure_skip_verify: boolean };
}

/** TLS material as read from the configured files (absent: the system CAs, no client certificate). */
export interface OtlpHttpTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly insecureSkipVerify: boolean;
}

/** The config resolved for the exporter: full URLs per signal, durations in ms, TLS files read. */
export interface OtlpHttpExporterSettings extends QueueRetrySettings {
  readonly metricsUrl: string;
  readonly logsUrl: string;
  readonly encoding: OtlpHttpEncoding;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: 'none' | 'gzip';
  readonly tls: OtlpHttpTls;
}

// RFC 9110 field names are tokens; values printable ASCII (no CR/LF: a header cannot smuggle another).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\x20-\x7e]*$/;
// Set by the exporter itself from `encoding` and `compression`, and by Node for the body.
const RESERVED_HEADERS = new Set(['content-type', 'content-encoding', 'content-length', 'transfer-encoding', 'host', 'connection']);

function urlProblem(value: unknown, optional: boolean): string | undefined {
  if (optional && value === '') return undefined;
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    return 'must be an http:// or https:// URL, e.g. https://otlp.example.com:4318';
  }
  if (typeof value !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:')) return 'must be an http:// or https:// URL, e.g. https://otlp.example.com:4318';
  if (url.search !== '' || url.hash !== '') return 'must have no query or fragment';
  if (url.username !== '' || url.password !== '') return 'must carry no credentials; put them in headers (e.g. authorization)';
  return undefined;
}

function urlFormat(optional: boolean): (value: unknown) => void {
  return (value) => {
    const problem = urlProblem(value, optional);
    if (problem !== undefined) throw new Error(optional ? `${problem}, or "" to derive it from endpoint` : problem);
  };
}

function headersFormat(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('must be a map of header name to string value');
  }
  for (const [key, v] of Object.entries(value)) {
    if (!HEADER_NAME.test(key)) throw new Error(`header name ${JSON.stringify(key)} must be an HTTP token (letters, digits, "-", "_", ".", …)`);
    if (RESERVED_HEADERS.has(key.toLowerCase())) throw new Error(`header ${JSON.stringify(key)} is set by the exporter (from encoding and compression); remove it`);
    if (typeof v !== 'string' || !HEADER_VALUE.test(v)) {
      throw new Error(`header ${JSON.stringify(key)} must have a printable ASCII string value (quote numbers in YAML)`);
    }
  }
}

function pathFormat(value: unknown): void {
  if (typeof value !== 'string') throw new Error('must be a file path, or "" for none');
}

export const otlpHttpExporterSchema: Schema<OtlpHttpExporterConfig> = {
  endpoint: {
    doc: 'base URL of the OTLP/HTTP receiver (a Collector or a backend): /v1/metrics and /v1/logs are appended to its path; https:// uses TLS',
    format: urlFormat(false),
    default: 'http://localhost:4318',
  },
  metrics_endpoint: {
    doc: 'full URL metrics are posted to, used as it is; "" derives it from endpoint',
    format: urlFormat(true),
    default: '',
  },
  logs_endpoint: {
    doc: 'full URL logs are posted to, used as it is; "" derives it from endpoint',
    format: urlFormat(true),
    default: '',
  },
  encoding: {
    doc: 'body encoding: proto (application/x-protobuf) or json (application/json, the OTLP/JSON mapping)',
    format: ['proto', 'json'],
    default: 'proto',
  },
  headers: {
    doc: 'HTTP headers sent with every export, e.g. an authorization token',
    format: headersFormat,
    default: {},
  },
  compression: {
    doc: 'compression of request bodies',
    format: ['gzip', 'none'],
    default: 'gzip',
  },
  tls: {
    ca_file: {
      doc: 'https: PEM file of the CAs that verify the server, instead of the system CAs; "" for the system CAs',
      format: pathFormat,
      default: '',
    },
    cert_file: {
      doc: 'https: PEM file of a client certificate (with key_file), for servers that require one',
      format: pathFormat,
      default: '',
    },
    key_file: {
      doc: 'https: PEM file of the private key of cert_file',
      format: pathFormat,
      default: '',
    },
    insecure_skip_verify: {
      doc: 'https: true accepts any server certificate (encrypted but not authenticated: for tests only)',
      format: Boolean,
      default: false,
    },
  },
  ...queueRetrySchema({ bytesScope: '', transientFailures: 'unreachable, timeout, HTTP 429, 502, 503, 504' }),
};

const TLS_FILES = ['ca_file', 'cert_file', 'key_file'] as const;

function readable(path: string): string | undefined {
  try {
    readFileSync(path);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return `cannot be read (${code}): ${JSON.stringify(path)}; give a readable PEM file, or "" for none`;
  }
}

/** The otlphttp factory's validate(): checks across keys and the TLS files on this host now. */
export function validateOtlpHttpExporterConfig(config: OtlpHttpExporterConfig): SettingProblem | undefined {
  const { tls } = config;
  if ((tls.cert_file === '') !== (tls.key_file === '')) {
    return { key: tls.cert_file === '' ? 'tls.cert_file' : 'tls.key_file', message: 'a client certificate needs both cert_file and key_file; give both or neither' };
  }
  for (const key of TLS_FILES) {
    const problem = tls[key] === '' ? undefined : readable(tls[key]);
    if (problem !== undefined) return { key: `tls.${key}`, message: problem };
  }
  // TLS settings with no https:// URL to apply them to are a mistake (plain HTTP would be sent
  // where the operator meant to authenticate the server), not something to ignore.
  const urls = [config.metrics_endpoint || signalUrl(config.endpoint, 'metrics'), config.logs_endpoint || signalUrl(config.endpoint, 'logs')];
  const setting = TLS_FILES.find((key) => tls[key] !== '') ?? (tls.insecure_skip_verify ? 'insecure_skip_verify' : undefined);
  if (setting !== undefined && !urls.some((url) => url.startsWith('https:'))) {
    return { key: `tls.${setting}`, message: `applies to https:// endpoints only, and ${JSON.stringify(config.endpoint)} and the per-signal endpoints are http://; use an https:// URL, or remove the tls settings` };
  }
  return validateQueueRetryConfig(config);
}

/** `endpoint` with `/v1/<signal>` appended to its path, as the OTLP/HTTP specification says. */
export function signalUrl(endpoint: string, signal: 'metrics' | 'logs'): string {
  const url = new URL(endpoint);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/${signal}`;
  return url.toString();
}

function readTlsFile(config: OtlpHttpExporterConfig, key: (typeof TLS_FILES)[number]): Buffer | undefined {
  const path = config.tls[key];
  if (path === '') return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`tls.${key}`, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): ${JSON.stringify(path)}`, { cause: error });
  }
}

/** URLs, milliseconds and TLS files read; `config` passed validateOtlpHttpExporterConfig(). */
export function resolveOtlpHttpExporterConfig(config: OtlpHttpExporterConfig): OtlpHttpExporterSettings {
  const ca = readTlsFile(config, 'ca_file');
  const cert = readTlsFile(config, 'cert_file');
  const key = readTlsFile(config, 'key_file');
  return {
    metricsUrl: config.metrics_endpoint === '' ? signalUrl(config.endpoint, 'metrics') : config.metrics_endpoint,
    logsUrl: config.logs_endpoint === '' ? signalUrl(config.endpoint, 'logs') : config.logs_endpoint,
    encoding: config.encoding,
    headers: Object.fromEntries(Object.entries(config.headers).map(([k, v]) => [k.toLowerCase(), v])),
    compression: config.compression,
    tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), insecureSkipVerify: config.tls.insecure_skip_verify },
    ...resolveQueueRetryConfig(config),
  };
}
