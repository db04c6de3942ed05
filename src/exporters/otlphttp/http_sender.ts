// One OTLP/HTTP export attempt: POST the encoded body to the signal's URL over a keep-alive
// connection, and classify the answer by the OTLP/HTTP specification's rules ("Failures"):
// - 2xx: delivered; a partial_success in the body is logged (once per message) and its rejected
//   items counted as dropped, never retried (the receiver said retrying them cannot help);
// - 429, 502, 503, 504: transient, retried with backoff, waiting at least the Retry-After the
//   server sent (delay-seconds or an HTTP-date);
// - any other status: permanent, the batch is dropped and counted;
// - no response (refused, reset, timed out, TLS handshake failed): transient, as the Collector's
//   otlphttp exporter treats it: the backend may come up, or its certificate may be fixed.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import type { Signal } from '../../component';
import type { AgentLogger } from '../../logger';
import type { SendOutcome } from '../exporterhelper/delivery_queue';
import type { BatchSender } from '../exporterhelper/sender';
import type { OtlpHttpEncoding, OtlpHttpTls } from './config';
import { bodyOf, type EncodedRequest } from './encoded_request';
import { partialSuccessOf, retryAfterMs, statusMessageOf } from './response';

const gzipAsync = promisify(gzip);

/** Status codes the OTLP/HTTP specification says to retry. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** A response body is read up to this (a Status or a partial success is a few hundred bytes). */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** Characters of a non-OTLP error body shown in a log line. */
const MAX_REASON_TEXT = 200;

const CONTENT_TYPES: { readonly [E in OtlpHttpEncoding]: string } = { proto: 'application/x-protobuf', json: 'application/json' };

export interface OtlpHttpSenderOptions {
  readonly signal: Signal;
  readonly url: string;
  readonly encoding: OtlpHttpEncoding;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: 'none' | 'gzip';
  readonly timeoutMs: number;
  readonly tls: OtlpHttpTls;
  readonly logger?: AgentLogger;
}

// OpenSSL's complaint when the first bytes back from the server are not a TLS record.
const PLAINTEXT_PEER = /wrong version number|WRONG_VERSION_NUMBER|packet length too long/i;

export class OtlpHttpSender implements BatchSender<EncodedRequest> {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly https: boolean;
  /** Compressed bodies of batches being retried: gzip once per batch, not once per attempt. */
  private readonly compressed = new WeakMap<EncodedRequest, Buffer>();
  /** The last partial-success message logged, to log a change once rather than every batch. */
  private partialMessage: string | undefined;
  private closed = false;

  constructor(private readonly options: OtlpHttpSenderOptions) {
    this.url = new URL(options.url);
    this.https = this.url.protocol === 'https:';
    // One connection per signal is enough (the queue sends one request at a time); keep-alive
    // spares a TCP and TLS handshake per export.
    const common = { keepAlive: true, maxSockets: 1 };
    const { tls } = options;
    this.agent = this.https
      ? new HttpsAgent({ ...common, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecureSkipVerify })
      : new HttpAgent(common);
  }

