// The logs path's own gRPC unary client (grpc_unary_http2.ts) against real servers on loopback: a
// grpc-js server (the reference implementation of the other end) decodes its gzip framing, sends
// statuses with percent-encoded messages as trailers-only responses, compressed responses and TLS;
// a node:http2 server written here does what grpc-js cannot be told to do on cue: GOAWAY, a
// dropped connection, a status in trailers after headers, a bare HTTP error, a response too large
// to keep. Outcomes are checked through the logs sender, classified as the exporter sees them.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSecureServer, createServer, type Http2SecureServer, type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { OtlpExporterSettings } from './config';
import { GrpcStatus } from './grpc_status';
import { checkedMetadata, decodeGrpcMessage, GrpcUnaryClient, grpcTimeout, MAX_RESPONSE_BYTES } from './grpc_unary_http2';
import { createEncodedLogsSender, EncodedLogsSender, LOGS_EXPORT_PATH, USER_AGENT, type EncodedLogs } from './logs_grpc_sender';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function settings(endpoint: string, o: Partial<OtlpExporterSettings> = {}): OtlpExporterSettings {
  return {
    endpoint,
    insecure: true,
    headers: {},
    compression: 'gzip',
    timeoutMs: 20_000,
    queueSize: 1,
    queueBytes: 1024,
    retry: { enabled: false, initialIntervalMs: 1, maxIntervalMs: 1, maxElapsedTimeMs: 0, multiplier: 1, randomizationFactor: 0 },
    ...o,
  };
}

function sender(s: OtlpExporterSettings): EncodedLogsSender {
  const out = new EncodedLogsSender(s);
  cleanups.push(() => out.shutdown());
  return out;
}

function batch(...parts: Buffer[]): EncodedLogs {
  return { parts, size: parts.reduce((n, p) => n + p.length, 0), records: 1 };
}

/** Bytes that vary (so that gzip has work) and are recognisable: `n` bytes from a counter. */
function bytes(n: number, seed = 0): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed + (i >> 8)) & 0xff;
  return out;
}

// ---- a grpc-js server: LogsService/Export with identity (de)serializers, recording what it got ----

interface GrpcJsCall {
  readonly request: Buffer;
  readonly metadata: Record<string, string>;
}

interface GrpcJsServer {
  readonly port: number;
  readonly calls: GrpcJsCall[];
  /** Calls the handler received and was told to hold, and how many of those the client cancelled. */
  readonly held: { cancelled: number; count: number };
  answer: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void;
}

async function grpcJsServer(o: { credentials?: grpc.ServerCredentials; options?: grpc.ServerOptions } = {}): Promise<GrpcJsServer> {
  const server = new grpc.Server(o.options);
  const identity = (b: Buffer): Buffer => b;
  const state: GrpcJsServer = {
    port: 0,
    calls: [],
    held: { cancelled: 0, count: 0 },
    answer: (_call, callback) => callback(null, Buffer.alloc(0)),
  };
  server.addService(
    { Export: { path: LOGS_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        state.calls.push({ request: call.request, metadata: Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)])) });
        state.answer(call, callback);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', o.credentials ?? grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  cleanups.push(() => server.forceShutdown());
  return Object.assign(state, { port });
}

// ---- a node:http2 server speaking just enough gRPC, scripted per request ----

interface ScriptedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly session: Http2Session;
  readonly stream: ServerHttp2Stream;
}

interface ScriptedServer {
  readonly port: number;
  readonly requests: ScriptedRequest[];
  /** Sessions (connections) the server accepted. */
  readonly sessions: Http2Session[];
  /** What to do with each request once its body is in; by default an OK with an empty message. */
  respond: (request: ScriptedRequest) => void;
}

function okResponse(stream: ServerHttp2Stream, message = Buffer.alloc(0)): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(frame(message));
}

