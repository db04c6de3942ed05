// The `otlphttp` exporter: OTLP over HTTP (protobuf or JSON) to a Collector, a gateway or any
// OTLP/HTTP backend.
import type { ExporterFactory } from '../../component';
import { otlpHttpExporterSchema, resolveOtlpHttpExporterConfig, validateOtlpHttpExporterConfig, type OtlpHttpExporterConfig } from './config';

export type { OtlpHttpExporterConfig } from './config';

export const otlpHttpExporterFactory: ExporterFactory<OtlpHttpExporterConfig> = {
  kind: 'exporter',
  type: 'otlphttp',
  signals: ['metrics', 'logs'],
  schema: otlpHttpExporterSchema,
  validate: validateOtlpHttpExporterConfig,
  create: (settings, config, signals) => {
    // Loaded on first use: the encoders and node:https are paid for only by an agent that sends
    // OTLP/HTTP (the metrics protobuf serializer only by one with a metrics pipeline).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { OtlpHttpExporter } = require('./otlphttp_exporter') as typeof import('./otlphttp_exporter');
    return new OtlpHttpExporter(settings, resolveOtlpHttpExporterConfig(config), signals);
  },
};
