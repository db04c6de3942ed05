// Reads the file exporter's OTLP/JSON lines back into flat records for assertions.
import { readFileSync } from 'node:fs';

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
interface KeyValue {
  key: string;
  value: AnyValue;
}
export type FlatAttributes = Record<string, string | number | boolean | undefined>;

export interface FlatLogRecord {
  eventName?: string;
  timeUnixNano?: string;
  attributes: FlatAttributes;
}

export interface FlatDataPoint {
  metric: string;
  attributes: FlatAttributes;
  /** Sum/gauge value, or histogram count. */
  value: number;
  sum?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
}

function plain(value: AnyValue): string | number | boolean | undefined {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.boolValue;
}

export function flattenAttributes(list: readonly KeyValue[] | undefined): FlatAttributes {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, plain(kv.value)]));
}

interface LogsLine {
  resourceLogs?: { resource?: { attributes?: KeyValue[] }; scopeLogs: { logRecords: { eventName?: string; timeUnixNano?: string; attributes?: KeyValue[] }[] }[] }[];
}
interface NumberPoint {
  attributes?: KeyValue[];
  asInt?: string;
  asDouble?: number;
  count?: string;
  sum?: number;
  bucketCounts?: string[];
  explicitBounds?: number[];
}
interface MetricsLine {
  resourceMetrics?: {
    resource?: { attributes?: KeyValue[] };
    scopeMetrics: { metrics: { name: string; sum?: { dataPoints: NumberPoint[] }; gauge?: { dataPoints: NumberPoint[] }; histogram?: { dataPoints: NumberPoint[] } }[] }[];
  }[];
}

export interface OtlpJsonFile {
  lines: number;
  logs: FlatLogRecord[];
  /** Metric data points, one list per metrics line (export), in file order. */
  metricExports: FlatDataPoint[][];
  resources: FlatAttributes[];
}

/**
 * What an exporter has written to `path` so far, while it may still be writing: only complete
 * lines (a flush in progress leaves a partial last line), and nothing when the file does not exist
 * yet. For waiting on a condition; readOtlpJsonFile for the final check.
 */
export function readOtlpJsonFileSoFar(path: string): OtlpJsonFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lines: 0, logs: [], metricExports: [], resources: [] };
    throw error;
  }
  return parseOtlpJson(text.slice(0, text.lastIndexOf('\n') + 1));
}

export function readOtlpJsonFile(path: string): OtlpJsonFile {
  return parseOtlpJson(readFileSync(path, 'utf8'));
}

function parseOtlpJson(text: string): OtlpJsonFile {
  const result: OtlpJsonFile = { lines: 0, logs: [], metricExports: [], resources: [] };
  for (const line of text.split('\n')) {
    if (!line) continue;
    result.lines++;
    const parsed = JSON.parse(line) as LogsLine & MetricsLine;
    for (const rl of parsed.resourceLogs ?? []) {
      result.resources.push(flattenAttributes(rl.resource?.attributes));
      for (const sl of rl.scopeLogs) {
        for (const r of sl.logRecords) result.logs.push({ eventName: r.eventName, timeUnixNano: r.timeUnixNano, attributes: flattenAttributes(r.attributes) });
      }
    }
    if (parsed.resourceMetrics) {
      const points: FlatDataPoint[] = [];
      for (const rm of parsed.resourceMetrics) {
        result.resources.push(flattenAttributes(rm.resource?.attributes));
        for (const sm of rm.scopeMetrics) {
          for (const m of sm.metrics) {
            for (const p of m.sum?.dataPoints ?? m.gauge?.dataPoints ?? []) {
              points.push({ metric: m.name, attributes: flattenAttributes(p.attributes), value: p.asInt !== undefined ? Number(p.asInt) : p.asDouble ?? 0 });
            }
            for (const p of m.histogram?.dataPoints ?? []) {
              points.push({
                metric: m.name,
                attributes: flattenAttributes(p.attributes),
                value: Number(p.count),
                sum: p.sum,
                bucketCounts: (p.bucketCounts ?? []).map(Number),
                explicitBounds: p.explicitBounds,
              });
            }
          }
        }
      }
      result.metricExports.push(points);
    }
  }
  return result;
}
