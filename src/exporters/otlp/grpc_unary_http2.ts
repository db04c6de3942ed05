// A gRPC unary call over node:http2, for requests that are already protobuf bytes: what the logs
// path needs of gRPC and nothing more (no name resolution policies, load balancing, channelz,
// retries or interceptors). grpc-js did the same framing with ~1 µs more CPU per event on this
// path (bench/otlp_path.ts) and ~5 MB of RSS.
//
// The wire format (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md): a POST with
// `content-type: application/grpc` and `te: trailers`; the body is one length-prefixed message (a
// 1-byte compressed flag, a 4-byte big-endian length, the bytes); the response is headers, at
// most one such message, and trailers carrying `grpc-status` and a percent-encoded
// `grpc-message` (or headers alone with the status: "trailers-only"). Failures that never reach a
// status are mapped to codes the way grpc-js maps them, so that callers classify them alike:
// no connection or a dropped one UNAVAILABLE, the local deadline DEADLINE_EXCEEDED, RST_STREAM
// codes as grpc-js does.
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { gunzip, gzip, gzipSync, type InputType } from 'node:zlib';
import { GrpcStatus } from './grpc_status';

/** How one call ended. `code` is a gRPC status (GrpcStatus); `message` the response when OK. */
export interface UnaryResult {
  readonly code: number;
  readonly details: string;
  /** The response message (decompressed), when the call succeeded and sent one within MAX_RESPONSE_BYTES. */
  readonly message?: Buffer;
  /** Why a successful call's response could not be read (it is not needed for the call to count as done). */
  readonly responseProblem?: string;
}

/** Unary calls to one endpoint: the logs sender's view of the transport. */
export interface UnaryTransport {
  /** One call of `path` with the message `parts` (`size` bytes together); resolves, never rejects, within `timeoutMs`. */
  call(path: string, parts: readonly Buffer[], size: number, timeoutMs: number): Promise<UnaryResult>;
  /** No new calls; the connection closes once calls in flight end (by their deadline at the latest). */
  close(): void;
}

export interface GrpcUnaryClientOptions {
  /** host:port, a bracketed IPv6 address allowed: `[fd00::1]:4317`. */
  readonly endpoint: string;
  /** true: h2c (plaintext HTTP/2 with prior knowledge); false: TLS with ALPN h2. */
  readonly insecure: boolean;
  readonly compression: 'none' | 'gzip';
  /** Request metadata, lower-case names and printable ASCII values (checked by checkedMetadata). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly userAgent: string;
  /** TLS trust anchors (PEM); undefined: Node's default roots (with NODE_EXTRA_CA_CERTS). */
  readonly ca?: string | Buffer;
}

/**
 * A response message larger than this is not collected (the call still counts as done): an
 * ExportLogsServiceResponse is a few bytes, and a response is never buffered without bound.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Requests up to this size are gzipped synchronously (a few tens of µs, cheaper than a trip
 * through the libuv thread pool); larger ones asynchronously, off the event loop.
 */
const SYNC_GZIP_BYTES = 16 * 1024;

/**
 * zlib level 3 rather than the default 6 (grpc-js's): on tcpscope's requests (2048 records, ~1.3 MB,
 * attribute keys and values repeating) level 6 cost ~1.9 µs of CPU per record to compress and
 * level 3 ~0.7, for 3.2% of the bytes instead of 2.7%, and inflating costs the receiver about the
 * same (~0.45 µs per record). Compression is the largest single cost of an export with gzip.
 */
const GZIP_OPTIONS = { level: 3 } as const;

const GRPC_COMPRESSED = 1;
const FRAME_HEADER_BYTES = 5;

// gRPC metadata rules, as grpc-js enforces them (a name it refuses would fail every call).
const LEGAL_KEY = /^[0-9a-z_.-]+$/;
const LEGAL_VALUE = /^[ -~]*$/;

/**
 * Metadata names lower-cased and checked as grpc-js's Metadata.set does: an error says which
 * header is wrong, since such a header would fail every export.
 */
export function checkedMetadata(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (!LEGAL_KEY.test(key) || key.endsWith('-bin')) throw new Error(`header name ${JSON.stringify(name)} is not valid gRPC metadata (letters, digits, "-", "_", "."; no -bin suffix)`);
    if (!LEGAL_VALUE.test(value)) throw new Error(`header ${JSON.stringify(name)} has a value that is not printable ASCII`);
    out[key] = value;
  }
  return out;
}

/** `grpc-timeout`: at most 8 digits and a unit (PROTOCOL-HTTP2.md); rounded up, never shorter than asked. */
export function grpcTimeout(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1e8) return `${whole}m`;
  const seconds = Math.ceil(whole / 1000);
  if (seconds < 1e8) return `${seconds}S`;
  return `${Math.min(99_999_999, Math.ceil(seconds / 3600))}H`;
}

