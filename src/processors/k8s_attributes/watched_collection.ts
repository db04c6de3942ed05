// One Kubernetes collection (pods of this node, services, ...) kept in sync by list+watch (list,
// then watch from the list's resourceVersion), made to survive API trouble. It keeps the protocol
// of client-node 1.4.0's ListWatch, which it replaced (see test/support/kube_api_server.ts):
// - a watch that the server ends (its timeoutSeconds) is re-opened from the last resourceVersion
//   (the last event's, or the last bookmark's), with no relist;
// - 410 Gone (an ERROR event with code 410, or an HTTP 410 on the watch request: the history was
//   compacted) relists, and the relist reports as deleted every cached object the new list lacks,
//   as updated those whose resourceVersion changed, as added the new ones;
// - any other failure (API unreachable, 403, a watch connection reset, a silent server) is logged
//   once per state change and retried with exponential backoff; the retry resumes the watch from
//   the last resourceVersion without relisting (a 410 then relists).
// Only the fields the agent uses are kept (trimming is what bounds memory per 1,000 pods).
import type { AgentLogger } from '../../logger';
import type { KubeApi, WatchEventType } from './kube_client';

/** The fields of any object the collection itself needs: its cache key and the watch position. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface CollectionSpec<T extends KubeObject> {
  /** Plural resource name as RBAC writes it: pods, services, nodes, replicasets, jobs. */
  readonly resource: string;
  /** API group for RBAC messages: '' (core), apps, batch. */
  readonly apiGroup: string;
  /** Collection URL path, e.g. /api/v1/pods. */
  readonly path: string;
  readonly fieldSelector?: string;
  /** The object reduced to what the agent uses (metadata name, namespace, resourceVersion kept). */
  trim(object: unknown): T;
}

export interface CollectionEvents<T> {
  upsert(object: T): void;
  remove(object: T): void;
}

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}
export const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 30_000 };

/**
 * Guards against an API server that hangs instead of failing (overload, a partition that drops
 * packets). A watch asks the server to end it after `watchTimeoutSeconds` (a random value in the
 * range, as client-go does, so a DaemonSet's agents do not re-watch in step); one that has not
 * ended `watchGraceMs` after that is silent and is abandoned. A list page that gets no answer
 * within `listTimeoutMs` fails.
 */
export interface Deadlines {
  readonly watchTimeoutSeconds: readonly [min: number, max: number];
  readonly watchGraceMs: number;
  readonly listTimeoutMs: number;
}
export const DEFAULT_DEADLINES: Deadlines = { watchTimeoutSeconds: [300, 600], watchGraceMs: 30_000, listTimeoutMs: 60_000 };

