// k8s_attributes against a stand-in Kubernetes API server that speaks the real list/watch
// protocol to the real @kubernetes/client-node: names for local pods (three owners, three cgroup
// layouts), peers (pod IP, ClusterIP, node IP), changes (MODIFIED, DELETED with grace, 410 relist,
// dropped watch), an API server down at start, RBAC 403, and peer.enabled off. Records carry
// kubelet-style cgroup paths here; test/kernel/k8s_attributes_api.test.ts does it with real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { k8sAttributesProcessorFactory } from '../../src/processors/k8s_attributes/factory';
import type { K8sAttributesProcessor } from '../../src/processors/k8s_attributes/processor';
import { ClusterView } from '../../src/processors/k8s_attributes/cluster_view';
import { DEADLINE_MS, waitUntil } from '../support/child';
import { KubeApiStandIn, podObject } from '../support/kube_api_server';
import { cgroupPathOf, k8sAttributesConfig, NODE, PEER_NODE, populateCluster, withKubeconfig, type Fixture, type LocalPod } from '../support/k8s_fixture';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { recordingSettings, type RecordedSettings } from '../support/recording-settings';

const ADDRESSES = { peerPodIp: '198.18.11.2', clusterIp: '198.18.11.100', peerNodeIp: '198.18.11.3' };
const host = { reportFatal: (e: Error) => assert.fail(e) };

interface Harness {
  readonly api: KubeApiStandIn;
  readonly fixture: Fixture;
  readonly settings: RecordedSettings;
  readonly logs: RecordingLogsConsumer;
  readonly processor: K8sAttributesProcessor<'logs'>;
  /** The attributes the processor gives a record with these attributes. */
  enrich(attributes: Record<string, unknown>): Promise<Record<string, unknown>>;
}

