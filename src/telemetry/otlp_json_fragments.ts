// Pieces of the OTLP/JSON (proto3 JSON mapping) of a LogRecord, exactly as
// @opentelemetry/otlp-transformer plus the file exporter's proto3 replacer write them: shared by
// the file exporter's direct writer and by records that encode themselves (otlp_encodable.ts), so
// both produce the same bytes from one definition.
import type { HrTime } from '@opentelemetry/api';

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