/** grpc-message is percent-encoded (PROTOCOL-HTTP2.md); a malformed one is shown as it came. */
export function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The gRPC status for an HTTP status that came without one (PROTOCOL-HTTP2.md, http-grpc-status-mapping.md). */
function statusOfHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** One HTTP/2 connection and what is known about it. */
interface Connection {
  readonly session: ClientHttp2Session;
  connected: boolean;
  /** GOAWAY received or the session ended: no new streams on it. */
  retired: boolean;
  /** The error that ended the session, if one did. */
  error: Error | undefined;
  /** Calls in flight: the session holds the process open only while this is above 0. */
  active: number;
}

/** Splits `host:port` / `[v6]:port` into the URL authority and the TLS server name (none for an IP). */
function target(endpoint: string, insecure: boolean): { url: string; servername: string | undefined } {
  const colon = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { url: `${insecure ? 'http' : 'https'}://${endpoint}`, servername: isIP(host) === 0 ? host : undefined };
}

export class GrpcUnaryClient implements UnaryTransport {
  private connection: Connection | undefined;
  private closed = false;
  private readonly baseHeaders: OutgoingHttpHeaders;

  constructor(private readonly options: GrpcUnaryClientOptions) {
    // Metadata first: the protocol's own headers win over a configured header of the same name, as in grpc-js.
    this.baseHeaders = {
      ...options.metadata,
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      [constants.HTTP2_HEADER_TE]: 'trailers',
      [constants.HTTP2_HEADER_USER_AGENT]: options.userAgent,
      'grpc-accept-encoding': options.compression === 'gzip' ? 'identity,gzip' : 'identity',
      ...(options.compression === 'gzip' ? { 'grpc-encoding': 'gzip' } : {}),
    };
  }

  call(path: string, parts: readonly Buffer[], size: number, timeoutMs: number): Promise<UnaryResult> {
    if (this.closed) return Promise.resolve({ code: GrpcStatus.UNAVAILABLE, details: 'the client is closed' });
    return new Promise<UnaryResult>((resolve) => new UnaryCall(this, path, timeoutMs, resolve).start(parts, size));
  }

  close(): void {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) this.retire(connection);
  }

  /** @internal The headers of a call of `path`. */
  headers(path: string, timeoutMs: number): OutgoingHttpHeaders {
    return { ...this.baseHeaders, [constants.HTTP2_HEADER_PATH]: path, 'grpc-timeout': grpcTimeout(timeoutMs) };
  }

  /** @internal */
  get gzip(): boolean {
    return this.options.compression === 'gzip';
  }

  /** @internal The live connection, made anew when there is none or the last one ended. */
  acquire(): Connection {
    let connection = this.connection;
    if (connection === undefined || connection.retired || connection.session.destroyed || connection.session.closed) {
      connection = this.connection = this.open();
    }
    if (connection.active++ === 0) connection.session.ref();
    return connection;
  }

  /** @internal */
  release(connection: Connection): void {
    // An idle session must not keep the agent alive: the exporter's shutdown closes it.
    if (--connection.active === 0 && !connection.session.destroyed) connection.session.unref();
  }

  private open(): Connection {
    const { url, servername } = target(this.options.endpoint, this.options.insecure);
    const tls: ConnectionOptions = this.options.insecure ? {} : { servername, ca: this.options.ca, ALPNProtocols: ['h2'] };
    const session = connect(url, { ...tls, settings: { enablePush: false } });
    const connection: Connection = { session, connected: false, retired: false, error: undefined, active: 0 };
    session.once('connect', () => (connection.connected = true));
    // Without an 'error' listener a refused connection would throw; the calls on it report it.
    session.on('error', (error: Error) => (connection.error ??= error));
    // After a GOAWAY the server takes no new streams: the next call opens a new session. Calls
    // already on this one finish on it (Node closes it gracefully once they have).
    session.once('goaway', () => this.retire(connection));
    session.once('close', () => this.retire(connection));
    session.unref();
    return connection;
  }

  private retire(connection: Connection): void {
    connection.retired = true;
    if (this.connection === connection) this.connection = undefined;
    if (connection.session.closed || connection.session.destroyed) return;
    // A connection still being made has no call worth waiting for (a peer that never answers
    // would hold it until the kernel gives up on the SYN): dropped at once. A made one closes
    // gracefully, after the calls on it.
    if (connection.connected) connection.session.close();
    else connection.session.destroy();
  }
}

