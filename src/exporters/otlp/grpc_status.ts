// gRPC status codes and how an export attempt's status becomes a delivery outcome. Kept apart from
// @grpc/grpc-js on purpose: the logs path speaks gRPC over node:http2 itself (grpc_unary_http2.ts),
// and an agent whose otlp exporter carries only logs must not load grpc-js (~5 MB of RSS) for a
// table of numbers.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { SendOutcome } from '../exporterhelper/delivery_queue';

/** The codes of https://github.com/grpc/grpc/blob/master/doc/statuscodes.md (the same numbers as grpc-js's `status`). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const NAMES: readonly string[] = Object.entries(GrpcStatus)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name);

/** `UNAVAILABLE` for 14; `status 42` for a number that is no gRPC status. */
export function statusName(code: number): string {
  return NAMES[code] ?? `status ${code}`;
}

// OTLP/gRPC spec, "Failures": these codes are transient; all others mean the data was refused.
const RETRYABLE = new Set<number>([
  GrpcStatus.CANCELLED,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.ABORTED,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DATA_LOSS,
]);

/** The outcome of an attempt that ended with gRPC status `code` (not OK) and its details. */
export function classifyStatus(code: number, details: string): SendOutcome {
  const reason = withTlsHint(`${statusName(code)}: ${details}`);
  return { kind: RETRYABLE.has(code) ? 'retryable' : 'permanent', reason };
}

/** The outcome of an SDK exporter's result: its error's gRPC status decides, as classifyStatus. */
export function classify(result: ExportResult): SendOutcome {
  if (result.code === ExportResultCode.SUCCESS) return { kind: 'sent' };
  const error = result.error as (Error & { code?: unknown; details?: unknown }) | undefined;
  if (error && typeof error.code === 'number') {
    return classifyStatus(error.code, typeof error.details === 'string' && error.details ? error.details : error.message);
  }
  // No gRPC status: the request could not even be built (encoding, credentials): retrying the
  // same batch would fail the same way.
  return { kind: 'permanent', reason: error?.message ?? 'export failed' };
}

// OpenSSL's complaint when the first bytes back from the server are not a TLS record: the
// endpoint speaks plaintext (a Collector's OTLP receiver without tls), the most common mistake.
const PLAINTEXT_PEER = /wrong version number|WRONG_VERSION_NUMBER|packet length too long/i;

function withTlsHint(reason: string): string {
  if (!PLAINTEXT_PEER.test(reason)) return reason;
  return `${reason.trimEnd()} (the endpoint answered a TLS handshake in plaintext: if it serves plaintext gRPC, set tls.insecure: true)`;
}
