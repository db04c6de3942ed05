// `verbosity: detailed`: every field, in the multi-line layout of the Collector's debug exporter
// (pdata's otlptext marshalers), so people who know that output can read this one:
//
//   ResourceLog #0
//   Resource SchemaURL:
//   Resource attributes:
//        -> service.name: Str(tcpscope)
//   ScopeLogs #0
//   ...
//   LogRecord #0
//   ObservedTimestamp: 2023-11-14 22:13:30.0000005 +0000 UTC
//   EventName: tcp.connect
//   Attributes:
//        -> network.peer.port: Int(443)
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import type { AnyValue } from '@opentelemetry/api-logs';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { exponentialBuckets } from './exponential_buckets';
import { goFixed6, goTimestamp, integerString, typedValue } from './text';

const ATTRIBUTE_PREFIX = '     ->';

export function detailedLogLines(records: readonly ReadableLogRecord[]): string[] {
  const out: string[] = [];
  let r = 0;
  for (const [resource, scopes] of groupLogs(records)) {
    out.push(`ResourceLog #${r++}`);
    resourceLines(out, resource);
    let s = 0;
    for (const [scope, scopeRecords] of scopes) {
      out.push(`ScopeLogs #${s++}`, `ScopeLogs SchemaURL: ${scope.schemaUrl ?? ''}`);
      scopeLines(out, scope, scope.attributes);
      scopeRecords.forEach((record, i) => {
        const severity = record.severityNumber ?? 0;
        out.push(
          `LogRecord #${i}`,
          `ObservedTimestamp: ${goTimestamp(record.hrTimeObserved)}`,
          `Timestamp: ${goTimestamp(record.hrTime)}`,
          `SeverityText: ${record.severityText ?? ''}`,
          `SeverityNumber: ${severityName(severity)}(${severity})`,
        );
        if (record.eventName) out.push(`EventName: ${record.eventName}`);
        out.push(`Body: ${typedValue(record.body)}`);
        attributeLines(out, 'Attributes', record.attributes);
        out.push(
          `Trace ID: ${record.spanContext?.traceId ?? ''}`,
          `Span ID: ${record.spanContext?.spanId ?? ''}`,
          `Flags: ${record.spanContext?.traceFlags ?? 0}`,
        );
      });
    }
  }
  return out;
}

export function detailedMetricLines(data: ResourceMetrics): string[] {
  const out: string[] = ['ResourceMetrics #0'];
  resourceLines(out, data.resource);
  data.scopeMetrics.forEach((scopeMetrics, s) => {
    out.push(`ScopeMetrics #${s}`, `ScopeMetrics SchemaURL: ${scopeMetrics.scope.schemaUrl ?? ''}`);
    scopeLines(out, scopeMetrics.scope, undefined);
    scopeMetrics.metrics.forEach((metric, m) => {
      out.push(
        `Metric #${m}`,
        'Descriptor:',
        `${ATTRIBUTE_PREFIX} Name: ${metric.descriptor.name}`,
        `${ATTRIBUTE_PREFIX} Description: ${metric.descriptor.description}`,
        `${ATTRIBUTE_PREFIX} Unit: ${metric.descriptor.unit}`,
        `${ATTRIBUTE_PREFIX} DataType: ${DATA_TYPE[metric.dataPointType]}`,
      );
      dataPointLines(out, metric);
    });
  });
  return out;
}

const DATA_TYPE: Record<DataPointType, string> = {
  [DataPointType.GAUGE]: 'Gauge',
  [DataPointType.SUM]: 'Sum',
  [DataPointType.HISTOGRAM]: 'Histogram',
  [DataPointType.EXPONENTIAL_HISTOGRAM]: 'ExponentialHistogram',
};

function temporality(t: AggregationTemporality): string {
  return t === AggregationTemporality.DELTA ? 'Delta' : 'Cumulative';
}