/** One call: its deadline, its stream, and what came back. */
class UnaryCall {
  private settled = false;
  private readonly timer: NodeJS.Timeout;
  private readonly deadline: number;
  private stream: ClientHttp2Stream | undefined;
  private connection: Connection | undefined;
  private httpStatus = 0;
  private status: { code: number; details: string } | undefined;
  private streamError: (Error & { code?: string }) | undefined;
  private responseCompressed = false;
  /** Response bytes while the first message is read: frame header and message, at most MAX_RESPONSE_BYTES + 5. */
  private received: Buffer[] = [];
  private receivedBytes = 0;
  private tooLarge = false;

  constructor(
    private readonly client: GrpcUnaryClient,
    private readonly path: string,
    private readonly timeoutMs: number,
    private readonly resolve: (result: UnaryResult) => void,
  ) {
    this.deadline = Date.now() + timeoutMs;
    this.timer = setTimeout(() => this.onDeadline(), timeoutMs);
    // The session is ref'd while the call is in flight; the timer alone must not hold the process.
    this.timer.unref();
  }

  start(parts: readonly Buffer[], size: number): void {
    if (!this.client.gzip) {
      this.send(false, parts, size);
      return;
    }
    const whole = parts.length === 1 ? parts[0] : Buffer.concat(parts as Buffer[], size);
    if (size <= SYNC_GZIP_BYTES) {
      this.send(true, [gzipSync(whole, GZIP_OPTIONS)]);
      return;
    }
    gzip(whole as InputType, GZIP_OPTIONS, (error, compressed) => {
      if (this.settled) return;
      if (error) this.finish({ code: GrpcStatus.INTERNAL, details: `gzip compression of the request failed: ${error.message}` });
      else this.send(true, [compressed]);
    });
  }

  private send(compressed: boolean, parts: readonly Buffer[], size = parts[0].length): void {
    if (this.settled) return;
    const connection = (this.connection = this.client.acquire());
    let stream: ClientHttp2Stream;
    try {
      stream = this.stream = connection.session.request(this.client.headers(this.path, Math.max(1, this.deadline - Date.now())), { endStream: false });
    } catch (error) {
      // GOAWAY raced this call, or a header Node refuses: nothing was sent.
      connection.retired = true;
      this.finish({ code: GrpcStatus.UNAVAILABLE, details: (error as Error).message });
      return;
    }
    stream.on('response', (headers, flags) => this.onHeaders(headers, flags));
    stream.on('trailers', (trailers) => this.onStatus(trailers));
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    // Errors end in 'close', where they are mapped; without a listener they would throw.
    stream.on('error', (error: Error) => (this.streamError ??= error));
    // Let an 'error' emitted at about the same time land first (grpc-js does the same).
    stream.on('close', () => process.nextTick(() => this.onClose()));
    const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    head[0] = compressed ? GRPC_COMPRESSED : 0;
    head.writeUInt32BE(size, 1);
    stream.cork();
    stream.write(head);
    // The parts go as they are: the request is never copied into one buffer.
    for (const part of parts) stream.write(part);
    stream.uncork();
    stream.end();
  }

  private onHeaders(headers: IncomingHttpHeaders, flags: number): void {
    this.httpStatus = Number(headers[constants.HTTP2_HEADER_STATUS] ?? 0);
    this.responseCompressed = headers['grpc-encoding'] !== undefined && headers['grpc-encoding'] !== 'identity';
    // Trailers-only: the status comes in the headers, which end the stream.
    if (flags & constants.NGHTTP2_FLAG_END_STREAM || headers['grpc-status'] !== undefined) this.onStatus(headers);
  }

  private onStatus(headers: IncomingHttpHeaders): void {
    if (this.status !== undefined) return;
    const raw = headers['grpc-status'];
    if (raw === undefined) {
      if (this.httpStatus !== 0 && this.httpStatus !== 200) {
        this.status = { code: statusOfHttp(this.httpStatus), details: `Received HTTP status code ${this.httpStatus}` };
      } else {
        this.status = { code: GrpcStatus.UNKNOWN, details: 'No status received' };
      }
      return;
    }
    const code = Number(raw);
    const message = headers['grpc-message'];
    this.status = {
      code: Number.isInteger(code) && code >= 0 && code <= 16 ? code : GrpcStatus.UNKNOWN,
      details: typeof message === 'string' ? decodeGrpcMessage(message) : '',
    };
  }

  private onData(chunk: Buffer): void {
    // Only the first message is kept, and only up to MAX_RESPONSE_BYTES: the rest is read and dropped.
    if (this.tooLarge || this.settled) return;
    this.received.push(chunk);
    this.receivedBytes += chunk.length;
    if (this.receivedBytes >= FRAME_HEADER_BYTES) {
      const head = this.received.length === 1 ? this.received[0] : Buffer.concat(this.received, this.receivedBytes);
      this.received = [head];
      const length = head.readUInt32BE(1);
      if (length > MAX_RESPONSE_BYTES) {
        this.tooLarge = true;
        this.received = [];
      } else if (this.receivedBytes > FRAME_HEADER_BYTES + length) {
        // Bytes beyond the first message (a unary response has one): keep only that message.
        this.received = [head.subarray(0, FRAME_HEADER_BYTES + length)];
        this.receivedBytes = FRAME_HEADER_BYTES + length;
      }
    }
  }

