// The one-line summary printed for every export at every verbosity (the Collector logs the same
// counts as fields of its "Metrics"/"Logs" lines).
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { dataPointCount, metricCount } from '../signal_counts';
import { plural } from './text';

export function metricsSummary(data: ResourceMetrics): string {
  return `Metrics: ${plural(metricCount(data), 'metric', 'metrics')}, ${plural(dataPointCount(data), 'data point', 'data points')}`;
}

export function logsSummary(records: readonly ReadableLogRecord[]): string {
  return `Logs: ${plural(records.length, 'log record', 'log records')}`;
}