  async send(batch: EncodedRequest): Promise<SendOutcome> {
    if (batch.error !== undefined) return { kind: 'permanent', reason: batch.error };
    if (this.closed) return { kind: 'retryable', reason: 'the exporter is shutting down' };
    let body: Buffer;
    try {
      body = await this.bodyFor(batch);
    } catch (error) {
      return { kind: 'permanent', reason: `the request cannot be compressed: ${(error as Error).message}` };
    }
    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: SendOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (outcome.kind !== 'retryable') this.compressed.delete(batch);
        resolve(outcome);
      };
      const headers: Record<string, string | number> = {
        // A configured User-Agent wins; the body's own headers do not (the config refuses them).
        'user-agent': 'tcpscope',
        ...this.options.headers,
        'content-type': CONTENT_TYPES[this.options.encoding],
        'content-length': body.length,
      };
      if (this.options.compression === 'gzip') headers['content-encoding'] = 'gzip';
      const req = (this.https ? httpsRequest : httpRequest)(this.url, { method: 'POST', agent: this.agent, headers }, (res) => {
        this.readBody(res, (responseBody) => finish(this.classify(res, responseBody, batch)));
      });
      // One deadline for the whole exchange, connection included, on a monotonic timer.
      const timer = setTimeout(() => {
        req.destroy(new Error(`no response within ${this.options.timeoutMs}ms (timeout)`));
      }, this.options.timeoutMs);
      timer.unref();
      req.on('error', (error: NodeJS.ErrnoException) => finish({ kind: 'retryable', reason: this.transportReason(error) }));
      req.end(body);
    });
  }

  shutdown(): Promise<void> {
    this.closed = true;
    this.agent.destroy();
    return Promise.resolve();
  }

  private async bodyFor(batch: EncodedRequest): Promise<Buffer> {
    if (this.options.compression !== 'gzip') return bodyOf(batch);
    let body = this.compressed.get(batch);
    if (body === undefined) {
      body = await gzipAsync(bodyOf(batch));
      this.compressed.set(batch, body);
    }
    return body;
  }

  /** The first MAX_RESPONSE_BYTES of the body, the rest read and discarded (the connection is reused). */
  private readBody(res: IncomingMessage, done: (body: Buffer) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < MAX_RESPONSE_BYTES) chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
      size += chunk.length;
    });
    res.on('end', () => done(Buffer.concat(chunks)));
    // A response cut off mid-body still has its status: classify by what arrived.
    res.on('error', () => done(Buffer.concat(chunks)));
  }

  private classify(res: IncomingMessage, raw: Buffer, batch: EncodedRequest): SendOutcome {
    const status = res.statusCode ?? 0;
    const kind = bodyKind(res.headers['content-type'], this.options.encoding);
    const body = this.decompressed(res, raw);
    if (status >= 200 && status < 300) return kind === 'text' ? { kind: 'sent' } : this.delivered(body, kind === 'json', batch);
    const reason = this.failureReason(status, res.statusMessage, body, kind);
    if (RETRYABLE_STATUS.has(status)) {
      const header = res.headers['retry-after'];
      const after = retryAfterMs(Array.isArray(header) ? header[0] : header, Date.now());
      return after === undefined ? { kind: 'retryable', reason } : { kind: 'retryable', reason: `${reason}; Retry-After ${after}ms`, retryAfterMs: after };
    }
    return { kind: 'permanent', reason };
  }

  private decompressed(res: IncomingMessage, body: Buffer): Buffer {
    if (body.length === 0 || res.headers['content-encoding'] !== 'gzip') return body;
    try {
      return gunzipSync(body, { maxOutputLength: MAX_RESPONSE_BYTES });
    } catch {
      return Buffer.alloc(0);
    }
  }

  private delivered(body: Buffer, json: boolean, batch: EncodedRequest): SendOutcome {
    const { signal, url, logger } = this.options;
    let partial;
    try {
      partial = partialSuccessOf(body, json, signal);
    } catch (error) {
      // Delivered either way; only the detail is lost.
      logger?.debug(`${signal}: could not read the export response (${(error as Error).message})`);
    }
    if (partial === undefined) {
      this.partialMessage = undefined;
      return { kind: 'sent' };
    }
    const rejected = Math.min(partial.rejected, batch.items);
    if (partial.errorMessage !== this.partialMessage) {
      this.partialMessage = partial.errorMessage;
      const unit = signal === 'metrics' ? 'data points' : 'log records';
      logger?.warn(
        `${signal}: ${url} accepted a batch only in part: it rejected ${rejected} ${unit} (${partial.errorMessage || 'no message'}); rejected ${unit} are counted as dropped, not retried; further partial successes with the same message are not logged`,
      );
    }
    return { kind: 'sent', rejected };
  }

  private failureReason(status: number, statusText: string | undefined, body: Buffer, kind: BodyKind): string {
    const message = (kind === 'text' ? undefined : statusMessageOf(body, kind === 'json')) ?? printable(body.toString('utf8'));
    return `HTTP ${status}${statusText ? ` ${statusText}` : ''}${message ? `: ${message}` : ''}`;
  }

  private transportReason(error: NodeJS.ErrnoException): string {
    const reason = error.code ? `${error.code}: ${error.message}` : error.message;
    if (PLAINTEXT_PEER.test(reason)) return `${reason} (the endpoint answered a TLS handshake in plaintext: if it serves plain HTTP, use an http:// URL)`;
    return reason;
  }
}

type BodyKind = 'proto' | 'json' | 'text';

/** How to read a response body: by its Content-Type, else as the request was encoded. */
function bodyKind(contentType: string | undefined, encoding: OtlpHttpEncoding): BodyKind {
  if (contentType === undefined) return encoding;
  if (contentType.includes('json')) return 'json';
  return contentType.includes('protobuf') ? 'proto' : 'text';
}

function printable(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_REASON_TEXT ? `${flat.slice(0, MAX_REASON_TEXT)}…` : flat;
}