/** An error of our own making, with a code describeApiError knows. */
function deadlineError(code: 'WATCH_SILENT' | 'LIST_TIMEOUT', message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/** Items per list request: large clusters are listed in pages, as kubectl does. */
const LIST_PAGE_SIZE = 500;
/** A watch the server ends sooner than this is re-opened only this long after it was opened. */
const MIN_WATCH_INTERVAL_MS = 1_000;

type State = { readonly kind: 'starting' } | { readonly kind: 'synced' } | { readonly kind: 'failing'; readonly category: string };

const objectKey = (object: KubeObject) => `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;

/** The HTTP status of a failed request (KubeHttpError.statusCode, or client-node's code). */
function httpStatus(error: unknown): number | undefined {
  const e = (error ?? {}) as { statusCode?: unknown; code?: unknown };
  return typeof e.statusCode === 'number' ? e.statusCode : typeof e.code === 'number' ? e.code : undefined;
}

class Stale extends Error {}

export class WatchedCollection<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  /** Where the next watch starts; undefined: list first. */
  private resourceVersion?: string;
  private state: State = { kind: 'starting' };
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  private running = false;
  private listedOnce = false;
  /** Bumped by stop(): a loop of an older generation does nothing more. */
  private generation = 0;
  private readonly aborts = new Set<AbortController>();

  constructor(
    private readonly api: KubeApi,
    private readonly spec: CollectionSpec<T>,
    private readonly events: CollectionEvents<T>,
    private readonly logger: AgentLogger,
    private readonly backoff: Backoff = DEFAULT_BACKOFF,
    private readonly deadlines: Deadlines = DEFAULT_DEADLINES,
  ) {}

  /** True once a first list has completed (names are known from then on). */
  get synced(): boolean {
    return this.listedOnce;
  }

  get label(): string {
    return this.spec.fieldSelector ? `${this.spec.resource} (${this.spec.fieldSelector})` : this.spec.resource;
  }

  /** Returns at once; the list and the watch run in the background. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void this.loop(this.generation);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation += 1;
    clearTimeout(this.retryTimer);
    for (const abort of this.aborts) abort.abort();
    this.aborts.clear();
    return Promise.resolve();
  }

  private check(generation: number): void {
    if (generation !== this.generation || this.stopped) throw new Stale();
  }

  /** List when needed, then watch, again and again, until a failure hands over to the backoff. */
  private async loop(generation: number): Promise<void> {
    try {
      for (;;) {
        if (this.resourceVersion === undefined) await this.relist(generation);
        this.check(generation);
        const openedAt = Date.now();
        const gone = await this.watchOnce(generation);
        this.check(generation);
        if (gone) this.resourceVersion = undefined;
        // A server that ends every watch at once (or says 410 to every one) is not asked again in a tight loop.
        const early = MIN_WATCH_INTERVAL_MS - (Date.now() - openedAt);
        if (early > 0) await new Promise((resolve) => setTimeout(resolve, early).unref());
        this.check(generation);
      }
    } catch (error) {
      if (error instanceof Stale || generation !== this.generation || this.stopped) return;
      this.running = false;
      this.failed(error);
    }
  }

  private async relist(generation: number): Promise<void> {
    const items = new Map<string, T>();
    let resourceVersion: string | undefined;
    let next: string | undefined;
    do {
      const page = await this.listPage(next);
      this.check(generation);
      // Every page of a paged list is one snapshot; its resourceVersion is where the watch starts.
      resourceVersion ??= page.metadata?.resourceVersion;
      for (const item of page.items) {
        const object = this.spec.trim(item);
        items.set(objectKey(object), object);
      }
      next = page.metadata?.continue || undefined;
    } while (next);
    // Reconcile as ListWatch did: deletions (the cached, last known state), then changes and additions.
    for (const [key, cached] of this.cache) if (!items.has(key)) this.events.remove(cached);
    for (const [key, object] of items) {
      const cached = this.cache.get(key);
      if (!cached || cached.metadata?.resourceVersion !== object.metadata?.resourceVersion) this.events.upsert(object);
    }
    this.cache.clear();
    for (const [key, object] of items) this.cache.set(key, object);
    this.resourceVersion = resourceVersion ?? '';
    if (!this.listedOnce) this.logger.info(`${this.label}: synced, ${items.size} listed`);
    else this.logger.info(`${this.label}: relisted ${items.size} (the watch's resourceVersion had expired: 410 Gone)`);
    this.listedOnce = true;
  }

  /** One page, given up (its request aborted) when the server does not answer in time. */
  private async listPage(next: string | undefined) {
    const abort = new AbortController();
    this.aborts.add(abort);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.deadlines.listTimeoutMs);
    try {
      return await this.api.list(this.spec.path, { fieldSelector: this.spec.fieldSelector, limit: LIST_PAGE_SIZE, continue: next }, abort.signal);
    } catch (error) {
      if (timedOut) throw deadlineError('LIST_TIMEOUT', `no answer to a list within ${this.deadlines.listTimeoutMs / 1000} s`);
      throw error;
    } finally {
      clearTimeout(timer);
      this.aborts.delete(abort);
    }
  }

  /**
   * One watch, from this.resourceVersion, with bookmarks and a server-side timeout. Resolves when
   * the server ended it (true: it said 410 Gone, relist), rejects when it failed or stayed open
   * (or unanswered) past its deadline.
   */
  private watchOnce(generation: number): Promise<boolean> {
    const [min, max] = this.deadlines.watchTimeoutSeconds;
    const timeoutSeconds = Math.round(min + Math.random() * (max - min));
    const abort = new AbortController();
    this.aborts.add(abort);
    let gone = false;
    return new Promise<boolean>((resolve, reject) => {
      let ended = false;
      const end = (error?: unknown) => {
        if (ended) return;
        ended = true;
        clearTimeout(watchdog);
        this.aborts.delete(abort);
        if (error === undefined) resolve(gone);
        else if (httpStatus(error) === 410) resolve(true);
        else reject(error);
      };
      const watchdog = setTimeout(() => {
        abort.abort();
        end(deadlineError('WATCH_SILENT', `a watch asked to end after ${timeoutSeconds} s was still open ${this.deadlines.watchGraceMs / 1000} s later`));
      }, timeoutSeconds * 1000 + this.deadlines.watchGraceMs);
      watchdog.unref();
      const onEvent = (type: WatchEventType, raw: unknown) => {
        if (ended || generation !== this.generation) return;
        this.onEvent(type, raw, () => (gone = true));
      };
      this.api
        .watch(
          this.spec.path,
          { fieldSelector: this.spec.fieldSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
          onEvent,
          (error) => end(error),
          abort.signal,
        )
        .then(
          () => {
            if (!ended && generation === this.generation) this.healthy();
          },
          (error: unknown) => end(error),
        );
    });
  }

  private onEvent(type: WatchEventType, raw: unknown, markGone: () => void): void {
    if (type === 'ERROR') {
      // The apiserver's way of saying 410 Gone on an open watch; it ends the watch after it.
      if ((raw as { code?: unknown } | undefined)?.code === 410) markGone();
      else this.logger.debug(`${this.label}: watch error event ${JSON.stringify(raw)}`);
      return;
    }
    const version = (raw as KubeObject | undefined)?.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      if (version) this.resourceVersion = version;
      return;
    }
    const object = this.spec.trim(raw);
    const key = objectKey(object);
    if (type === 'DELETED') {
      this.cache.delete(key);
      this.events.remove(object);
    } else {
      this.cache.set(key, object);
      this.events.upsert(object);
    }
    if (version) this.resourceVersion = version;
  }

  private healthy(): void {
    if (this.state.kind === 'failing') this.logger.info(`${this.label}: recovered after ${this.failures} failed attempt(s)`);
    this.failures = 0;
    this.state = { kind: 'synced' };
  }

  private failed(error: unknown): void {
    if (this.stopped) return;
    this.failures += 1;
    const problem = describeApiError(error, this.spec, this.api.server);
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (this.failures - 1));
    if (this.state.kind !== 'failing' || this.state.category !== problem.category) {
      this.logger.warn(`${this.label}: ${problem.text}; events pass through with what is already known, retrying with backoff (${this.backoff.initialMs / 1000}s doubling to ${this.backoff.maxMs / 1000}s)`);
    } else {
      this.logger.debug(`${this.label}: still failing (${problem.text}), attempt ${this.failures}, next in ${Math.round(delay)} ms`);
    }
    this.state = { kind: 'failing', category: problem.category };
    // Jitter: a DaemonSet's agents must not retry against a recovering API server in lockstep.
    this.retryTimer = setTimeout(() => this.start(), delay * (0.8 + 0.4 * Math.random()));
    this.retryTimer.unref();
  }
}
/** A stable category (for "log once per state change") and a sentence saying what to do. */
export function describeApiError(error: unknown, spec: Pick<CollectionSpec<KubeObject>, 'resource' | 'apiGroup'>, server: string): { category: string; text: string } {
  const e = (error ?? {}) as { code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown; cause?: { code?: unknown } };
  const status = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const resource = spec.apiGroup ? `${spec.resource}.${spec.apiGroup}` : spec.resource;
  if (status === 403) {
    return { category: 'forbidden', text: `forbidden (HTTP 403${statusMessage(e.body)}): the agent's service account needs get, list and watch on ${resource} (see deploy/kubernetes/rbac.yaml)` };
  }
  if (status === 401) return { category: 'unauthorized', text: `unauthorized (HTTP 401): ${server} rejected the agent's credentials` };
  if (status !== undefined) return { category: `http-${status}`, text: `HTTP ${status} from ${server}${statusMessage(e.body)}` };
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : undefined;
  // A watch response cut off mid-stream (API server restart, proxy reset): kube_client.ts's code, node-fetch's too.
  if (code === 'ERR_STREAM_PREMATURE_CLOSE') return { category: 'watch-dropped', text: `watch connection to ${server} dropped` };
  if (code === 'WATCH_SILENT' || code === 'LIST_TIMEOUT') {
    return { category: code === 'WATCH_SILENT' ? 'watch-silent' : 'list-timeout', text: `API server ${server} not answering (${String(e.message)}): hung or unreachable through a partition` };
  }
  if (code) return { category: `network-${code}`, text: `API server ${server} unreachable (${code})` };
  const message = typeof e.message === 'string' ? e.message : String(error);
  return { category: `error-${message}`, text: `API request failed: ${message}` };
}

/** `: <message>` from a Kubernetes Status body (string or object), or nothing. */
function statusMessage(body: unknown): string {
  let status = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      return '';
    }
  }
  const message = (status as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? `: ${message}` : '';
}
