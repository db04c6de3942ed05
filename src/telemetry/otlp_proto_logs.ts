// ExportLogsServiceRequest protobuf, encoded straight from log records into one buffer.
//
// It reads only the ReadableLogRecord interface (hrTime, attributes, resource, …), so it encodes
// any record implementation, and it produces the same bytes as @opentelemetry/otlp-transformer's
// ProtobufLogsSerializer for every record shape (same fields in the same order, same grouping by
// resource and scope object in first-seen order, same treatment of odd values): the equivalence
// test compares them byte for byte. What it saves is the work that repeats: the Resource and
// the InstrumentationScope of a batch are encoded once per object and kept, attribute keys once
// per name, and the request is written in one pass (the SDK's serializer runs twice: once to size
// the buffer, once to fill it).
//
// Resource and scope objects are treated as immutable once seen (the SDK treats them so); a
// Resource whose async attributes are still pending is encoded each time, never cached.
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { isOtlpProtoLogRecord } from './otlp_encodable';
import type { RequestSlabs, SlabLease } from './otlp_proto_slabs';
import { ProtoWriter, stringField } from './otlp_proto_writer';
import { keyField, writeAnyValue, writeStringKeyValue, writeValueKeyValue } from './otlp_proto_values';

// Field keys: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).
const REQUEST_RESOURCE_LOGS = 0x0a; // ExportLogsServiceRequest.resource_logs = 1
const RESOURCE_LOGS_RESOURCE = 0x0a; // ResourceLogs.resource = 1
const RESOURCE_LOGS_SCOPE_LOGS = 0x12; // ResourceLogs.scope_logs = 2
const RESOURCE_LOGS_SCHEMA_URL = 0x1a; // ResourceLogs.schema_url = 3
const SCOPE_LOGS_SCOPE = 0x0a; // ScopeLogs.scope = 1
const SCOPE_LOGS_LOG_RECORDS = 0x12; // ScopeLogs.log_records = 2
const SCOPE_LOGS_SCHEMA_URL = 0x1a; // ScopeLogs.schema_url = 3
const RESOURCE_ATTRIBUTES = 0x0a; // Resource.attributes = 1
const RESOURCE_DROPPED = 0x10; // Resource.dropped_attributes_count = 2
const SCOPE_NAME = 0x0a; // InstrumentationScope.name = 1
const SCOPE_VERSION = 0x12; // InstrumentationScope.version = 2
const SCOPE_ATTRIBUTES = 0x1a; // InstrumentationScope.attributes = 3
const SCOPE_DROPPED = 0x20; // InstrumentationScope.dropped_attributes_count = 4
const LOG_TIME = 0x09; // LogRecord.time_unix_nano = 1, fixed64
const LOG_SEVERITY_NUMBER = 0x10; // = 2
const LOG_SEVERITY_TEXT = 0x1a; // = 3
const LOG_BODY = 0x2a; // = 5
const LOG_ATTRIBUTES = 0x32; // = 6
const LOG_DROPPED = 0x38; // = 7
const LOG_FLAGS = 0x45; // = 8, fixed32
const LOG_TRACE_ID = 0x4a; // = 9
const LOG_SPAN_ID = 0x52; // = 10
const LOG_OBSERVED_TIME = 0x59; // = 11, fixed64
const LOG_EVENT_NAME = 0x62; // = 12

/** Attribute names kept encoded: tcpscope has a few dozen; this only bounds a runaway. */
const MAX_CACHED_KEYS = 4096;
/** String values kept encoded per attribute name (addresses and ports vary; most others repeat). */
const MAX_VALUES_PER_KEY = 4096;
/** All encoded string KeyValues together, with their map entries: the cache is emptied past it. */
const VALUE_CACHE_BYTES = 4 * 1024 * 1024;
/** A Map entry and a Uint8Array's header, roughly, counted against VALUE_CACHE_BYTES. */
const VALUE_ENTRY_OVERHEAD = 160;

interface KeyEntry {
  /** KeyValue.key with its tag and length. */
  readonly field: Uint8Array;
  /** Whole length-prefixed KeyValues of this key with a string value, by value. */
  readonly strings: Map<string, Uint8Array>;
  /** False past MAX_CACHED_KEYS: the entry lives for one value only, its strings are not kept. */
  readonly kept: boolean;
  /** The string value seen last for this key and its KeyValue (kept out of the budget: one per key). */
  lastString: string | undefined;
  lastKeyValue: Uint8Array;
}

