// The agent's control endpoint for captures: HTTP/1.1 with JSON bodies on a unix socket that only
// root can reach (mode 0600, in a 0700 directory when the agent creates it). HTTP because every
// tool speaks it (`curl --unix-socket`); a unix socket because starting a capture reads packets of
// the whole host, which must never be reachable from the network.
//
//   GET  /v1/captures                  {captures: [status...]}
//   POST /v1/captures                  body: ControlStartRequest -> 201 {capture: status}
//   GET  /v1/captures/<id>[?wait=<ms>] {capture: status}; with wait, answers once the capture has
//                                      ended or after <ms> (at most MAX_WAIT_MS), whichever is first
//   POST /v1/captures/<id>/stop        {capture: final status}
// Errors: {error: {code, message}} with 400 (the request is wrong: the message names the field),
// 404 (no such capture or route), 409 (all capture slots busy), 503 (no packet_capture receiver),
// 500 (the capture failed).
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import * as http from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { TcpscopeError } from '../../../errors';
import type { AgentLogger } from '../../../logger';
import { CaptureError } from '../capture_api';
import { CaptureStarter } from './capture_starter';
import { ControlError } from './control_errors';
import { ControlRequestProblem, validateStartRequest } from './control_request';

/** A request body larger than this is refused: a capture request is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;
/** The longest ?wait= a request may hold the connection for; the CLI asks again after it. */
export const MAX_WAIT_MS = 60_000;

const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  CAPTURE_INVALID_REQUEST: 400,
  CAPTURE_NOT_FOUND: 404,
  CAPTURE_BUSY: 409,
  CAPTURE_NO_RECEIVER: 503,
  CAPTURE_FAILED: 500,
};

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ControlServer {
  private server?: http.Server;
  private readonly waits = new Set<() => void>();

  constructor(
    private readonly socketPath: string,
    private readonly starter: CaptureStarter,
    private readonly logger: AgentLogger,
  ) {}

  /** Listens; throws ControlError when the socket cannot be made or another agent serves it. */
  async start(): Promise<void> {
    await this.prepareSocketPath();
    const server = http.createServer((req, res) => void this.handle(req, res));
    // Long-polls (?wait=) must not be cut by the default timeouts; they are bounded by MAX_WAIT_MS.
    server.requestTimeout = 0;
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: unknown) => {
      throw new ControlError('CAPTURE_CONTROL_FAILED', `cannot listen on the capture control socket ${this.socketPath}: ${(error as Error).message}; set service.capture.control.socket to a writable path`, { cause: error });
    });
    chmodSync(this.socketPath, 0o600);
    this.server = server;
    this.logger.info(`capture control listening on ${this.socketPath} (root only): bin/tcpscope capture start|list|stop`);
  }

  /** Idempotent; ends long-polls at once, closes connections, removes the socket file. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const wake of [...this.waits]) wake();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    try {
      unlinkSync(this.socketPath);
    } catch {
      // already gone (removed by hand): nothing to clean
    }
  }

  /**
   * Creates the socket's directory (0700) when missing, and removes a socket file left by an agent
   * that died; a socket another agent still serves is refused instead (two agents must not share one).
   */
  private async prepareSocketPath(): Promise<void> {
    const dir = dirname(this.socketPath);
    if (!existsSync(dir)) {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw new ControlError('CAPTURE_CONTROL_FAILED', `cannot listen on the capture control socket ${this.socketPath}: cannot create ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); set service.capture.control.socket to a writable path`, { cause: error });
      }
    }
    let stat;
    try {
      stat = lstatSync(this.socketPath);
    } catch {
      return;
    }
    if (!stat.isSocket()) {
      throw new ControlError('CAPTURE_CONTROL_FAILED', `${this.socketPath} exists and is not a socket; remove it or set service.capture.control.socket to another path`);
    }
    const alive = await new Promise<boolean>((resolve) => {
      const probe = connect(this.socketPath);
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (alive) {
      throw new ControlError('CAPTURE_CONTROL_FAILED', `another process already serves captures at ${this.socketPath} (a second agent?); give this agent another service.capture.control.socket`);
    }
    unlinkSync(this.socketPath);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://control');
      const parts = url.pathname.split('/').filter(Boolean);
      if (parts[0] !== 'v1' || parts[1] !== 'captures' || parts.length > 4) throw new HttpProblem(404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}; the routes are GET/POST /v1/captures, GET /v1/captures/<id>, POST /v1/captures/<id>/stop`);
      if (parts.length === 2 && req.method === 'GET') return send(res, 200, { captures: this.starter.list() });
      if (parts.length === 2 && req.method === 'POST') {
        const request = validateStartRequest(await readJson(req));
        const status = await this.starter.start(request, 'on_demand');
        this.logger.info(`capture ${status.id} started on request (receiver ${status.receiver}${request.name ? `, name ${request.name}` : ''})`);
        return send(res, 201, { capture: status });
      }
      const id = decodeURIComponent(parts[2] ?? '');
      if (parts.length === 3 && req.method === 'GET') {
        const waitMs = waitOf(url.searchParams.get('wait'));
        const found = this.starter.find(id);
        if (waitMs > 0 && found.status.state === 'running') await this.waitForEnd(found.service.finished(id), waitMs);
        const { id: receiver, status } = this.starter.find(id);
        return send(res, 200, { capture: this.starter.describe(receiver, status) });
      }
      if (parts.length === 4 && parts[3] === 'stop' && req.method === 'POST') {
        const { id: receiver, service } = this.starter.find(id);
        const status = await service.stop(id);
        this.logger.info(`capture ${id} stopped on request`);
        return send(res, 200, { capture: this.starter.describe(receiver, status) });
      }
      throw new HttpProblem(405, 'METHOD_NOT_ALLOWED', `${req.method} is not served at ${url.pathname}`);
    } catch (error) {
      const problem = asProblem(error);
      if (problem.status >= 500 && problem.code !== 'CAPTURE_NO_RECEIVER') this.logger.warn(`capture control: ${problem.code}: ${problem.message}`);
      send(res, problem.status, { error: { code: problem.code, message: problem.message } });
    }
  }

  private waitForEnd(finished: Promise<unknown>, waitMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waits.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.waits.add(done);
      finished.then(done, done);
    });
  }
}

function waitOf(text: string | null): number {
  if (text === null) return 0;
  const ms = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(ms)) throw new HttpProblem(400, 'CAPTURE_INVALID_REQUEST', `wait: must be milliseconds (0-${MAX_WAIT_MS}), got ${JSON.stringify(text)}`);
  return Math.min(ms, MAX_WAIT_MS);
}

function asProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof ControlRequestProblem) return new HttpProblem(400, 'CAPTURE_INVALID_REQUEST', error.message);
  if (error instanceof CaptureError || error instanceof ControlError) return new HttpProblem(STATUS_OF_CODE[error.code] ?? 500, error.code, error.message);
  if (error instanceof TcpscopeError) return new HttpProblem(500, error.code, error.message);
  return new HttpProblem(500, 'CAPTURE_FAILED', `the agent failed to handle the request: ${error instanceof Error ? error.message : String(error)}`);
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpProblem(413, 'CAPTURE_INVALID_REQUEST', `the request body is larger than ${MAX_BODY_BYTES} bytes`));
        // The rest is read and dropped, so that the answer can still be sent.
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(JSON.parse(text) as unknown);
      } catch {
        reject(new HttpProblem(400, 'CAPTURE_INVALID_REQUEST', 'the request body is not JSON; send a JSON object such as {"selection": {"sourcePort": 80}}'));
      }
    });
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
