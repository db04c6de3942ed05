// The agent's own list/watch client (kube_client.ts, kube_client_config.ts) and the collection
// loop on it (watched_collection.ts), against the tests' API stand-in, which speaks the real
// protocol; TLS with client certificates against a real https server with certificates made here.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { stringify as toYaml } from 'yaml';
import { createLogger } from '../../logger';
import { DEADLINE_MS, waitUntil } from '../../../test/support/child';
import { KubeApiStandIn, podObject } from '../../../test/support/kube_api_server';
import { resolveKubeAccess, type AccessEnvironment } from './kube_access';
import { KubeHttpClient, LineSplitter, type WatchEventType } from './kube_client';
import { inClusterCredentials, StaticAuthorizer } from './kube_client_config';
import { PEER_PODS_SPEC, type TrimmedPod } from './kube_resources';
import { WatchedCollection } from './watched_collection';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-kclient-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function standIn(t: TestContext, options: ConstructorParameters<typeof KubeApiStandIn>[0] = {}): Promise<KubeApiStandIn> {
  const api = new KubeApiStandIn(options);
  await api.start();
  t.after(() => api.stop());
  return api;
}

const clientFor = (api: KubeApiStandIn) => new KubeHttpClient(api.url, new StaticAuthorizer({ server: api.url, token: api.token }));
const env = (kubeconfig: string): AccessEnvironment => ({ env: { KUBECONFIG: kubeconfig }, home: '/nonexistent-home', exists: () => true });

/** A collection of every pod, recording what it reports, with short deadlines. */
function podCollection(t: TestContext, client: KubeHttpClient) {
  const upserts: string[] = [];
  const removes: string[] = [];
  const lines: string[] = [];
  const collection = new WatchedCollection<TrimmedPod>(
    client,
    PEER_PODS_SPEC,
    { upsert: (p) => upserts.push(p.metadata.name!), remove: (p) => removes.push(p.metadata.name!) },
    createLogger('debug', (line) => lines.push(line)),
    { initialMs: 50, maxMs: 200 },
    { watchTimeoutSeconds: [60, 60], watchGraceMs: 30_000, listTimeoutMs: 20_000 },
  );
  t.after(async () => {
    await collection.stop();
    client.close();
  });
  return { collection, upserts, removes, lines };
}

test('list pages: limit and continue, every page read, one snapshot resourceVersion', async (t) => {
  const api = await standIn(t);
  for (let i = 0; i < 5; i++) api.apply('pods', podObject({ name: `p-${i}`, namespace: 'shop', nodeName: 'n1' }));
  api.apply('pods', podObject({ name: 'other', namespace: 'shop', nodeName: 'n2' }));
  const client = clientFor(api);
  t.after(() => client.close());
  const names: string[] = [];
  let next: string | undefined;
  const versions = new Set<string | undefined>();
  for (let page = 0; page < 10; page++) {
    const got = await client.list('/api/v1/pods', { fieldSelector: 'spec.nodeName=n1', limit: 2, continue: next });
    names.push(...got.items.map((i) => (i as { metadata: { name: string } }).metadata.name));
    versions.add(got.metadata?.resourceVersion);
    next = got.metadata?.continue;
    if (!next) break;
  }
  assert.deepEqual(names, ['p-0', 'p-1', 'p-2', 'p-3', 'p-4']);
  assert.equal(versions.size, 1);
  const lists = api.requests('pods').filter((r) => r.verb === 'list');
  assert.equal(lists.length, 3);
  assert.equal(lists[0]!.authorization, `Bearer ${api.token}`);
  assert.deepEqual(lists[0]!.query, { fieldSelector: 'spec.nodeName=n1', limit: '2' });
});

test('a collection lists in pages of 500 and reports each pod once', async (t) => {
  const api = await standIn(t);
  for (let i = 0; i < 1203; i++) api.apply('pods', podObject({ name: `p-${String(i).padStart(4, '0')}`, namespace: 'shop', nodeName: 'n1' }));
  const client = clientFor(api);
  const c = podCollection(t, client);
  c.collection.start();
  await waitUntil(() => c.collection.synced && api.openWatches('pods') === 1, DEADLINE_MS, 'listed and watching');
  assert.equal(c.upserts.length, 1203);
  assert.equal(new Set(c.upserts).size, 1203);
  assert.equal(api.requestCounts('pods').lists, 3);
  const watch = api.requests('pods').find((r) => r.verb === 'watch')!;
  assert.equal(watch.query.resourceVersion, api.resourceVersion);
  assert.equal(watch.query.allowWatchBookmarks, 'true');
  assert.equal(watch.query.timeoutSeconds, '60');
});

