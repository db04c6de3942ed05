// The protobuf of OTLP attribute values (KeyValue, AnyValue), written one way for everyone: the
// generic logs encoder (otlp_proto_logs.ts) and the records that encode themselves from raw
// kernel bytes (otlp_encodable.ts, src/receivers/*/raw_proto.ts) call these same functions, so
// a value cannot be written two ways. Each follows @opentelemetry/otlp-transformer's choices
// (int_value for integers in the int64 range, double_value otherwise, nothing for a value of no
// OTLP type); otlp_proto_logs.test.ts checks the result against the SDK serializer byte for byte.
import { ProtoWriter, stringField, varintSize32 } from './otlp_proto_writer';

// Field keys: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
export const KV_KEY = 0x0a; // KeyValue.key = 1
export const KV_VALUE = 0x12; // KeyValue.value = 2
export const ANY_STRING = 0x0a; // AnyValue.string_value = 1
export const ANY_BOOL = 0x10; // = 2
export const ANY_INT = 0x18; // = 3
export const ANY_DOUBLE = 0x21; // = 4, fixed64
const ANY_ARRAY = 0x2a; // = 5
const ANY_KVLIST = 0x32; // = 6
const ANY_BYTES = 0x3a; // = 7
const LIST_VALUES = 0x0a; // ArrayValue.values = 1, KeyValueList.values = 1
/** LogRecord.attributes = 6: the tag of every KeyValue of a record. */
export const LOG_ATTRIBUTES = 0x32;

// The int64 range, as the SDK decides between int_value and double_value.
const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

const hasOwn = Object.prototype.hasOwnProperty;

type Attrs = Readonly<Record<string, unknown>>;

/** Attribute names kept encoded: tcpscope has a few dozen; this only bounds a runaway. */
const MAX_KEY_FIELDS = 4096;
const keyFields = new Map<string, Uint8Array>();

/** KeyValue.key with its tag and length, for `key`. */
export function keyField(key: string): Uint8Array {
  let field = keyFields.get(key);
  if (field === undefined) {
    field = stringField(KV_KEY, key);
    if (keyFields.size < MAX_KEY_FIELDS) keyFields.set(key, field);
  }
  return field;
}

/** A length-prefixed KeyValue (no tag) of `key` (its keyField) and a string value. */
export function writeStringKeyValue(w: ProtoWriter, key: Uint8Array, value: string): void {
  const mark = w.begin(1);
  w.raw(key);
  w.byte(KV_VALUE);
  const any = w.begin(1);
  w.byte(ANY_STRING);
  w.string(value);
  w.end(any);
  w.end(mark);
}

/** A length-prefixed KeyValue (no tag) of `key` and an integer value in [0, 2^32). */
export function writeUint32KeyValue(w: ProtoWriter, key: Uint8Array, value: number): void {
  const any = 1 + varintSize32(value);
  const length = key.length + 2 + any;
  if (length > 0x7f) {
    w.uint32(length);
    w.raw(key);
    w.byte(KV_VALUE);
    w.byte(any);
    w.byte(ANY_INT);
    w.uint32(value);
    return;
  }
  // The common case (a key below ~120 bytes) written in one go: every length is one byte.
  w.ensure(length + 1);
  const buf = w.buf;
  let p = w.pos;
  buf[p++] = length;
  for (let i = 0; i < key.length; i++) buf[p++] = key[i];
  buf[p++] = KV_VALUE;
  buf[p++] = any;
  buf[p++] = ANY_INT;
  let v = value >>> 0;
  while (v > 0x7f) {
    buf[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[p++] = v;
  w.pos = p;
}

/**
 * A length-prefixed KeyValue (no tag) of `key` and any value that is not a string: integers
 * below 2^32, doubles and booleans with their lengths computed, the rest through writeAnyValue.
 */
export function writeValueKeyValue(w: ProtoWriter, key: Uint8Array, value: unknown): void {
  if (typeof value === 'number' && value >= 0 && value <= 0xffffffff && Number.isInteger(value)) {
    writeUint32KeyValue(w, key, value);
  } else if (typeof value === 'number' && !Number.isInteger(value)) {
    w.uint32(key.length + 2 + 9);
    w.raw(key);
    w.byte(KV_VALUE);
    w.byte(9);
    w.byte(ANY_DOUBLE);
    w.double(value);
  } else if (typeof value === 'boolean') {
    w.uint32(key.length + 4);
    w.raw(key);
    w.byte(KV_VALUE);
    w.byte(2);
    w.byte(ANY_BOOL);
    w.byte(value ? 1 : 0);
  } else {
    const kv = w.begin(1);
    w.raw(key);
    w.byte(KV_VALUE);
    const any = w.begin(1);
    writeAnyValue(w, value);
    w.end(any);
    w.end(kv);
  }
}

/** An AnyValue's content; a value of no OTLP type (undefined, null, bigint, …) writes nothing, as in the SDK. */
export function writeAnyValue(w: ProtoWriter, value: unknown): void {
  switch (typeof value) {
    case 'string':
      w.byte(ANY_STRING);
      w.string(value);
      return;
    case 'boolean':
      w.byte(ANY_BOOL);
      w.byte(value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        w.byte(ANY_INT);
        w.varint(value);
      } else {
        w.byte(ANY_DOUBLE);
        w.double(value);
      }
      return;
    case 'object':
      break;
    default:
      return;
  }
  if (value instanceof Uint8Array) {
    w.byte(ANY_BYTES);
    w.bytes(value);
  } else if (Array.isArray(value)) {
    w.byte(ANY_ARRAY);
    const list = w.begin(1);
    for (const item of value as unknown[]) {
      w.byte(LIST_VALUES);
      const any = w.begin(1);
      writeAnyValue(w, item);
      w.end(any);
    }
    w.end(list);
  } else if (value !== null) {
    w.byte(ANY_KVLIST);
    const list = w.begin(1);
    writeAttributes(w, LIST_VALUES, value as Attrs);
    w.end(list);
  }
}

/** Repeated KeyValue under `tag`, in the object's own enumerable key order (no value caches). */
export function writeAttributes(w: ProtoWriter, tag: number, attributes: Attrs): void {
  for (const key in attributes) {
    if (!hasOwn.call(attributes, key)) continue;
    const value = attributes[key];
    w.byte(tag);
    if (typeof value === 'string') writeStringKeyValue(w, keyField(key), value);
    else writeValueKeyValue(w, keyField(key), value);
  }
}

const scratch = new ProtoWriter(1024);

/** Runs `write` on a scratch writer and returns a copy of what it wrote. */
export function protoBytes(write: (w: ProtoWriter) => void): Uint8Array {
  scratch.reset();
  write(scratch);
  return new Uint8Array(scratch.buf.subarray(0, scratch.pos));
}

/**
 * `attributes` as a LogRecord's attribute fields (tag 6 + KeyValue, repeated), exactly as a
 * record whose attribute map holds them writes them: what a record that encodes itself appends.
 */
export function logAttributesProto(attributes: Attrs): Uint8Array {
  return protoBytes((w) => writeAttributes(w, LOG_ATTRIBUTES, attributes));
}

/** One LogRecord attribute field (tag 6 + KeyValue) of a string value: a cacheable fragment. */
export function stringAttributeProto(key: string, value: string): Uint8Array {
  return protoBytes((w) => {
    w.byte(LOG_ATTRIBUTES);
    writeStringKeyValue(w, keyField(key), value);
  });
}
