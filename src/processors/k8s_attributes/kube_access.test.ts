import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../errors';
import { resolveKubeAccess, SERVICE_ACCOUNT_DIR, type AccessEnvironment } from './kube_access';

const KEY = 'processors.k8s_attributes.auth_type';
const dir = mkdtempSync(join(tmpdir(), 'tcpscope-kubeconfig-'));
// Removed after the last test of this file, whether the tests passed or not.
after(() => rmSync(dir, { recursive: true, force: true }));
const kubeconfig = join(dir, 'config');
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "http://127.0.0.1:6443"}}]
users: [{name: agent, user: {token: secret}}]
contexts: [{name: test, context: {cluster: test, user: agent}}]
current-context: test
`,
);

const environment = (env: NodeJS.ProcessEnv, files: string[]): AccessEnvironment => ({ env, home: '/nonexistent-home', exists: (p) => files.includes(p) });

test('auto without a service account or kubeconfig is local mode, and says why', () => {
  const access = resolveKubeAccess('auto', KEY, environment({}, []));
  assert.deepEqual(access, { mode: 'local', reason: 'no in-cluster service account and no kubeconfig' });
  assert.equal(resolveKubeAccess('none', KEY, environment({ KUBECONFIG: kubeconfig }, [kubeconfig])).mode, 'local');
});

test('auto with $KUBECONFIG uses it (a real file)', () => {
  const access = resolveKubeAccess('auto', KEY, environment({ KUBECONFIG: kubeconfig }, [kubeconfig]));
  assert.equal(access.mode, 'api');
  if (access.mode !== 'api') return;
  assert.equal(access.kubeConfig.getCurrentCluster()?.server, 'http://127.0.0.1:6443');
  assert.match(access.source, /kubeconfig .*config \(context test\)/);
});

test('auto in a pod prefers the service account', () => {
  const env = { KUBERNETES_SERVICE_HOST: '198.18.0.1', KUBERNETES_SERVICE_PORT: '443', KUBECONFIG: kubeconfig };
  const exists = [join(SERVICE_ACCOUNT_DIR, 'token'), kubeconfig];
  // loadFromCluster reads the token and CA lazily: building the config must not need them.
  const access = resolveKubeAccess('auto', KEY, environment(env, exists));
  assert.equal(access.mode, 'api');
  if (access.mode === 'api') assert.equal(access.source, 'in-cluster service account');
});

test('an explicit auth_type that cannot be met is a config error naming the key and the need', () => {
  assert.throws(() => resolveKubeAccess('serviceAccount', KEY, environment({}, [])), (e: unknown) => e instanceof ConfigError && /auth_type: is serviceAccount, but .*KUBERNETES_SERVICE_HOST/.test(e.message));
  assert.throws(() => resolveKubeAccess('kubeConfig', KEY, environment({}, [])), (e: unknown) => e instanceof ConfigError && /no kubeconfig file \(looked at \/nonexistent-home\/.kube\/config\)/.test(e.message));
  const broken = join(dir, 'broken');
  writeFileSync(broken, 'apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n');
  assert.throws(() => resolveKubeAccess('kubeConfig', KEY, environment({ KUBECONFIG: broken }, [broken])), (e: unknown) => e instanceof ConfigError && /has no current context with a cluster/.test(e.message));
});
