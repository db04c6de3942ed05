// A stand-in Kubernetes API server for tests: plain HTTP on a loopback address of its own (see
// uniqueLoopbackAddress), port 0, speaking the real
// list/watch protocol (JSON) to the real @kubernetes/client-node. It keeps one object store per
// resource with a global resourceVersion and a bounded event history, and lets a test break it the
// ways a real API server breaks: watches that end, watches that drop, 410 Gone, RBAC 403, and an
// API server that is unreachable (connection refused).
//
// ---- What @kubernetes/client-node 1.4.0's informer does (read in node_modules, pinned by
// kube_api_server.test.ts). Paths are under node_modules/@kubernetes/client-node/dist/. ----
//
// Making one
// - makeInformer(kc, path, listFn, labelSelector?) (informer.js:12-15) builds a ListWatch with
//   autoStart=false: nothing happens until start(). It has NO fieldSelector parameter; for one
//   node's pods use `new ListWatch(path, new Watch(kc), listFn, false, labelSelector, fieldSelector)`.
//   Selectors given to ListWatch go on the watch request only (cache.js:119-128): listFn must apply
//   the same ones, or list and watch disagree (a selector only in listFn leaks every pod through
//   the watch).
// - An http:// server needs the cluster's skipTLSVerify (insecure-skip-tls-verify: true), else
//   every request throws "HTTP protocol is not allowed when skipTLSVerify is not set or false"
//   (config.js:452-457).
// - The declared type (Informer & ObjectCache) hides latestResourceVersion(); the object is a
//   ListWatch (cache.js:81-83).
//
// Objects
// - Initial list and relists: items come through the generated client's ObjectSerializer: class
//   instances with Date timestamps, unknown fields dropped, and no kind/apiVersion (the apiserver
//   omits them in lists). Watch objects are the raw JSON (string timestamps, kind set).
//
// The loop (cache.js:90-129, doneHandler)
// - start() = doneHandler(null): emits 'connect' (with undefined), lists if it has no
//   resourceVersion, then watches with watch=true&resourceVersion=<last>[&labelSelector]
//   [&fieldSelector]; never allowWatchBookmarks, never timeoutSeconds. start() resolves once the
//   watch response's headers arrived, or after an error was reported; it does not reject on API
//   errors.
// - A watch that ends cleanly (terminating chunk, as the apiserver's timeout does) is re-opened at
//   once from the last resourceVersion, with no relist and no backoff (watch.js:50-55 ->
//   doneHandler(null)). Events in between are replayed by the server: nothing is lost.
// - ANY error other than 410 — a list failure (cache.js:107-114), a watch request refused, a watch
//   connection dropped — is passed to the 'error' handlers and the informer STOPS (cache.js:96-99):
//   no retry, ever. The caller must call start() again (with a backoff). That start() keeps the
//   cache and resumes the watch from latestResourceVersion() without relisting; if the server has
//   compacted past it, the 410 below relists. The errors:
//     - connection refused (server down, also at start): node-fetch FetchError, name 'FetchError',
//       code/errno 'ECONNREFUSED', type 'system' (watch.js:73-75, or thrown by listFn).
//     - a watch connection dropped without the terminating chunk: Error('Premature close'), code
//       'ERR_STREAM_PREMATURE_CLOSE' (node_modules/node-fetch/lib/index.js:1510-1518, 1729-1753,
//       node-fetch 2.7.0) — so an apiserver restart or a proxy reset stops the informer.
//     - a non-200 watch response: Error(statusText) with statusCode, e.g. 403 ->
//       {message: 'Forbidden', statusCode: 403} (watch.js:66-71); no body.
//     - a non-2xx list: the generated client's ApiException with code (e.g. 403) and body = the
//       Status as raw JSON TEXT (gen/apis/exception.js:10-18, gen/apis/CoreV1Api.js:15693,
//       gen/http/http.js:179-189); message "HTTP-Code: 403\nMessage: Unknown API Status Code!...".
// - stop() aborts the open watch, and the abort is reported: 'error' with an AbortError ("The user
//   aborted a request.", name 'AbortError') (cache.js:28-31, 84-89; node-fetch index.js:1457-1465).
//   start() on a running informer does the same (doneHandler begins with _stop()), then watches
//   again. So an error handler that restarts must ignore AbortError, or it restarts itself forever.
// - No client-side watch timeout: watch.js:28-30 builds a 30 s AbortSignal.timeout and then
//   overwrites it; only TCP keepalive (30 s idle) guards a silent half-open connection.
//
// 410 Gone (cache.js:92-95, 140-145)
// - An ERROR watch event with code 410 (what the apiserver sends, on a 200 response) clears the
//   resourceVersion; when the server then ends the watch, the informer relists. An HTTP 410 on the
//   watch request does the same. Neither is reported through 'error'. Other ERROR events are
//   ignored.
// - A relist reconciles (cache.js:115-116, 179-232): 'delete' for every cached object missing from
//   the list (the handler gets the CACHED object, its last known state), 'update' for objects whose
//   resourceVersion changed, 'add' for new ones, nothing for unchanged ones.
//
// Bookmarks (cache.js:153-157)
// - client-node never asks for them (no allowWatchBookmarks), so the apiserver sends none. If one
//   arrives anyway, it only moves latestResourceVersion() to the bookmark's: no event.
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify as toYaml } from 'yaml';
import { uniqueLoopbackAddress } from './names';

