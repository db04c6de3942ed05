// A capability a log record may offer beside ReadableLogRecord: writing its own OTLP/JSON
// LogRecord and answering single attribute lookups, both without building its attribute map.
// Receivers whose records come straight from kernel bytes offer it (tcp_lifecycle); the file
// exporter uses it when every record of a request has it, and falls back to the generic encoder
// otherwise. The contract is byte equality: otlpJson() must return exactly what the generic path
// (src/exporters/file/otlp_json.ts encodeLogsRequestGeneric) writes for the same record.
//
// A processor that changes attributes must either keep the capability correct (wrap the record:
// withAddedAttributes below) or drop it. Copying with `{ ...record, attributes }` drops it by
// construction: the methods live on the prototype, so a spread copy is a plain record again.
import type { Attributes } from '@opentelemetry/api';
import type { AnyValue, LogAttributes } from '@opentelemetry/api-logs';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { attributesJson } from './otlp_json_fragments';

export interface OtlpJsonLogRecord extends ReadableLogRecord {
  /**
   * This LogRecord as proto3 JSON (`{"timeUnixNano":…,"droppedAttributesCount":…}`), with
   * `appended` (pre-encoded `{"key":…,"value":…}` pairs joined by commas, possibly empty) placed
   * after its own attribute pairs, as if those attributes were added last to its attribute map.
   */
  otlpJson(appended: string): string;
  /** What `attributes[key]` holds, without building the map (undefined when absent). */
  attribute(key: string): AnyValue | undefined;
}

export function isOtlpJsonLogRecord(record: ReadableLogRecord): record is OtlpJsonLogRecord {
  return typeof (record as Partial<OtlpJsonLogRecord>).otlpJson === 'function';
}

// Added attribute sets are cached objects (per cgroup, per peer, per probability): their JSON is
// computed once per object.
const encodedSets = new WeakMap<Attributes, string | null>();

function addedJson(added: Attributes): string | undefined {
  let json = encodedSets.get(added);
  if (json === undefined) {
    json = attributesJson(added) ?? null;
    encodedSets.set(added, json);
  }
  return json ?? undefined;
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
    private readonly json: string,
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

  otlpJson(appended: string): string {
    return this.base.otlpJson(appended === '' || this.json === '' ? this.json + appended : `${this.json},${appended}`);
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
    let fresh = true;
    for (const key in added) {
      if (record.attribute(key) !== undefined) {
        fresh = false;
        break;
      }
    }
    const json = fresh ? addedJson(added) : undefined;
    if (json !== undefined) return new AddedAttributesLogRecord(record, added, json);
  }
  return { ...record, attributes: { ...record.attributes, ...added } };
}
