// One export attempt over OTLP/gRPC. Metrics go through the OpenTelemetry JS SDK's exporter (which
// owns their protobuf encoding, the channel, compression and deadlines); logs go as pre-encoded
// bytes through ./logs_grpc_sender.ts, classified by the same rules. The SDK's gRPC exporters do not
// retry and report every failure alike, so the outcome is classified here, by gRPC status, the
// way the OTLP specification says a client must: retry only the transient ones.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import type { OtlpExporterSettings } from './config';
import type { SendOutcome } from '../exporterhelper/delivery_queue';
import type { BatchSender } from '../exporterhelper/sender';

export type { BatchSender } from '../exporterhelper/sender';

// OTLP/gRPC spec, "Failures": these codes are transient; all others mean the data was refused.
const RETRYABLE = new Set<number>([
  status.CANCELLED,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
  status.OUT_OF_RANGE,
  status.UNAVAILABLE,
  status.DATA_LOSS,
]);

export function classify(result: ExportResult): SendOutcome {
  if (result.code === ExportResultCode.SUCCESS) return { kind: 'sent' };
  const error = result.error as (Error & { code?: unknown; details?: unknown }) | undefined;
  if (error && typeof error.code === 'number') {
    const reason = `${status[error.code] ?? `status ${error.code}`}: ${typeof error.details === 'string' && error.details ? error.details : error.message}`;
    return { kind: RETRYABLE.has(error.code) ? 'retryable' : 'permanent', reason: withTlsHint(reason) };
  }
  // No gRPC status: the request could not even be built (encoding, credentials): retrying the
  // same batch would fail the same way.
  return { kind: 'permanent', reason: error?.message ?? 'export failed' };
}

// OpenSSL's complaint when the first bytes back from the server are not a TLS record: the
// endpoint speaks plaintext (a Collector's OTLP receiver without tls), the most common mistake.
const PLAINTEXT_PEER = /wrong version number|WRONG_VERSION_NUMBER|packet length too long/i;

function withTlsHint(reason: string): string {
  if (!PLAINTEXT_PEER.test(reason)) return reason;
  return `${reason.trimEnd()} (the endpoint answered a TLS handshake in plaintext: if it serves plaintext gRPC, set tls.insecure: true)`;
}

interface SdkExporter<T> {
  export(items: T, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

class SdkSender<T> implements BatchSender<T> {
  constructor(private readonly exporter: SdkExporter<T>) {}

  send(batch: T): Promise<SendOutcome> {
    return new Promise((resolve) => {
      try {
        this.exporter.export(batch, (result) => resolve(classify(result)));
      } catch (error) {
        resolve({ kind: 'permanent', reason: (error as Error).message });
      }
    });
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }
}

type SdkGrpcOptions = NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>;

function sdkOptions(settings: OtlpExporterSettings): SdkGrpcOptions {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(settings.headers)) metadata.set(key, value);
  return {
    // The SDK wants a URL; the scheme only steers its defaults, as credentials are explicit.
    url: `${settings.insecure ? 'http' : 'https'}://${settings.endpoint}`,
    credentials: settings.insecure ? credentials.createInsecure() : credentials.createSsl(),
    metadata,
    compression: settings.compression as SdkGrpcOptions['compression'],
    timeoutMillis: settings.timeoutMs,
  };
}

export function createMetricsSender(settings: OtlpExporterSettings): BatchSender<ResourceMetrics> {
  // Loaded here, not at the top: the SDK's metrics exporter brings its own OTLP/HTTP and protobuf
  // code (~350 modules, ~7 MB of RSS) that an exporter in a logs pipeline only never uses.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-grpc') as typeof import('@opentelemetry/exporter-metrics-otlp-grpc');
  return new SdkSender(new OTLPMetricExporter(sdkOptions(settings)));
}
