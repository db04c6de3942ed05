// Drives the real @kubernetes/client-node informers against KubeApiStandIn: proves the stand-in
// speaks list/watch well enough for client-node, and pins down how client-node 1.4.0's informer
// behaves on ends, drops, 410s, 403s and an unreachable server (summarised atop kube_api_server.ts).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  ListWatch,
  makeInformer,
  Watch,
  type Informer,
  type KubernetesObject,
  type ObjectCache,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  KubeApiStandIn,
  jobObject,
  nodeObject,
  podObject,
  replicaSetObject,
  serviceObject,
  type KubeObject,
  type ResourceKind,
  type StatusObject,
} from './kube_api_server';

const WAIT_MS = 30_000; // generous: a loaded machine is slow, and waiting costs nothing when the condition comes early

async function until(what: string, predicate: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Time for something that must NOT happen (a re-watch, an event) to show up if it were going to. */
const quietPeriod = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 200));

interface Seen {
  readonly verb: 'add' | 'update' | 'delete';
  readonly name: string;
  readonly resourceVersion: string | undefined;
  readonly kind: string | undefined;
}

/** makeInformer's declared type hides latestResourceVersion(); what it returns is a ListWatch (informer.js:14). */
type AnyInformer = ListWatch<KubernetesObject>;

function asListWatch<T extends KubernetesObject>(informer: Informer<T> & ObjectCache<T>): AnyInformer {
  assert.ok(informer instanceof ListWatch);
  return informer as unknown as AnyInformer;
}

/** Records what an informer reports. */
class InformerLog {
  readonly events: Seen[] = [];
  readonly errors: unknown[] = [];
  connects = 0;

  constructor(readonly informer: AnyInformer) {
    for (const verb of ['add', 'update', 'delete'] as const) {
      informer.on(verb, (o) => this.events.push({ verb, name: o.metadata?.name ?? '', resourceVersion: o.metadata?.resourceVersion, kind: o.kind }));
    }
    informer.on('error', (err) => this.errors.push(err));
    informer.on('connect', () => this.connects++);
  }

  names(): string[] {
    return this.informer
      .list()
      .map((o) => o.metadata?.name ?? '')
      .sort();
  }

  /** The events since `from`, as `verb name` strings. */
  since(from: number): string[] {
    return this.events.slice(from).map((e) => `${e.verb} ${e.name}`);
  }
}

/** One stand-in and the informers on it; everything is closed when the test ends, pass or fail. */
async function harness(t: TestContext): Promise<{ server: KubeApiStandIn; kc: KubeConfig; watch: (informer: AnyInformer) => InformerLog }> {
  const server = new KubeApiStandIn();
  const informers: AnyInformer[] = [];
  t.after(async () => {
    for (const informer of informers) await informer.stop();
    await server.stop();
  });
  await server.start();
  const kc = server.kubeConfig();
  return {
    server,
    kc,
    watch: (informer) => {
      informers.push(informer);
      return new InformerLog(informer);
    },
  };
}

function podInformer(kc: KubeConfig): AnyInformer {
  const api = kc.makeApiClient(CoreV1Api);
  return asListWatch(makeInformer<V1Pod>(kc, '/api/v1/pods', () => api.listPodForAllNamespaces()));
}

/**
 * Pods of one node. makeInformer (informer.js:12) has no fieldSelector parameter in 1.4.0, so the
 * selector goes to ListWatch directly, and the list function must apply it too: ListWatch only
 * adds selectors to the watch request (cache.js:119-128).
 */
function nodePodInformer(kc: KubeConfig, nodeName: string): AnyInformer {
  const api = kc.makeApiClient(CoreV1Api);
  const fieldSelector = `spec.nodeName=${nodeName}`;
  return new ListWatch<V1Pod>('/api/v1/pods', new Watch(kc), () => api.listPodForAllNamespaces({ fieldSelector }), false, undefined, fieldSelector) as unknown as AnyInformer;
}

/** Three running pods, a..c, on node-1. */
function seedPods(server: KubeApiStandIn): void {
  for (const [i, name] of ['a', 'b', 'c'].entries()) server.apply('pods', podObject({ name, namespace: 'shop', nodeName: 'node-1', ip: `198.18.1.${i + 1}` }));
}

