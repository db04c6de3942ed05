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
  const seconds = time[0];
  const ns = time[1];
  // Integers in range (what every clock gives) are written digit by digit, anything else as text.
  if (seconds === 0 || !(seconds > 0 && seconds < 2 ** 53 && ns >= 0 && ns < 1e9 && ns % 1 === 0 && seconds % 1 === 0)) {
    w.ascii(nanosText(time));
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

const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);
const ZERO_POINT = fragment('0.');
const EXPONENT_MINUS = fragment('e-');

/**
 * What writeNumberValue(count / 10^decimals) writes (a duration in ns as seconds), without
 * formatting a double. For a count below 10^15 the quotient's shortest round-trip digits, which
 * Number#toString prints, are the count's own digits: the exact decimal count·10^-decimals has at
 * most 15 significant digits, rounds to the quotient, and no other decimal of 15 digits or fewer
 * rounds to the same double. Only the placement of the point (or the exponent below 10^-6) is
 * left, as ECMAScript's Number::toString places it. Anything else takes writeNumberValue.
 */
export function writeDecimalValue(w: JsonByteWriter, count: number, decimals: number): void {
  const scale = POW10[decimals];
  if (!(count > 0 && count < 1e15 && count % 1 === 0) || count % scale === 0) {
    writeNumberValue(w, count / scale);
    return;
  }
  let digits = count;
  let zeros = 0;
  while (digits % 10 === 0) {
    digits /= 10;
    zeros++;
  }
  let k = 1;
  while (k < 16 && digits >= POW10[k]) k++;
  // The value is digits × 10^(point - k): point digits before the decimal point.
  const point = k + zeros - decimals;
  w.bytes(DOUBLE_VALUE);
  if (point > 0) {
    const fraction = k - point;
    const rest = digits % POW10[fraction];
    w.uint((digits - rest) / POW10[fraction]);
    w.byte(0x2e);
    w.paddedUint(rest, fraction);
  } else if (point > -6) {
    w.bytes(ZERO_POINT);
    for (let i = 0; i < -point; i++) w.byte(0x30);
    w.uint(digits);
  } else {
    const rest = digits % POW10[k - 1];
    w.uint((digits - rest) / POW10[k - 1]);
    if (k > 1) {
      w.byte(0x2e);
      w.paddedUint(rest, k - 1);
    }
    w.bytes(EXPONENT_MINUS);
    w.uint(1 - point);
  }
  w.byte(0x7d);
}