// ---- Objects (the API's JSON shape) ----

export type ResourceKind = 'pods' | 'services' | 'nodes' | 'replicasets' | 'jobs';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** What the real API answers with for every failure (and a watch's ERROR event). */
export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; kind?: string };
  code: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface RecordedRequest {
  readonly kind: ResourceKind;
  readonly verb: 'list' | 'watch' | 'get';
  readonly namespace?: string;
  readonly query: Readonly<Record<string, string>>;
  readonly authorization?: string;
}

export interface RequestCounts {
  lists: number;
  watches: number;
  gets: number;
}

interface ResourceType {
  readonly group: string; // '' is the core group, served under /api
  readonly version: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Field selectors the real API accepts beyond metadata.name / metadata.namespace. */
  readonly fields: readonly string[];
}

const RESOURCES: Readonly<Record<ResourceKind, ResourceType>> = {
  pods: {
    group: '',
    version: 'v1',
    kind: 'Pod',
    namespaced: true,
    fields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  },
  services: { group: '', version: 'v1', kind: 'Service', namespaced: true, fields: ['spec.clusterIP', 'spec.type'] },
  nodes: { group: '', version: 'v1', kind: 'Node', namespaced: false, fields: ['spec.unschedulable'] },
  replicasets: { group: 'apps', version: 'v1', kind: 'ReplicaSet', namespaced: true, fields: ['status.replicas'] },
  jobs: { group: 'batch', version: 'v1', kind: 'Job', namespaced: true, fields: ['status.successful'] },
};

const apiVersionOf = (type: ResourceType): string => (type.group ? `${type.group}/${type.version}` : type.version);

/** The apiserver's RFC 3339 timestamps have whole seconds. */
const timestamp = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

function statusObject(code: number, reason: string, message: string, details?: StatusObject['details']): StatusObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

class HttpStatusError extends Error {
  constructor(readonly status: StatusObject) {
    super(status.message);
  }
}

// ---- Selectors ----

type Requirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: readonly string[] }
  | { op: 'exists' | 'notexists'; key: string };