/** The three seeded pods listed by a started all-pods informer, its watch open. */
async function watchingSeededPods(t: TestContext) {
  const h = await harness(t);
  seedPods(h.server);
  const log = h.watch(podInformer(h.kc));
  await log.informer.start();
  await until('the watch', () => h.server.openWatches('pods') === 1);
  return { ...h, log };
}

const watchRequests = (server: KubeApiStandIn, kind: ResourceKind): string[] =>
  server
    .requests(kind)
    .filter((r) => r.verb === 'watch')
    .map((r) => r.query['resourceVersion'] ?? '');

// ---- client-node against the stand-in ----

test('initial lists deliver every object as add, for each resource the processor watches', async (t) => {
  const { server, kc, watch } = await harness(t);
  seedPods(server);
  server.apply('services', serviceObject({ name: 'web', namespace: 'shop', clusterIP: '198.19.0.10' }));
  server.apply('nodes', nodeObject({ name: 'node-1', internalIPs: ['198.18.0.1'] }));
  server.apply('replicasets', replicaSetObject({ name: 'web-7d4b9c', namespace: 'shop', deploymentName: 'web' }));
  server.apply('jobs', jobObject({ name: 'backup-28970400', namespace: 'shop', cronJobName: 'backup' }));

  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const logs = {
    pods: watch(podInformer(kc)),
    services: watch(asListWatch(makeInformer(kc, '/api/v1/services', () => core.listServiceForAllNamespaces()))),
    nodes: watch(asListWatch(makeInformer(kc, '/api/v1/nodes', () => core.listNode()))),
    replicasets: watch(asListWatch(makeInformer(kc, '/apis/apps/v1/replicasets', () => apps.listReplicaSetForAllNamespaces()))),
    jobs: watch(asListWatch(makeInformer(kc, '/apis/batch/v1/jobs', () => batch.listJobForAllNamespaces()))),
  };
  for (const log of Object.values(logs)) await log.informer.start();
  for (const kind of Object.keys(logs) as ResourceKind[]) await until(`${kind} listed`, () => server.openWatches(kind) === 1);

  assert.deepEqual(logs.pods.since(0), ['add a', 'add b', 'add c']);
  assert.deepEqual(logs.services.since(0), ['add web']);
  assert.deepEqual(logs.nodes.since(0), ['add node-1']);
  assert.deepEqual(logs.replicasets.since(0), ['add web-7d4b9c']);
  assert.deepEqual(logs.jobs.since(0), ['add backup-28970400']);
  // List items carry no kind (the real apiserver omits it, and client-node does not fill it in);
  // objects from watch events do.
  assert.equal(logs.pods.events[0]!.kind, undefined);

  const rs = logs.replicasets.informer.get('web-7d4b9c', 'shop') as { metadata: { ownerReferences?: { kind: string; name: string; controller?: boolean }[] } };
  assert.deepEqual(
    rs.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.controller]),
    [['Deployment', 'web', true]],
  );
  const job = logs.jobs.informer.get('backup-28970400', 'shop') as { metadata: { ownerReferences?: { kind: string; name: string }[] } };
  assert.deepEqual(job.metadata.ownerReferences?.map((o) => [o.kind, o.name]), [['CronJob', 'backup']]);
  const pod = logs.pods.informer.get('a', 'shop') as V1Pod;
  assert.match(pod.status?.containerStatuses?.[0]?.containerID ?? '', /^containerd:\/\/[0-9a-f]{64}$/);
  assert.equal(pod.status?.podIP, '198.18.1.1');
  assert.equal(server.requests('pods')[0]?.authorization, `Bearer ${server.token}`);
  assert.deepEqual(logs.pods.errors, []);
});