test('watch lines split across chunks (a line in many chunks, many lines in one, a UTF-8 character cut)', async (t) => {
  const events = [
    { type: 'ADDED', object: { metadata: { name: 'café-☕', resourceVersion: '7' } } },
    { type: 'MODIFIED', object: { metadata: { name: 'b', resourceVersion: '8' } } },
    { type: 'DELETED', object: { metadata: { name: 'c', resourceVersion: '9' } } },
  ];
  const bytes = Buffer.from(events.map((e) => JSON.stringify(e) + '\n').join(''));
  // Unit: every split point of the stream into two chunks, and one byte at a time.
  for (let cut = 0; cut <= bytes.length; cut++) {
    const got: string[] = [];
    const splitter = new LineSplitter((l) => got.push(l));
    splitter.push(bytes.subarray(0, cut));
    splitter.push(bytes.subarray(cut));
    splitter.end();
    assert.deepEqual(got.map((l) => JSON.parse(l)), events, `cut at ${cut}`);
  }
  // Through the client: a server that writes the response 3 bytes at a time, each flushed.
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    let at = 0;
    const next = () => {
      if (at >= bytes.length) return res.end();
      res.write(bytes.subarray(at, at + 3));
      at += 3;
      setTimeout(next, 1);
    };
    next();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new KubeHttpClient(url, new StaticAuthorizer({ server: url }));
  const got: { type: WatchEventType; object: unknown }[] = [];
  const ended = new Promise<Error | undefined>((resolve) => void client.watch('/api/v1/pods', {}, (type, object) => got.push({ type, object }), resolve));
  assert.equal(await ended, undefined, 'a watch the server ends cleanly ends without an error');
  assert.deepEqual(got, events);
});

test('bookmarks move the watch position: the next watch resumes from the bookmark, no relist, no events', async (t) => {
  const api = await standIn(t);
  api.apply('pods', podObject({ name: 'a', namespace: 'shop', nodeName: 'n1' }));
  const c = podCollection(t, clientFor(api));
  c.collection.start();
  await waitUntil(() => c.collection.synced && api.openWatches('pods') === 1, DEADLINE_MS, 'watching');
  api.apply('services', { metadata: { name: 's', namespace: 'shop' }, spec: { clusterIP: '198.18.0.9' } }); // moves the resourceVersion only
  const bookmark = api.resourceVersion;
  assert.equal(api.sendBookmarks(), 1);
  api.closeWatches();
  await waitUntil(() => api.requestCounts('pods').watches === 2, DEADLINE_MS, 're-watched');
  assert.equal(api.requests('pods').filter((r) => r.verb === 'watch')[1]!.query.resourceVersion, bookmark);
  assert.equal(api.requestCounts('pods').lists, 1);
  assert.deepEqual(c.upserts, ['a']);
  assert.deepEqual(c.removes, []);
});

