// The Kubernetes API client k8s_attributes uses: list pages and watches, over node:https (node:http
// for an http:// server, as the tests' stand-in is), and nothing else. @kubernetes/client-node
// costs ~60 MB of RSS before it has done anything (its smallest import loads every generated API
// class and model); the agent needs two GET shapes of the API, so it speaks them itself.
//
// A list is one JSON response ({metadata: {resourceVersion, continue}, items}); a watch is a
// chunked 200 of newline-delimited JSON events ({type, object}) that the server ends after
// timeoutSeconds. Both carry the credentials an Authorizer puts on the request: static ones
// (kube_client_config.ts) or, for exec plugins and auth providers, client-node's (loaded lazily).
import * as http from 'node:http';
import * as https from 'node:https';

/** Puts TLS options and an Authorization header on a request; called for every request. */
export interface Authorizer {
  authorize(options: https.RequestOptions): Promise<void>;
}

export interface ListPage {
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items: readonly unknown[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

/** An open watch: abort() closes it and reports nothing. */
export interface OpenWatch {
  abort(): void;
}

/** What the k8s_attributes collections need of an API server. */
export interface KubeApi {
  /** The server's URL, for log lines. */
  readonly server: string;
  /** One page of a collection; rejects with a KubeHttpError for a non-2xx answer. */
  list(path: string, query: Query, signal?: AbortSignal): Promise<ListPage>;
  /**
   * Opens a watch. Resolves once the server answered 200 (the watch is established); rejects when
   * it did not (a KubeHttpError, a network error). `onEvent` gets each event in order; `done` is
   * called once when the watch ends: without an error when the server ended it, with one when the
   * connection broke. Never called after abort().
   */
  watch(path: string, query: Query, onEvent: (type: WatchEventType, object: unknown) => void, done: (error?: Error) => void, signal?: AbortSignal): Promise<OpenWatch>;
  /** Closes idle keep-alive connections (once nothing uses the client any more). */
  close?(): void;
}

/** A non-2xx answer. `body` is the response text (a Kubernetes Status, as JSON, normally). */
export class KubeHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
    url: string,
  ) {
    super(`HTTP ${statusCode} from ${url}${statusMessageOf(body)}`);
    this.name = 'KubeHttpError';
  }
}

function statusMessageOf(body: string): string {
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    return typeof message === 'string' ? `: ${message}` : '';
  } catch {
    return '';
  }
}

