// A capability a log record may offer beside ReadableLogRecord: writing its own OTLP/JSON
// LogRecord straight into a byte buffer (writeOtlpJson) and its own OTLP protobuf LogRecord
// (otlpProto), and answering single attribute lookups, all without building its attribute map.
// Receivers whose records come straight from kernel bytes offer it (tcp_lifecycle, tcp_handshake);
// the file exporter uses writeOtlpJson when every record of a request has it, the otlp exporter's
// encoder uses otlpProto per record, and both fall back to their generic encoder otherwise. The
// contract is byte equality: writeOtlpJson() must write exactly the UTF-8 bytes of what the
// generic path (src/exporters/file/otlp_json.ts encodeLogsRequestGeneric) writes for the same
// record, otlpProto() exactly what OtlpLogsProtoEncoder writes for it from its attribute map.
//
// A processor that changes attributes must either keep the capability correct (wrap the record:
// withAddedAttributes below) or drop it. Copying with `{ ...record, attributes }` drops it by
// construction: the methods live on the prototype, so a spread copy is a plain record again.
import type { Attributes } from '@opentelemetry/api';
import type { AnyValue, LogAttributes } from '@opentelemetry/api-logs';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { fragment, type JsonByteWriter, type JsonFragment } from './json_byte_writer';
import { attributesJson } from './otlp_json_fragments';
import type { ProtoWriter } from './otlp_proto_writer';
import { logAttributesProto } from './otlp_proto_values';

export interface OtlpJsonLogRecord extends ReadableLogRecord {
  /**
   * Writes this LogRecord as proto3 JSON (`{"timeUnixNano":…,"droppedAttributesCount":…}`), with
   * `appended` (pre-encoded `{"key":…,"value":…}` pairs joined by commas; absent or empty: none)
   * placed after its own attribute pairs, as if those attributes were added last to its map.
   */
  writeOtlpJson(writer: JsonByteWriter, appended?: JsonFragment): void;
  /** What `attributes[key]` holds, without building the map (undefined when absent). */
  attribute(key: string): AnyValue | undefined;
}

export function isOtlpJsonLogRecord(record: ReadableLogRecord): record is OtlpJsonLogRecord {
  return typeof (record as Partial<OtlpJsonLogRecord>).writeOtlpJson === 'function';
}

/**
 * The protobuf side of the same capability, which the otlp exporter's encoder
 * (otlp_proto_logs.ts) uses per record. The contract is byte equality again: otlpProto() writes
 * exactly what OtlpLogsProtoEncoder's generic logRecord() writes for the same record from its
 * attribute map.
 */
export interface OtlpProtoLogRecord extends ReadableLogRecord {
  /**
   * The fields of this LogRecord message (no tag or length of its own) into `writer`, with
   * `appended` (pre-encoded LogRecord.attributes fields, possibly empty) after its own attribute
   * fields, as if those attributes were added last to its attribute map.
   */
  otlpProto(writer: ProtoWriter, appended: Uint8Array): void;
  /** What `attributes[key]` holds, without building the map (undefined when absent). */
  attribute(key: string): AnyValue | undefined;
}

export function isOtlpProtoLogRecord(record: ReadableLogRecord): record is OtlpProtoLogRecord {
  return typeof (record as Partial<OtlpProtoLogRecord>).otlpProto === 'function';
}

// Added attribute sets are cached objects (per cgroup, per peer, per probability): what a record
// needs of one is kept per object, found with one lookup per record: its keys (to check that the
// record has none of them yet), its JSON encoded once to bytes, and its protobuf, encoded the
// first time a record that writes its own protobuf is wrapped with it.
interface AddedSet {
  readonly keys: readonly string[];
  /** undefined: the set has nothing to write in JSON (a record wrapped with it is copied instead). */
  readonly json: JsonFragment | undefined;
  proto: Uint8Array | undefined;
}

const addedSets = new WeakMap<Attributes, AddedSet>();

function addedSet(added: Attributes): AddedSet {
  let set = addedSets.get(added);
  if (set === undefined) {
    const text = attributesJson(added);
    // for…in, as withAddedAttributes looked the keys up before: own and inherited enumerable keys.
    const keys: string[] = [];
    for (const key in added) keys.push(key);
    set = { keys, json: text === undefined ? undefined : fragment(text), proto: undefined };
    addedSets.set(added, set);
  }
  return set;
}

function addedProto(added: Attributes, set: AddedSet): Uint8Array {
  return (set.proto ??= logAttributesProto(added));
}

// A record wrapped twice (local then peer attributes, or then a sampling probability) writes two
// sets one after the other: their concatenation is cached per pair of cached sets, so a write
// still copies one fragment.
const COMMA = Buffer.from(',');
const joinedSets = new WeakMap<JsonFragment, WeakMap<JsonFragment, JsonFragment>>();

