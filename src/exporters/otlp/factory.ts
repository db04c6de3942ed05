// The `otlp` exporter: OTLP over gRPC to a Collector or any OTLP backend.
import type { ExporterFactory } from '../../component';
import { otlpExporterSchema, resolveOtlpExporterConfig, validateOtlpExporterConfig, type OtlpExporterConfig } from './config';

export type { OtlpExporterConfig } from './config';

export const otlpExporterFactory: ExporterFactory<OtlpExporterConfig> = {
  kind: 'exporter',
  type: 'otlp',
  signals: ['metrics', 'logs'],
  schema: otlpExporterSchema,
  validate: validateOtlpExporterConfig,
  create: (settings, config, signals) => {
    // Loaded on first use: gRPC and the OTLP SDK exporters cost ~12 MB of RSS, which an agent
    // without an otlp exporter should not pay.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { OtlpExporter } = require('./otlp_exporter') as typeof import('./otlp_exporter');
    return new OtlpExporter(settings, resolveOtlpExporterConfig(config), signals);
  },
};
