// One Kubernetes collection (pods of this node, services, ...) kept in sync by client-node's
// ListWatch (list, then watch from the list's resourceVersion), made to survive API trouble.
//
// What client-node 1.4.0's ListWatch does by itself (dist/cache.js): a watch that ends normally is
// re-opened from the last resourceVersion; a 410 Gone (history expired) makes it relist, and the
// relist reports as deleted every cached object the new list lacks. What it does NOT do: any other
// error (API unreachable, 403, a watch connection reset) is handed to its 'error' callbacks and
// the informer stays stopped. So this class restarts it with exponential backoff, logs once per
// state change (synced, failing for a reason, recovered) and keeps only the fields the agent
// uses (the informer caches every object: trimming is what bounds memory per 1,000 pods).
import type { KubeConfig, KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import type { AgentLogger } from '../../logger';
import { loadClientNode } from './kube_access';

/** The fields of any object the informer itself needs: its cache key and the watch position. */
export interface KubeObject extends KubernetesObject {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface ListPage {
  readonly metadata?: { readonly resourceVersion?: string; readonly _continue?: string };
  readonly items: readonly unknown[];
}

export interface CollectionSpec<T extends KubeObject> {
  /** Plural resource name as RBAC writes it: pods, services, nodes, replicasets, jobs. */
  readonly resource: string;
  /** API group for RBAC messages: '' (core), apps, batch. */
  readonly apiGroup: string;
  /** Collection URL path, e.g. /api/v1/pods. */
  readonly path: string;
  readonly fieldSelector?: string;
  /** One page of the list, through client-node's typed API. */
  listPage(kubeConfig: KubeConfig, page: { fieldSelector?: string; limit: number; _continue?: string }): Promise<ListPage>;
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
 * packets): client-node sets no timeout on lists or watches. A watch asks the server to end it
 * after `watchTimeoutSeconds` (a random value in the range, as client-go does, so a DaemonSet's
 * agents do not re-watch in step); one that has not ended `watchGraceMs` after that is silent and
 * is abandoned. A list page that gets no answer within `listTimeoutMs` fails.
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

type State = { readonly kind: 'starting' } | { readonly kind: 'synced' } | { readonly kind: 'failing'; readonly category: string };

export class WatchedCollection<T extends KubeObject> {
  private informer?: ListWatch<T>;
  private state: State = { kind: 'starting' };
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  private listedOnce = false;

  constructor(
    private readonly kubeConfig: KubeConfig,
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
    if (this.informer || this.stopped) return;
    const clientNode = loadClientNode();
    const watch = new clientNode.Watch(this.kubeConfig);
    // Only watch() of Watch is used by ListWatch: this wrapper adds bookmarks, trims objects and
    // tells when a watch is established (the moment a failing collection has recovered).
    const wrapper = { watch: (path: string, params: Record<string, unknown>, onEvent: WatchCallback, done: (err: unknown) => void) => this.openWatch(watch, path, params, onEvent, done) };
    const informer = new clientNode.ListWatch<T>(this.spec.path, wrapper as unknown as Watch, () => this.listAll(), false, undefined, this.spec.fieldSelector);
    informer.on('add', (object) => this.events.upsert(object));
    informer.on('update', (object) => this.events.upsert(object));
    informer.on('delete', (object) => this.events.remove(object));
    informer.on('error', (error) => this.failed(error));
    this.informer = informer;
    void informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.informer?.stop();
  }

  private async listAll(): Promise<{ metadata: { resourceVersion?: string }; items: T[] }> {
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let next: string | undefined;
    do {
      const page = await this.withListDeadline(
        this.spec.listPage(this.kubeConfig, {
          ...(this.spec.fieldSelector ? { fieldSelector: this.spec.fieldSelector } : {}),
          limit: LIST_PAGE_SIZE,
          ...(next ? { _continue: next } : {}),
        }),
      );
      // Every page of a paged list is one snapshot; its resourceVersion is where the watch starts.
      resourceVersion ??= page.metadata?.resourceVersion;
      for (const item of page.items) items.push(this.spec.trim(item));
      next = page.metadata?._continue || undefined;
    } while (next);
    if (!this.listedOnce) this.logger.info(`${this.label}: synced, ${items.length} listed`);
    else this.logger.info(`${this.label}: relisted ${items.length} (the watch's resourceVersion had expired: 410 Gone)`);
    this.listedOnce = true;
    return { metadata: { ...(resourceVersion ? { resourceVersion } : {}) }, items };
  }

  /**
   * The typed API cannot abort a request; a page that is late is given up (its socket is closed
   * when the server answers or resets it) and the list fails, to be retried with backoff.
   */
  private withListDeadline<T>(request: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(deadlineError('LIST_TIMEOUT', `no answer to a list within ${this.deadlines.listTimeoutMs / 1000} s`)), this.deadlines.listTimeoutMs);
    });
    return Promise.race([request, deadline]).finally(() => clearTimeout(timer));
  }

  /**
   * Opens a watch for ListWatch: asks for bookmarks and a server-side timeout, trims objects, and
   * reports the watch as failed when it is still open (or still unanswered) past its deadline.
   * ListWatch awaits the returned controller; an abandoned attempt resolves at once with a spare
   * one, and the real controller, should it come later, is aborted.
   */
  private openWatch(watch: Watch, path: string, params: Record<string, unknown>, onEvent: WatchCallback, done: (err: unknown) => void): Promise<AbortController> {
    // A list that completes after stop() would otherwise open a watch nobody closes.
    if (this.stopped) return Promise.resolve(new AbortController());
    const [min, max] = this.deadlines.watchTimeoutSeconds;
    const timeoutSeconds = Math.round(min + Math.random() * (max - min));
    return new Promise((resolve) => {
      let ended = false;
      let controller: AbortController | undefined;
      const end = (err: unknown) => {
        if (ended) return;
        ended = true;
        clearTimeout(watchdog);
        done(err);
      };
      const watchdog = setTimeout(() => {
        const silent = deadlineError('WATCH_SILENT', `a watch asked to end after ${timeoutSeconds} s was still open ${this.deadlines.watchGraceMs / 1000} s later`);
        end(silent);
        controller?.abort();
        resolve(controller ?? new AbortController());
      }, timeoutSeconds * 1000 + this.deadlines.watchGraceMs);
      watchdog.unref();
      watch
        .watch(
          path,
          { ...params, allowWatchBookmarks: true, timeoutSeconds },
          (phase: string, object: unknown, raw: unknown) => {
            if (!ended) onEvent(phase, phase === 'ERROR' ? object : this.spec.trim(object), raw);
          },
          end,
        )
        .then(
          (established) => {
            controller = established;
            if (ended) established.abort();
            else this.healthy();
            resolve(established);
          },
          (error: unknown) => {
            end(error);
            resolve(new AbortController());
          },
        );
    });
  }

  private healthy(): void {
    if (this.state.kind === 'failing') this.logger.info(`${this.label}: recovered after ${this.failures} failed attempt(s)`);
    this.failures = 0;
    this.state = { kind: 'synced' };
  }

  private failed(error: unknown): void {
    if (this.stopped) return;
    this.failures += 1;
    const problem = describeApiError(error, this.spec, this.kubeConfig.getCurrentCluster()?.server ?? '?');
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (this.failures - 1));
    if (this.state.kind !== 'failing' || this.state.category !== problem.category) {
      this.logger.warn(`${this.label}: ${problem.text}; events pass through with what is already known, retrying with backoff (${this.backoff.initialMs / 1000}s doubling to ${this.backoff.maxMs / 1000}s)`);
    } else {
      this.logger.debug(`${this.label}: still failing (${problem.text}), attempt ${this.failures}, next in ${Math.round(delay)} ms`);
    }
    this.state = { kind: 'failing', category: problem.category };
    // Jitter: a DaemonSet's agents must not retry against a recovering API server in lockstep.
    this.retryTimer = setTimeout(() => void this.informer?.start(), delay * (0.8 + 0.4 * Math.random()));
    this.retryTimer.unref();
  }
}

type WatchCallback = (phase: string, object: unknown, raw: unknown) => void;

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
  // node-fetch's error for a watch response cut off mid-stream (API server restart, proxy reset).
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
