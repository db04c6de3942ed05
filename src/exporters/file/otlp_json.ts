// OTLP/JSON encoding of one export request, as the Collector's file exporter writes it: the
// protobuf JSON mapping with lowerCamelCase keys, enums as numbers, trace/span ids as hex.
//
// The mapping itself is @opentelemetry/otlp-transformer's (the same code the SDK's OTLP/HTTP JSON
// exporters use). Its public JsonMetricsSerializer/JsonLogsSerializer return bytes already
// stringified with plain JSON.stringify, which writes 64-bit integers (asInt, intValue, count,
// bucketCounts, zeroCount) as JSON numbers and NaN/±Infinity as null. The proto3 JSON mapping
// wants int64/fixed64 as decimal strings and non-finite doubles as "NaN"/"Infinity"/"-Infinity",
// so we take the request objects from the transformer's internal builders (pinned version, see
// package.json; the file exporter's tests fail loudly if their shape changes) and stringify them
// with a replacer that applies those two rules.
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { createExportMetricsServiceRequest } from '@opentelemetry/otlp-transformer/build/src/metrics/internal';
import { createExportLogsServiceRequest } from '@opentelemetry/otlp-transformer/build/src/logs/internal';
import { JSON_ENCODER } from '@opentelemetry/otlp-transformer/build/src/common/utils';
import { JsonByteWriter } from '../../telemetry/json_byte_writer';
import { writeLogsRequest } from './logs_json_writer';

/** One `ExportMetricsServiceRequest` as a single line of OTLP/JSON (no trailing newline). */
export function encodeMetricsRequest(data: ResourceMetrics): string {
  return JSON.stringify(createExportMetricsServiceRequest([data], JSON_ENCODER), proto3JsonValue);
}

/** One `ExportLogsServiceRequest` as a single line of OTLP/JSON (no trailing newline). */
export function encodeLogsRequest(records: readonly ReadableLogRecord[]): string {
  const w = new JsonByteWriter();
  appendLogsRequest(w, records);
  return w.toString();
}

/**
 * Appends encodeLogsRequest's line (no newline) to `w` as UTF-8: the direct writer when it can,
 * else the generic path's text.
 */
export function appendLogsRequest(w: JsonByteWriter, records: readonly ReadableLogRecord[]): void {
  if (!writeLogsRequest(w, records)) w.utf8(encodeLogsRequestGeneric(records));
}

/** The transformer's path: any record shape (bodies, arrays, span contexts...). */
export function encodeLogsRequestGeneric(records: readonly ReadableLogRecord[]): string {
  // The transformer does not mutate its input; its signature just predates readonly arrays.
  return JSON.stringify(createExportLogsServiceRequest(records as ReadableLogRecord[], JSON_ENCODER), proto3JsonValue);
}

// Keys whose values are 64-bit integers in the OTLP protos (sfixed64 as_int, int64 int_value,
// fixed64 count / zero_count, repeated fixed64|uint64 bucket_counts). Attribute keys never become
// JSON object keys (they are `{key, value}` pairs), so matching on the JSON key is unambiguous.
const INT64_KEYS = new Set(['asInt', 'intValue', 'count', 'zeroCount']);
const INT64_ARRAY_KEYS = new Set(['bucketCounts']);

function proto3JsonValue(key: string, value: unknown): unknown {
  if (typeof value === 'number') {
    if (INT64_KEYS.has(key)) return int64String(value);
    if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
    return value;
  }
  if (INT64_ARRAY_KEYS.has(key) && Array.isArray(value)) return value.map((v: unknown) => (typeof v === 'number' ? int64String(v) : v));
  return value;
}

function int64String(value: number): string {
  // Truncation matches what the SDK does to a non-integer recorded on an INT instrument; BigInt
  // keeps integers beyond 2^53 exact and throws (failing the export) on NaN/Infinity, which no
  // 64-bit integer can hold.
  return BigInt(Math.trunc(value)).toString();
}