/** Commas separate requirements, except inside `in (a,b)`. */
function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of selector) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseLabelSelector(selector: string): Requirement[] {
  return splitRequirements(selector).map((part) => {
    let m = /^([^\s!=(),]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
    if (m) return { op: m[2] as 'in' | 'notin', key: m[1]!, values: m[3]!.split(',').map((v) => v.trim()) };
    m = /^!\s*([^\s!=(),]+)$/.exec(part);
    if (m) return { op: 'notexists', key: m[1]! };
    m = /^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/.exec(part);
    if (m) return { op: m[2] === '!=' ? 'neq' : 'eq', key: m[1]!, value: m[3]! };
    m = /^([^\s!=(),]+)$/.exec(part);
    if (m) return { op: 'exists', key: m[1]! };
    throw new HttpStatusError(statusObject(400, 'BadRequest', `unable to parse requirement: ${part}`));
  });
}

function parseFieldSelector(selector: string, type: ResourceType): Requirement[] {
  return splitRequirements(selector).map((part) => {
    const m = /^([^\s!=]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw new HttpStatusError(statusObject(400, 'BadRequest', `invalid selector: '${selector}'; can't understand '${part}'`));
    const key = m[1]!;
    // The apiserver only indexes a few fields per resource; anything else is a 400, not "no match".
    if (key !== 'metadata.name' && key !== 'metadata.namespace' && !type.fields.includes(key)) {
      throw new HttpStatusError(statusObject(400, 'BadRequest', `field label not supported: ${key}`));
    }
    return { op: m[2] === '!=' ? 'neq' : 'eq', key, value: m[3]!.trim() };
  });
}

function matchesRequirement(value: string | undefined, r: Requirement): boolean {
  switch (r.op) {
    case 'eq':
      return (value ?? '') === r.value;
    case 'neq':
      return (value ?? '') !== r.value;
    case 'in':
      return value !== undefined && r.values.includes(value);
    case 'notin':
      return value === undefined || !r.values.includes(value);
    case 'exists':
      return value !== undefined;
    case 'notexists':
      return value === undefined;
  }
}

/** A field's value as the apiserver's field set has it: a string, '' when unset. */
function fieldValue(object: KubeObject, path: string): string {
  let value: unknown = object;
  for (const key of path.split('.')) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value === undefined || value === null ? '' : String(value);
}

interface Scope {
  readonly namespace?: string;
  readonly labels: readonly Requirement[];
  readonly fields: readonly Requirement[];
}

function inScope(object: KubeObject, scope: Scope): boolean {
  if (scope.namespace !== undefined && object.metadata.namespace !== scope.namespace) return false;
  const labels = object.metadata.labels ?? {};
  return (
    scope.labels.every((r) => matchesRequirement(labels[r.key], r)) &&
    scope.fields.every((r) => matchesRequirement(fieldValue(object, r.key), r))
  );
}

// ---- Watches ----

interface StoredEvent {
  readonly kind: ResourceKind;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly revision: number;
  readonly object: KubeObject;
  /** The state before a MODIFIED, to tell whether the object entered or left a watch's scope. */
  readonly previous?: KubeObject;
}

interface OpenWatch {
  readonly kind: ResourceKind;
  readonly scope: Scope;
  readonly bookmarks: boolean;
  readonly res: http.ServerResponse;
}

/**
 * What a watch with `scope` sees of a stored event. With selectors, an update that moves an object
 * into the scope is an ADDED and one that moves it out is a DELETED (of the previous state, at the
 * new resourceVersion), as the apiserver's watch cache does: a watch of one node's pods sees a pod
 * appear when the scheduler binds it there.
 */
function eventForScope(event: StoredEvent, scope: Scope): { type: WatchEventType; object: KubeObject } | undefined {
  const now = inScope(event.object, scope);
  if (event.type !== 'MODIFIED') return now ? { type: event.type, object: event.object } : undefined;
  const before = event.previous !== undefined && inScope(event.previous, scope);
  if (before && now) return { type: 'MODIFIED', object: event.object };
  if (now) return { type: 'ADDED', object: event.object };
  if (before) {
    const gone = structuredClone(event.previous!);
    gone.metadata.resourceVersion = String(event.revision);
    return { type: 'DELETED', object: gone };
  }
  return undefined;
}

// ---- Routing ----

const API_PATH = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(?:namespaces\/([^/]+)\/)?([^/]+)(?:\/([^/]+))?\/?$/;

interface Route {
  readonly kind: ResourceKind;
  readonly type: ResourceType;
  readonly namespace?: string;
  readonly name?: string;
}

function route(pathname: string): Route | undefined {
  const m = API_PATH.exec(pathname);
  if (!m) return undefined;
  const [, coreVersion, group, groupVersion, namespace, plural, name] = m;
  const kind = Object.keys(RESOURCES).find((k) => k === plural) as ResourceKind | undefined;
  if (!kind) return undefined;
  const type = RESOURCES[kind];
  const served = coreVersion ? type.group === '' && type.version === coreVersion : type.group === group && type.version === groupVersion;
  if (!served || (namespace !== undefined && !type.namespaced)) return undefined;
  if (name !== undefined && namespace === undefined && type.namespaced) return undefined; // no cluster-wide get of a namespaced object
  return {
    kind,
    type,
    ...(namespace !== undefined ? { namespace: decodeURIComponent(namespace) } : {}),
    ...(name !== undefined ? { name: decodeURIComponent(name) } : {}),
  };
}

/** strconv.ParseBool, which the apiserver uses for `watch` and `allowWatchBookmarks`. */
const isTrue = (value: string | undefined): boolean => value !== undefined && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value);

export interface KubeApiStandInOptions {
  /** Events kept for re-watches; a watch from before the oldest one gets 410 Gone. Default 1000. */
  readonly historyLimit?: number;
  /** The user named in 403 messages. */
  readonly user?: string;
  /** The bearer token written into kubeconfigs. */
  readonly token?: string;
}

export class KubeApiStandIn {
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<OpenWatch>();
  private readonly store = new Map<ResourceKind, Map<string, KubeObject>>();
  private readonly forbidden = new Set<ResourceKind>();
  private readonly log: RecordedRequest[] = [];
  private history: StoredEvent[] = [];
  /** The current resourceVersion: etcd's revision, shared by every resource. */
  private revision = 100;
  /** Watches from a resourceVersion below this one have missed events the history no longer holds. */
  private historyStart = 100;
  private port = 0;
  /** Its own loopback address: down, its port stays free for it (see uniqueLoopbackAddress). */
  private readonly host = uniqueLoopbackAddress();
  private listening = false;
  private down = false;
  /** Hung: requests are read and never answered; open watches say nothing and never end. */
  private hung = false;
  private readonly parked = new Set<http.ServerResponse>();
  private readonly historyLimit: number;
  private readonly user: string;
  readonly token: string;

  constructor(options: KubeApiStandInOptions = {}) {
    this.historyLimit = options.historyLimit ?? 1000;
    this.user = options.user ?? 'system:serviceaccount:tcpscope:tcpscope';
    this.token = options.token ?? 'stand-in-token';
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  // ---- Life cycle ----

  async start(): Promise<void> {
    if (this.listening) return;
    await this.listen(0);
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Destroys every open connection (watches included) and closes the listener. Idempotent. */
  async stop(): Promise<void> {
    this.down = false;
    await this.closeListener();
  }

  get url(): string {
    if (this.port === 0) throw new Error('KubeApiStandIn: not started');
    return `http://${this.host}:${this.port}`;
  }

  /**
   * Down is an unreachable API server: open connections are destroyed and the listening socket is
   * closed, so new connections are refused (ECONNREFUSED), as when the apiserver restarts. Up
   * listens again on the same port, with the store and history as they were.
   */
  async setDown(down: boolean): Promise<void> {
    if (down === this.down) return;
    this.down = down;
    if (down) await this.closeListener();
    else await this.listen(this.port);
  }

  /**
   * A KubeConfig for this server. client-node refuses an http:// server unless the cluster has
   * skipTLSVerify (KubeConfig.createAgent: "HTTP protocol is not allowed when skipTLSVerify is not
   * set or false"); with it, requests go through a plain http.Agent.
   */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'stand-in', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'tcpscope', token: this.token }],
      contexts: [{ name: 'stand-in', cluster: 'stand-in', user: 'tcpscope' }],
      currentContext: 'stand-in',
    });
    return kc;
  }

  /** The same as a kubeconfig file, for an agent process started with $KUBECONFIG=path. */
  writeKubeconfig(path: string): void {
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'stand-in', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'tcpscope', user: { token: this.token } }],
      contexts: [{ name: 'stand-in', context: { cluster: 'stand-in', user: 'tcpscope' } }],
      'current-context': 'stand-in',
    };
    writeFileSync(path, toYaml(config), { mode: 0o600 });
  }

  // ---- Store ----

  get resourceVersion(): string {
    return String(this.revision);
  }

  /** Creates (ADDED) or replaces (MODIFIED) an object; returns it as stored. */
  apply<T extends KubeObject>(kind: ResourceKind, object: T): T {
    const type = RESOURCES[kind];
    const stored = structuredClone(object);
    const meta = stored.metadata;
    if (!meta?.name) throw new Error(`apply(${kind}): metadata.name is required`);
    if (type.namespaced) meta.namespace ??= 'default';
    else delete meta.namespace;
    const objects = this.objectsOf(kind);
    const key = keyOf(meta);
    const previous = objects.get(key);
    // Like the apiserver: uid and creationTimestamp are the server's and survive updates.
    meta.uid = previous?.metadata.uid ?? meta.uid ?? randomUUID();
    meta.creationTimestamp = previous?.metadata.creationTimestamp ?? meta.creationTimestamp ?? timestamp();
    stored.kind = type.kind;
    stored.apiVersion = apiVersionOf(type);
    meta.resourceVersion = String(++this.revision);
    objects.set(key, stored);
    this.record({ kind, type: previous ? 'MODIFIED' : 'ADDED', revision: this.revision, object: stored, ...(previous ? { previous } : {}) });
    return structuredClone(stored);
  }

  /** Deletes an object (DELETED, carrying the final state at the deletion's resourceVersion). */
  remove(kind: ResourceKind, namespace: string | undefined, name: string): boolean {
    const objects = this.objectsOf(kind);
    const key = keyOf({ name, ...(RESOURCES[kind].namespaced ? { namespace: namespace ?? 'default' } : {}) });
    const previous = objects.get(key);
    if (!previous) return false;
    objects.delete(key);
    const gone = structuredClone(previous);
    gone.metadata.resourceVersion = String(++this.revision);
    this.record({ kind, type: 'DELETED', revision: this.revision, object: gone });
    return true;
  }

  get(kind: ResourceKind, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.objectsOf(kind).get(keyOf({ name, ...(RESOURCES[kind].namespaced ? { namespace: namespace ?? 'default' } : {}) }));
    return found && structuredClone(found);
  }

  list(kind: ResourceKind): KubeObject[] {
    return [...this.objectsOf(kind).values()].map((o) => structuredClone(o));
  }

  // ---- Test controls ----

  /**
   * BOOKMARK (the current resourceVersion, no object change) to every open watch that asked for
   * bookmarks with allowWatchBookmarks=true, as the apiserver does; `unrequested` sends them to
   * the others too (client-node never asks). Returns how many were sent.
   */
  sendBookmarks(options: { unrequested?: boolean } = {}): number {
    let sent = 0;
    for (const watch of this.watches) {
      if (!watch.bookmarks && !options.unrequested) continue;
      const type = RESOURCES[watch.kind];
      writeEvent(watch.res, 'BOOKMARK', { kind: type.kind, apiVersion: apiVersionOf(type), metadata: { name: '', resourceVersion: this.resourceVersion } });
      sent++;
    }
    return sent;
  }

  /**
   * Compacts: the history is forgotten and the resourceVersion moves on (as etcd's does, with the
   * cluster's other writes), so a re-watch from any resourceVersion a client has seen gets 410
   * Gone, while a watch from a fresh list's resourceVersion is served.
   */
  expireHistory(): void {
    this.history = [];
    this.historyStart = ++this.revision;
  }

  /** An ERROR event with 410 Expired on every open watch, then the watch ends (the apiserver's order). */
  sendGoneToWatches(): void {
    for (const watch of this.watches) {
      writeEvent(watch.res, 'ERROR', tooOld(this.historyStart, this.historyStart));
      this.endWatch(watch);
    }
  }

  /** Ends every open watch cleanly (the terminating chunk), as the apiserver does at timeoutSeconds. */
  closeWatches(): void {
    for (const watch of this.watches) this.endWatch(watch);
  }

  /** Destroys every open watch's connection, without the terminating chunk (a reset, a proxy dying). */
  dropWatches(): void {
    for (const watch of this.watches) {
      this.watches.delete(watch);
      watch.res.socket?.destroy();
    }
  }

  /**
   * A hung API server (overloaded, or a network partition that drops packets without a reset):
   * connections are accepted, requests never answered, open watches silent and never ended.
   * Events still happen and stay in the history, so a re-watch after the hang replays them.
   * Back from the hang, parked requests are reset.
   */
  setHung(hung: boolean): void {
    this.hung = hung;
    if (hung) return;
    for (const res of this.parked) res.socket?.destroy();
    this.parked.clear();
  }

  /** RBAC says no: list, watch and get of `kind` answer 403 Forbidden. */
  forbid(kind: ResourceKind, forbidden = true): void {
    if (forbidden) this.forbidden.add(kind);
    else this.forbidden.delete(kind);
  }

  openWatches(kind?: ResourceKind): number {
    return [...this.watches].filter((w) => kind === undefined || w.kind === kind).length;
  }

  requests(kind?: ResourceKind): readonly RecordedRequest[] {
    return this.log.filter((r) => kind === undefined || r.kind === kind);
  }

  requestCounts(kind: ResourceKind): RequestCounts {
    const counts: RequestCounts = { lists: 0, watches: 0, gets: 0 };
    for (const r of this.requests(kind)) {
      if (r.verb === 'list') counts.lists++;
      else if (r.verb === 'watch') counts.watches++;
      else counts.gets++;
    }
    return counts;
  }

  // ---- HTTP ----

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.hung) {
      this.parked.add(res);
      res.on('close', () => this.parked.delete(res));
      return;
    }
    try {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const target = route(url.pathname);
      if (!target) throw new HttpStatusError(statusObject(404, 'NotFound', 'the server could not find the requested resource'));
      if (req.method !== 'GET') throw new HttpStatusError(statusObject(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
      const query = Object.fromEntries(url.searchParams);
      const verb = target.name !== undefined ? 'get' : isTrue(query['watch']) ? 'watch' : 'list';
      this.log.push({
        kind: target.kind,
        verb,
        ...(target.namespace !== undefined ? { namespace: target.namespace } : {}),
        query,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      });
      if (this.forbidden.has(target.kind)) throw new HttpStatusError(this.forbiddenStatus(target, verb));
      if (verb === 'get') return this.serveGet(target, res);
      const scope: Scope = {
        ...(target.namespace !== undefined ? { namespace: target.namespace } : {}),
        labels: parseLabelSelector(query['labelSelector'] ?? ''),
        fields: parseFieldSelector(query['fieldSelector'] ?? '', target.type),
      };
      if (verb === 'watch') this.serveWatch(target, scope, query, res);
      else this.serveList(target, scope, query, res);
    } catch (err) {
      const status = err instanceof HttpStatusError ? err.status : statusObject(500, 'InternalError', `stand-in: ${String(err)}`);
      if (res.headersSent) res.destroy();
      else sendJson(res, status.code, status);
    }
  }

  private forbiddenStatus(target: Route, verb: string): StatusObject {
    const where = target.namespace !== undefined ? `in the namespace "${target.namespace}"` : 'at the cluster scope';
    return statusObject(
      403,
      'Forbidden',
      // The apiserver names the resource with its group: "replicasets.apps is forbidden".
      `${target.type.group ? `${target.kind}.${target.type.group}` : target.kind} is forbidden: User "${this.user}" cannot ${verb} resource "${target.kind}" in API group "${target.type.group}" ${where}`,
      { kind: target.kind },
    );
  }

  private serveGet(target: Route, res: http.ServerResponse): void {
    const found = this.get(target.kind, target.namespace, target.name!);
    if (!found) throw new HttpStatusError(statusObject(404, 'NotFound', `${target.kind} "${target.name}" not found`, { name: target.name!, kind: target.kind }));
    sendJson(res, 200, found);
  }

  /**
   * A LIST is a snapshot at the current resourceVersion, items in key order (etcd's). Items carry
   * no kind/apiVersion: the real apiserver leaves them out of list items (kubernetes#3030).
   * With `limit`, `metadata.continue` resumes after the last item; every page reports the first
   * page's resourceVersion, and a continue token older than the history is 410 Expired.
   */
  private serveList(target: Route, scope: Scope, query: Record<string, string>, res: http.ServerResponse): void {
    let revision = this.revision;
    let after = '';
    if (query['continue']) {
      const token = decodeContinue(query['continue']);
      if (token.revision < this.historyStart) {
        throw new HttpStatusError(statusObject(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'));
      }
      ({ revision, after } = token);
    }
    const all = [...this.objectsOf(target.kind).entries()]
      .filter(([key, o]) => key > after && inScope(o, scope))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const limit = Number(query['limit'] ?? 0);
    const page = limit > 0 ? all.slice(0, limit) : all;
    const more = all.length - page.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(revision) };
    if (more > 0) {
      metadata['continue'] = encodeContinue(revision, page[page.length - 1]![0]);
      metadata['remainingItemCount'] = more;
    }
    const items = page.map(([, o]) => {
      const { kind: _kind, apiVersion: _apiVersion, ...item } = o;
      return item;
    });
    sendJson(res, 200, { kind: `${target.type.kind}List`, apiVersion: apiVersionOf(target.type), metadata, items });
  }

  /**
   * A WATCH is a chunked 200 of newline-delimited events. From resourceVersion N it replays every
   * event after N from the history; N older than the history gets one ERROR event (410 Expired) and
   * the end of the response — a 200, not an HTTP 410, as the apiserver does. Without N (or "0") it
   * starts with a synthetic ADDED per existing object. `timeoutSeconds` ends it cleanly.
   */
  private serveWatch(target: Route, scope: Scope, query: Record<string, string>, res: http.ServerResponse): void {
    const rv = query['resourceVersion'] ?? '';
    const from = rv === '' || rv === '0' ? undefined : Number(rv);
    if (from !== undefined && !Number.isSafeInteger(from)) {
      throw new HttpStatusError(statusObject(400, 'BadRequest', `resourceVersion: Invalid value: "${rv}": must be a non-negative integer`));
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders(); // client-node's fetch resolves on the headers; the apiserver sends them at once
    if (from !== undefined && from < this.historyStart) {
      writeEvent(res, 'ERROR', tooOld(from, this.historyStart));
      res.end();
      return;
    }
    if (from === undefined) {
      for (const object of this.objectsOf(target.kind).values()) if (inScope(object, scope)) writeEvent(res, 'ADDED', object);
    } else {
      for (const event of this.history) {
        if (event.kind !== target.kind || event.revision <= from) continue;
        const seen = eventForScope(event, scope);
        if (seen) writeEvent(res, seen.type, seen.object);
      }
    }
    const watch: OpenWatch = { kind: target.kind, scope, bookmarks: isTrue(query['allowWatchBookmarks']), res };
    this.watches.add(watch);
    const timeout = Number(query['timeoutSeconds'] ?? 0);
    // A hung server ends nothing: the client must notice the silence itself.
    const timer = timeout > 0 ? setTimeout(() => !this.hung && this.endWatch(watch), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.watches.delete(watch);
    });
  }

  // ---- Internals ----

  /** Ended watches leave the set at once, so that nothing more is written to them. */
  private endWatch(watch: OpenWatch): void {
    this.watches.delete(watch);
    watch.res.end();
  }

  private objectsOf(kind: ResourceKind): Map<string, KubeObject> {
    let objects = this.store.get(kind);
    if (!objects) this.store.set(kind, (objects = new Map()));
    return objects;
  }

  private record(event: StoredEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()!;
      this.historyStart = dropped.revision;
    }
    for (const watch of this.watches) {
      if (watch.kind !== event.kind || this.hung) continue;
      const seen = eventForScope(event, watch.scope);
      if (seen) writeEvent(watch.res, seen.type, seen.object);
    }
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => {
        this.server.off('error', reject);
        this.listening = true;
        resolve();
      });
    });
  }

  private closeListener(): Promise<void> {
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }
}

