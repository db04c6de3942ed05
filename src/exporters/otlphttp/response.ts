// What an OTLP/HTTP receiver answers, read from the response body: on success an
// Export<Signal>ServiceResponse whose partial_success says how many items it rejected and why; on
// failure a google.rpc.Status whose message says why. Both in the encoding of the response's
// Content-Type (protobuf or JSON). Only these two small messages are read, so this reads their
// few fields directly instead of loading generated protobuf code.
import type { Signal } from '../../component';

export interface PartialSuccess {
  readonly rejected: number;
  readonly errorMessage: string;
}

/** The partial_success of a success response, or undefined when absent or empty (full success). */
export function partialSuccessOf(body: Buffer, json: boolean, signal: Signal): PartialSuccess | undefined {
  if (body.length === 0) return undefined;
  let found: PartialSuccess | undefined;
  if (json) {
    const parsed = JSON.parse(body.toString('utf8')) as { partialSuccess?: Record<string, unknown> } | null;
    const partial = parsed?.partialSuccess;
    if (partial && typeof partial === 'object') {
      // int64 in the proto3 JSON mapping is a decimal string; receivers also write numbers.
      const rejected = Number(partial[signal === 'metrics' ? 'rejectedDataPoints' : 'rejectedLogRecords'] ?? 0);
      found = { rejected: Number.isFinite(rejected) ? rejected : 0, errorMessage: typeof partial.errorMessage === 'string' ? partial.errorMessage : '' };
    }
  } else {
    // Export{Metrics,Logs}ServiceResponse.partial_success = 1 { rejected_* = 1 (int64), error_message = 2 }.
    for (const field of fieldsOf(body)) {
      if (field.number !== 1 || field.bytes === undefined) continue;
      let rejected = 0;
      let message = '';
      for (const inner of fieldsOf(field.bytes)) {
        if (inner.number === 1 && inner.varint !== undefined) rejected = inner.varint;
        else if (inner.number === 2 && inner.bytes !== undefined) message = inner.bytes.toString('utf8');
      }
      found = { rejected, errorMessage: message };
    }
  }
  return found && (found.rejected !== 0 || found.errorMessage !== '') ? found : undefined;
}

/** google.rpc.Status.message of a failure response, or undefined when the body is not one. */
export function statusMessageOf(body: Buffer, json: boolean): string | undefined {
  if (body.length === 0) return undefined;
  try {
    if (json) {
      const parsed = JSON.parse(body.toString('utf8')) as { message?: unknown } | null;
      return typeof parsed?.message === 'string' && parsed.message !== '' ? parsed.message : undefined;
    }
    // Status.message = 2 (string).
    for (const field of fieldsOf(body)) {
      if (field.number === 2 && field.bytes !== undefined) return field.bytes.toString('utf8');
    }
  } catch {
    // Not a Status (a proxy's HTML error page, say): the caller shows the text instead.
  }
  return undefined;
}

interface Field {
  readonly number: number;
  /** Varint fields; exact below 2^53. */
  readonly varint?: number;
  readonly bytes?: Buffer;
}

/** The fields of a protobuf message; throws on malformed input. */
function fieldsOf(buf: Buffer): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  };
  while (pos < buf.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) fields.push({ number, varint: varint() });
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const length = varint();
      if (pos + length > buf.length) throw new Error('truncated field');
      fields.push({ number, bytes: buf.subarray(pos, pos + length) });
      pos += length;
    } else throw new Error(`unsupported wire type ${wire}`);
    if (pos > buf.length) throw new Error('truncated field');
  }
  return fields;
}

/**
 * Retry-After in milliseconds from now: delay-seconds or an HTTP-date (RFC 9110 §10.2.3);
 * undefined when absent or unreadable. A date in the past means now (0).
 */
export function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP-date is wall-clock time, so this one difference is taken on the wall clock.
  const at = /[A-Za-z]/.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