const EMPTY = new Uint8Array(0);

const hasOwn = Object.prototype.hasOwnProperty;

type Attrs = Readonly<Record<string, unknown>>;

export class OtlpLogsProtoEncoder {
  private readonly writer = new ProtoWriter();
  private readonly resources = new WeakMap<Resource, { head: Uint8Array; tail: Uint8Array }>();
  private readonly scopes = new WeakMap<InstrumentationScope, { head: Uint8Array; tail: Uint8Array }>();
  private readonly keys = new Map<string, KeyEntry>();
  private cachedValueBytes = 0;
  /** Request bytes per record of the last request: the next request's buffer is sized from it. */
  private bytesPerRecord = 512;

  /**
   * `selfEncoding: false` encodes every record from its attribute map, also those that could write
   * themselves: the path before otlpProto, kept for side-by-side measurement (bench/otlp_encode.ts).
   */
  constructor(private readonly options: { readonly selfEncoding?: boolean } = {}) {}

  /** The request for `records`, in a buffer of its own (the queue may hold it a while). */
  encode(records: readonly ReadableLogRecord[]): Buffer {
    const w = this.writer;
    // Written into a buffer of its own, sized from the bytes per record seen so far, and handed
    // out as it is: no copy of the request.
    w.resetTo(this.estimate(records.length));
    this.write(records);
    return w.take();
  }

  /**
   * The request for `records` written into `slabs` (otlp_proto_slabs.ts), with the lease that keeps
   * its bytes until released; the same bytes as encode(). A request larger than a slab, or one that
   * outgrew its estimate, gets a buffer of its own and no lease.
   */
  encodeInto(records: readonly ReadableLogRecord[], slabs: RequestSlabs): { readonly bytes: Buffer; readonly lease: SlabLease | undefined } {
    const w = this.writer;
    const estimate = this.estimate(records.length);
    const slab = slabs.open(estimate);
    if (slab === undefined) return { bytes: this.encode(records), lease: undefined };
    const start = slab.used;
    w.resetAt(slab.buf, start);
    this.write(records);
    if (w.buf !== slab.buf) {
      // ensure() moved the writer to a larger buffer, with the slab's bytes before `start`: only
      // this request is copied out; the slab stays as it was.
      const bytes = Buffer.from(w.buf.subarray(start, w.pos));
      w.resetAt(slab.buf, start);
      return { bytes, lease: undefined };
    }
    const bytes = slab.buf.subarray(start, w.pos);
    return { bytes, lease: slabs.commit(w.pos) };
  }

  /** Buffer bytes for a request of `records` records, from the bytes per record seen so far. */
  private estimate(records: number): number {
    return Math.ceil(records * this.bytesPerRecord * 1.125) + 1024;
  }

  private write(records: readonly ReadableLogRecord[]): void {
    const w = this.writer;
    const start = w.pos;
    const selfEncoding = this.options.selfEncoding !== false;
    for (const [resource, scopes] of group(records)) {
      w.byte(REQUEST_RESOURCE_LOGS);
      const resourceLogs = w.begin(3);
      const r = this.resourceParts(resource);
      w.raw(r.head);
      for (const [scope, scoped] of scopes) {
        w.byte(RESOURCE_LOGS_SCOPE_LOGS);
        const scopeLogs = w.begin(3);
        const s = this.scopeParts(scope);
        w.raw(s.head);
        for (let i = 0; i < scoped.length; i++) {
          const record = scoped[i];
          w.byte(SCOPE_LOGS_LOG_RECORDS);
          if (selfEncoding && isOtlpProtoLogRecord(record)) {
            // A record backed by kernel bytes writes itself (otlp_encodable.ts): the same bytes
            // as logRecord() below writes from its attribute map, without building that map.
            const mark = w.begin(2);
            record.otlpProto(w, EMPTY);
            w.end(mark);
          } else {
            this.logRecord(record);
          }
        }
        w.raw(s.tail);
        w.end(scopeLogs);
      }
      w.raw(r.tail);
      w.end(resourceLogs);
    }
    if (records.length > 0) this.bytesPerRecord = Math.max(64, (w.pos - start) / records.length);
  }

