// The `prometheus` exporter: an endpoint Prometheus scrapes (metrics only).
import type { ExporterFactory } from '../../component';
import { prometheusExporterSchema, resolvePrometheusExporterConfig, type PrometheusExporterConfig } from './config';

export type { PrometheusExporterConfig } from './config';

export const prometheusExporterFactory: ExporterFactory<PrometheusExporterConfig> = {
  kind: 'exporter',
  type: 'prometheus',
  signals: ['metrics'],
  schema: prometheusExporterSchema,
  create: (settings, config, signals) => {
    // Loaded on first use, like every exporter with code of its own to load: an agent without a
    // prometheus exporter does not parse or hold it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PrometheusExporter } = require('./prometheus_exporter') as typeof import('./prometheus_exporter');
    return new PrometheusExporter(settings, resolvePrometheusExporterConfig(config), signals);
  },
};
