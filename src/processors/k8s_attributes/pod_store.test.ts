import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerIdOf, podInfoFromObject, PodStore, type PodObject } from './pod_store';

const pod = (uid: string, ip: string, containerId: string, extra: Partial<PodObject['spec']> = {}): PodObject => ({
  metadata: { uid, name: `web-${uid}`, namespace: 'shop', labels: { app: 'web' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d4b9c', controller: true }] },
  spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'registry.local/web:1' }], ...extra },
  status: { podIP: ip, podIPs: [{ ip }], containerStatuses: [{ name: 'app', image: 'registry.local/web:1', containerID: `containerd://${containerId}` }] },
});

test('runtime container ids lose their scheme', () => {
  assert.equal(containerIdOf('containerd://abc'), 'abc');
  assert.equal(containerIdOf('cri-o://abc'), 'abc');
  assert.equal(containerIdOf('docker://abc'), 'abc');
  assert.equal(containerIdOf(undefined), undefined);
});

test('a pod object becomes indexed info: uid, container id, IP, owner, labels', () => {
  const info = podInfoFromObject(pod('u1', '198.18.5.10', 'c1'));
  assert.deepEqual(info, {
    uid: 'u1',
    name: 'web-u1',
    namespace: 'shop',
    nodeName: 'node-1',
    hostNetwork: false,
    ips: ['198.18.5.10'],
    containers: [{ id: 'c1', name: 'app', image: 'registry.local/web:1' }],
    owner: { kind: 'ReplicaSet', name: 'web-7d4b9c' },
    labels: { app: 'web' },
    annotations: {},
  });
  assert.equal(podInfoFromObject({ metadata: { name: 'x' } }), undefined, 'no uid: not a pod we can index');
});

test('lookups by uid, container and IP; updates re-index; hostNetwork pods are not found by IP', () => {
  const store = new PodStore(30_000);
  store.upsert(podInfoFromObject(pod('u1', '198.18.5.10', 'c1'))!);
  assert.equal(store.container('c1')?.pod.name, 'web-u1');
  assert.equal(store.podByIp('198.18.5.10')?.uid, 'u1');
  store.upsert(podInfoFromObject(pod('u1', '198.18.5.11', 'c2'))!); // restarted container, new IP
  assert.equal(store.container('c1'), undefined);
  assert.equal(store.podByIp('198.18.5.10'), undefined);
  assert.equal(store.container('c2')?.container.name, 'app');
  store.upsert(podInfoFromObject(pod('u2', '198.18.0.1', 'c3', { hostNetwork: true }))!);
  assert.equal(store.podByIp('198.18.0.1'), undefined);
  assert.equal(store.container('c3')?.pod.uid, 'u2');
});

test('a deleted pod stays resolvable for the grace period, then is forgotten', () => {
  let now = 1_000;
  const store = new PodStore(30_000, () => now);
  store.upsert(podInfoFromObject(pod('u1', '198.18.5.10', 'c1'))!);
  store.markDeleted('u1');
  now += 29_999;
  store.sweep();
  assert.equal(store.container('c1')?.pod.uid, 'u1', 'still there within the grace period');
  now += 1;
  store.sweep();
  assert.equal(store.container('c1'), undefined);
  assert.equal(store.pod('u1'), undefined);
  assert.equal(store.size, 0);
});

test('after a relist, pods missing from it start their grace period; re-added pods are kept', () => {
  let now = 0;
  const store = new PodStore(10_000, () => now);
  store.upsert(podInfoFromObject(pod('u1', '198.18.5.10', 'c1'))!);
  store.upsert(podInfoFromObject(pod('u2', '198.18.5.11', 'c2'))!);
  store.markDeleted('u1'); // what a relist reports for a pod it no longer lists (the collection's relist)
  now = 10_000;
  store.sweep();
  assert.equal(store.pod('u1'), undefined);
  assert.equal(store.pod('u2')?.name, 'web-u2');
  store.markDeleted('u2');
  store.upsert(podInfoFromObject(pod('u2', '198.18.5.11', 'c2'))!); // re-created with the same uid
  now = 30_000;
  store.sweep();
  assert.equal(store.pod('u2')?.name, 'web-u2', 'an upsert cancels a pending deletion');
});
