import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeApiError } from './watched_collection';
import { imageName } from './workload_names';
import { trimLocalPod, trimNode, trimService } from './kube_resources';

test('container.image.name drops tag and digest, keeps a registry port', () => {
  const cases: [string, string][] = [
    ['nginx', 'nginx'],
    ['nginx:1.27', 'nginx'],
    ['registry.local:5000/shop/web:1.2', 'registry.local:5000/shop/web'],
    ['registry.local:5000/shop/web', 'registry.local:5000/shop/web'],
    ['ghcr.io/o/app@sha256:' + 'a'.repeat(64), 'ghcr.io/o/app'],
    ['ghcr.io/o/app:v1@sha256:' + 'a'.repeat(64), 'ghcr.io/o/app'],
  ];
  for (const [image, name] of cases) assert.equal(imageName(image), name, image);
});

test('API errors become one category per state and a sentence saying what to do', () => {
  const pods = { resource: 'pods', apiGroup: '' };
  const forbidden = describeApiError({ code: 403, body: JSON.stringify({ kind: 'Status', message: 'pods is forbidden: User "system:serviceaccount:o:t" cannot list resource "pods"' }) }, pods, 'https://k');
  assert.equal(forbidden.category, 'forbidden');
  assert.match(forbidden.text, /HTTP 403: pods is forbidden: .*needs get, list and watch on pods \(see deploy\/kubernetes\/rbac.yaml\)/);
  assert.match(describeApiError({ statusCode: 403 }, { resource: 'replicasets', apiGroup: 'apps' }, 'https://k').text, /on replicasets.apps/);
  assert.deepEqual(describeApiError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, pods, 'https://k'), { category: 'network-ECONNREFUSED', text: 'API server https://k unreachable (ECONNREFUSED)' });
  assert.equal(describeApiError({ message: 'x', cause: { code: 'ECONNRESET' } }, pods, 'https://k').category, 'network-ECONNRESET');
  assert.equal(describeApiError({ code: 500 }, pods, 'https://k').category, 'http-500');
});

test('objects are trimmed to what enrichment uses', () => {
  const pod = trimLocalPod({ labels: ['app'], annotations: [] })({
    metadata: { name: 'web-1', namespace: 'shop', uid: 'u1', resourceVersion: '7', labels: { app: 'web', 'pod-template-hash': 'abc', other: 'x' }, annotations: { big: 'y'.repeat(1000) }, managedFields: [{}] },
    spec: { nodeName: 'n1', containers: [{ name: 'app', image: 'web:1', env: [] }] },
    status: { podIP: '198.18.0.9', podIPs: [{ ip: '198.18.0.9' }], containerStatuses: [{ name: 'app', image: 'web:1', containerID: 'containerd://c1', ready: true }] },
  });
  // Every label is kept (packet_capture selects pods by any label); enrichment adds only the extracted ones.
  assert.deepEqual(pod.metadata.labels, { app: 'web', 'pod-template-hash': 'abc', other: 'x' });
  assert.equal(pod.metadata.annotations, undefined);
  assert.equal(pod.metadata.resourceVersion, '7');
  assert.deepEqual(pod.status?.containerStatuses, [{ name: 'app', image: 'web:1', containerID: 'containerd://c1' }]);
  assert.deepEqual(trimService({ metadata: { name: 's' }, spec: { clusterIP: '198.18.128.1', clusterIPs: ['198.18.128.1', 'fd00:96::1'] } }).spec.clusterIPs, ['198.18.128.1', 'fd00:96::1']);
  assert.deepEqual(trimService({ metadata: { name: 'h' }, spec: { clusterIP: 'None', clusterIPs: ['None'] } }).spec.clusterIPs, []);
  assert.deepEqual(trimNode({ metadata: { name: 'n' }, status: { addresses: [{ type: 'InternalIP', address: '198.18.0.1' }, { type: 'Hostname', address: 'n' }] } }).status.addresses, ['198.18.0.1']);
});