test('ADDED, MODIFIED and DELETED arrive as add, update and delete', async (t) => {
  const { server, log } = await watchingSeededPods(t);

  server.apply('pods', podObject({ name: 'd', namespace: 'shop', nodeName: 'node-1', ip: '198.18.1.4' }));
  const relabelled = server.get('pods', 'shop', 'a')!;
  relabelled.metadata.labels = { tier: 'front' };
  server.apply('pods', relabelled);
  server.remove('pods', 'shop', 'b');
  await until('three events', () => log.events.length === 6);

  assert.deepEqual(log.since(3), ['add d', 'update a', 'delete b']);
  assert.equal(log.events[3]!.kind, 'Pod', 'watch objects carry their kind');
  // Listed objects went through client-node's ObjectSerializer (Dates); watched ones are raw JSON.
  assert.ok(log.informer.get('c', 'shop')?.metadata?.creationTimestamp instanceof Date);
  assert.equal(typeof log.informer.get('d', 'shop')?.metadata?.creationTimestamp, 'string');
  assert.deepEqual(log.names(), ['a', 'c', 'd']);
  assert.deepEqual((log.informer.get('a', 'shop') as KubeObject).metadata.labels, { tier: 'front' });
  assert.equal(log.informer.latestResourceVersion(), server.resourceVersion);
  assert.deepEqual(server.requestCounts('pods'), { lists: 1, watches: 1, gets: 0 });
});

test('a spec.nodeName field selector delivers only that node’s pods, including pods scheduled there later', async (t) => {
  const { server, kc, watch } = await harness(t);
  server.apply('pods', podObject({ name: 'mine', nodeName: 'node-1', ip: '198.18.1.1' }));
  server.apply('pods', podObject({ name: 'theirs', nodeName: 'node-2', ip: '198.18.2.1' }));
  server.apply('pods', podObject({ name: 'pending' })); // not scheduled yet
  const log = watch(nodePodInformer(kc, 'node-1'));
  await log.informer.start();
  await until('the watch', () => server.openWatches('pods') === 1);
  assert.deepEqual(log.since(0), ['add mine']);

  server.apply('pods', podObject({ name: 'theirs-2', nodeName: 'node-2', ip: '198.18.2.2' }));
  server.remove('pods', 'default', 'theirs');
  // The scheduler binds `pending` to node-1: for this watch the pod appears (ADDED, not MODIFIED).
  server.apply('pods', podObject({ name: 'pending', nodeName: 'node-1', ip: '198.18.1.2' }));
  server.remove('pods', 'default', 'mine');
  await until('two events', () => log.events.length === 3);
  await quietPeriod();
  assert.deepEqual(log.since(1), ['add pending', 'delete mine']);
  assert.deepEqual(log.names(), ['pending']);
  assert.deepEqual(
    server.requests('pods').map((r) => r.query['fieldSelector']),
    ['spec.nodeName=node-1', 'spec.nodeName=node-1'],
    'the list and the watch both carry the selector',
  );
});

