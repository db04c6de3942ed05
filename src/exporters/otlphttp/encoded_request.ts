// Batches as the otlphttp queue holds them: request bodies encoded when the exporter accepts
// them, so that the queue's memory is the bytes it will send (bounded by sending_queue.queue_bytes)
// and a retry sends the same bytes without encoding again. The encoders are the agent's existing
// ones: logs protobuf by OtlpLogsProtoEncoder (as the otlp exporter; records backed by kernel bytes
// write their own), logs JSON by the file exporter's OTLP/JSON writer, metrics by
// @opentelemetry/otlp-transformer (its protobuf serializer; for JSON its request builder with the
// proto3 JSON rules of ../file/otlp_json.ts, as the file exporter writes them).
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { JsonByteWriter } from '../../telemetry/json_byte_writer';
import { OtlpLogsProtoEncoder } from '../../telemetry/otlp_proto_logs';
import { dataPointCount } from '../signal_counts';
import type { OtlpHttpEncoding } from './config';

export interface EncodedRequest {
  /** The body, in pieces (merged requests); sent as one. */
  readonly parts: readonly Buffer[];
  /** Bytes of all parts. */
  readonly size: number;
  /** Data points or log records in it. */
  readonly items: number;
  /** Set when the batch could not be encoded: sending it fails permanently with this reason. */
  readonly error?: string;
}

/**
 * Records per request at most. An OTLP/HTTP receiver refuses bodies above its limit (413, not
 * retryable); tcpscope's records encode to ~350–700 bytes, so 2048 make ~1.4 MB at most.
 */
export const MAX_RECORDS_PER_REQUEST = 2048;
/** Bytes per merged request at most. */
export const MAX_MERGED_BYTES = 2 * 1024 * 1024;

function encoded(body: Buffer, items: number): EncodedRequest {
  return { parts: [body], size: body.length, items };
}

function failed(items: number, what: string, error: unknown): EncodedRequest {
  return { parts: [], size: 0, items, error: `the ${what} cannot be encoded: ${(error as Error).message}` };
}

/** `records` as requests of at most MAX_RECORDS_PER_REQUEST records, in order. */
export function chunks<R>(records: readonly R[]): (readonly R[])[] {
  if (records.length <= MAX_RECORDS_PER_REQUEST) return [records];
  const out: (readonly R[])[] = [];
  for (let i = 0; i < records.length; i += MAX_RECORDS_PER_REQUEST) out.push(records.slice(i, i + MAX_RECORDS_PER_REQUEST));
  return out;
}

/** An encoder of log batches whose caches live as long as the exporter. */
export function logsEncoder(encoding: OtlpHttpEncoding): (records: readonly ReadableLogRecord[]) => EncodedRequest {
  if (encoding === 'proto') {
    const encoder = new OtlpLogsProtoEncoder();
    return (records) => {
      try {
        return encoded(encoder.encode(records), records.length);
      } catch (error) {
        return failed(records.length, 'log batch', error);
      }
    };
  }
  const { appendLogsRequest } = otlpJson();
  const writer = new JsonByteWriter();
  return (records) => {
    try {
      writer.reset();
      appendLogsRequest(writer, records);
      return encoded(writer.copyOut(), records.length);
    } catch (error) {
      return failed(records.length, 'log batch', error);
    }
  };
}

/**
 * The file exporter's OTLP/JSON encoding, loaded only for `encoding: json`: it brings the
 * transformer's request builders, which a protobuf exporter never needs.
 */
function otlpJson(): typeof import('../file/otlp_json') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../file/otlp_json') as typeof import('../file/otlp_json');
}

export function metricsEncoder(encoding: OtlpHttpEncoding): (data: ResourceMetrics) => EncodedRequest {
  if (encoding === 'json') {
    const { encodeMetricsRequest } = otlpJson();
    return (data) => {
      const items = dataPointCount(data);
      try {
        return encoded(Buffer.from(encodeMetricsRequest(data)), items);
      } catch (error) {
        return failed(items, 'metrics batch', error);
      }
    };
  }
  // Loaded only for a metrics pipeline: the transformer's generated protobuf code is ~8 MB of RSS.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ProtobufMetricsSerializer } = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
  return (data) => {
    const items = dataPointCount(data);
    try {
      const bytes = ProtobufMetricsSerializer.serializeRequest(data) ?? new Uint8Array(0);
      return encoded(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), items);
    } catch (error) {
      return failed(items, 'metrics batch', error);
    }
  };
}

const JSON_HEAD = Buffer.from('{"resourceLogs":[');
const JSON_TAIL = Buffer.from(']}');
const COMMA = Buffer.from(',');

/**
 * Joins two waiting log requests into one when it stays within MAX_RECORDS_PER_REQUEST and
 * MAX_MERGED_BYTES. Protobuf: messages concatenated are the merge of their repeated fields (the
 * receiver reads one request with all their ResourceLogs). JSON: `{"resourceLogs":[A]}` and
 * `{"resourceLogs":[B]}` become `{"resourceLogs":[A,B]}`, without copying A or B.
 */
export function logsMerger(encoding: OtlpHttpEncoding): (waiting: EncodedRequest, next: EncodedRequest) => EncodedRequest | undefined {
  return (waiting, next) => {
    if (waiting.error !== undefined || next.error !== undefined) return undefined;
    if (waiting.items + next.items > MAX_RECORDS_PER_REQUEST || waiting.size + next.size > MAX_MERGED_BYTES) return undefined;
    if (encoding === 'proto') return { parts: [...waiting.parts, ...next.parts], size: waiting.size + next.size, items: waiting.items + next.items };
    const last = waiting.parts[waiting.parts.length - 1];
    const first = next.parts[0];
    // Every request the writers make has this shape; anything else is left as it is.
    if (!endsWith(last, JSON_TAIL) || !startsWith(first, JSON_HEAD) || last.length === JSON_TAIL.length || first.length === JSON_HEAD.length) return undefined;
    const parts = [...waiting.parts.slice(0, -1), last.subarray(0, last.length - JSON_TAIL.length), COMMA, first.subarray(JSON_HEAD.length), ...next.parts.slice(1)];
    return { parts, size: waiting.size + next.size + COMMA.length - JSON_TAIL.length - JSON_HEAD.length, items: waiting.items + next.items };
  };
}

function startsWith(buf: Buffer | undefined, prefix: Buffer): buf is Buffer {
  return buf !== undefined && buf.length >= prefix.length && buf.subarray(0, prefix.length).equals(prefix);
}

function endsWith(buf: Buffer | undefined, suffix: Buffer): buf is Buffer {
  return buf !== undefined && buf.length >= suffix.length && buf.subarray(buf.length - suffix.length).equals(suffix);
}

/** The body as one buffer. */
export function bodyOf(request: EncodedRequest): Buffer {
  return request.parts.length === 1 ? request.parts[0] : Buffer.concat(request.parts as Buffer[], request.size);
}
