// Checks for records that write their own OTLP protobuf (src/telemetry/otlp_encodable.ts,
// otlpProto): their ExportLogsServiceRequest bytes against the generic encoder's and the SDK
// serializer's for the reference records, byte for byte, and decoded with the official OTLP protos
// (test/support/proto), field for field, against each other and against the reference records'
// own fields and attribute maps.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import * as protobuf from 'protobufjs';
import { PACKAGE_ROOT } from '../../src/paths';
import { isOtlpProtoLogRecord } from '../../src/telemetry/otlp_encodable';
import { OtlpLogsProtoEncoder } from '../../src/telemetry/otlp_proto_logs';

const PROTO_ROOT = join(PACKAGE_ROOT, 'test', 'support', 'proto');
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_ROOT, target);
root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto', { keepCase: true });
const Request = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');

interface DecodedAnyValue {
  string_value?: string;
  int_value?: string;
  double_value?: number;
  bool_value?: boolean;
}

interface DecodedLogRecord {
  time_unix_nano?: string;
  observed_time_unix_nano?: string;
  event_name?: string;
  attributes?: { key: string; value: DecodedAnyValue }[];
  dropped_attributes_count?: number;
  body?: unknown;
  severity_number?: number;
  trace_id?: string;
  span_id?: string;
  flags?: number;
}

interface DecodedRequest {
  resource_logs?: { scope_logs?: { log_records?: DecodedLogRecord[] }[] }[];
}

/** The request decoded by protobufjs from the official protos: 64-bit integers as decimal strings. */
export function decodeLogsRequest(bytes: Uint8Array): DecodedRequest {
  return Request.toObject(Request.decode(bytes), { longs: String, bytes: String, defaults: false, arrays: true }) as DecodedRequest;
}

/** Every LogRecord of a decoded request, in order. */
export function decodedLogRecords(request: DecodedRequest): DecodedLogRecord[] {
  return (request.resource_logs ?? []).flatMap((r) => (r.scope_logs ?? []).flatMap((s) => s.log_records ?? []));
}

function nanos(time: readonly [number, number]): string {
  return (BigInt(time[0]) * 1_000_000_000n + BigInt(time[1])).toString();
}

/** What the AnyValue of an attribute value must be (tcpscope's attributes are scalars). */
function expectedAnyValue(value: unknown): DecodedAnyValue {
  switch (typeof value) {
    case 'string':
      return { string_value: value };
    case 'boolean':
      return { bool_value: value };
    case 'number':
      if (Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63) return { int_value: BigInt(value).toString() };
      return { double_value: value };
    default:
      throw new Error(`not a scalar attribute value: ${String(value)}`);
  }
}

/**
 * Encodes `records` (which must all write their own protobuf; reading their `attributes` during
 * the encoding fails the test) and `references` (plain records of the decoded path) and asserts:
 * the same bytes as the generic encoder and the SDK serializer write for the references; the same
 * decoded message; and each decoded LogRecord carries its reference's times, event name and
 * attributes (keys in map order, values as the OTLP type they map to). Returns the bytes.
 */
export function assertSameLogsProto(records: readonly ReadableLogRecord[], references: readonly ReadableLogRecord[], encoder = new OtlpLogsProtoEncoder()): Buffer {
  assert.equal(records.length, references.length);
  assert.ok(records.every(isOtlpProtoLogRecord), 'every record writes its own protobuf');
  const trapped = records.map((r) =>
    Object.create(r, {
      attributes: {
        get() {
          throw new Error('the encoder read `attributes` of a record that writes its own protobuf');
        },
      },
    }) as ReadableLogRecord,
  );
  const ours = encoder.encode(trapped);
  const generic = new OtlpLogsProtoEncoder().encode(references);
  const sdk = Buffer.from(ProtobufLogsSerializer.serializeRequest(references as ReadableLogRecord[]) ?? new Uint8Array(0));
  assert.equal(generic.toString('hex'), sdk.toString('hex'), 'the generic encoder equals the SDK serializer');
  const decodedOurs = decodeLogsRequest(ours);
  assert.deepStrictEqual(decodedOurs, decodeLogsRequest(sdk), 'decoded with the official protos');
  assert.equal(ours.toString('hex'), sdk.toString('hex'), 'byte for byte');
  const logs = decodedLogRecords(decodedOurs);
  assert.equal(logs.length, references.length);
  references.forEach((reference, i) => {
    const log = logs[i];
    assert.equal(log.time_unix_nano, nanos(reference.hrTime), `record ${i}: time`);
    assert.equal(log.observed_time_unix_nano, nanos(reference.hrTimeObserved), `record ${i}: observed time`);
    assert.equal(log.event_name, reference.eventName, `record ${i}: event name`);
    assert.equal(log.dropped_attributes_count ?? 0, reference.droppedAttributesCount, `record ${i}: dropped`);
    assert.equal(log.body, undefined);
    assert.equal(log.severity_number, undefined);
    assert.equal(log.trace_id, undefined);
    const expected = Object.entries(reference.attributes).map(([key, value]) => ({ key, value: expectedAnyValue(value) }));
    assert.deepStrictEqual(log.attributes ?? [], expected, `record ${i}: attributes`);
  });
  return ours;
}