function keyOf(meta: { name: string; namespace?: string }): string {
  return meta.namespace !== undefined ? `${meta.namespace}/${meta.name}` : meta.name;
}

function tooOld(requested: number, oldest: number): StatusObject {
  return statusObject(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

function writeEvent(res: http.ServerResponse, type: WatchEventType, object: KubeObject | StatusObject): void {
  if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
}

function sendJson(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function encodeContinue(revision: number, after: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: revision, start: after })).toString('base64url');
}

function decodeContinue(token: string): { revision: number; after: string } {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString()) as { rv?: unknown; start?: unknown };
    if (typeof decoded.rv === 'number' && typeof decoded.start === 'string') return { revision: decoded.rv, after: decoded.start };
  } catch {
    // falls through to the 400 below
  }
  throw new HttpStatusError(statusObject(400, 'BadRequest', 'continue key is not valid'));
}

// ---- Realistic objects ----

/** A containerd container id: 64 hex digits. */
export const containerId = (): string => randomBytes(32).toString('hex');

export interface PodSpec {
  nodeName?: string;
  hostNetwork?: boolean;
  containers: { name: string; image: string }[];
  [field: string]: unknown;
}

export interface PodStatus {
  phase: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  hostIP?: string;
  containerStatuses: { name: string; image: string; imageID: string; containerID: string; ready: boolean; restartCount: number; started: boolean; state: Record<string, unknown> }[];
  [field: string]: unknown;
}