  private logRecord(record: ReadableLogRecord): void {
    const w = this.writer;
    // Most records of tcpscope are 128 bytes to 16 KiB: two bytes of length.
    const mark = w.begin(2);
    // Each field read once: a record may compute them in getters (a raw-bytes-backed record).
    const time = record.hrTime;
    w.byte(LOG_TIME);
    w.hrTime(time[0], time[1]);
    const severity = record.severityNumber;
    if (severity !== undefined && severity !== 0) {
      w.byte(LOG_SEVERITY_NUMBER);
      w.varint(severity);
    }
    const severityText = record.severityText;
    if (severityText) {
      w.byte(LOG_SEVERITY_TEXT);
      w.string(severityText);
    }
    const body = record.body;
    if (body !== undefined) {
      w.byte(LOG_BODY);
      const mark = w.begin(1);
      this.anyValue(body);
      w.end(mark);
    }
    const attributes = record.attributes as Attrs | undefined;
    if (attributes) this.attributes(LOG_ATTRIBUTES, attributes);
    w.byte(LOG_DROPPED);
    w.varint(record.droppedAttributesCount);
    const span = record.spanContext;
    if (span?.traceFlags) {
      w.byte(LOG_FLAGS);
      w.fixed32(span.traceFlags);
    }
    if (span?.traceId) {
      w.byte(LOG_TRACE_ID);
      w.bytes(hexToBinary(span.traceId));
    }
    if (span?.spanId) {
      w.byte(LOG_SPAN_ID);
      w.bytes(hexToBinary(span.spanId));
    }
    const observed = record.hrTimeObserved;
    w.byte(LOG_OBSERVED_TIME);
    w.hrTime(observed[0], observed[1]);
    const eventName = record.eventName;
    if (eventName) {
      w.byte(LOG_EVENT_NAME);
      w.string(eventName);
    }
    w.end(mark);
  }

  /**
   * Repeated KeyValue under `tag`, in the object's own enumerable key order. A string value is
   * looked up among the KeyValues already encoded for its key (most of tcpscope's repeat: the
   * transport, the cgroup, the process, the pod); any other value is written by the shared
   * writeValueKeyValue (otlp_proto_values.ts), as records that encode themselves write it.
   */
  private attributes(tag: number, attributes: Attrs): void {
    const w = this.writer;
    for (const key in attributes) {
      if (!hasOwn.call(attributes, key)) continue;
      const entry = this.keyEntry(key);
      const value = attributes[key];
      w.byte(tag);
      if (typeof value === 'string') {
        // Most keys keep the value of the record before (transport, process, cgroup, pod): one
        // comparison instead of a map lookup.
        let kv: Uint8Array | undefined;
        if (value === entry.lastString) kv = entry.lastKeyValue;
        else {
          kv = entry.strings.get(value) ?? this.cacheStringKeyValue(entry, value);
          entry.lastString = value;
          entry.lastKeyValue = kv;
        }
        w.raw(kv);
      } else {
        writeValueKeyValue(w, entry.field, value);
      }
    }
  }

  private keyEntry(key: string): KeyEntry {
    let entry = this.keys.get(key);
    if (entry === undefined) {
      const kept = this.keys.size < MAX_CACHED_KEYS;
      entry = { field: keyField(key), strings: new Map(), kept, lastString: undefined, lastKeyValue: EMPTY };
      if (kept) this.keys.set(key, entry);
    }
    return entry;
  }

  /** The length-prefixed KeyValue of `entry`'s key and a string value, kept for the next time within budget. */
  private cacheStringKeyValue(entry: KeyEntry, value: string): Uint8Array {
    const kv = this.encodeApart(() => writeStringKeyValue(this.writer, entry.field, value));
    if (entry.kept && entry.strings.size < MAX_VALUES_PER_KEY) {
      this.cachedValueBytes += kv.length + value.length + VALUE_ENTRY_OVERHEAD;
      if (this.cachedValueBytes > VALUE_CACHE_BYTES) {
        // A workload that keeps changing (pods, peers) refills the cache with what is current.
        for (const e of this.keys.values()) e.strings.clear();
        this.cachedValueBytes = kv.length + value.length + VALUE_ENTRY_OVERHEAD;
      }
      entry.strings.set(value, kv);
    }
    return kv;
  }

