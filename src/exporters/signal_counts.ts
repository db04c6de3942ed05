// How many items a batch carries, counted the way the Collector counts them in its own
// telemetry: data points for metrics, log records for logs.
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Signal, SignalData } from '../component';

export function metricCount(data: ResourceMetrics): number {
  let n = 0;
  for (const scope of data.scopeMetrics) n += scope.metrics.length;
  return n;
}

export function dataPointCount(data: ResourceMetrics): number {
  let n = 0;
  for (const scope of data.scopeMetrics) {
    for (const metric of scope.metrics) n += metric.dataPoints.length;
  }
  return n;
}

export function itemCount<S extends Signal>(signal: S, data: SignalData[S]): number {
  return signal === 'metrics'
    ? dataPointCount(data as SignalData['metrics'])
    : (data as SignalData['logs']).length;
}