export interface PodJson extends KubeObject {
  spec: PodSpec;
  status: PodStatus;
}

export interface PodOptions {
  name: string;
  namespace?: string;
  uid?: string;
  nodeName?: string;
  /** The pod IP; for hostNetwork pods, the node's IP. */
  ip?: string;
  ips?: string[];
  hostNetwork?: boolean;
  containers?: { name: string; image?: string; id?: string }[];
  ownerReferences?: OwnerReference[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A running v1 Pod; container ids are `containerd://<64 hex>` unless given. */
export function podObject(o: PodOptions): PodJson {
  const containers = (o.containers ?? [{ name: 'app' }]).map((c) => ({ name: c.name, image: c.image ?? `registry.example/${c.name}:1.0`, id: c.id ?? containerId() }));
  const ips = o.ips ?? (o.ip ? [o.ip] : []);
  const started = timestamp();
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: o.name,
      namespace: o.namespace ?? 'default',
      ...(o.uid ? { uid: o.uid } : {}),
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.ownerReferences ? { ownerReferences: o.ownerReferences } : {}),
    },
    spec: {
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.hostNetwork ? { hostNetwork: true } : {}),
      containers: containers.map((c) => ({ name: c.name, image: c.image })),
    },
    status: {
      phase: o.nodeName ? 'Running' : 'Pending',
      ...(ips.length > 0 ? { podIP: ips[0]!, podIPs: ips.map((ip) => ({ ip })) } : {}),
      ...(o.hostNetwork && ips[0] ? { hostIP: ips[0] } : {}),
      containerStatuses: o.nodeName
        ? containers.map((c) => ({
            name: c.name,
            image: c.image,
            imageID: `${c.image.split(':')[0]}@sha256:${randomBytes(32).toString('hex')}`,
            containerID: c.id.includes('://') ? c.id : `containerd://${c.id}`,
            ready: true,
            restartCount: 0,
            started: true,
            state: { running: { startedAt: started } },
          }))
        : [],
    },
  };
}

