// Rendering of values, numbers and times the way the Collector's debug exporter prints them
// (Go's fmt and pdata's AsString), so output reads the same whichever of the two produced it.
import type { HrTime } from '@opentelemetry/api';
import type { AnyValue } from '@opentelemetry/api-logs';

/** pdata's type name and AsString() of a value: `Str(x)`, `Int(443)`, `Double(0.5)`, `Empty()`. */
export function typedValue(value: AnyValue): string {
  return `${valueType(value)}(${valueString(value)})`;
}

function valueType(value: AnyValue): string {
  if (value === null || value === undefined) return 'Empty';
  if (typeof value === 'string') return 'Str';
  if (typeof value === 'boolean') return 'Bool';
  // OTLP has no unsigned or "integral double" types: integral numbers travel as int_value, as the
  // OTLP transformer encodes them, so they are shown as Int here too.
  if (typeof value === 'number') return Number.isInteger(value) ? 'Int' : 'Double';
  if (value instanceof Uint8Array) return 'Bytes';
  if (Array.isArray(value)) return 'Slice';
  return 'Map';
}

/** pdata's AsString(): the bare value; maps and slices as JSON, bytes as base64. */
export function valueString(value: AnyValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isInteger(value) ? integerString(value) : goFloat(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return JSON.stringify(toJson(value));
}

// Go's encoding/json sorts map keys and writes bytes as base64.
function toJson(value: AnyValue): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = toJson(value[key]);
    return out;
  }
  return value ?? null;
}

export function integerString(value: number): string {
  return Number.isFinite(value) ? BigInt(Math.trunc(value)).toString() : goFloat(value);
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent. */
export function goFloat(value: number): string {
  if (!Number.isFinite(value)) return nonFinite(value);
  const text = String(value);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text;
  const [, sign, lead, rest = '', expText] = m;
  const exp = Number(expText);
  const digits = lead + rest;
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const point = 1 + exp;
  return digits.length <= point
    ? sign + digits + '0'.repeat(point - digits.length)
    : `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Go's `%f`: six decimals, rounding exact ties to even as Go does (JS toFixed rounds them up). */
export function goFixed6(value: number): string {
  if (!Number.isFinite(value)) return nonFinite(value);
  if (Math.abs(value) >= 1e21) return `${goFloat(value)}.000000`;
  // toFixed(100) is the exact decimal expansion of any double in this range that matters here.
  const exact = Math.abs(value).toFixed(100);
  const point = exact.indexOf('.');
  const kept = exact.slice(0, point) + exact.slice(point + 1, point + 7);
  const rest = exact.slice(point + 7);
  let digits = BigInt(kept);
  const above = rest[0] > '5' || (rest[0] === '5' && /[1-9]/.test(rest.slice(1)));
  const tie = rest[0] === '5' && !above;
  if (above || (tie && digits % 2n === 1n)) digits += 1n;
  const s = digits.toString().padStart(7, '0');
  // Go keeps the sign of negative values that round to zero: -1e-9 prints as -0.000000.
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  return `${sign}${s.slice(0, -6)}.${s.slice(-6)}`;
}

function nonFinite(value: number): string {
  return Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
}

function nanos(time: HrTime): { seconds: number; nanos: number } {
  const seconds = time[0] + Math.floor(time[1] / 1e9);
  return { seconds, nanos: time[1] % 1e9 };
}

/** pcommon.Timestamp's String(): `2023-11-14 22:13:30.0000005 +0000 UTC`, trailing zeros trimmed. */
export function goTimestamp(time: HrTime): string {
  const t = nanos(time);
  const iso = new Date(t.seconds * 1000).toISOString();
  const fraction = t.nanos > 0 ? '.' + String(t.nanos).padStart(9, '0').replace(/0+$/, '') : '';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction} +0000 UTC`;
}

/** RFC 3339 with all nine fractional digits: `2023-11-14T22:13:30.000000500Z`. */
export function isoTimestamp(time: HrTime): string {
  const t = nanos(time);
  const iso = new Date(t.seconds * 1000).toISOString();
  return `${iso.slice(0, 19)}.${String(t.nanos).padStart(9, '0')}Z`;
}

/** A token for a `k=v` line: bare when unambiguous, JSON-quoted when empty or containing separators. */
export function token(text: string, separators: RegExp = /[\s="]/): string {
  return text === '' || separators.test(text) || /[\u0000-\u001f\u007f]/.test(text) ? JSON.stringify(text) : text;
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