function dataPointLines(out: string[], metric: MetricData): void {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
    case DataPointType.GAUGE: {
      if (metric.dataPointType === DataPointType.SUM) {
        out.push(
          `${ATTRIBUTE_PREFIX} IsMonotonic: ${metric.isMonotonic}`,
          `${ATTRIBUTE_PREFIX} AggregationTemporality: ${temporality(metric.aggregationTemporality)}`,
        );
      }
      const format = metric.descriptor.valueType === ValueType.INT ? integerString : goFixed6;
      metric.dataPoints.forEach((p, i) => {
        pointHeader(out, `NumberDataPoints #${i}`, p.attributes, p.startTime, p.endTime);
        out.push(`Value: ${format(p.value)}`);
      });
      return;
    }
    case DataPointType.HISTOGRAM:
      out.push(`${ATTRIBUTE_PREFIX} AggregationTemporality: ${temporality(metric.aggregationTemporality)}`);
      metric.dataPoints.forEach((p, i) => {
        pointHeader(out, `HistogramDataPoints #${i}`, p.attributes, p.startTime, p.endTime);
        statLines(out, p.value);
        p.value.buckets.boundaries.forEach((b, j) => out.push(`ExplicitBounds #${j}: ${goFixed6(b)}`));
        p.value.buckets.counts.forEach((c, j) => out.push(`Buckets #${j}, Count: ${c}`));
      });
      return;
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      out.push(`${ATTRIBUTE_PREFIX} AggregationTemporality: ${temporality(metric.aggregationTemporality)}`);
      metric.dataPoints.forEach((p, i) => {
        pointHeader(out, `ExponentialHistogramDataPoints #${i}`, p.attributes, p.startTime, p.endTime);
        statLines(out, p.value);
        for (const bucket of exponentialBuckets(p.value)) {
          out.push(`Bucket ${bucket.label(goFixed6, ', ')}, Count: ${bucket.count}`);
        }
      });
      return;
  }
}

function pointHeader(out: string[], title: string, attributes: Attributes, start: HrTime, end: HrTime): void {
  out.push(title);
  attributeLines(out, 'Data point attributes', attributes);
  out.push(`StartTimestamp: ${goTimestamp(start)}`, `Timestamp: ${goTimestamp(end)}`);
}

function statLines(out: string[], h: { count: number; sum?: number; min?: number; max?: number }): void {
  out.push(`Count: ${h.count}`);
  if (h.sum !== undefined) out.push(`Sum: ${goFixed6(h.sum)}`);
  if (h.min !== undefined) out.push(`Min: ${goFixed6(h.min)}`);
  if (h.max !== undefined) out.push(`Max: ${goFixed6(h.max)}`);
}

function resourceLines(out: string[], resource: Resource): void {
  out.push(`Resource SchemaURL: ${resource.schemaUrl ?? ''}`);
  attributeLines(out, 'Resource attributes', resource.attributes);
}

/** Metric data point attributes and log record attributes alike: every attribute value is an AnyValue. */
type AttributeMap = { readonly [key: string]: AnyValue };

function scopeLines(out: string[], scope: InstrumentationScope, attributes: AttributeMap | undefined): void {
  out.push(`InstrumentationScope ${scope.name} ${scope.version ?? ''}`);
  if (attributes) attributeLines(out, 'InstrumentationScope attributes', attributes);
}

/** Nothing at all for no attributes, as in the Collector. */
function attributeLines(out: string[], header: string, attributes: AttributeMap): void {
  const entries = Object.entries(attributes);
  if (entries.length === 0) return;
  out.push(`${header}:`);
  for (const [key, value] of entries) out.push(`${ATTRIBUTE_PREFIX} ${key}: ${typedValue(value)}`);
}

type ScopeOf = ReadableLogRecord['instrumentationScope'];

/** Records grouped by resource, then scope, by identity: the grouping OTLP puts on the wire. */
function groupLogs(records: readonly ReadableLogRecord[]): Map<Resource, Map<ScopeOf, ReadableLogRecord[]>> {
  const byResource = new Map<Resource, Map<ScopeOf, ReadableLogRecord[]>>();
  for (const record of records) {
    let scopes = byResource.get(record.resource);
    if (!scopes) byResource.set(record.resource, (scopes = new Map()));
    let list = scopes.get(record.instrumentationScope);
    if (!list) scopes.set(record.instrumentationScope, (list = []));
    list.push(record);
  }
  return byResource;
}

// pdata's SeverityNumber.String(): Trace, Trace2..4, Debug..., Fatal4.
const SEVERITY_NAMES = ['Trace', 'Debug', 'Info', 'Warn', 'Error', 'Fatal'];
function severityName(n: number): string {
  if (n < 1 || n > 24) return 'Unspecified';
  const name = SEVERITY_NAMES[Math.floor((n - 1) / 4)];
  const step = (n - 1) % 4;
  return step === 0 ? name : `${name}${step + 1}`;
}
