// The `prometheus` exporter: a pull endpoint. It keeps the latest cumulative points the metrics
// pipelines pushed (store.ts says why, and how series of removed cgroups leave) and answers
// GET /metrics in the format the scraper asks for: the protobuf format when the Accept header
// names it (Prometheus with --enable-feature=native-histograms does; it is the only way native
// histograms reach Prometheus 2.x), else the text format 0.0.4. gzip when accepted.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { Consumers, CreateSettings, Exporter, Host, Signal } from '../../component';
import { ExportError } from '../../errors';
import type { AgentLogger } from '../../logger';
import { METRICS_PATH, type PrometheusExporterSettings } from './config';
import { buildFamilies } from './families';
import { PROTOBUF_CONTENT_TYPE, writeProtobuf } from './protobuf_format';
import { MetricsStore } from './store';
import { TEXT_CONTENT_TYPE, writeText } from './text_format';

/** Whether an Accept header asks for the delimited protobuf MetricFamily stream. */
export function acceptsProtobuf(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.split(';').map((p) => p.trim());
    if (type.toLowerCase() !== 'application/vnd.google.protobuf') return false;
    const values = new Map(params.map((p) => p.split('=').map((x) => x.trim()) as [string, string]));
    const q = values.get('q');
    return values.get('proto') === 'io.prometheus.client.MetricFamily' && values.get('encoding') === 'delimited' && (q === undefined || Number(q) > 0);
  });
}

export class PrometheusExporter implements Exporter {
  readonly consumers: Consumers;
  private readonly store: MetricsStore;
  private readonly logger: AgentLogger;
  private server: Server | undefined;
  private stopped = false;
  private readonly reportedProblems = new Set<string>();
  private boundAddress: AddressInfo | undefined;

  constructor(
    settings: CreateSettings,
    private readonly config: PrometheusExporterSettings,
    signals: readonly Signal[],
  ) {
    this.logger = settings.logger;
    this.store = new MetricsStore(
      (name) => this.logger.warn(`prometheus: ${name} has delta temporality, which a pull endpoint cannot serve as a total; it is left out (the receivers export cumulative metrics)`),
      config.metricExpirationMs,
    );
    this.consumers = signals.includes('metrics') ? { metrics: { consume: async (data) => this.consume(data) } } : {};
  }

  /** The address listened on (the real port when 0 was asked for); undefined before start. */
  address(): AddressInfo | undefined {
    return this.boundAddress;
  }

  async start(_host: Host): Promise<void> {
    if (this.server || this.stopped) return;
    const server = createServer((request, response) => this.answer(request, response));
    // A scraper's idle keep-alive connection must not hold the agent's exit.
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      const fail = (error: NodeJS.ErrnoException) =>
        reject(
          new ExportError(
            `prometheus exporter cannot listen on ${this.config.host}:${this.config.port} (${error.code ?? error.message}); choose a free port in its endpoint setting`,
            { cause: error },
          ),
        );
      server.once('error', fail);
      server.listen(this.config.port, this.config.host, () => {
        server.off('error', fail);
        resolve();
      });
    });
    this.server = server;
    this.boundAddress = server.address() as AddressInfo;
    this.logger.info(`prometheus: serving GET ${METRICS_PATH} on ${this.boundAddress.address}:${this.boundAddress.port}`);
  }

  async forceFlush(): Promise<void> {}

  /** Stops listening and closes open connections. Idempotent, safe without start(). */
  async shutdown(): Promise<void> {
    this.stopped = true;
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private consume(data: Parameters<MetricsStore['update']>[0]): void {
    if (this.stopped) throw new ExportError('prometheus exporter is shut down');
    this.store.update(data);
  }

  /** The body and content type a scrape with this Accept header gets now. */
  render(accept: string | undefined): { body: Buffer; contentType: string } {
    const { families, problems } = buildFamilies(this.store.scrape(), {
      promoteResourceAttributes: this.config.promoteResourceAttributes,
      scopeLabels: this.config.scopeLabels,
      exponentialHistograms: this.config.exponentialHistograms,
    });
    for (const problem of problems) {
      if (this.reportedProblems.has(problem)) continue;
      this.reportedProblems.add(problem);
      this.logger.warn(`prometheus: ${problem}`);
    }
    if (acceptsProtobuf(accept)) return { body: writeProtobuf(families, this.config.exponentialHistograms), contentType: PROTOBUF_CONTENT_TYPE };
    return { body: Buffer.from(writeText(families), 'utf8'), contentType: TEXT_CONTENT_TYPE };
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      plain(response, 405, `${request.method} is not allowed; use GET\n`, { allow: 'GET, HEAD' });
      return;
    }
    if (path !== METRICS_PATH) {
      plain(response, 404, `no such path ${JSON.stringify(path)}; metrics are served at ${METRICS_PATH}\n`);
      return;
    }
    let rendered: { body: Buffer; contentType: string };
    try {
      rendered = this.render(request.headers.accept);
    } catch (error) {
      this.logger.warn(`prometheus: rendering a scrape failed: ${(error as Error).message}`);
      plain(response, 500, `rendering the metrics failed: ${(error as Error).message}\n`);
      return;
    }
    const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    const body = gzip ? gzipSync(rendered.body) : rendered.body;
    response.writeHead(200, {
      'content-type': rendered.contentType,
      'content-length': body.length,
      'cache-control': 'no-store',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  }
}

function plain(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}