function frame(message: Buffer, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

async function scriptedServer(secure?: { key: Buffer; cert: Buffer }): Promise<ScriptedServer> {
  const server: Http2Server | Http2SecureServer = secure ? createSecureServer({ ...secure }) : createServer();
  const state: ScriptedServer = { port: 0, requests: [], sessions: [], respond: (r) => okResponse(r.stream) };
  server.on('session', (session: Http2Session) => {
    state.sessions.push(session);
    session.on('error', () => undefined);
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', () => undefined);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const request = { headers, body: Buffer.concat(chunks), session: stream.session!, stream };
      state.requests.push(request);
      state.respond(request);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of state.sessions) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return Object.assign(state, { port: (server.address() as AddressInfo).port });
}

/** The message of a gRPC request body: the frame header read, the message gunzipped when flagged. */
function unframe(body: Buffer): Buffer {
  assert.equal(body.readUInt32BE(1), body.length - 5, 'one length-prefixed message, its length exact');
  return body[0] === 1 ? gunzipSync(body.subarray(5)) : body.subarray(5);
}

async function until(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('gRPC unary over node:http2: framing and compression, read by grpc-js', () => {
  for (const compression of ['gzip', 'none'] as const) {
    for (const [what, parts] of [
      ['a small request', [bytes(300)]],
      ['a request of several parts, large enough to be gzipped off the event loop', [bytes(40_000, 1), bytes(1), bytes(300_000, 2)]],
      ['an empty request', [Buffer.alloc(0)]],
    ] as const) {
      it(`${compression}: ${what} arrives byte for byte, with the metadata`, async () => {
        const srv = await grpcJsServer();
        const s = sender(settings(`127.0.0.1:${srv.port}`, { compression, headers: { 'x-tenant': 'a b', authorization: 'Bearer t' } }));
        assert.deepStrictEqual(await s.send(batch(...parts)), { kind: 'sent' });
        assert.equal(srv.calls.length, 1);
        assert.equal(srv.calls[0].request.toString('hex'), Buffer.concat(parts as readonly Buffer[]).toString('hex'));
        assert.equal(srv.calls[0].metadata['x-tenant'], 'a b');
        assert.equal(srv.calls[0].metadata.authorization, 'Bearer t');
        assert.equal(srv.calls[0].metadata['user-agent'], USER_AGENT);
        assert.match(USER_AGENT, /^tcpscope\/\d+\.\d+\.\d+\S* grpc-node-http2\/\d+\.\d+\.\d+$/);
      });
    }
  }

  it('sends the gRPC request headers: path, te, content-type, grpc-timeout, grpc-encoding, metadata lower-cased (config and OTEL_EXPORTER_OTLP_LOGS_HEADERS)', async (t) => {
    const saved = process.env.OTEL_EXPORTER_OTLP_LOGS_HEADERS;
    t.after(() => (saved === undefined ? delete process.env.OTEL_EXPORTER_OTLP_LOGS_HEADERS : (process.env.OTEL_EXPORTER_OTLP_LOGS_HEADERS = saved)));
    process.env.OTEL_EXPORTER_OTLP_LOGS_HEADERS = 'X-From-Env=yes,x-tenant=from-env';
    const srv = await scriptedServer();
    const s = sender(settings(`127.0.0.1:${srv.port}`, { timeoutMs: 1_500, headers: { 'x-tenant': 'configured' } }));
    assert.deepStrictEqual(await s.send(batch(bytes(1000))), { kind: 'sent' });
    const h = srv.requests[0].headers;
    assert.deepStrictEqual(
      [h[':method'], h[':path'], h[':scheme'], h[':authority'], h.te, h['content-type'], h['grpc-encoding'], h['grpc-accept-encoding'], h['x-from-env'], h['x-tenant']],
      ['POST', LOGS_EXPORT_PATH, 'http', `127.0.0.1:${srv.port}`, 'trailers', 'application/grpc', 'gzip', 'identity,gzip', 'yes', 'configured'],
    );
    // The time left of the 1.5 s deadline when the stream opened, in milliseconds.
    const timeout = /^(\d+)m$/.exec(String(h['grpc-timeout']));
    assert.ok(timeout && Number(timeout[1]) >= 1 && Number(timeout[1]) <= 1500, String(h['grpc-timeout']));
    assert.equal(unframe(srv.requests[0].body).toString('hex'), bytes(1000).toString('hex'));
    assert.equal(srv.requests[0].body[0], 1, 'compressed flag set');
  });

  it('reads a gzip-compressed response and its partial_success', async () => {
    const srv = await grpcJsServer({ options: { 'grpc.default_compression_algorithm': 2 } });
    // partial_success { rejected_log_records: 3, error_message: "too long" }, padded so that it is worth compressing.
    const message = Buffer.from('too long'.padEnd(200, '.'));
    const partial = Buffer.concat([Buffer.from([0x08, 0x03, 0x12, 0xc8, 0x01]), message]);
    srv.answer = (_call, callback) => callback(null, Buffer.concat([Buffer.from([0x0a, partial.length, 0x01]), partial]));
    const s = sender(settings(`127.0.0.1:${srv.port}`));
    assert.deepStrictEqual(await s.send(batch(bytes(10))), { kind: 'sent', rejected: 3 });
  });
});

describe('gRPC unary over node:http2: statuses', () => {
  it('a non-OK status with a grpc-message from grpc-js (a trailers-only response) is classified, the message percent-decoded', async () => {
    const srv = await grpcJsServer();
    const details = 'bad data: 100% ünïcode, "quoted" & more';
    srv.answer = (_call, callback) => callback({ code: grpc.status.INVALID_ARGUMENT, details });
    const s = sender(settings(`127.0.0.1:${srv.port}`));
    assert.deepStrictEqual(await s.send(batch(bytes(10))), { kind: 'permanent', reason: `INVALID_ARGUMENT: ${details}` });
    srv.answer = (_call, callback) => callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'slow down' });
    assert.deepStrictEqual(await s.send(batch(bytes(10))), { kind: 'retryable', reason: 'RESOURCE_EXHAUSTED: slow down' });
    assert.equal(srv.calls.length, 2);
  });

  it('trailers-only and headers-then-trailers statuses, HTTP errors without a gRPC status, an unknown code', async () => {
    const srv = await scriptedServer();
    const s = sender(settings(`127.0.0.1:${srv.port}`));
    const cases: [(stream: ServerHttp2Stream) => void, unknown][] = [
      [(st) => st.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'token%20expired%20%E2%9C%97' }, { endStream: true }), { kind: 'permanent', reason: 'UNAUTHENTICATED: token expired ✗' }],
      [
        (st) => {
          st.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          st.once('wantTrailers', () => st.sendTrailers({ 'grpc-status': '14', 'grpc-message': 'draining' }));
          st.end();
        },
        { kind: 'retryable', reason: 'UNAVAILABLE: draining' },
      ],
      [(st) => st.respond({ ':status': 503, 'content-type': 'text/plain' }, { endStream: true }), { kind: 'retryable', reason: 'UNAVAILABLE: Received HTTP status code 503' }],
      [(st) => st.respond({ ':status': 401 }, { endStream: true }), { kind: 'permanent', reason: 'UNAUTHENTICATED: Received HTTP status code 401' }],
      [(st) => st.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '99', 'grpc-message': 'what' }, { endStream: true }), { kind: 'permanent', reason: 'UNKNOWN: what' }],
      [(st) => st.close(7 /* REFUSED_STREAM */), { kind: 'retryable', reason: 'UNAVAILABLE: Stream refused by server' }],
    ];
    for (const [answer, expected] of cases) {
      srv.respond = (r) => answer(r.stream);
      assert.deepStrictEqual(await s.send(batch(bytes(10))), expected);
    }
    assert.equal(srv.sessions.length, 1, 'all on one connection');
  });

  it('does not keep a response message larger than MAX_RESPONSE_BYTES, and the call still counts as delivered', async () => {
    const srv = await scriptedServer();
    srv.respond = (r) => okResponse(r.stream, Buffer.alloc(MAX_RESPONSE_BYTES + 1, 0x0a));
    const s = sender(settings(`127.0.0.1:${srv.port}`));
    assert.deepStrictEqual(await s.send(batch(bytes(10))), { kind: 'sent' });
  });
});

