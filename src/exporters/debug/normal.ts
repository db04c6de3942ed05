// `verbosity: normal`: one line per log record or data point, compact enough to follow live.
//
//   2023-11-14T22:13:25.250000000Z tcp.connect network.peer.address=10.0.0.2 network.peer.port=443
//   system.network.tcp.io{network.io.direction=transmit} 5
//   system.network.tcp.handshake.duration{} count=4 sum=0.25 min=0.0005 max=0.2 le0.001=1 ... le+Inf=1
//   system.network.tcp.rtt.duration{} count=4 sum=0.9 min=0 max=0.5 scale=0 [0,0]=1 (0.125,0.25]=2
//
// Metric lines follow the Collector's normal layout (`name{attrs} value`); log lines lead with the
// event time and name because tcpscope's records are events whose body is empty.
import { ValueType, type Attributes } from '@opentelemetry/api';
import type { AnyValue } from '@opentelemetry/api-logs';
import {
  DataPointType,
  type ExponentialHistogram,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { exponentialBuckets } from './exponential_buckets';
import { goFloat, integerString, isoTimestamp, token, valueString } from './text';

export function normalLogLines(records: readonly ReadableLogRecord[]): string[] {
  return records.map((record) => {
    const time = record.hrTime[0] !== 0 || record.hrTime[1] !== 0 ? record.hrTime : record.hrTimeObserved;
    const parts = [isoTimestamp(time), record.eventName || '-'];
    if (record.body !== undefined && record.body !== null) parts.push(valueToken(record.body, /[\s="]/));
    for (const [key, value] of Object.entries(record.attributes)) parts.push(`${key}=${valueToken(value, /[\s="]/)}`);
    return parts.join(' ');
  });
}

export function normalMetricLines(data: ResourceMetrics): string[] {
  const lines: string[] = [];
  for (const scope of data.scopeMetrics) {
    for (const metric of scope.metrics) {
      for (const point of pointTexts(metric)) {
        lines.push(`${metric.descriptor.name}{${attributeList(point.attributes)}} ${point.text}`);
      }
    }
  }
  return lines;
}

function pointTexts(metric: MetricData): { attributes: Attributes; text: string }[] {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
    case DataPointType.GAUGE: {
      const format = metric.descriptor.valueType === ValueType.INT ? integerString : goFloat;
      return metric.dataPoints.map((p) => ({ attributes: p.attributes, text: format(p.value) }));
    }
    case DataPointType.HISTOGRAM:
      return metric.dataPoints.map((p) => ({ attributes: p.attributes, text: histogramText(p.value) }));
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return metric.dataPoints.map((p) => ({ attributes: p.attributes, text: exponentialText(p.value) }));
  }
}

function histogramText(h: Histogram): string {
  const parts = [`count=${h.count}`, ...optionalStats(h)];
  const { boundaries, counts } = h.buckets;
  counts.forEach((count, i) => parts.push(`le${i < boundaries.length ? goFloat(boundaries[i]) : '+Inf'}=${count}`));
  return parts.join(' ');
}

function exponentialText(h: ExponentialHistogram): string {
  const parts = [`count=${h.count}`, ...optionalStats(h), `scale=${h.scale}`];
  for (const bucket of exponentialBuckets(h)) parts.push(`${bucket.label(short)}=${bucket.count}`);
  return parts.join(' ');
}

function attributeList(attributes: { readonly [key: string]: AnyValue }): string {
  return Object.entries(attributes)
    .map(([key, value]) => `${key}=${valueToken(value, /[\s,{}="]/)}`)
    .join(',');
}

/**
 * Strings are quoted when they would be ambiguous on the line; maps and slices print as compact
 * JSON, which delimits itself.
 */
function valueToken(value: AnyValue, separators: RegExp): string {
  return typeof value === 'string' ? token(value, separators) : valueString(value);
}

function optionalStats(h: { sum?: number; min?: number; max?: number }): string[] {
  const parts: string[] = [];
  if (h.sum !== undefined) parts.push(`sum=${goFloat(h.sum)}`);
  if (h.min !== undefined) parts.push(`min=${goFloat(h.min)}`);
  if (h.max !== undefined) parts.push(`max=${goFloat(h.max)}`);
  return parts;
}

/** Bucket bounds to six significant digits: enough to tell buckets apart at any practical scale. */
function short(bound: number): string {
  return goFloat(Number(bound.toPrecision(6)));
}
