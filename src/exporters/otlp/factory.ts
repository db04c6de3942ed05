// The `otlp` exporter: OTLP over gRPC to a Collector or any OTLP backend.
import type { ExporterFactory } from '../../component';
import { otlpExporterSchema, resolveOtlpExporterConfig, type OtlpExporterConfig } from './config';
import { OtlpExporter } from './otlp_exporter';

export type { OtlpExporterConfig } from './config';
export { OtlpExporter } from './otlp_exporter';

export const otlpExporterFactory: ExporterFactory<OtlpExporterConfig> = {
  kind: 'exporter',
  type: 'otlp',
  signals: ['metrics', 'logs'],
  schema: otlpExporterSchema,
  create: (settings, config, signals) =>
    new OtlpExporter(settings, resolveOtlpExporterConfig(config, `exporters.${settings.id.text}`), signals),
};
