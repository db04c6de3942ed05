// One export attempt over OTLP/gRPC. Metrics go through the OpenTelemetry JS SDK's exporter (which
// owns their protobuf encoding, the channel, compression and deadlines); logs go as pre-encoded
// bytes through ./logs_grpc_sender.ts (gRPC over node:http2, no grpc-js), classified by the same
// rules. The SDK's gRPC exporters do not retry and report every failure alike, so the outcome is
// classified by gRPC status (./grpc_status.ts), the way the OTLP specification says a client
// must: retry only the transient ones. grpc-js is loaded only when a metrics sender is made.
import type { ExportResult } from '@opentelemetry/core';
import type { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type * as GrpcJs from '@grpc/grpc-js';
import type { OtlpExporterSettings } from './config';
import type { SendOutcome } from '../exporterhelper/delivery_queue';
import type { BatchSender } from '../exporterhelper/sender';
import { classify } from './grpc_status';

export { classify } from './grpc_status';

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
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { credentials, Metadata } = require('@grpc/grpc-js') as typeof GrpcJs;
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