/** An owner reference as the controllers write it (controller: true names the managing owner). */
export function ownerReference(kind: string, name: string, uid: string = randomUUID()): OwnerReference {
  const apiVersion = kind === 'Job' || kind === 'CronJob' ? 'batch/v1' : kind === 'Node' ? 'v1' : 'apps/v1';
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

export interface ServiceJson extends KubeObject {
  spec: { type: string; clusterIP: string; clusterIPs: string[]; ports: { name?: string; port: number; protocol: string; targetPort: number }[]; selector?: Record<string, string>; [field: string]: unknown };
}

export function serviceObject(o: { name: string; namespace?: string; clusterIP: string; clusterIPs?: string[]; selector?: Record<string, string>; port?: number }): ServiceJson {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: o.name, namespace: o.namespace ?? 'default' },
    spec: {
      type: 'ClusterIP',
      clusterIP: o.clusterIP,
      clusterIPs: o.clusterIPs ?? [o.clusterIP],
      ports: [{ port: o.port ?? 80, protocol: 'TCP', targetPort: o.port ?? 80 }],
      ...(o.selector ? { selector: o.selector } : {}),
    },
  };
}

export interface ReplicaSetJson extends KubeObject {
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; [field: string]: unknown };
}

/** A ReplicaSet owned by its Deployment (`<deployment>-<hash>`, controller: true). */
export function replicaSetObject(o: { name: string; namespace?: string; deploymentName?: string; deploymentUid?: string; uid?: string }): ReplicaSetJson {
  const hash = o.name.slice(o.name.lastIndexOf('-') + 1);
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: o.name,
      namespace: o.namespace ?? 'default',
      ...(o.uid ? { uid: o.uid } : {}),
      labels: { 'pod-template-hash': hash },
      ...(o.deploymentName ? { ownerReferences: [ownerReference('Deployment', o.deploymentName, o.deploymentUid)] } : {}),
    },
    spec: { replicas: 1, selector: { matchLabels: { 'pod-template-hash': hash } } },
  };
}