test('makeInformer does not put a field selector on the watch: a selector only in the list function leaks other nodes’ pods', async (t) => {
  const { server, kc, watch } = await harness(t);
  server.apply('pods', podObject({ name: 'mine', nodeName: 'node-1' }));
  const api = kc.makeApiClient(CoreV1Api);
  const log = watch(asListWatch(makeInformer<V1Pod>(kc, '/api/v1/pods', () => api.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-1' }))));
  await log.informer.start();
  await until('the watch', () => server.openWatches('pods') === 1);
  server.apply('pods', podObject({ name: 'theirs', nodeName: 'node-2' }));
  await until('the leak', () => log.events.length === 2);
  assert.deepEqual(log.since(0), ['add mine', 'add theirs']);
  assert.equal(server.requests('pods')[1]?.query['fieldSelector'], undefined);
});

test('bookmarks: client-node never asks for them; sent anyway, they advance the resourceVersion without events', async (t) => {
  const { server, log } = await watchingSeededPods(t);
  assert.equal(server.requests('pods')[1]?.query['allowWatchBookmarks'], undefined);
  assert.equal(server.sendBookmarks(), 0, 'the apiserver only bookmarks watches that asked');

  // Writes to other resources move the global resourceVersion past the last pod event.
  server.apply('services', serviceObject({ name: 'web', clusterIP: '198.19.0.10' }));
  server.apply('nodes', nodeObject({ name: 'node-1', internalIPs: ['198.18.0.1'] }));
  const before = log.informer.latestResourceVersion();
  assert.notEqual(before, server.resourceVersion);
  assert.equal(server.sendBookmarks({ unrequested: true }), 1);
  await until('the bookmark', () => log.informer.latestResourceVersion() === server.resourceVersion);

  // A re-watch resumes from the bookmark's resourceVersion and replays nothing.
  server.closeWatches();
  await until('the re-watch', () => server.requestCounts('pods').watches === 2 && server.openWatches('pods') === 1);
  await quietPeriod();
  assert.equal(watchRequests(server, 'pods')[1], server.resourceVersion);
  assert.deepEqual(log.since(3), [], 'no events from a bookmark');
  assert.equal(server.requestCounts('pods').lists, 1);
});

test('a watch that ends cleanly is re-opened at once from the last resourceVersion; events in between are replayed', async (t) => {
  const { server, log } = await watchingSeededPods(t);
  const seen = log.informer.latestResourceVersion();

  server.closeWatches();
  server.apply('pods', podObject({ name: 'd', namespace: 'shop' })); // before client-node can re-watch
  server.remove('pods', 'shop', 'a');
  await until('the replay', () => log.events.length === 5);

  assert.deepEqual(log.since(3), ['add d', 'delete a']);
  assert.deepEqual(watchRequests(server, 'pods'), [seen, seen]);
  assert.deepEqual(server.requestCounts('pods'), { lists: 1, watches: 2, gets: 0 });
  assert.equal(log.connects, 2, "'connect' on every (re)connection");
  assert.deepEqual(log.errors, []);
});

test('a dropped watch connection is an error: the informer stops; start() resumes from the last resourceVersion', async (t) => {
  const { server, log } = await watchingSeededPods(t);
  const seen = log.informer.latestResourceVersion();

  server.dropWatches();
  await until('the error', () => log.errors.length === 1);
  assert.equal((log.errors[0] as NodeJS.ErrnoException).code, 'ERR_STREAM_PREMATURE_CLOSE');
  assert.equal((log.errors[0] as Error).message, 'Premature close');
  server.apply('pods', podObject({ name: 'd', namespace: 'shop' }));
  await quietPeriod();
  assert.deepEqual(server.requestCounts('pods'), { lists: 1, watches: 1, gets: 0 }, 'no re-watch on its own');

  await log.informer.start();
  await until('the replay', () => log.events.length === 4);
  assert.deepEqual(log.since(3), ['add d']);
  assert.deepEqual(watchRequests(server, 'pods'), [seen, seen], 'resumed, not relisted');
  assert.equal(server.requestCounts('pods').lists, 1);
});

test('410 Gone on an open watch: client-node relists, and an unchanged store gives no events', async (t) => {
  const { server, log } = await watchingSeededPods(t);

  server.sendGoneToWatches();
  await until('the relist and the new watch', () => server.requestCounts('pods').lists === 2 && server.openWatches('pods') === 1);
  await quietPeriod();
  assert.deepEqual(log.since(3), [], 'same resourceVersions: no update');
  assert.deepEqual(log.errors, [], 'a 410 is not reported as an error');
  assert.deepEqual(server.requestCounts('pods'), { lists: 2, watches: 2, gets: 0 });
});

test('API server down, history expired, then back: start() gets 410, relists, and deletes what disappeared meanwhile', async (t) => {
  const { server, log } = await watchingSeededPods(t);
  const seen = log.informer.latestResourceVersion();

  await server.setDown(true);
  await until('the error', () => log.errors.length === 1);
  assert.equal((log.errors[0] as NodeJS.ErrnoException).code, 'ERR_STREAM_PREMATURE_CLOSE');
  // While the informer cannot see: b is deleted, c changes, d appears, and the history is compacted.
  server.remove('pods', 'shop', 'b');
  const changed = server.get('pods', 'shop', 'c')!;
  changed.metadata.labels = { moved: 'yes' };
  server.apply('pods', changed);
  server.apply('pods', podObject({ name: 'd', namespace: 'shop', nodeName: 'node-1' }));
  server.expireHistory();
  await server.setDown(false);

  await log.informer.start();
  await until('the relist and the new watch', () => server.requestCounts('pods').lists === 2 && server.openWatches('pods') === 1);
  await until('the relist events', () => log.events.length === 6);
  // Relist (cache.js:115-116): 'delete' for cached objects missing from the list (with the cached
  // object), 'update' for a changed resourceVersion, 'add' for new ones.
  assert.deepEqual(log.since(3).sort(), ['add d', 'delete b', 'update c']);
  assert.deepEqual(log.names(), ['a', 'c', 'd']);
  assert.deepEqual(watchRequests(server, 'pods'), [seen, seen, server.resourceVersion], 'watch from the old version (410), then from the relist');
  assert.equal(log.errors.length, 1, 'the 410 itself is not an error');
});

test('API server unreachable at start: start() resolves, the informer reports ECONNREFUSED and waits for another start()', async (t) => {
  const { server, kc, watch } = await harness(t);
  seedPods(server);
  await server.setDown(true);
  const log = watch(podInformer(kc));
  await log.informer.start(); // resolves: failures only go to the 'error' handlers
  await until('the error', () => log.errors.length === 1);
  const err = log.errors[0] as NodeJS.ErrnoException & { type?: string };
  assert.equal(err.name, 'FetchError');
  assert.equal(err.code, 'ECONNREFUSED');
  assert.equal(err.type, 'system');
  assert.equal(log.connects, 1);

  await server.setDown(false);
  await quietPeriod();
  assert.equal(server.requests().length, 0, 'no retry on its own');
  await log.informer.start();
  await until('the sync', () => server.openWatches('pods') === 1);
  assert.deepEqual(log.since(0), ['add a', 'add b', 'add c']);
  assert.deepEqual(server.requestCounts('pods'), { lists: 1, watches: 1, gets: 0 });
});

test('403 Forbidden: a list fails with ApiException (code 403, the Status as text); a watch with Error statusCode 403', async (t) => {
  const { server, kc, watch } = await harness(t);
  seedPods(server);
  server.forbid('pods');
  const listing = watch(podInformer(kc));
  await listing.informer.start();
  await until('the list error', () => listing.errors.length === 1);
  const listErr = listing.errors[0];
  assert.ok(listErr instanceof ApiException);
  assert.equal(listErr.code, 403);
  const status = JSON.parse(listErr.body as string) as StatusObject;
  assert.equal(status.reason, 'Forbidden');
  assert.equal(status.message, 'pods is forbidden: User "system:serviceaccount:tcpscope:tcpscope" cannot list resource "pods" in API group "" at the cluster scope');

  // Allowed to list, then RBAC changes: the next watch request is refused.
  server.forbid('pods', false);
  const watching = watch(nodePodInformer(kc, 'node-1'));
  await watching.informer.start();
  await until('the watch', () => server.openWatches('pods') === 1);
  server.forbid('pods');
  server.closeWatches();
  await until('the watch error', () => watching.errors.length === 1);
  const watchErr = watching.errors[0] as Error & { statusCode?: number };
  assert.equal(watchErr.message, 'Forbidden');
  assert.equal(watchErr.statusCode, 403);
  await quietPeriod();
  assert.equal(server.requests('pods').filter((r) => r.verb === 'watch').length, 2, 'no retry on its own');
});

test("stop(), and start() on a running informer, report an AbortError through 'error'", async (t) => {
  const { server, log } = await watchingSeededPods(t);

  await log.informer.start(); // aborts the open watch, then watches again
  await until('the abort', () => log.errors.length === 1);
  assert.equal((log.errors[0] as Error).name, 'AbortError');
  await until('one watch again', () => server.requestCounts('pods').watches === 2 && server.openWatches('pods') === 1);
  assert.equal(server.requestCounts('pods').lists, 1);

  await log.informer.stop();
  await until('the abort', () => log.errors.length === 2);
  assert.equal((log.errors[1] as Error).name, 'AbortError');
  await until('no watch', () => server.openWatches('pods') === 0);
});

test('writeKubeconfig: a file KubeConfig.loadFromFile reads, and an informer works through it', async (t) => {
  const { server, watch } = await harness(t);
  seedPods(server);
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config');
  server.writeKubeconfig(path);
  assert.match(readFileSync(path, 'utf8'), /insecure-skip-tls-verify: true/);
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  assert.equal(kc.getCurrentCluster()?.server, server.url);
  const log = watch(podInformer(kc));
  await log.informer.start();
  await until('the sync', () => log.events.length === 3);
});

// ---- The protocol itself, over raw HTTP ----

async function getJson<T>(server: KubeApiStandIn, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(server.url + path);
  return { status: res.status, body: (await res.json()) as T };
}

interface RawEvent {
  type: string;
  object: { metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string };
}

/** A raw watch: its events as they come, and whether the server ended it. */
function rawWatch(t: TestContext, server: KubeApiStandIn, path: string): { events: RawEvent[]; ended: () => boolean } {
  const events: RawEvent[] = [];
  let ended = false;
  const req = http.get(server.url + path, (res) => {
    const lines = createInterface({ input: res });
    lines.on('error', () => (ended = true)); // 'aborted' (forwarded from res) when the test closes the connection
    lines.on('line', (line) => events.push(JSON.parse(line) as RawEvent));
    res.on('end', () => (ended = true));
  });
  req.on('error', () => (ended = true));
  t.after(() => req.destroy());
  return { events, ended: () => ended };
}

interface ListBody {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}

test('LIST: kind, selectors, namespaced paths, paging with continue', async (t) => {
  const { server } = await harness(t);
  for (const [name, ns, app] of [['a', 'shop', 'web'], ['b', 'shop', 'db'], ['c', 'ops', 'web'], ['d', 'ops', 'cron']] as const) {
    server.apply('pods', podObject({ name, namespace: ns, labels: { app }, nodeName: name === 'd' ? 'node-2' : 'node-1' }));
  }
  const all = await getJson<ListBody>(server, '/api/v1/pods');
  assert.equal(all.body.kind, 'PodList');
  assert.equal(all.body.apiVersion, 'v1');
  assert.equal(all.body.metadata.resourceVersion, server.resourceVersion);
  assert.deepEqual(all.body.items.map((o) => o.metadata.name), ['c', 'd', 'a', 'b'], 'key order: namespace, name');
  assert.equal(all.body.items[0]!.kind, undefined);

  const names = async (path: string): Promise<(string | undefined)[]> => (await getJson<ListBody>(server, path)).body.items.map((o) => o.metadata.name);
  assert.deepEqual(await names('/api/v1/namespaces/shop/pods'), ['a', 'b']);
  assert.deepEqual(await names('/api/v1/pods?labelSelector=app%3Dweb'), ['c', 'a']);
  assert.deepEqual(await names('/api/v1/pods?labelSelector=app%20in%20(web,db),app!%3Dweb'), ['b']);
  assert.deepEqual(await names('/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-2'), ['d']);
  assert.deepEqual(await names('/api/v1/pods?fieldSelector=metadata.namespace%3Dops,metadata.name!%3Dd'), ['c']);

  const first = await getJson<ListBody>(server, '/api/v1/pods?limit=3');
  assert.deepEqual(first.body.items.map((o) => o.metadata.name), ['c', 'd', 'a']);
  assert.equal(first.body.metadata.remainingItemCount, 1);
  server.apply('pods', podObject({ name: 'e', namespace: 'shop' }));
  const second = await getJson<ListBody>(server, `/api/v1/pods?limit=3&continue=${first.body.metadata.continue}`);
  assert.deepEqual(second.body.items.map((o) => o.metadata.name), ['b', 'e']);
  assert.equal(second.body.metadata.resourceVersion, first.body.metadata.resourceVersion, 'pages report the first page’s version');
  assert.equal(second.body.metadata.continue, undefined);
  server.expireHistory();
  const expired = await getJson<StatusObject>(server, `/api/v1/pods?limit=3&continue=${first.body.metadata.continue}`);
  assert.equal(expired.status, 410);
  assert.equal(expired.body.reason, 'Expired');
});

test('errors are Status objects: unsupported field, unknown path, missing object, forbidden', async (t) => {
  const { server } = await harness(t);
  const bad = await getJson<StatusObject>(server, '/api/v1/pods?fieldSelector=spec.hostname%3Dx');
  assert.deepEqual([bad.status, bad.body.reason, bad.body.message], [400, 'BadRequest', 'field label not supported: spec.hostname']);
  const unknown = await getJson<StatusObject>(server, '/apis/apps/v1/deployments');
  assert.deepEqual([unknown.status, unknown.body.kind, unknown.body.reason], [404, 'Status', 'NotFound']);
  const missing = await getJson<StatusObject>(server, '/api/v1/namespaces/shop/pods/nope');
  assert.deepEqual([missing.status, missing.body.message], [404, 'pods "nope" not found']);
  server.apply('replicasets', replicaSetObject({ name: 'web-1', namespace: 'shop', deploymentName: 'web' }));
  const found = await getJson<KubeObject>(server, '/apis/apps/v1/namespaces/shop/replicasets/web-1');
  assert.deepEqual([found.status, found.body.kind, found.body.apiVersion], [200, 'ReplicaSet', 'apps/v1']);
  server.forbid('replicasets');
  const denied = await getJson<StatusObject>(server, '/apis/apps/v1/namespaces/shop/replicasets?watch=1');
  assert.deepEqual([denied.status, denied.body.message], [403, 'replicasets.apps is forbidden: User "system:serviceaccount:tcpscope:tcpscope" cannot watch resource "replicasets" in API group "apps" in the namespace "shop"']);
});

test('WATCH: replay after a version, bookmarks only when asked, 410 as an ERROR event, timeoutSeconds ends it', async (t) => {
  const server = new KubeApiStandIn({ historyLimit: 2 });
  t.after(() => server.stop());
  await server.start();
  const v0 = server.resourceVersion;
  server.apply('nodes', nodeObject({ name: 'n1' }));
  const v1 = server.resourceVersion;
  server.apply('nodes', nodeObject({ name: 'n2' }));
  server.apply('nodes', nodeObject({ name: 'n3' }));

  const replay = rawWatch(t, server, `/api/v1/nodes?watch=true&resourceVersion=${v1}&allowWatchBookmarks=true`);
  const plain = rawWatch(t, server, `/api/v1/nodes?watch=true&resourceVersion=${server.resourceVersion}`);
  await until('two open watches', () => server.openWatches('nodes') === 2);
  assert.deepEqual(replay.events.map((e) => `${e.type} ${e.object.metadata?.name}`), ['ADDED n2', 'ADDED n3']);
  assert.equal(server.sendBookmarks(), 1);
  await until('the bookmark', () => replay.events.length === 3);
  assert.deepEqual([replay.events[2]!.type, replay.events[2]!.object.metadata?.resourceVersion], ['BOOKMARK', server.resourceVersion]);
  assert.deepEqual(plain.events, []);

  // historyLimit 2: n1's event is gone, so a watch from before it is too old.
  const gone = rawWatch(t, server, `/api/v1/nodes?watch=true&resourceVersion=${v0}`);
  await until('the end of the watch', () => gone.ended());
  assert.deepEqual(gone.events.map((e) => [e.type, e.object.code, e.object.reason]), [['ERROR', 410, 'Expired']]);

  const initial = rawWatch(t, server, '/api/v1/nodes?watch=true&timeoutSeconds=1');
  await until('the timeout', () => initial.ended(), 3_000);
  assert.deepEqual(initial.events.map((e) => `${e.type} ${e.object.metadata?.name}`), ['ADDED n1', 'ADDED n2', 'ADDED n3']);
});

test('WATCH with a field selector: an object entering the scope is ADDED, one leaving it is DELETED', async (t) => {
  const { server } = await harness(t);
  server.apply('pods', podObject({ name: 'web', nodeName: 'n1' }));
  const running = rawWatch(t, server, `/api/v1/pods?watch=1&resourceVersion=${server.resourceVersion}&fieldSelector=spec.nodeName%3Dn1,status.phase%3DRunning`);
  await until('the watch', () => server.openWatches('pods') === 1);
  server.apply('pods', podObject({ name: 'job' })); // Pending, unscheduled: out of scope
  server.apply('pods', podObject({ name: 'job', nodeName: 'n1' })); // scheduled and running: in
  const done = server.get('pods', 'default', 'job')!;
  done['status'] = { ...(done['status'] as object), phase: 'Succeeded' };
  const doneVersion = server.apply('pods', done).metadata.resourceVersion;
  await until('two events', () => running.events.length === 2);
  assert.deepEqual(running.events.map((e) => `${e.type} ${e.object.metadata?.name}`), ['ADDED job', 'DELETED job']);
  assert.equal(running.events[1]!.object.metadata?.resourceVersion, doneVersion, 'the DELETED carries the version of the change');
});

test('setDown refuses connections on the same port; stop is idempotent', async (t) => {
  const { server } = await harness(t);
  const url = server.url;
  await server.setDown(true);
  await assert.rejects(fetch(`${url}/api/v1/pods`), (err: Error & { cause?: { code?: string } }) => err.cause?.code === 'ECONNREFUSED');
  await server.setDown(false);
  assert.equal(server.url, url);
  assert.equal((await fetch(`${url}/api/v1/pods`)).status, 200);
  await server.stop();
  await server.stop();
});
