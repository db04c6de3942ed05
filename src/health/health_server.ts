// The agent's health endpoint, like the Collector's health_check extension: GET /healthz answers
// 200 while the process runs (answering at all proves the event loop is not stuck: a probe with a
// timeout fails when it is), GET /readyz answers 200 only when every receiver has attached and no
// exporter is in permanent failure, 503 with a JSON body naming what is not ready otherwise.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthEndpointError } from '../errors';
import type { HealthEndpoint } from './endpoint';
import type { ReadinessReport } from './readiness';

export class HealthServer {
  private server: Server | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly endpoint: HealthEndpoint,
    private readonly readiness: () => ReadinessReport,
  ) {}

  /** Listens; resolves with the bound address (the port is the real one when 0 was asked for). */
  async start(): Promise<AddressInfo> {
    if (this.server) throw new Error('the health endpoint was already started');
    const server = createServer((request, response) => this.answer(request, response));
    // A probe that hangs up must not keep the agent from exiting.
    server.keepAliveTimeout = 1_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const fail = (error: NodeJS.ErrnoException) => {
        this.server = undefined;
        reject(
          new HealthEndpointError(
            `cannot listen on ${this.endpoint.host}:${this.endpoint.port} for the health endpoint (${error.code ?? error.message}); choose a free port in service.telemetry.health.endpoint or remove service.telemetry.health`,
            error,
          ),
        );
      };
      server.once('error', fail);
      server.listen(this.endpoint.port, this.endpoint.host, () => {
        server.off('error', fail);
        resolve();
      });
    });
    return server.address() as AddressInfo;
  }

  /** Stops listening and closes open connections. Idempotent, safe without start(). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(response, 405, { error: `${request.method} is not allowed; use GET` }, { allow: 'GET, HEAD' });
    } else if (path === '/healthz') {
      send(response, 200, { status: 'alive', uptime_seconds: Math.round((Date.now() - this.startedAt) / 1000) });
    } else if (path === '/readyz') {
      const report = this.readiness();
      send(response, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', not_ready: report.notReady });
    } else {
      send(response, 404, { error: `no such path ${JSON.stringify(path)}; the health endpoint serves /healthz and /readyz` });
    }
  }
}

function send(response: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  response.end(text);
}