describe('gRPC unary over node:http2: deadline and connections', () => {
  it('a deadline that passes is DEADLINE_EXCEEDED (retried), the stream is cancelled at the server, and the connection serves the next call', async () => {
    const srv = await grpcJsServer();
    srv.answer = (call) => {
      srv.held.count++;
      call.on('cancelled', () => srv.held.cancelled++);
    };
    // The same deadline bounds the call that must succeed afterwards: 1 s, so that a loaded
    // machine cannot turn that one into DEADLINE_EXCEEDED too (300 ms failed once in a full run).
    const s = sender(settings(`127.0.0.1:${srv.port}`, { timeoutMs: 1000 }));
    assert.deepStrictEqual(await s.send(batch(bytes(10))), { kind: 'retryable', reason: 'DEADLINE_EXCEEDED: Deadline exceeded after 1.000s' });
    await until(() => srv.held.cancelled === 1, 'the server to see the call cancelled');
    srv.answer = (_call, callback) => callback(null, Buffer.alloc(0));
    assert.deepStrictEqual(await s.send(batch(bytes(10))), { kind: 'sent' });
    assert.equal(srv.calls.length, 2);
  });

  it('after a GOAWAY, and after the server drops the connection, delivery resumes on a new connection', async () => {
    const srv = await scriptedServer();
    const s = sender(settings(`127.0.0.1:${srv.port}`));
    assert.deepStrictEqual(await s.send(batch(bytes(10, 1))), { kind: 'sent' });
    assert.deepStrictEqual(await s.send(batch(bytes(10, 2))), { kind: 'sent' });
    assert.equal(srv.sessions.length, 1, 'one long-lived connection');

    // A graceful GOAWAY after answering (what a server draining connections sends).
    srv.respond = (r) => {
      okResponse(r.stream);
      r.session.goaway(0);
    };
    assert.deepStrictEqual(await s.send(batch(bytes(10, 3))), { kind: 'sent' });
    srv.respond = (r) => okResponse(r.stream);
    assert.deepStrictEqual(await s.send(batch(bytes(10, 4))), { kind: 'sent' });
    assert.equal(srv.sessions.length, 2, 'a new connection after the GOAWAY');

    // The connection dropped under a call in flight: UNAVAILABLE (retried), then a new connection.
    srv.respond = (r) => r.session.destroy();
    const dropped = await s.send(batch(bytes(10, 5)));
    assert.equal(dropped.kind, 'retryable', JSON.stringify(dropped));
    assert.ok(dropped.kind === 'retryable' && dropped.reason.startsWith('UNAVAILABLE: '), JSON.stringify(dropped));
    srv.respond = (r) => okResponse(r.stream);
    assert.deepStrictEqual(await s.send(batch(bytes(10, 6))), { kind: 'sent' });
    assert.equal(srv.sessions.length, 3);
    assert.deepStrictEqual(srv.requests.map((r) => unframe(r.body)[0]), [1, 2, 3, 4, 5, 6].map((seed) => bytes(10, seed)[0]));
  });

  it('a refused connection is UNAVAILABLE (retried), as grpc-js reports it', async () => {
    // A port that was just free: bound, closed, then connected to.
    const srv = await scriptedServer();
    const port = srv.port;
    for (const session of srv.sessions) session.destroy();
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const freePort = (gone.address() as AddressInfo).port;
    await new Promise((resolve) => gone.close(resolve));
    assert.notEqual(port, freePort);
    const s = sender(settings(`127.0.0.1:${freePort}`));
    assert.deepStrictEqual(await s.send(batch(bytes(10))), { kind: 'retryable', reason: `UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:${freePort}` });
  });

  it('a TLS connection still being made when the deadline passes is DEADLINE_EXCEEDED, and shutdown drops it at once', async () => {
    // A TCP peer that accepts and never answers the TLS handshake.
    const sockets: import('node:net').Socket[] = [];
    const closed: boolean[] = [];
    const silent = createNetServer((socket) => {
      const at = sockets.push(socket) - 1;
      closed[at] = false;
      socket.on('error', () => undefined);
      socket.on('close', () => (closed[at] = true));
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });
    // 1 s, not less: the accept that `closed` records runs on this process's event loop, after the
    // timers phase that fires the deadline, so a loop stalled that long would assert before it.
    const s = createEncodedLogsSender(settings(`localhost:${(silent.address() as AddressInfo).port}`, { insecure: false, timeoutMs: 1000 }));
    assert.deepStrictEqual(await s.send(batch(bytes(10))), { kind: 'retryable', reason: 'DEADLINE_EXCEEDED: Deadline exceeded after 1.000s' });
    assert.deepStrictEqual(closed, [false], 'one connection, kept for the next attempt');
    await s.shutdown();
    await until(() => closed[0] === true, 'the connection to close');
  });

  it('an idle connection does not hold the process open, and a logs send loads no grpc-js', async () => {
    const srv = await scriptedServer();
    const script = `
      const { createEncodedLogsSender } = require(${JSON.stringify(join(__dirname, 'logs_grpc_sender.js'))});
      const sender = createEncodedLogsSender(${JSON.stringify(settings(`127.0.0.1:${srv.port}`))});
      sender.send({ parts: [Buffer.from([0x0a, 0x00])], size: 2, records: 1 }).then((outcome) => {
        const grpcJs = Object.keys(require.cache).filter((f) => f.includes('@grpc/grpc-js'));
        process.stdout.write(JSON.stringify({ outcome, grpcJs }));
        // No shutdown: the process must end by itself with the connection still open.
      });`;
    // Asynchronously: the server answering it runs in this process.
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    clearTimeout(killer);
    assert.equal(signal, null, `the child did not end by itself within 60 s: ${stdout} ${stderr}`);
    assert.equal(code, 0, stderr);
    assert.deepStrictEqual(JSON.parse(stdout), { outcome: { kind: 'sent' }, grpcJs: [] });
    assert.equal(srv.requests.length, 1);
  });

  it('after shutdown, a call in flight still ends by its deadline and a new send fails retryably', async () => {
    const srv = await scriptedServer();
    srv.respond = () => undefined; // never answers
    // 1 s, not less: the server records the request at its end, which a deadline passed first
    // (a loaded machine stalling this process) would cancel, leaving the wait below nothing to see.
    const s = createEncodedLogsSender(settings(`127.0.0.1:${srv.port}`, { timeoutMs: 1000 }));
    const inFlight = s.send(batch(bytes(10)));
    await until(() => srv.requests.length === 1, 'the request at the server');
    await s.shutdown();
    assert.deepStrictEqual(await inFlight, { kind: 'retryable', reason: 'DEADLINE_EXCEEDED: Deadline exceeded after 1.000s' });
  });
});

