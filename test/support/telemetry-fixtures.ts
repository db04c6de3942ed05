// Fixed telemetry for exporter tests, built by hand the way receivers build it: one resource,
// one scope, a sum, a gauge, an explicit-bucket and an exponential histogram, and two tcp.*
// events. Every timestamp is fixed so encoded output can be compared exactly.
import { ValueType, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';

/** 2023-11-14T22:13:20Z */
export const START: HrTime = [1700000000, 0];
/** 2023-11-14T22:13:30.000000500Z */
export const END: HrTime = [1700000010, 500];

export const resource = resourceFromAttributes({ 'service.name': 'tcpscope', 'host.name': 'node-1' });
export const scope = { name: 'tcpscope', version: '0.1.0' };

export function sampleMetrics(): ResourceMetrics {
  return {
    resource,
    scopeMetrics: [
      {
        scope,
        metrics: [
          {
            descriptor: { name: 'system.network.tcp.io', description: 'Bytes moved over TCP', unit: 'By', valueType: ValueType.INT },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: [
              { startTime: START, endTime: END, attributes: { 'network.io.direction': 'transmit' }, value: 5 },
              { startTime: START, endTime: END, attributes: { 'network.io.direction': 'receive' }, value: 7 },
            ],
          },
          {
            descriptor: { name: 'tcpscope.test.ratio', description: '', unit: '1', valueType: ValueType.DOUBLE },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.GAUGE,
            dataPoints: [{ startTime: START, endTime: END, attributes: {}, value: 0.25 }],
          },
          {
            descriptor: { name: 'system.network.tcp.handshake.duration', description: 'TCP handshake time', unit: 's', valueType: ValueType.DOUBLE },
            aggregationTemporality: AggregationTemporality.DELTA,
            dataPointType: DataPointType.HISTOGRAM,
            dataPoints: [
              {
                startTime: START,
                endTime: END,
                attributes: { 'network.tcp.handshake.role': 'client', 'error.type': 'ECONNREFUSED' },
                value: { buckets: { boundaries: [0.001, 0.01, 0.1], counts: [1, 2, 0, 1] }, count: 4, sum: 0.25, min: 0.0005, max: 0.2 },
              },
            ],
          },
          {
            descriptor: { name: 'system.network.tcp.rtt.duration', description: 'Smoothed RTT', unit: 's', valueType: ValueType.DOUBLE },
            aggregationTemporality: AggregationTemporality.DELTA,
            dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
            dataPoints: [
              {
                startTime: START,
                endTime: END,
                attributes: {},
                value: {
                  count: 4,
                  sum: 0.9,
                  min: 0,
                  max: 0.5,
                  scale: 0,
                  zeroCount: 1,
                  positive: { offset: -3, bucketCounts: [2, 1] },
                  negative: { offset: 0, bucketCounts: [] },
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

export function sampleLogs(): ReadableLogRecord[] {
  const base = {
    resource,
    instrumentationScope: scope,
    hrTimeObserved: END,
    droppedAttributesCount: 0,
  };
  return [
    {
      ...base,
      hrTime: [1700000005, 250000000],
      eventName: 'tcp.connect',
      attributes: {
        'network.peer.address': '10.0.0.2',
        'network.peer.port': 443,
        'network.type': 'ipv4',
        'process.pid': 1234,
      },
    },
    {
      ...base,
      hrTime: [1700000009, 0],
      eventName: 'tcp.close',
      attributes: {
        'network.peer.address': '10.0.0.2',
        'tcp.bytes.sent': 1000,
        'tcp.duration': 3.75,
        'process.executable.name': 'curl',
      },
    },
  ];
}
