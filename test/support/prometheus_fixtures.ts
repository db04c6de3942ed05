// Metrics in the shapes tcpscope's receivers push, for the prometheus exporter's unit tests.
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

const START: [number, number] = [1_700_000_000, 0];
const END: [number, number] = [1_700_000_010, 0];

export const RECEIVER_SCOPE = { name: 'tcpscope/receiver/tcp_test', version: '0.1.0' };

export const RESOURCE = resourceFromAttributes({ 'service.name': 'tcpscope', 'service.instance.id': 'i-1', 'host.name': 'node-1' });

export function counter(name: string, unit: string, points: [Record<string, string>, number][]): MetricData {
  return {
    descriptor: { name, description: `${name} help`, unit, valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: points.map(([attributes, value]) => ({ startTime: START, endTime: END, attributes, value })),
  };
}

export function upDown(name: string, unit: string, points: [Record<string, string>, number][]): MetricData {
  return { ...counter(name, unit, points), isMonotonic: false } as MetricData;
}

/** Explicit bounds [0.001, 0.01], counts [1, 2, 3]: count 6, sum 1.5. */
export function explicitHistogram(name: string, attributes: Record<string, string>): MetricData {
  return {
    descriptor: { name, description: 'durations', unit: 's', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [{ startTime: START, endTime: END, attributes, value: { buckets: { boundaries: [0.001, 0.01], counts: [1, 2, 3] }, sum: 1.5, count: 6 } }],
  };
}

/**
 * Scale 3, one zero, and positive buckets at OpenTelemetry indexes -80 (2), -78 (1), -66 (5):
 * count 9, sum 0.05.
 */
export function exponentialHistogram(name: string, attributes: Record<string, string>, scale = 3): MetricData {
  const bucketCounts = new Array<number>(15).fill(0);
  bucketCounts[0] = 2;
  bucketCounts[2] = 1;
  bucketCounts[14] = 5;
  return {
    descriptor: { name, description: 'round trip times', unit: 's', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
    dataPoints: [
      {
        startTime: START,
        endTime: END,
        attributes,
        value: { count: 9, sum: 0.05, scale, zeroCount: 1, positive: { offset: -80, bucketCounts }, negative: { offset: 0, bucketCounts: [] } },
      },
    ],
  };
}

export function push(metrics: MetricData[], scope = RECEIVER_SCOPE): ResourceMetrics {
  return { resource: RESOURCE, scopeMetrics: [{ scope, metrics }] };
}
