// What an OTLP/HTTP receiver answers, read from the response body: on success an
// Export<Signal>ServiceResponse whose partial_success says how many items it rejected and why; on
// failure a google.rpc.Status whose message says why. Both in the encoding of the response's
// Content-Type (protobuf or JSON). Only these two small messages are read, so this reads their
// few fields directly instead of loading generated protobuf code.
import type { Signal } from '../../component';
import { protoFieldsOf, protoPartialSuccess, type PartialSuccess } from '../../telemetry/otlp_proto_response';

export type { PartialSuccess } from '../../telemetry/otlp_proto_response';

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
    found = protoPartialSuccess(body);
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
    for (const field of protoFieldsOf(body)) {
      if (field.number === 2 && field.bytes !== undefined) return field.bytes.toString('utf8');
    }
  } catch {
    // Not a Status (a proxy's HTML error page, say): the caller shows the text instead.
  }
  return undefined;
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