  private onClose(): void {
    if (this.settled) return;
    const stream = this.stream!;
    const connection = this.connection!;
    if (this.status !== undefined) {
      if (this.status.code === GrpcStatus.OK) this.finishOk();
      else this.finish(this.status);
      return;
    }
    if (!connection.connected) {
      // The session's own error says why (ECONNREFUSED, a TLS failure); the stream's only that it was cancelled.
      const cause = connection.error ?? this.streamError;
      this.finish({ code: GrpcStatus.UNAVAILABLE, details: `No connection established. Last error: ${cause?.message ?? 'the connection closed'}` });
      return;
    }
    const error: (Error & { code?: string }) | undefined = this.streamError ?? connection.error;
    if (connection.session.destroyed || (error !== undefined && error.code !== 'ERR_HTTP2_STREAM_ERROR')) {
      this.finish({ code: GrpcStatus.UNAVAILABLE, details: error && error.code !== 'ERR_HTTP2_STREAM_ERROR' ? `Connection dropped (${error.message})` : 'Connection dropped' });
      return;
    }
    switch (stream.rstCode) {
      case constants.NGHTTP2_NO_ERROR:
        if (this.httpStatus !== 0 && this.httpStatus !== 200) this.finish({ code: statusOfHttp(this.httpStatus), details: `Received HTTP status code ${this.httpStatus}` });
        else this.finish({ code: GrpcStatus.INTERNAL, details: `Received RST_STREAM with code ${stream.rstCode} (Call ended without gRPC status)` });
        return;
      case constants.NGHTTP2_REFUSED_STREAM:
        this.finish({ code: GrpcStatus.UNAVAILABLE, details: 'Stream refused by server' });
        return;
      case constants.NGHTTP2_CANCEL:
        this.finish({ code: GrpcStatus.CANCELLED, details: 'Call cancelled' });
        return;
      case constants.NGHTTP2_ENHANCE_YOUR_CALM:
        this.finish({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: 'Bandwidth exhausted or memory limit exceeded' });
        return;
      case constants.NGHTTP2_INADEQUATE_SECURITY:
        this.finish({ code: GrpcStatus.PERMISSION_DENIED, details: 'Protocol not secure enough' });
        return;
      default:
        this.finish({ code: GrpcStatus.INTERNAL, details: `Received RST_STREAM with code ${stream.rstCode}` });
    }
  }

  private onDeadline(): void {
    if (this.settled) return;
    const seconds = (this.timeoutMs / 1000).toFixed(3);
    this.finish({ code: GrpcStatus.DEADLINE_EXCEEDED, details: `Deadline exceeded after ${seconds}s` });
    // RST_STREAM(CANCEL): the server stops working on it, the connection stays usable.
    if (this.stream && !this.stream.closed) this.stream.close(constants.NGHTTP2_CANCEL);
  }

  /** OK: hands over the response message, decompressed, when there is one to read. */
  private finishOk(): void {
    // Delivered: the deadline no longer applies while the response is read.
    clearTimeout(this.timer);
    if (this.tooLarge) {
      this.finish({ code: GrpcStatus.OK, details: '', responseProblem: `the response is larger than ${MAX_RESPONSE_BYTES} bytes; not read` });
      return;
    }
    const frame = this.received.length === 1 ? this.received[0] : Buffer.concat(this.received, this.receivedBytes);
    if (frame.length < FRAME_HEADER_BYTES) {
      this.finish({ code: GrpcStatus.OK, details: '' });
      return;
    }
    const message = frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + frame.readUInt32BE(1));
    if ((frame[0] & GRPC_COMPRESSED) === 0) {
      this.finish({ code: GrpcStatus.OK, details: '', message });
      return;
    }
    if (!this.responseCompressed) {
      this.finish({ code: GrpcStatus.OK, details: '', responseProblem: 'a compressed response without grpc-encoding' });
      return;
    }
    // The response is small (MAX_RESPONSE_BYTES), its inflated size bounded the same way.
    gunzip(message as InputType, { maxOutputLength: MAX_RESPONSE_BYTES }, (error, inflated) =>
      this.finish(error ? { code: GrpcStatus.OK, details: '', responseProblem: `the response could not be decompressed: ${error.message}` } : { code: GrpcStatus.OK, details: '', message: inflated }),
    );
  }

  private finish(result: UnaryResult): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.received = [];
    if (this.connection) {
      this.client.release(this.connection);
      this.connection = undefined;
    }
    this.resolve(result);
  }
}
