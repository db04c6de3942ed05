// A tcp_anomalies event as a log record backed by its raw kernel bytes (as tcp_handshake's, see
// src/receivers/common/raw_log_record.ts). Anomalies are rare next to connections, so instead of
// hand-written fragments per attribute these records write their OTLP/JSON and protobuf from
// their own attribute map through the very writers the generic encoders use for a map
// (writeAttributes, logAttributesProto): equal bytes by construction, checked per byte by
// raw_log_record.test.ts. What they save is the decoded path's per-record objects until an
// exporter or processor asks, and the connection hash the kernel computed.
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { fragment, type JsonByteWriter, type JsonFragment } from '../../telemetry/json_byte_writer';
import { writeAttributes } from '../../telemetry/otlp_json_fragments';
import type { OtlpJsonLogRecord, OtlpProtoLogRecord } from '../../telemetry/otlp_encodable';
import { logAttributesProto } from '../../telemetry/otlp_proto_values';
import type { ProtoWriter } from '../../telemetry/otlp_proto_writer';
import { writeRecordStart as writeJsonRecordStart, type RawBatch } from '../common/raw_events';
import { RawLogRecord } from '../common/raw_log_record';
import { writeRecordEnd as writeProtoRecordEnd, writeRecordStart as writeProtoRecordStart } from '../common/raw_proto';
import { anomalyKind, AnomalyDecodeError, decodeAnomalyEvent } from './decoder';
import { EVENT_FIELDS as F, EVENT_SIZE } from './layout';
import { anomalyAttributes, anomalyEventName, type ReasonNames } from './log_records';

const ATTRIBUTES_START = fragment('","attributes":[');
const END = fragment('],"droppedAttributesCount":0}');
const eventNames = new Map<string, JsonFragment>();

function eventNameFragment(name: string): JsonFragment {
  let f = eventNames.get(name);
  if (f === undefined) eventNames.set(name, (f = fragment(name)));
  return f;
}

export class AnomalyRawLogRecord extends RawLogRecord implements OtlpJsonLogRecord, OtlpProtoLogRecord {
  constructor(
    batch: RawBatch,
    offset: number,
    private readonly names: ReasonNames,
  ) {
    super(batch, offset, anomalyEventName(anomalyKind(batch.bytes, offset)), F.timestamp_ns.offset);
  }

  /** Decodes the record at `offset`: throws AnomalyDecodeError for a record of another size or kind. */
  static decode(batch: RawBatch, offset: number, length: number, names: ReasonNames): AnomalyRawLogRecord {
    if (length !== EVENT_SIZE) throw new AnomalyDecodeError(`tcp_anomalies_event of ${length} bytes, expected ${EVENT_SIZE}`);
    return new AnomalyRawLogRecord(batch, offset, names);
  }

  protected get connectionHashOffset(): number {
    return F.connection_hash.offset;
  }

  protected buildAttributes(): Attributes {
    const event = decodeAnomalyEvent(this.batch.bytes, this.offset, EVENT_SIZE);
    return anomalyAttributes(event, this.names, (into) => Object.assign(into, this.batch.cgroup(this.offset + F.cgroup_id.offset).attributes));
  }

  /** The map, built once; the writers use it without going through `attributes` (which
   * encoders treat as the generic path's input). */
  private map: Attributes | undefined;
  private ownAttributes(): Attributes {
    return (this.map ??= this.buildAttributes());
  }

  override get attributes(): Attributes {
    return this.ownAttributes();
  }

  attribute(key: string): AttributeValue | undefined {
    return this.ownAttributes()[key];
  }

  writeOtlpJson(w: JsonByteWriter, appended?: JsonFragment): void {
    writeJsonRecordStart(w, this.hrTime, this.batch.observedNanos, eventNameFragment(this.eventName));
    w.bytes(ATTRIBUTES_START);
    // Scalars only (strings, numbers): writeAttributes cannot fail on them.
    writeAttributes(w, this.ownAttributes());
    if (appended !== undefined && appended.length !== 0) {
      w.byte(0x2c);
      w.bytes(appended);
    }
    w.bytes(END);
  }

  otlpProto(w: ProtoWriter, appended: Uint8Array): void {
    writeProtoRecordStart(w, this.hrTime);
    w.raw(logAttributesProto(this.ownAttributes()));
    writeProtoRecordEnd(w, appended, this.hrTimeObserved, this.eventName);
  }
}