describe('gRPC unary over node:http2: TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-h2-tls-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  let key: Buffer;
  let cert: Buffer;
  let ca: Buffer;
  before(() => {
    // A throwaway CA, and a server certificate it signs for localhost and 127.0.0.1.
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=tcpscope test CA');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost');
    writeFileSync(file('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '1', '-extfile', file('ext.cnf'));
    key = readFileSync(file('server.key'));
    cert = readFileSync(file('server.pem'));
    ca = readFileSync(file('ca.pem'));
  });

  function client(endpoint: string, trusted: Buffer | undefined): GrpcUnaryClient {
    const c = new GrpcUnaryClient({ endpoint, insecure: false, compression: 'none', metadata: {}, userAgent: USER_AGENT, ca: trusted });
    cleanups.push(() => c.close());
    return c;
  }

  it('delivers to a grpc-js TLS server whose certificate the test CA signed, by name (SNI) and by IP address', async () => {
    const srv = await grpcJsServer({ credentials: grpc.ServerCredentials.createSsl(null, [{ private_key: key, cert_chain: cert }]) });
    for (const host of ['localhost', '127.0.0.1']) {
      const result = await client(`${host}:${srv.port}`, ca).call(LOGS_EXPORT_PATH, [bytes(100)], 100, 20_000);
      assert.equal(result.code, GrpcStatus.OK, `${host}: ${result.details}`);
    }
    assert.deepStrictEqual(srv.calls.map((c) => c.request.toString('hex')), [bytes(100).toString('hex'), bytes(100).toString('hex')]);
  });

  it('uses SNI with the endpoint\'s host name and negotiates h2 by ALPN', async () => {
    const srv = await scriptedServer({ key, cert });
    const names: (string | undefined)[] = [];
    srv.respond = (r) => {
      const socket = r.session.socket as import('node:tls').TLSSocket;
      names.push(`${(socket as unknown as { servername?: string }).servername}/${socket.alpnProtocol}`);
      okResponse(r.stream);
    };
    assert.equal((await client(`localhost:${srv.port}`, ca).call(LOGS_EXPORT_PATH, [bytes(5)], 5, 20_000)).code, GrpcStatus.OK);
    assert.deepStrictEqual(names, ['localhost/h2']);
    assert.equal(srv.requests[0].headers[':scheme'], 'https');
  });

  it('refuses a server the roots do not vouch for, retryably, with the reason', async () => {
    const srv = await grpcJsServer({ credentials: grpc.ServerCredentials.createSsl(null, [{ private_key: key, cert_chain: cert }]) });
    const result = await client(`localhost:${srv.port}`, undefined).call(LOGS_EXPORT_PATH, [bytes(5)], 5, 20_000);
    assert.equal(result.code, GrpcStatus.UNAVAILABLE);
    assert.match(result.details, /^No connection established\. Last error: .*unable to verify the first certificate/);
    assert.equal(srv.calls.length, 0);
  });
});

