// Config of the `prometheus` exporter, as written under `exporters: prometheus[/name]:`.
import type { Schema } from 'convict';
import { parseHealthEndpoint } from '../../health/endpoint';
import { durationFormat, parseDuration, type DurationSetting } from '../duration';
import type { ExponentialHistogramMode } from './families';

export const EXPONENTIAL_HISTOGRAM_MODES = ['native', 'classic', 'both'] as const;

export interface PrometheusExporterConfig {
  /** host:port the scrape endpoint listens on. */
  endpoint: string;
  /** exponential histograms (the RTT) as native histograms, classic buckets, or both. */
  exponential_histograms: ExponentialHistogramMode;
  /** Resource attributes added as labels to every series (besides target_info). */
  promote_resource_attributes: string[];
  /** otel_scope_name / otel_scope_version labels. */
  scope_labels: boolean;
  /** How long a series that left the pipeline's data waits for a scrape before it is dropped. */
  metric_expiration: DurationSetting;
}

/** The config resolved, as the exporter uses it. */
export interface PrometheusExporterSettings {
  readonly host: string;
  readonly port: number;
  readonly exponentialHistograms: ExponentialHistogramMode;
  readonly promoteResourceAttributes: readonly string[];
  readonly scopeLabels: boolean;
  readonly metricExpirationMs: number;
}

export const METRICS_PATH = '/metrics';

export const prometheusExporterSchema: Schema<PrometheusExporterConfig> = {
  endpoint: {
    doc: `host:port where Prometheus scrapes GET ${METRICS_PATH} (text format 0.0.4, or protobuf when the scraper asks for it)`,
    format: (value: unknown) => {
      try {
        parseHealthEndpoint(String(value));
      } catch {
        throw new Error('must be host:port with a port in 0..65535 (e.g. "0.0.0.0:9464", "127.0.0.1:0" or "[::]:9464")');
      }
      if (typeof value !== 'string') throw new Error('must be host:port with a port in 0..65535 (e.g. "0.0.0.0:9464", "127.0.0.1:0" or "[::]:9464")');
    },
    default: '0.0.0.0:9464',
  },
  exponential_histograms: {
    doc: 'what OpenTelemetry exponential histograms (system.network.tcp.rtt.duration) become for a protobuf scrape: native (native histograms, schema = scale), classic (buckets at powers of two) or both in one histogram (Prometheus then keeps the native one, or both with scrape_classic_histograms); the text format always carries the classic buckets',
    format: [...EXPONENTIAL_HISTOGRAM_MODES],
    default: 'both',
  },
  promote_resource_attributes: {
    doc: 'resource attributes (e.g. host.name, k8s.node.name) to add as labels to every series; all of them are always on target_info',
    format: (value: unknown) => {
      if (!Array.isArray(value) || !value.every((key) => typeof key === 'string' && key !== '')) {
        throw new Error('must be a list of resource attribute names, e.g. [host.name, k8s.node.name]');
      }
    },
    default: [],
  },
  scope_labels: {
    doc: 'add otel_scope_name and otel_scope_version labels (the emitting receiver or tcpscope/agent) to every series, as the OpenTelemetry compatibility spec asks',
    format: Boolean,
    default: true,
  },
  metric_expiration: {
    doc: 'a series that left the pipeline\'s data (a removed cgroup\'s) is served by one more scrape, then dropped; if no scrape comes, it is dropped after this long',
    format: durationFormat(1),
    default: '5m',
  },
};

export function resolvePrometheusExporterConfig(config: PrometheusExporterConfig): PrometheusExporterSettings {
  const { host, port } = parseHealthEndpoint(config.endpoint);
  return {
    host,
    port,
    exponentialHistograms: config.exponential_histograms,
    promoteResourceAttributes: [...config.promote_resource_attributes],
    scopeLabels: config.scope_labels,
    metricExpirationMs: parseDuration(config.metric_expiration),
  };
}