test('410 Gone on an open watch: relist, a pod gone meanwhile reported removed, unchanged ones not reported again', async (t) => {
  const api = await standIn(t);
  api.apply('pods', podObject({ name: 'stays', namespace: 'shop', nodeName: 'n1' }));
  api.apply('pods', podObject({ name: 'goes', namespace: 'shop', nodeName: 'n1' }));
  const c = podCollection(t, clientFor(api));
  c.collection.start();
  await waitUntil(() => c.collection.synced && api.openWatches('pods') === 1, DEADLINE_MS, 'watching');
  // Gone while the watch is open, and the history compacted: the relist is the only way to know.
  api.dropWatches();
  api.remove('pods', 'shop', 'goes');
  api.apply('pods', podObject({ name: 'new', namespace: 'shop', nodeName: 'n1' }));
  api.expireHistory();
  await waitUntil(() => c.lines.some((l) => /relisted 2 \(the watch's resourceVersion had expired: 410 Gone\)/.test(l)), DEADLINE_MS, 'relisted', () => c.lines.join('\n'));
  await waitUntil(() => api.openWatches('pods') === 1, DEADLINE_MS, 'watching again');
  assert.deepEqual(c.removes, ['goes']);
  assert.deepEqual(c.upserts.sort(), ['goes', 'new', 'stays']);
  // The same through an ERROR event with code 410 on an open watch.
  api.apply('pods', podObject({ name: 'third', namespace: 'shop', nodeName: 'n1' }));
  await waitUntil(() => c.upserts.includes('third'), DEADLINE_MS, 'watched');
  const lists = api.requestCounts('pods').lists;
  api.expireHistory();
  api.sendGoneToWatches();
  await waitUntil(() => api.requestCounts('pods').lists > lists && api.openWatches('pods') === 1, DEADLINE_MS, 'relisted after the ERROR event');
  assert.deepEqual(c.removes, ['goes']);
  assert.equal(c.upserts.filter((n) => n === 'third').length, 1, 'an unchanged pod is not reported again');
});

test('a dropped watch connection is retried with backoff and resumes without a relist; 403 says what to grant', async (t) => {
  const api = await standIn(t);
  const c = podCollection(t, clientFor(api));
  c.collection.start();
  await waitUntil(() => c.collection.synced && api.openWatches('pods') === 1, DEADLINE_MS, 'watching');
  api.forbid('pods');
  api.dropWatches();
  await waitUntil(() => c.lines.some((l) => /WARN.*pods: forbidden \(HTTP 403: pods is forbidden: .*\): the agent's service account needs get, list and watch on pods/.test(l)), DEADLINE_MS, '403 logged', () => c.lines.join('\n'));
  api.forbid('pods', false);
  await waitUntil(() => api.openWatches('pods') === 1 && c.lines.some((l) => /pods: recovered after \d+ failed attempt/.test(l)), DEADLINE_MS, 'recovered', () => c.lines.join('\n'));
  assert.equal(api.requestCounts('pods').lists, 1);
});

test('the token file is re-read when its copy is older than the refresh interval (bound tokens rotate)', async (t) => {
  const api = await standIn(t);
  const dir = tempDir(t);
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'first-token\n');
  let now = 1_000_000;
  const client = new KubeHttpClient(api.url, new StaticAuthorizer({ server: api.url, tokenFile }, 60_000, () => now));
  t.after(() => client.close());
  await client.list('/api/v1/pods', {});
  writeFileSync(tokenFile, 'second-token\n');
  now += 59_999;
  await client.list('/api/v1/pods', {});
  now += 1;
  await client.list('/api/v1/pods', {});
  rmSync(tokenFile); // mid-rotation: the last token read stays in use
  now += 60_000;
  await client.list('/api/v1/pods', {});
  assert.deepEqual(
    api.requests('pods').map((r) => r.authorization),
    ['Bearer first-token', 'Bearer first-token', 'Bearer second-token', 'Bearer second-token'],
  );
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate (CN tcpscope-agent), by openssl. */
function certificates(dir: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=tcpscope-test-ca');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const [name, subject, ext] of [['server', '/CN=kube-apiserver', ['-extfile', 'server.ext']], ['client', '/CN=tcpscope-agent', []]] as const) {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...ext);
  }
  const file = (name: string) => readFileSync(join(dir, name));
  return { ca: file('ca.crt'), serverCert: file('server.crt'), serverKey: file('server.key'), clientCert: file('client.crt'), clientKey: file('client.key') };
}

test('a kubeconfig with CA data and client certificate data: TLS verified both ways, through our client', async (t) => {
  const dir = tempDir(t);
  const certs = certificates(dir);
  const seen: string[] = [];
  const server = https.createServer({ key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    seen.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '5' }, items: [{ metadata: { name: 'x' } }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = join(dir, 'config');
  const b64 = (b: Buffer) => b.toString('base64');
  writeFileSync(
    kubeconfig,
    toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'tls', cluster: { server: url, 'certificate-authority-data': b64(certs.ca) } }],
      users: [{ name: 'agent', user: { 'client-certificate-data': b64(certs.clientCert), 'client-key-data': b64(certs.clientKey) } }],
      contexts: [{ name: 'tls', context: { cluster: 'tls', user: 'agent' } }],
      'current-context': 'tls',
    }),
  );
  const access = resolveKubeAccess('kubeConfig', 'k', env(kubeconfig));
  assert.equal(access.mode, 'api');
  if (access.mode !== 'api') return;
  assert.equal(access.source, `kubeconfig ${kubeconfig} (context tls)`);
  const page = await access.api.list('/api/v1/pods', { limit: 500 });
  assert.deepEqual(page, { metadata: { resourceVersion: '5' }, items: [{ metadata: { name: 'x' } }] });
  assert.deepEqual(seen, ['tcpscope-agent']);
  // The same files by path (relative to the kubeconfig's directory), and a CA that did not sign the server: refused.
  const other = join(dir, 'other');
  writeFileSync(
    other,
    toYaml({
      clusters: [{ name: 'tls', cluster: { server: url, 'certificate-authority': 'client.crt' } }],
      users: [{ name: 'agent', user: { 'client-certificate': 'client.crt', 'client-key': 'client.key' } }],
      contexts: [{ name: 'tls', context: { cluster: 'tls', user: 'agent' } }],
      'current-context': 'tls',
    }),
  );
  const wrongCa = resolveKubeAccess('kubeConfig', 'k', env(other));
  if (wrongCa.mode !== 'api') return assert.fail('api mode expected');
  await assert.rejects(wrongCa.api.list('/api/v1/pods', {}), (e: NodeJS.ErrnoException) => /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|unable to verify/i.test(`${e.code} ${e.message}`));
  assert.deepEqual(seen, ['tcpscope-agent']);
});

test('the in-cluster service account: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, its CA and its token', async (t) => {
  const dir = tempDir(t);
  const certs = certificates(dir);
  const seen: (string | undefined)[] = [];
  const server = https.createServer({ key: certs.serverKey, cert: certs.serverCert }, (req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'NodeList', metadata: { resourceVersion: '3' }, items: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const account = join(dir, 'serviceaccount');
  mkdirSync(account);
  writeFileSync(join(account, 'ca.crt'), certs.ca);
  writeFileSync(join(account, 'token'), 'bound-token\n');
  const credentials = inClusterCredentials({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String((server.address() as AddressInfo).port) }, account);
  assert.equal(credentials.server, `https://127.0.0.1:${(server.address() as AddressInfo).port}`);
  assert.equal(inClusterCredentials({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }).server, 'https://[fd00::1]:443');
  const client = new KubeHttpClient(credentials.server, new StaticAuthorizer(credentials));
  t.after(() => client.close());
  assert.deepEqual(await client.list('/api/v1/nodes', {}), { metadata: { resourceVersion: '3' }, items: [] });
  assert.deepEqual(seen, ['Bearer bound-token']);
});

test('$KUBECONFIG with several files merges as kubectl does: the first to set a name or the current context wins', async (t) => {
  const api = await standIn(t);
  const dir = tempDir(t);
  const first = join(dir, 'first');
  const second = join(dir, 'second');
  writeFileSync(first, toYaml({ users: [{ name: 'agent', user: { token: 'from-first' } }], 'current-context': 'ctx' }));
  writeFileSync(
    second,
    toYaml({
      clusters: [{ name: 'c', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'agent', user: { token: 'from-second' } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'agent' } }, { name: 'other', context: { cluster: 'c', user: 'agent' } }],
      'current-context': 'other',
    }),
  );
  const access = resolveKubeAccess('auto', 'k', env(`${first}:${second}`));
  if (access.mode !== 'api') return assert.fail('api mode expected');
  assert.equal(access.kubeConfig.getCurrentCluster()?.server, api.url);
  assert.equal(access.source, `kubeconfig ${first}:${second} (context ctx)`);
  await access.api.list('/api/v1/nodes', {});
  assert.equal(api.requests('nodes')[0]!.authorization, 'Bearer from-first');
});

test('a kubeconfig whose user runs an exec plugin goes through client-node, and says so', async (t) => {
  const api = await standIn(t);
  const dir = tempDir(t);
  const plugin = join(dir, 'plugin.js');
  writeFileSync(plugin, `process.stdout.write(JSON.stringify({apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: {token: 'exec-token'}}));\n`);
  const kubeconfig = join(dir, 'config');
  writeFileSync(
    kubeconfig,
    toYaml({
      clusters: [{ name: 'stand-in', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'agent', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [plugin], interactiveMode: 'Never' } } }],
      contexts: [{ name: 'exec', context: { cluster: 'stand-in', user: 'agent' } }],
      'current-context': 'exec',
    }),
  );
  const access = resolveKubeAccess('kubeConfig', 'k', env(kubeconfig));
  if (access.mode !== 'api') return assert.fail('api mode expected');
  assert.equal(access.source, `kubeconfig ${kubeconfig} (context exec; user credentials from an exec plugin, run through @kubernetes/client-node)`);
  api.apply('pods', podObject({ name: 'a', namespace: 'shop', nodeName: 'n1' }));
  const page = await access.api.list('/api/v1/pods', {});
  assert.equal(page.items.length, 1);
  assert.equal(api.requests('pods')[0]!.authorization, 'Bearer exec-token');
});