/** A watch response cut off before its end (API server restart, a proxy reset). */
function prematureClose(cause?: Error): Error & { code: string } {
  return Object.assign(new Error('Premature close: the watch connection dropped', cause ? { cause } : {}), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/** Largest watch line kept while waiting for its newline: a Pod is a few kB, a huge one ~1 MB. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Splits a byte stream into lines as chunks arrive: a line may span chunks, a chunk may hold many
 * lines, and a UTF-8 character may be cut between chunks (lines are cut on the newline byte, then
 * decoded, so it never is here).
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      const line = this.pendingBytes ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
      if (line.length) this.onLine(line.toString('utf8'));
    }
    if (start < chunk.length) {
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > MAX_LINE_BYTES) throw new Error(`a watch event longer than ${MAX_LINE_BYTES} bytes without a newline`);
      this.pending.push(chunk.subarray(start));
    }
  }

  /** What is left once the stream ended: a last line without a newline. */
  end(): void {
    if (this.pendingBytes) this.onLine(Buffer.concat(this.pending).toString('utf8'));
    this.pending = [];
    this.pendingBytes = 0;
  }
}

function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

export class KubeHttpClient implements KubeApi {
  private readonly base: URL;
  private readonly transport: typeof http | typeof https;
  /** Keep-alive for lists (a relist of many pages reuses its connection); watches hold their own. */
  private readonly listAgent: http.Agent;

  constructor(
    readonly server: string,
    private readonly authorizer: Authorizer,
  ) {
    this.base = new URL(server);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') throw new Error(`Kubernetes API server ${server}: not an http(s) URL`);
    this.transport = this.base.protocol === 'https:' ? https : http;
    this.listAgent = this.base.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 4 }) : new http.Agent({ keepAlive: true, maxSockets: 4 });
  }

  private async request(path: string, query: Query, agent: http.Agent | false): Promise<{ request: http.ClientRequest; response: Promise<http.IncomingMessage>; url: string }> {
    // The server URL may carry a path prefix (a proxy in front of the API server).
    const prefix = this.base.pathname.replace(/\/+$/, '');
    const url = `${this.base.origin}${prefix}${path}${queryString(query)}`;
    const options: https.RequestOptions = {
      method: 'GET',
      hostname: this.base.hostname.replace(/^\[|\]$/g, ''),
      port: this.base.port || undefined,
      path: `${prefix}${path}${queryString(query)}`,
      headers: { Accept: 'application/json' },
      agent,
    };
    await this.authorizer.authorize(options);
    if (this.transport === http) {
      // Plain http (a test server, a local proxy): TLS settings do not apply.
      for (const tls of ['ca', 'cert', 'key', 'rejectUnauthorized'] as const) delete options[tls];
    } else if (agent && options.agent === agent && (options.ca !== undefined || options.cert !== undefined || options.key !== undefined || options.rejectUnauthorized === false)) {
      // A per-request TLS option (ca, cert, key) is not honoured by a shared agent built without it.
      // (client-node's authorizer sets an agent of its own, e.g. for a proxy: that one is kept.)
      options.agent = this.tlsAgent(options);
    }
    const request = this.transport.request(options);
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      request.once('response', resolve);
      request.once('error', reject);
    });
    // The first error settles `response` (or the watch's done); a later one must not go unhandled.
    request.on('error', () => undefined);
    request.end();
    return { request, response, url };
  }

  private tlsAgents = new Map<string, https.Agent>();
  /** One keep-alive agent per TLS identity (certificates rotate: a new one gets a new agent). */
  private tlsAgent(options: https.RequestOptions): https.Agent {
    const id = [options.ca, options.cert, options.key, options.rejectUnauthorized].map((v) => String(v)).join('\0');
    let agent = this.tlsAgents.get(id);
    if (!agent) {
      for (const old of this.tlsAgents.values()) old.destroy();
      this.tlsAgents.clear();
      agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca: options.ca, cert: options.cert, key: options.key, rejectUnauthorized: options.rejectUnauthorized });
      this.tlsAgents.set(id, agent);
    }
    return agent;
  }

  async list(path: string, query: Query, signal?: AbortSignal): Promise<ListPage> {
    const { request, response, url } = await this.request(path, query, this.listAgent);
    const abort = () => request.destroy(Object.assign(new Error('list aborted'), { name: 'AbortError' }));
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const res = await response;
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', resolve);
        res.once('error', reject);
        res.once('aborted', () => reject(prematureClose()));
        res.once('close', () => reject(prematureClose())); // after 'end' this changes nothing
      });
      const body = Buffer.concat(chunks).toString('utf8');
      if (!res.statusCode || res.statusCode < 200 || res.statusCode > 299) throw new KubeHttpError(res.statusCode ?? 0, body, url);
      const page = JSON.parse(body) as { metadata?: { resourceVersion?: string; continue?: string }; items?: unknown[] };
      return { metadata: page.metadata ?? {}, items: page.items ?? [] };
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  async watch(path: string, query: Query, onEvent: (type: WatchEventType, object: unknown) => void, done: (error?: Error) => void, signal?: AbortSignal): Promise<OpenWatch> {
    // Its own connection (agent false): a watch lives minutes, and abort() destroys its socket.
    const { request, response, url } = await this.request(path, { ...query, watch: 1 }, false);
    let finished = false;
    // Aborted before or after the answer: the socket is destroyed, nothing more is reported.
    const onAbort = () => {
      finished = true;
      request.destroy(Object.assign(new Error('watch aborted'), { name: 'AbortError' }));
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    request.once('close', () => signal?.removeEventListener('abort', onAbort));
    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      request.destroy();
      done(error);
    };
    const open: OpenWatch = {
      abort: () => {
        finished = true;
        request.destroy();
      },
    };
    const res = await response;
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      await new Promise<void>((resolve) => {
        res.once('end', resolve);
        res.once('error', () => resolve());
        res.once('close', () => resolve());
      });
      finished = true;
      request.destroy();
      throw new KubeHttpError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), url);
    }
    const lines = new LineSplitter((line) => {
      if (finished) return;
      const event = JSON.parse(line) as { type?: WatchEventType; object?: unknown };
      if (event.type) onEvent(event.type, event.object);
    });
    res.on('data', (chunk: Buffer) => {
      if (finished) return;
      try {
        lines.push(chunk);
      } catch (error) {
        finish(error as Error);
      }
    });
    res.once('end', () => {
      try {
        lines.end();
        finish();
      } catch (error) {
        finish(error as Error);
      }
    });
    res.once('error', (error: Error) => finish(prematureClose(error)));
    res.once('aborted', () => finish(prematureClose()));
    res.once('close', () => finish(prematureClose()));
    request.on('error', (error: Error) => finish(prematureClose(error)));
    return open;
  }

  /** Closes idle keep-alive connections (on stop). */
  close(): void {
    this.listAgent.destroy();
    for (const agent of this.tlsAgents.values()) agent.destroy();
    this.tlsAgents.clear();
  }
}
