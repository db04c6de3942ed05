// A real OTLP/HTTP receiver for tests: POST /v1/metrics and /v1/logs (or any path) served by
// node:http or node:https on loopback. Each request body is decompressed as its Content-Encoding
// says and decoded with the official OTLP protos (./proto): protobuf bodies with decode(), JSON
// bodies with the protobuf JSON mapping (fromObject), so that both encodings are compared as the
// same decoded message. Answers come from a script the test sets (status, headers, body), else
// 200 with an empty Export*ServiceResponse in the request's encoding.
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import * as protobuf from 'protobufjs';
import { PACKAGE_ROOT } from '../../src/paths';

const PROTO_ROOT = join(PACKAGE_ROOT, 'test', 'support', 'proto');

function loadType(file: string, name: string): protobuf.Type {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_ROOT, target);
  root.loadSync(file);
  return root.lookupType(name);
}

const TYPES = {
  metrics: {
    request: loadType('opentelemetry/proto/collector/metrics/v1/metrics_service.proto', 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
    response: loadType('opentelemetry/proto/collector/metrics/v1/metrics_service.proto', 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse'),
  },
  logs: {
    request: loadType('opentelemetry/proto/collector/logs/v1/logs_service.proto', 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
    response: loadType('opentelemetry/proto/collector/logs/v1/logs_service.proto', 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
  },
};

/**
 * protobufjs's plain-object form: camelCase keys, 64-bit integers as decimal strings, bytes as
 * base64, every field with its default when unset: proto3 does not tell an empty string or a zero
 * from an absent one, and neither does a comparison of these objects.
 */
export const OTLP_TO_OBJECT: protobuf.IConversionOptions = { longs: String, bytes: String, defaults: true, arrays: true };

export type OtlpSignal = 'metrics' | 'logs';

export interface ReceivedRequest {
  readonly signal: OtlpSignal | undefined;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** Body bytes as they arrived (compressed when Content-Encoding says so). */
  readonly wireBytes: number;
  /** Body bytes decompressed. */
  readonly body: Buffer;
  /** The request decoded with the official protos (JSON bodies through the JSON mapping). */
  readonly decoded: Record<string, unknown> | undefined;
  /** Whether the client presented a certificate the server's CA verified (https with client certs). */
  readonly clientAuthorized: boolean;
  /** Time of arrival, performance.now(). */
  readonly at: number;
}

export interface ScriptedAnswer {
  /** Never answer this request (the client's deadline is what ends it). */
  readonly hang?: boolean;
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

export interface OtlpHttpServerOptions {
  readonly host?: string;
  readonly port?: number;
  /** PEM; with them the server speaks https. */
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer; readonly clientCa?: Buffer };
}

export interface OtlpHttpServer {
  /** `http(s)://host:port`, the exporter's endpoint. */
  readonly url: string;
  /** Every request received, answered or not, in order. */
  readonly requests: ReceivedRequest[];
  /** Requests answered 2xx, per signal, decoded. */
  accepted(signal: OtlpSignal): Record<string, unknown>[];
  /** Answers for the next requests, in order; then `fallback` (200 by default). */
  script: ScriptedAnswer[];
  fallback: ScriptedAnswer | undefined;
  waitFor(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function signalOf(path: string): OtlpSignal | undefined {
  if (path.endsWith('/v1/metrics') || path.includes('metrics')) return 'metrics';
  if (path.endsWith('/v1/logs') || path.includes('logs')) return 'logs';
  return undefined;
}

function decode(signal: OtlpSignal | undefined, contentType: string | undefined, body: Buffer): Record<string, unknown> | undefined {
  if (signal === undefined) return undefined;
  const type = TYPES[signal].request;
  const message = contentType?.includes('json') ? type.fromObject(JSON.parse(body.toString('utf8')) as Record<string, unknown>) : type.decode(body);
  return type.toObject(message, OTLP_TO_OBJECT);
}

export async function startOtlpHttpServer(options: OtlpHttpServerOptions = {}): Promise<OtlpHttpServer> {
  const requests: ReceivedRequest[] = [];
  const answered: { signal: OtlpSignal; decoded: Record<string, unknown> }[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const state = { script: [] as ScriptedAnswer[], fallback: undefined as ScriptedAnswer | undefined };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const wire = Buffer.concat(chunks);
      const path = req.url ?? '';
      const signal = signalOf(path);
      let body = wire;
      let decoded: Record<string, unknown> | undefined;
      let problem: string | undefined;
      try {
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(wire);
        decoded = decode(signal, req.headers['content-type'], body);
      } catch (error) {
        problem = (error as Error).message;
      }
      const socket = req.socket as TLSSocket;
      requests.push({ signal, path, headers: req.headers, wireBytes: wire.length, body, decoded, clientAuthorized: socket.authorized === true, at: performance.now() });
      if (problem !== undefined) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`cannot decode: ${problem}`);
        return;
      }
      const answer = state.script.shift() ?? state.fallback;
      if (answer?.hang) return;
      if (answer) {
        if (answer.status >= 200 && answer.status < 300 && signal && decoded) answered.push({ signal, decoded });
        res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '');
        return;
      }
      if (signal && decoded) answered.push({ signal, decoded });
      const json = req.headers['content-type']?.includes('json') === true;
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : Buffer.alloc(0));
    });
  };

  const server: Server = options.tls
    ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert, ...(options.tls.clientCa ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}) }, handle)
    : createHttpServer(handle);
  server.on(options.tls ? 'secureConnection' : 'connection', (socket: import('node:net').Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;

  return {
    url: `${options.tls ? 'https' : 'http'}://${address}:${port}`,
    requests,
    accepted: (signal) => answered.filter((a) => a.signal === signal).map((a) => a.decoded),
    get script() {
      return state.script;
    },
    set script(value: ScriptedAnswer[]) {
      state.script = value;
    },
    get fallback() {
      return state.fallback;
    },
    set fallback(value: ScriptedAnswer | undefined) {
      state.fallback = value;
    },
    async waitFor(predicate, what, timeoutMs = 30_000) {
      const deadline = performance.now() + timeoutMs;
      while (!predicate()) {
        if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The ExportResponse body with a partial success, in the request's encoding. */
export function partialSuccessBody(signal: OtlpSignal, encoding: 'proto' | 'json', rejected: number, errorMessage: string): ScriptedAnswer {
  const type = TYPES[signal].response;
  const partialSuccess = signal === 'metrics' ? { rejectedDataPoints: rejected, errorMessage } : { rejectedLogRecords: rejected, errorMessage };
  if (encoding === 'json') return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ partialSuccess: { ...partialSuccess, [signal === 'metrics' ? 'rejectedDataPoints' : 'rejectedLogRecords']: String(rejected) } }) };
  return { status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from(type.encode(type.fromObject({ partialSuccess })).finish()) };
}