describe('gRPC unary over node:http2: helpers', () => {
  it('grpc-timeout: at most 8 digits, rounded up', () => {
    assert.deepStrictEqual([1, 1.2, 10_000, 99_999_999, 100_000_000, 2_147_483_647].map(grpcTimeout), ['1m', '2m', '10000m', '99999999m', '100000S', '2147484S']);
  });

  it('grpc-message: percent-decoded, a malformed one as it came', () => {
    assert.equal(decodeGrpcMessage('a%20b%25%C3%BC'), 'a b%ü');
    assert.equal(decodeGrpcMessage('100%'), '100%');
  });

  it('metadata: names lower-cased; names and values grpc-js would refuse are errors that say which', () => {
    assert.deepStrictEqual(checkedMetadata({ 'X-Tenant': 'a', authorization: 'Bearer t' }), { 'x-tenant': 'a', authorization: 'Bearer t' });
    assert.throws(() => checkedMetadata({ 'bad name': 'a' }), /header name "bad name" is not valid gRPC metadata/);
    assert.throws(() => checkedMetadata({ 'x-data-bin': 'a' }), /header name "x-data-bin"/);
    assert.throws(() => checkedMetadata({ 'x-tenant': 'tab\there' }), /header "x-tenant" has a value that is not printable ASCII/);
  });

  it('a header from OTEL_EXPORTER_OTLP_HEADERS that gRPC refuses fails each send permanently, saying which', async (t) => {
    const saved = process.env.OTEL_EXPORTER_OTLP_HEADERS;
    t.after(() => (saved === undefined ? delete process.env.OTEL_EXPORTER_OTLP_HEADERS : (process.env.OTEL_EXPORTER_OTLP_HEADERS = saved)));
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'bad%20name=x';
    const s = sender(settings('127.0.0.1:1'));
    assert.deepStrictEqual(await s.send(batch(bytes(1))), { kind: 'permanent', reason: 'header name "bad name" is not valid gRPC metadata (letters, digits, "-", "_", "."; no -bin suffix)' });
  });
});
