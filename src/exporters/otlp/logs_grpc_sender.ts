// Log batches over OTLP/gRPC as bytes: the exporter encodes each batch into an
// ExportLogsServiceRequest when it accepts it (src/telemetry/otlp_proto_logs.ts), the queue holds
// those bytes, and this sender frames them as a gRPC unary call over node:http2
// (./grpc_unary_http2.ts: no grpc-js on this path). It does what the SDK's OTLPLogExporter did:
// one LogsService/Export call per attempt with the configured TLS, headers (plus
// OTEL_EXPORTER_OTLP_[LOGS_]HEADERS for names not configured), gzip and deadline; the outcome
// classified by gRPC status (classifyStatus()); the response read for partial_success.
import { readFileSync } from 'node:fs';
import type { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { AgentLogger } from '../../logger';
import { withEnvironmentHeaders } from '../otlp_environment_headers';
import { OtlpLogsProtoEncoder } from '../../telemetry/otlp_proto_logs';
import { protoPartialSuccess } from '../../telemetry/otlp_proto_response';
import { RequestSlabs, type SlabLease } from '../../telemetry/otlp_proto_slabs';
import { VERSION } from '../../version';
import type { OtlpExporterSettings } from './config';
import type { SendOutcome } from '../exporterhelper/delivery_queue';
import type { BatchSender } from '../exporterhelper/sender';
import { classifyStatus, GrpcStatus } from './grpc_status';
import { checkedMetadata, GrpcUnaryClient, type UnaryResult, type UnaryTransport } from './grpc_unary_http2';

/**
 * A log batch as the queue holds it: one encoded ExportLogsServiceRequest, or several joined by
 * mergeEncodedLogs (protobuf messages concatenated are the merge of their repeated fields: the
 * receiver reads one request with all their ResourceLogs), and what it carries.
 */
export interface EncodedLogs {
  readonly parts: readonly Buffer[];
  /** Bytes of all parts. */
  readonly size: number;
  readonly records: number;
  /** Set when the batch could not be encoded: sending it fails permanently with this reason. */
  readonly error?: string;
  /** Holds on the reusable buffers its parts are in, released by releaseEncodedLogs. */
  readonly leases?: readonly SlabLease[];
}

/** Gives the batch's buffers back for reuse: call once it has left the queue and no send reads it. */
export function releaseEncodedLogs(batch: EncodedLogs): void {
  if (batch.leases === undefined) return;
  for (const lease of batch.leases) lease.release();
}

/** Bytes per joined request at most: well under the 4 MiB a receiver takes by default. */
export const MAX_MERGED_BYTES = 2 * 1024 * 1024;

/**
 * `waiting` and `next` as one request when it stays within `maxRecords` and MAX_MERGED_BYTES;
 * batches that failed to encode stay apart (their failure is theirs).
 */
export function mergeEncodedLogs(waiting: EncodedLogs, next: EncodedLogs, maxRecords: number): EncodedLogs | undefined {
  if (waiting.error !== undefined || next.error !== undefined) return undefined;
  if (waiting.records + next.records > maxRecords || waiting.size + next.size > MAX_MERGED_BYTES) return undefined;
  return {
    parts: joinParts(waiting.parts, next.parts),
    size: waiting.size + next.size,
    records: waiting.records + next.records,
    leases: waiting.leases === undefined ? next.leases : next.leases === undefined ? waiting.leases : [...waiting.leases, ...next.leases],
  };
}

/**
 * `a` then `b`; when `a`'s last part and `b`'s first are adjacent bytes of one buffer (requests
 * written one after the other into a slab) they become one part: the request is sent without
 * concatenating.
 */
function joinParts(a: readonly Buffer[], b: readonly Buffer[]): Buffer[] {
  const last = a[a.length - 1];
  const first = b[0];
  if (last !== undefined && first !== undefined && last.buffer === first.buffer && last.byteOffset + last.length === first.byteOffset) {
    const joined = Buffer.from(last.buffer, last.byteOffset, last.length + first.length);
    return [...a.slice(0, -1), joined, ...b.slice(1)];
  }
  return [...a, ...b];
}

function encoded(bytes: Buffer, records: number, lease?: SlabLease): EncodedLogs {
  return lease === undefined ? { parts: [bytes], size: bytes.length, records } : { parts: [bytes], size: bytes.length, records, leases: [lease] };
}

export const LOGS_EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

/** A request's bytes, and the lease on the reusable buffer they are in (if they are). */
type Encode = (records: readonly ReadableLogRecord[]) => Buffer | { readonly bytes: Buffer; readonly lease: SlabLease | undefined };

/**
 * Encodes a batch for the queue. Should the direct encoder ever throw (it handles every shape the
 * SDK serializer does, byte for byte: see its test), the SDK serializer gets the batch instead;
 * if that throws too the batch is kept as a failure, so that it is counted and logged as a
 * permanent rejection exactly like a batch the SDK exporter could not serialize.
 */
export function encodeLogsBatch(records: readonly ReadableLogRecord[], encode: Encode, logger?: AgentLogger): EncodedLogs {
  try {
    const out = encode(records);
    return Buffer.isBuffer(out) ? encoded(out, records.length) : encoded(out.bytes, records.length, out.lease);
  } catch (error) {
    logger?.debug(`logs: direct protobuf encoding failed (${(error as Error).message}); using the SDK serializer for this batch`);
    try {
      const bytes = sdkLogsSerializer().serializeRequest(records as ReadableLogRecord[]) ?? new Uint8Array(0);
      return encoded(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), records.length);
    } catch (sdkError) {
      return { parts: [], size: 0, records: records.length, error: `the batch cannot be encoded: ${(sdkError as Error).message}` };
    }
  }
}