  private anyValue(value: unknown): void {
    writeAnyValue(this.writer, value);
  }

  /** ResourceLogs' resource field (head) and schema_url (tail), encoded once per Resource. */
  private resourceParts(resource: Resource): { head: Uint8Array; tail: Uint8Array } {
    const cached = this.resources.get(resource);
    if (cached) return cached;
    const parts = {
      head: this.encodeApart(() => {
        const w = this.writer;
        w.byte(RESOURCE_LOGS_RESOURCE);
        const mark = w.begin(2);
        if (resource.attributes) this.attributes(RESOURCE_ATTRIBUTES, resource.attributes);
        // The SDK does not track dropped resource attributes and always writes 0.
        w.byte(RESOURCE_DROPPED);
        w.byte(0);
        w.end(mark);
      }),
      tail: resource.schemaUrl ? stringField(RESOURCE_LOGS_SCHEMA_URL, resource.schemaUrl) : new Uint8Array(0),
    };
    if (!resource.asyncAttributesPending) this.resources.set(resource, parts);
    return parts;
  }

  /** ScopeLogs' scope field (head) and schema_url (tail), encoded once per scope object. */
  private scopeParts(scope: InstrumentationScope): { head: Uint8Array; tail: Uint8Array } {
    const cached = this.scopes.get(scope);
    if (cached) return cached;
    const withExtras = scope as InstrumentationScope & { attributes?: Attrs; droppedAttributesCount?: number };
    const parts = {
      head: this.encodeApart(() => {
        const w = this.writer;
        w.byte(SCOPE_LOGS_SCOPE);
        const mark = w.begin(1);
        w.byte(SCOPE_NAME);
        w.string(scope.name);
        if (scope.version) {
          w.byte(SCOPE_VERSION);
          w.string(scope.version);
        }
        if (withExtras.attributes) this.attributes(SCOPE_ATTRIBUTES, withExtras.attributes);
        if (withExtras.droppedAttributesCount) {
          w.byte(SCOPE_DROPPED);
          w.varint(withExtras.droppedAttributesCount);
        }
        w.end(mark);
      }),
      tail: scope.schemaUrl ? stringField(SCOPE_LOGS_SCHEMA_URL, scope.schemaUrl) : new Uint8Array(0),
    };
    this.scopes.set(scope, parts);
    return parts;
  }

  /** Runs `write` at the end of the writer and takes its bytes back out, leaving the writer as it was. */
  private encodeApart(write: () => void): Uint8Array {
    const w = this.writer;
    const start = w.pos;
    write();
    const out = new Uint8Array(w.pos - start);
    out.set(w.buf.subarray(start, w.pos));
    w.pos = start;
    return out;
  }
}

/**
 * Records by resource, then by scope, each in first-seen order (object identity, as the SDK
 * groups them). The common batch, one resource and one scope, costs no maps.
 */
function group(
  records: readonly ReadableLogRecord[],
): Iterable<[Resource, Iterable<[InstrumentationScope, readonly ReadableLogRecord[]]>]> {
  if (records.length === 0) return [];
  const resource = records[0].resource;
  const scope = records[0].instrumentationScope;
  let uniform = true;
  for (let i = 1; i < records.length && uniform; i++) {
    uniform = records[i].resource === resource && records[i].instrumentationScope === scope;
  }
  if (uniform) return [[resource, [[scope, records]]]];
  const byResource = new Map<Resource, Map<InstrumentationScope, ReadableLogRecord[]>>();
  for (const record of records) {
    let byScope = byResource.get(record.resource);
    if (!byScope) byResource.set(record.resource, (byScope = new Map()));
    let list = byScope.get(record.instrumentationScope);
    if (!list) byScope.set(record.instrumentationScope, (list = []));
    list.push(record);
  }
  return byResource;
}

/** Hex to bytes exactly as the SDK converts trace and span ids (including its reading of odd input). */
function hexToBinary(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  let offset = 0;
  for (let i = 0; i < hex.length; i += 2) {
    out[offset++] = (nibble(hex.charCodeAt(i)) << 4) | nibble(hex.charCodeAt(i + 1));
  }
  return out;
}

function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return code - 55;
}