async function harness(t: { after(fn: () => Promise<void> | void): void }, settingsOverride: Record<string, unknown> = {}, prepare?: (api: KubeApiStandIn) => Promise<void> | void): Promise<Harness> {
  const api = new KubeApiStandIn();
  await api.start();
  const fixture = populateCluster(api, ADDRESSES);
  await prepare?.(api);
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-k8s-'));
  const kubeconfig = join(dir, 'kubeconfig');
  api.writeKubeconfig(kubeconfig);
  const config = k8sAttributesConfig({ auth_type: 'kubeConfig', node_name: NODE, extract: { labels: ['app'], annotations: [] }, ...settingsOverride });
  const settings = recordingSettings('k8s_attributes');
  const logs = new RecordingLogsConsumer();
  const processor = withKubeconfig(kubeconfig, () => k8sAttributesProcessorFactory.create(settings, config, 'logs', logs) as K8sAttributesProcessor<'logs'>);
  t.after(async () => {
    await processor.shutdown();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await processor.start(host);
  return {
    api,
    fixture,
    settings,
    logs,
    processor,
    async enrich(attributes) {
      await processor.consume([{ attributes } as unknown as ReadableLogRecord]);
      return logs.records.at(-1)!.attributes as Record<string, unknown>;
    },
  };
}

const cgroupOf = (pod: LocalPod) => ({ 'process.linux.cgroup': `0::${cgroupPathOf(pod)}` });

/** Every k8s / container / peer attribute in `attributes`. */
function added(attributes: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(attributes).filter(([k]) => /^(k8s\.|container\.|peer\.k8s\.)/.test(k)));
}

function expectedFor(pod: LocalPod): Record<string, string> {
  return { ...pod.expected, 'container.id': pod.containerId, 'k8s.pod.uid': pod.uid };
}

test('names local pods (Deployment via ReplicaSet, StatefulSet, CronJob via Job) and peers (pod IP, ClusterIP, node IP)', async (t) => {
  const h = await harness(t);
  const { checkout, cart, backup } = h.fixture;
  // Names appear once the node's pods, ReplicaSets and Jobs are listed.
  await waitUntilEnriched(h, checkout, 'k8s.deployment.name');
  await waitUntilEnriched(h, backup, 'k8s.cronjob.name');
  for (const pod of [checkout, cart, backup]) assert.deepEqual(added(await h.enrich(cgroupOf(pod))), expectedFor(pod), pod.name);

  await waitUntil(() => h.processor.clusterView!.peer(ADDRESSES.clusterIp) !== undefined && h.processor.clusterView!.peer(ADDRESSES.peerNodeIp) !== undefined, DEADLINE_MS, 'services and nodes listed');
  assert.deepEqual(added(await h.enrich({ 'network.peer.address': ADDRESSES.peerPodIp })), { 'peer.k8s.pod.name': 'db-0', 'peer.k8s.namespace.name': 'data', 'peer.k8s.node.name': PEER_NODE });
  assert.deepEqual(added(await h.enrich({ 'network.peer.address': ADDRESSES.clusterIp })), { 'peer.k8s.service.name': 'cart', 'peer.k8s.namespace.name': 'shop' });
  // A hostNetwork pod shares the node's IP: the address names the node.
  assert.deepEqual(added(await h.enrich({ 'network.peer.address': ADDRESSES.peerNodeIp })), { 'peer.k8s.node.name': PEER_NODE });
  assert.deepEqual(added(await h.enrich({ 'network.peer.address': '198.18.11.99' })), {});
  // Both sides at once, and the record's own attributes untouched.
  const both = await h.enrich({ ...cgroupOf(checkout), 'network.peer.address': ADDRESSES.clusterIp, 'network.peer.port': 80 });
  assert.equal(both['k8s.deployment.name'], 'checkout');
  assert.equal(both['peer.k8s.service.name'], 'cart');
  assert.equal(both['network.peer.port'], 80);
  // A cgroup outside Kubernetes gets nothing.
  assert.deepEqual(added(await h.enrich({ 'process.linux.cgroup': '0::/system.slice/sshd.service' })), {});

  // Only this node's pods are watched for the local side (the peer side lists all pods).
  const podRequests = h.api.requests('pods');
  assert.ok(podRequests.some((r) => r.query.fieldSelector === `spec.nodeName=${NODE}` && r.verb === 'list'));
  assert.ok(podRequests.some((r) => r.query.fieldSelector === `spec.nodeName=${NODE}` && r.verb === 'watch' && r.query.allowWatchBookmarks === 'true'));
  assert.equal(h.settings.lines.filter((l) => l.startsWith('WARN')).length, 0, h.settings.lines.join('\n'));
});

test('metrics pipelines get the same names, from the same shared watches', async (t) => {
  const h = await harness(t);
  const metrics = new RecordingMetricsConsumer();
  // A second processor of the same id, in a metrics pipeline: it must reuse the first one's view.
  const config = k8sAttributesConfig({ auth_type: 'kubeConfig', node_name: NODE, extract: { labels: ['app'], annotations: [] } });
  const second = k8sAttributesProcessorFactory.create(h.settings, config, 'metrics', metrics) as K8sAttributesProcessor<'metrics'>;
  t.after(() => second.shutdown());
  await second.start(host);
  assert.equal(second.clusterView, h.processor.clusterView, 'one cluster view per processor id');
  await waitUntilEnriched(h, h.fixture.checkout, 'k8s.deployment.name');
  const point = { attributes: { ...cgroupOf(h.fixture.checkout), 'network.tcp.handshake.role': 'client' }, startTime: [0, 0], endTime: [1, 0], value: 3 };
  await second.consume({ resource: {} as ResourceMetrics['resource'], scopeMetrics: [{ scope: { name: 'tcpscope' }, metrics: [{ descriptor: { name: 'system.network.connection.count' }, dataPoints: [point] }] }] } as unknown as ResourceMetrics);
  const out = metrics.batches[0].scopeMetrics[0].metrics[0].dataPoints[0] as unknown as { attributes: Record<string, unknown>; value: number };
  assert.deepEqual(added(out.attributes), expectedFor(h.fixture.checkout));
  assert.equal(out.value, 3);
  assert.equal(point.attributes['k8s.pod.name' as keyof typeof point.attributes], undefined, 'the input point is not changed in place');
  // Services are listed for the peer side, which the local names above do not wait for.
  await waitUntil(() => second.clusterView!.peer(ADDRESSES.clusterIp) !== undefined, DEADLINE_MS, 'services listed', () => h.settings.lines.join('\n'));
  assert.equal(h.api.requestCounts('services').lists, 1, 'services listed once for both pipelines');
});

test('follows MODIFIED and DELETED (kept for the grace period), re-watches a dropped watch, relists after 410 Gone', async (t) => {
  const h = await harness(t, { deletion_grace_period: '300ms' });
  const { checkout, cart, backup } = h.fixture;
  const view = h.processor.clusterView!;
  await waitUntilEnriched(h, checkout, 'k8s.deployment.name');

  // MODIFIED: a label change is visible on the next event.
  const modified = h.api.get('pods', 'shop', checkout.name)!;
  modified.metadata.labels = { ...modified.metadata.labels, app: 'checkout-v2' };
  h.api.apply('pods', modified);
  await waitUntil(() => view.localPods.pod(checkout.uid)?.labels.app === 'checkout-v2', DEADLINE_MS, 'MODIFIED delivered');
  assert.equal((await h.enrich(cgroupOf(checkout)))['k8s.pod.label.app'], 'checkout-v2');

  // DELETED: the pod's connections still close after this; their events are still named.
  h.api.remove('pods', 'shop', cart.name);
  await waitUntil(() => view.localPods.isDeleted(cart.uid), DEADLINE_MS, 'DELETED delivered');
  assert.equal((await h.enrich(cgroupOf(cart)))['k8s.pod.name'], 'cart-0');
  // Swept until forgotten (300 ms grace): waited for, however slowly the clock goes for the test.
  await waitUntil(() => {
    view.sweep();
    return view.localPods.pod(cart.uid) === undefined;
  }, DEADLINE_MS, 'the deleted pod to be forgotten after its grace period');
  assert.deepEqual(added(await h.enrich(cgroupOf(cart))), { 'container.id': cart.containerId, 'k8s.pod.uid': cart.uid }, 'forgotten after the grace period');

  // Bookmarks: every watch asked for them; one moves the watch's position without an event, so
  // a re-watch resumes from the bookmark's resourceVersion, not from an older one.
  const localWatches = () => h.api.requests('pods').filter((r) => r.verb === 'watch' && r.query.fieldSelector === `spec.nodeName=${NODE}`);
  h.api.apply('nodes', { metadata: { name: 'node-9' } }); // moves the global resourceVersion past the pods' last event
  const bookmarkVersion = h.api.resourceVersion;
  assert.equal(h.api.sendBookmarks(), 6, 'all six watches asked for bookmarks');
  // No wait needed: the end of each watch below follows its bookmark on the same response, and the
  // client reads a response in order, so it has the bookmark before it sees the end.
  const watchesBefore = h.api.requestCounts('pods').watches;
  h.api.closeWatches(); // a normal end (the server's timeout): resumed at once from the bookmark
  await waitUntil(() => localWatches().length >= 2 && h.api.openWatches('pods') === 2, DEADLINE_MS, 'pods watch resumed');
  assert.equal(localWatches().at(-1)!.query.resourceVersion, bookmarkVersion, 'resumed from the bookmark');

  // A watch connection reset: client-node reports it, the collection re-watches from where it was.
  const listsBefore = h.api.requestCounts('pods').lists;
  h.api.dropWatches();
  await waitUntil(() => h.api.openWatches('pods') === 2 && h.api.requestCounts('pods').watches >= watchesBefore + 4, DEADLINE_MS, 'pods re-watched');
  const late = podObject({ name: 'late-1', namespace: 'shop', nodeName: NODE, ip: '198.18.10.21', containers: [{ name: 'app' }] });
  const lateUid = h.api.apply('pods', late).metadata.uid!;
  await waitUntil(() => view.localPods.pod(lateUid) !== undefined, DEADLINE_MS, 'an event after the re-watch');
  assert.equal(h.api.requestCounts('pods').lists, listsBefore, 'a dropped watch resumes without a relist');

  // 410 Gone: the history the watch resumes from is gone while the API is away; a pod deleted in
  // that time must still be seen as deleted (the relist's missing objects are deletions).
  await h.api.setDown(true);
  h.api.remove('pods', 'ops', backup.name);
  const later = h.api.apply('pods', podObject({ name: 'later-2', namespace: 'shop', nodeName: NODE, ip: '198.18.10.22', containers: [{ name: 'app' }] }));
  h.api.expireHistory();
  await h.api.setDown(false);
  await waitUntil(() => view.localPods.isDeleted(backup.uid) && view.localPods.pod(later.metadata.uid!) !== undefined, DEADLINE_MS, 'relisted after 410');
  assert.ok(h.api.requestCounts('pods').lists > listsBefore, 'relisted');
  await waitUntil(() => h.settings.lines.some((l) => /pods \(spec.nodeName=node-1\): relisted 3 \(the watch's resourceVersion had expired: 410 Gone\)/.test(l)), DEADLINE_MS, 'the relist is logged');
});

test('an API server down at start: events pass through with container.id, names once it is up; one log line per state change', async (t) => {
  const h = await harness(t, {}, (api) => api.setDown(true));
  const { checkout } = h.fixture;
  // While down: what the cgroup path says, nothing waits, nothing is dropped.
  const first = await h.enrich(cgroupOf(checkout));
  assert.deepEqual(added(first), { 'container.id': checkout.containerId, 'k8s.pod.uid': checkout.uid });
  assert.equal(h.logs.records.length, 1);
  // Let two retries of every collection fail (backoff 1 s, 2 s): still one warning per collection.
  const collections = ['pods (spec.nodeName=node-1)', 'replicasets', 'jobs', 'pods', 'services', 'nodes'];
  const stillFailing = (c: string) => h.settings.lines.filter((l) => l.startsWith('DEBUG') && l.includes(`k8s_attributes: ${c}: still failing`)).length;
  await waitUntil(() => collections.every((c) => stillFailing(c) >= 2), DEADLINE_MS, 'two failed retries of every collection');
  const warnings = h.settings.lines.filter((l) => l.startsWith('WARN'));
  assert.equal(warnings.length, collections.length, warnings.join('\n'));
  for (const c of collections) assert.ok(warnings.some((w) => w.includes(`k8s_attributes: ${c}: API server ${h.api.url} unreachable (ECONNREFUSED)`)), `${c}: ${warnings.join('\n')}`);
  assert.ok(h.settings.lines.filter((l) => l.startsWith('DEBUG') && l.includes('still failing')).length >= collections.length, 'retried');

  await h.api.setDown(false);
  await waitUntilEnriched(h, checkout, 'k8s.deployment.name');
  assert.deepEqual(added(await h.enrich(cgroupOf(checkout))), expectedFor(checkout));
  await waitUntil(() => h.settings.lines.filter((l) => l.includes('recovered after')).length === collections.length, DEADLINE_MS, 'every collection recovered');
  assert.equal(h.settings.lines.filter((l) => l.startsWith('WARN')).length, collections.length, 'no more warnings');
  assert.equal(h.settings.lines.filter((l) => l.includes('pods (spec.nodeName=node-1): synced, 3 listed')).length, 1);
});

test('RBAC 403 on replicasets: one warning saying what to grant; the Deployment is still named from pod-template-hash', async (t) => {
  const h = await harness(t, {}, (api) => api.forbid('replicasets'));
  const { checkout } = h.fixture;
  await waitUntilEnriched(h, checkout, 'k8s.pod.name');
  const retries = () => h.settings.lines.filter((l) => l.startsWith('DEBUG') && l.includes('replicasets: still failing (forbidden')).length;
  await waitUntil(() => retries() >= 2, DEADLINE_MS, 'two failed retries of replicasets');
  const warnings = h.settings.lines.filter((l) => l.startsWith('WARN'));
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /replicasets: forbidden \(HTTP 403: replicasets\.apps is forbidden: User "system:serviceaccount:tcpscope:tcpscope" cannot list resource "replicasets" in API group "apps" at the cluster scope\): the agent's service account needs get, list and watch on replicasets.apps \(see deploy\/kubernetes\/rbac.yaml\)/);
  const attributes = await h.enrich(cgroupOf(checkout));
  assert.equal(attributes['k8s.deployment.name'], 'checkout');
  assert.equal(attributes['k8s.replicaset.name'], 'checkout-7d4b9c');
});

test('peer.enabled false: no cluster-wide watches, no peer attributes', async (t) => {
  const h = await harness(t, { peer: { enabled: false } });
  await waitUntilEnriched(h, h.fixture.checkout, 'k8s.deployment.name');
  assert.deepEqual(added(await h.enrich({ 'network.peer.address': ADDRESSES.peerPodIp })), {});
  assert.deepEqual(h.api.requestCounts('services'), { lists: 0, watches: 0, gets: 0 });
  assert.deepEqual(h.api.requestCounts('nodes'), { lists: 0, watches: 0, gets: 0 });
  assert.ok(h.api.requests('pods').every((r) => r.query.fieldSelector === `spec.nodeName=${NODE}`), 'only this node\'s pods');
});

async function waitUntilEnriched(h: Harness, pod: LocalPod, key: string, timeoutMs = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await h.enrich(cgroupOf(pod)))[key] !== undefined) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${pod.name}: no ${key} within ${timeoutMs} ms\n${h.settings.lines.join('\n')}`);
}


test('a hung API server (no answers, silent watches): watches are abandoned past their deadline, lists time out, both recover', async (t) => {
  const api = new KubeApiStandIn();
  await api.start();
  const fixture = populateCluster(api, ADDRESSES);
  const settings = recordingSettings('k8s_attributes');
  // Deadlines scaled down from 5-10 min / 30 s / 60 s so that the test takes seconds.
  const options = {
    nodeName: NODE,
    peer: false,
    extract: { labels: [], annotations: [] },
    deletionGraceMs: 60_000,
    backoff: { initialMs: 200, maxMs: 1000 },
    deadlines: { watchTimeoutSeconds: [1, 1] as const, watchGraceMs: 500, listTimeoutMs: 1000 },
  };
  const watching = new ClusterView(api.kubeConfig(), options, settings.logger.child('watching'));
  const listing = new ClusterView(api.kubeConfig(), options, settings.logger.child('listing'));
  t.after(async () => {
    await watching.stop();
    await listing.stop();
    await api.stop();
  });
  watching.start();
  // Every collection of the view (this node's pods, ReplicaSets, Jobs: peer is off) listed and
  // watching before the hang: `synced` tells only of the first, and a list still unanswered when
  // the server hangs would time out as a list, not as a silent watch.
  const kinds = ['pods', 'replicasets', 'jobs'] as const;
  const watches = (kind: (typeof kinds)[number]) => api.requests(kind).filter((r) => r.verb === 'watch').length;
  await waitUntil(() => watching.synced && kinds.every((kind) => watches(kind) >= 1), DEADLINE_MS, 'every collection synced', () => settings.lines.join('\n'));
  // A healthy server ends each watch at timeoutSeconds: re-watched without a warning.
  await waitUntil(() => kinds.every((kind) => watches(kind) >= 2), DEADLINE_MS, 'every watch ended by the server and opened again', () => settings.lines.join('\n'));
  assert.equal(settings.lines.filter((l) => l.startsWith('WARN')).length, 0, settings.lines.join('\n'));
  assert.ok(api.requests('pods').filter((r) => r.verb === 'watch').every((r) => r.query.timeoutSeconds === '1'));

  api.setHung(true);
  const added = api.apply('pods', podObject({ name: 'during-hang', namespace: 'shop', nodeName: NODE, ip: '198.18.10.31', containers: [{ name: 'app' }] }));
  listing.start(); // its first list gets no answer
  const warned = (who: string, what: RegExp) => settings.lines.filter((l) => l.startsWith('WARN') && l.includes(`k8s_attributes/${who}: `) && what.test(l));
  await waitUntil(() => warned('watching', /not answering \(a watch asked to end after 1 s was still open 0.5 s later\)/).length === 3, DEADLINE_MS, 'silent watches abandoned', () => settings.lines.join('\n'));
  await waitUntil(() => warned('listing', /not answering \(no answer to a list within 1 s\)/).length === 3, DEADLINE_MS, 'lists timed out', () => settings.lines.join('\n'));
  // More failed attempts of every collection (3 watching, 3 listing): no more warnings.
  const retried = (who: string) => settings.lines.filter((l) => l.startsWith('DEBUG') && l.includes(`k8s_attributes/${who}: `) && l.includes('still failing')).length;
  await waitUntil(() => retried('watching') >= 3 && retried('listing') >= 3, DEADLINE_MS, 'more failed attempts', () => settings.lines.join('\n'));
  assert.equal(settings.lines.filter((l) => l.startsWith('WARN')).length, 6, settings.lines.join('\n'));
  assert.equal(watching.localPods.pod(added.metadata.uid!), undefined, 'nothing gets through a hung server');
  assert.equal(listing.synced, false);

  api.setHung(false);
  await waitUntil(() => watching.localPods.pod(added.metadata.uid!) !== undefined, DEADLINE_MS, 'the event made during the hang, replayed by the re-watch');
  await waitUntil(() => listing.synced && listing.localPods.pod(fixture.checkout.uid) !== undefined, DEADLINE_MS, 'the list after the hang');
  await waitUntil(() => settings.lines.filter((l) => l.includes('recovered after')).length === 6, DEADLINE_MS, 'every collection recovered');
});