/**
 * The SDK's serializer, loaded on first use: it is only the fallback, and otlp-transformer with
 * its generated protobuf code costs ~8 MB of RSS that the direct encoder never needs.
 */
function sdkLogsSerializer(): typeof ProtobufLogsSerializer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer')).ProtobufLogsSerializer;
}

/**
 * An encoder whose caches live as long as the exporter, writing requests into reusable slabs
 * (otlp_proto_slabs.ts): its batches must be given to releaseEncodedLogs once done with.
 */
export function logsEncoder(): Encode {
  const encoder = new OtlpLogsProtoEncoder();
  const slabs = new RequestSlabs();
  return (records) => encoder.encodeInto(records, slabs);
}

/** As the SDK transport: after this many deadline failures in a row the connection is made anew. */
const MAX_DEADLINE_EXCEEDED = 5;

/** In grpc-js's style (primary agent, then the gRPC implementation): tcpscope's own gRPC over node:http2. */
export const USER_AGENT = `tcpscope/${VERSION} grpc-node-http2/${process.versions.node}`;

export interface PartialSuccess {
  readonly rejectedLogRecords: number;
  readonly errorMessage: string;
}

/** ExportLogsServiceResponse.partial_success, or undefined when absent or empty (full success). */
export function decodePartialSuccess(response: Buffer): PartialSuccess | undefined {
  const partial = protoPartialSuccess(response);
  return partial && { rejectedLogRecords: partial.rejected, errorMessage: partial.errorMessage };
}

/**
 * TLS trust anchors: the file GRPC_DEFAULT_SSL_ROOTS_FILE_PATH names when set (grpc-js, which
 * this path used before, honours it: a deployment that set it keeps working), else Node's
 * defaults (its bundled roots plus NODE_EXTRA_CA_CERTS).
 */
function tlsRoots(): Buffer | undefined {
  const path = process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH;
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read the TLS roots GRPC_DEFAULT_SSL_ROOTS_FILE_PATH names (${(error as Error).message}); fix or unset it`);
  }
}

/** A gRPC client over node:http2 to the settings' endpoint. */
function http2Transport(settings: OtlpExporterSettings, metadata: Readonly<Record<string, string>>): UnaryTransport {
  return new GrpcUnaryClient({ endpoint: settings.endpoint, insecure: settings.insecure, compression: settings.compression, metadata, userAgent: USER_AGENT, ca: settings.insecure ? undefined : tlsRoots() });
}

export class EncodedLogsSender implements BatchSender<EncodedLogs> {
  private transport: UnaryTransport | undefined;
  private readonly metadata: Readonly<Record<string, string>> | Error;
  private deadlineExceeded = 0;
  /** The last partial-success message logged, to log a change once rather than every batch. */
  private partialMessage: string | undefined;

  constructor(
    private readonly settings: OtlpExporterSettings,
    private readonly logger?: AgentLogger,
  ) {
    const headers = withEnvironmentHeaders(settings.headers, 'logs');
    try {
      this.metadata = checkedMetadata(headers);
    } catch (error) {
      // Reported by every send as a permanent failure (no request could carry it).
      this.metadata = error as Error;
    }
  }

  send(batch: EncodedLogs): Promise<SendOutcome> {
    if (batch.error !== undefined) return Promise.resolve({ kind: 'permanent', reason: batch.error });
    let transport: UnaryTransport;
    try {
      if (this.metadata instanceof Error) throw this.metadata;
      transport = this.transport ??= http2Transport(this.settings, this.metadata);
    } catch (error) {
      return Promise.resolve({ kind: 'permanent', reason: (error as Error).message });
    }
    return transport.call(LOGS_EXPORT_PATH, batch.parts, batch.size, this.settings.timeoutMs).then((result) => this.outcome(result));
  }

  shutdown(): Promise<void> {
    this.transport?.close();
    this.transport = undefined;
    return Promise.resolve();
  }

  private outcome(result: UnaryResult): SendOutcome {
    if (result.code !== GrpcStatus.OK) {
      this.onError(result.code);
      return classifyStatus(result.code, result.details);
    }
    this.deadlineExceeded = 0;
    if (result.responseProblem !== undefined) this.logger?.debug(`logs: could not read the export response (${result.responseProblem})`);
    return this.onResponse(result.message);
  }

  private onError(code: number): void {
    if (code !== GrpcStatus.DEADLINE_EXCEEDED) return;
    // A connection stuck on a dead peer keeps timing out; a new one reconnects.
    if (++this.deadlineExceeded > MAX_DEADLINE_EXCEEDED) {
      this.transport?.close();
      this.transport = undefined;
      this.deadlineExceeded = 0;
    }
  }

  private onResponse(response: Buffer | undefined): SendOutcome {
    let partial: PartialSuccess | undefined;
    try {
      partial = response && response.length > 0 ? decodePartialSuccess(response) : undefined;
    } catch (error) {
      // The export succeeded either way (as the SDK treats it); only the detail is lost.
      this.logger?.debug(`logs: could not read the export response (${(error as Error).message})`);
    }
    if (!partial) {
      this.partialMessage = undefined;
      return { kind: 'sent' };
    }
    if (partial.errorMessage !== this.partialMessage) {
      this.partialMessage = partial.errorMessage;
      this.logger?.warn(
        `logs: ${this.settings.endpoint} accepted a batch only in part: it rejected ${partial.rejectedLogRecords} log records (${partial.errorMessage || 'no message'}); rejected records are counted as dropped, further partial successes with the same message are not logged`,
      );
    }
    return { kind: 'sent', rejected: partial.rejectedLogRecords };
  }
}

export function createEncodedLogsSender(settings: OtlpExporterSettings, logger?: AgentLogger): BatchSender<EncodedLogs> {
  return new EncodedLogsSender(settings, logger);
}