export interface JobJson extends KubeObject {
  spec: { completions: number; parallelism: number; [field: string]: unknown };
}

/** A Job, owned by its CronJob when `cronJobName` is given (`<cronjob>-<minutes>`). */
export function jobObject(o: { name: string; namespace?: string; cronJobName?: string; cronJobUid?: string; uid?: string }): JobJson {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: o.name,
      namespace: o.namespace ?? 'default',
      ...(o.uid ? { uid: o.uid } : {}),
      ...(o.cronJobName ? { ownerReferences: [ownerReference('CronJob', o.cronJobName, o.cronJobUid)] } : {}),
    },
    spec: { completions: 1, parallelism: 1 },
  };
}

export interface NodeJson extends KubeObject {
  status: { addresses: { type: string; address: string }[]; [field: string]: unknown };
}

export function nodeObject(o: { name: string; internalIPs?: string[]; externalIPs?: string[]; uid?: string; labels?: Record<string, string> }): NodeJson {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: o.name, ...(o.uid ? { uid: o.uid } : {}), labels: { 'kubernetes.io/hostname': o.name, ...o.labels } },
    status: {
      addresses: [
        ...(o.internalIPs ?? []).map((address) => ({ type: 'InternalIP', address })),
        ...(o.externalIPs ?? []).map((address) => ({ type: 'ExternalIP', address })),
        { type: 'Hostname', address: o.name },
      ],
    },
  };
}
