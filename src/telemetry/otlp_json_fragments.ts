// Pieces of the OTLP/JSON (proto3 JSON mapping) of a LogRecord, exactly as
// @opentelemetry/otlp-transformer plus the file exporter's proto3 replacer write them: shared by
// the file exporter's direct writer and by records that encode themselves (otlp_encodable.ts), so
// both produce the same bytes from one definition. The write* functions at the end write the same
// texts' UTF-8 bytes into a JsonByteWriter.
import type { HrTime } from '@opentelemetry/api';
import { fragment, type JsonByteWriter, type JsonFragment } from './json_byte_writer';

/** `"timeUnixNano"` text of an HrTime (fixed64 as a decimal string). */
export function nanosText(time: HrTime): string {
  const [seconds, ns] = time;
  return seconds === 0 ? String(ns) : `${seconds}${String(ns).padStart(9, '0')}`;
}

// Attribute keys repeat in every record: their JSON prefix is built once.
const keyPrefixes = new Map<string, string>();

/** `{"key":"<key>","value":` — an attribute pair is this, a value, then `}`. */
export function keyPrefix(key: string): string {
  let prefix = keyPrefixes.get(key);
  if (prefix === undefined) {
    prefix = `{"key":${JSON.stringify(key)},"value":`;
    if (keyPrefixes.size < 4096) keyPrefixes.set(key, prefix);
  }
  return prefix;
}

// Strings that need no escaping (addresses, names, paths) skip JSON.stringify.
const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/** A JSON string literal. */
export function stringJson(value: string): string {
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * The text of an int64 intValue: decimal digits. Beyond 2^53 a double's own text ("1.8e+19",
 * or digits rounded to 17 places) is not the integer it holds; BigInt prints it exactly, as the
 * generic path's replacer does.
 */
export function int64Text(value: number): string {
  return Number.isSafeInteger(value) ? String(value) : BigInt(Math.trunc(value)).toString();
}

/** The AnyValue of a number: intValue for integers, doubleValue otherwise (as the transformer decides). */
export function numberValueJson(value: number): string {
  if (Number.isInteger(value)) return `{"intValue":"${int64Text(value)}"}`;
  if (Number.isFinite(value)) return `{"doubleValue":${value}}`;
  return `{"doubleValue":"${Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity'}"}`;
}

/** The AnyValue of a scalar, or undefined when the value is not a string, number or boolean. */
export function scalarValueJson(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return `{"stringValue":${stringJson(value)}}`;
    case 'number':
      return numberValueJson(value);
    case 'boolean':
      return `{"boolValue":${value}}`;
    default:
      return undefined;
  }
}

/** `{"key":…,"value":{…}}` pairs joined by commas, or undefined when a value is not a scalar. */
export function attributesJson(attributes: Readonly<Record<string, unknown>>): string | undefined {
  let out = '';
  let first = true;
  for (const key in attributes) {
    const encoded = scalarValueJson(attributes[key]);
    if (encoded === undefined) return undefined;
    out += (first ? '' : ',') + keyPrefix(key) + encoded + '}';
    first = false;
  }
  return out;
}

// The same pieces written into a JsonByteWriter (json_byte_writer.ts): the bytes of the texts
// above, without the texts.

/** What nanosText writes, as bytes. */
export function writeNanos(w: JsonByteWriter, time: HrTime): void {
  const [seconds, ns] = time;
  if (!(Number.isInteger(ns) && ns >= 0 && ns < 1e9 && Number.isSafeInteger(seconds) && seconds >= 0)) {
    w.ascii(nanosText(time));
  } else if (seconds === 0) {
    w.uint(ns);
  } else {
    w.uint(seconds);
    w.paddedUint(ns, 9);
  }
}

/** What int64Text writes, as bytes. */
export function writeInt64(w: JsonByteWriter, value: number): void {
  if (value >= 0 && Number.isSafeInteger(value)) w.uint(value);
  else w.ascii(int64Text(value));
}

const INT_VALUE = fragment('{"intValue":"');
const INT_VALUE_END = fragment('"}');
const DOUBLE_VALUE = fragment('{"doubleValue":');
const STRING_VALUE = fragment('{"stringValue":');
const TRUE_VALUE = fragment('{"boolValue":true}');
const FALSE_VALUE = fragment('{"boolValue":false}');

/** What numberValueJson writes, as bytes. */
export function writeNumberValue(w: JsonByteWriter, value: number): void {
  if (Number.isInteger(value)) {
    w.bytes(INT_VALUE);
    writeInt64(w, value);
    w.bytes(INT_VALUE_END);
  } else if (Number.isFinite(value)) {
    w.bytes(DOUBLE_VALUE);
    w.ascii(String(value));
    w.byte(0x7d);
  } else {
    w.ascii(numberValueJson(value));
  }
}

/** What scalarValueJson writes, as bytes; false (and nothing written) when the value is not a scalar. */
export function writeScalarValue(w: JsonByteWriter, value: unknown): boolean {
  switch (typeof value) {
    case 'string':
      w.bytes(STRING_VALUE);
      w.string(value);
      w.byte(0x7d);
      return true;
    case 'number':
      writeNumberValue(w, value);
      return true;
    case 'boolean':
      w.bytes(value ? TRUE_VALUE : FALSE_VALUE);
      return true;
    default:
      return false;
  }
}

const keyPrefixBytes = new Map<string, JsonFragment>();

/** keyPrefix(key) as bytes. */
export function keyPrefixFragment(key: string): JsonFragment {
  let prefix = keyPrefixBytes.get(key);
  if (prefix === undefined) {
    prefix = fragment(keyPrefix(key));
    if (keyPrefixBytes.size < 4096) keyPrefixBytes.set(key, prefix);
  }
  return prefix;
}

/**
 * What attributesJson writes, as bytes; false when a value is not a scalar (then part of the
 * pairs may have been written: the caller cuts back).
 */
export function writeAttributes(w: JsonByteWriter, attributes: Readonly<Record<string, unknown>>): boolean {
  let first = true;
  for (const key in attributes) {
    if (!first) w.byte(0x2c);
    first = false;
    w.bytes(keyPrefixFragment(key));
    if (!writeScalarValue(w, attributes[key])) return false;
    w.byte(0x7d);
  }
  return true;
}