function joined(first: JsonFragment, second: JsonFragment | undefined): JsonFragment {
  if (second === undefined || second.length === 0) return first;
  if (first.length === 0) return second;
  let bySecond = joinedSets.get(first);
  if (bySecond === undefined) joinedSets.set(first, (bySecond = new WeakMap()));
  let both = bySecond.get(second);
  if (both === undefined) {
    // A Buffer like every other fragment, so that the writer's copy sees one kind of array.
    both = Buffer.concat([first, COMMA, second]);
    bySecond.set(second, both);
  }
  return both;
}

// Two added sets in a row (k8s_attributes' then sampling's) are the same pair of cached objects
// record after record: their concatenation is made once per pair.
const joinedProto = new WeakMap<Uint8Array, WeakMap<Uint8Array, Uint8Array>>();

function joinProto(first: Uint8Array, then: Uint8Array): Uint8Array {
  if (then.length === 0) return first;
  if (first.length === 0) return then;
  let byThen = joinedProto.get(first);
  if (byThen === undefined) joinedProto.set(first, (byThen = new WeakMap()));
  let both = byThen.get(then);
  if (both === undefined) {
    both = new Uint8Array(first.length + then.length);
    both.set(first, 0);
    both.set(then, first.length);
    byThen.set(then, both);
  }
  return both;
}

/** A record with attributes added after its own; keeps the capability of the record it wraps. */
class AddedAttributesLogRecord implements OtlpJsonLogRecord {
  readonly hrTime: ReadableLogRecord['hrTime'];
  readonly hrTimeObserved: ReadableLogRecord['hrTimeObserved'];
  readonly spanContext: ReadableLogRecord['spanContext'];
  readonly severityText: ReadableLogRecord['severityText'];
  readonly severityNumber: ReadableLogRecord['severityNumber'];
  readonly body: ReadableLogRecord['body'];
  readonly eventName: ReadableLogRecord['eventName'];
  readonly resource: ReadableLogRecord['resource'];
  readonly instrumentationScope: ReadableLogRecord['instrumentationScope'];
  readonly droppedAttributesCount: number;
  private merged: LogAttributes | undefined;

  constructor(
    private readonly base: OtlpJsonLogRecord,
    private readonly added: Attributes,
    private readonly json: JsonFragment,
  ) {
    this.hrTime = base.hrTime;
    this.hrTimeObserved = base.hrTimeObserved;
    this.spanContext = base.spanContext;
    this.severityText = base.severityText;
    this.severityNumber = base.severityNumber;
    this.body = base.body;
    this.eventName = base.eventName;
    this.resource = base.resource;
    this.instrumentationScope = base.instrumentationScope;
    this.droppedAttributesCount = base.droppedAttributesCount;
  }

  get attributes(): LogAttributes {
    return (this.merged ??= { ...this.base.attributes, ...this.added });
  }

  attribute(key: string): AnyValue | undefined {
    const value = this.added[key];
    return value !== undefined ? value : this.base.attribute(key);
  }

  /** The wrapped record's own connection hash, if it has one: added attributes never change the
   * tuple (a key already set is never wrapped), see src/processors/sampling/known_connection_hash.ts. */
  connectionHash(): number | undefined {
    const base = this.base as { connectionHash?: () => number | undefined };
    return typeof base.connectionHash === 'function' ? base.connectionHash() : undefined;
  }

  writeOtlpJson(writer: JsonByteWriter, appended?: JsonFragment): void {
    this.base.writeOtlpJson(writer, joined(this.json, appended));
  }
}

/** AddedAttributesLogRecord over a record that also writes its own protobuf. */
class AddedAttributesProtoLogRecord extends AddedAttributesLogRecord implements OtlpProtoLogRecord {
  private readonly proto: Uint8Array;

  constructor(
    private readonly protoBase: OtlpJsonLogRecord & OtlpProtoLogRecord,
    added: Attributes,
    json: JsonFragment,
    proto: Uint8Array,
  ) {
    super(protoBase, added, json);
    this.proto = proto;
  }

  otlpProto(writer: ProtoWriter, appended: Uint8Array): void {
    this.protoBase.otlpProto(writer, joinProto(this.proto, appended));
  }
}

/**
 * `record` with `added` (a cached, never mutated object) after its attributes: equal to
 * `{ ...record, attributes: { ...record.attributes, ...added } }` in every field and in key
 * order, and still an OtlpJsonLogRecord when `record` is one and none of `added`'s keys is
 * already set (a key set before keeps its position in the map, which appending cannot express).
 */
export function withAddedAttributes(record: ReadableLogRecord, added: Attributes): ReadableLogRecord {
  if (isOtlpJsonLogRecord(record)) {
    const set = addedSet(added);
    const json = set.json;
    let fresh = json !== undefined;
    const keys = set.keys;
    for (let i = 0; i < keys.length && fresh; i++) fresh = record.attribute(keys[i]) === undefined;
    if (fresh) {
      return isOtlpProtoLogRecord(record)
        ? new AddedAttributesProtoLogRecord(record, added, json!, addedProto(added, set))
        : new AddedAttributesLogRecord(record, added, json!);
    }
  }
  return { ...record, attributes: { ...record.attributes, ...added } };
}
