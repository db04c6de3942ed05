// Where the Kubernetes API is, decided once at start-up. client-node's own loadFromDefault() would
// fall back to http://localhost:8080 when nothing is configured; a host agent must instead fall
// back to local mode (container.id from cgroup paths), so the files are checked here first.
//
// The agent talks to the API with its own small client (kube_client.ts) for the in-cluster service
// account and for kubeconfigs with static credentials. Only a kubeconfig whose user runs an exec
// plugin or an auth provider (cloud logins: aws, gke-gcloud-auth-plugin, kubelogin ...) loads
// @kubernetes/client-node, which runs them; it costs ~60 MB of RSS.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../../errors';
import type { AuthType } from './config';
import { KubeHttpClient, type Authorizer, type KubeApi } from './kube_client';
import { currentTarget, inClusterCredentials, readKubeconfigs, SERVICE_ACCOUNT_DIR, StaticAuthorizer, type StaticCredentials } from './kube_client_config';

export { SERVICE_ACCOUNT_DIR };

/** What the API side is and how it was chosen (for messages and tests). */
export interface KubeTarget {
  getCurrentCluster(): { readonly name: string; readonly server: string } | undefined;
  getCurrentContext(): string;
}

export type KubeAccess =
  | { readonly mode: 'api'; readonly kubeConfig: KubeTarget; readonly api: KubeApi; readonly source: string }
  | { readonly mode: 'local'; readonly reason: string };

export interface AccessEnvironment {
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
  readonly exists: (path: string) => boolean;
}

const HOST_ENVIRONMENT: AccessEnvironment = { env: process.env, home: homedir(), exists: existsSync };

/**
 * client-node is an ES module of 800-odd exports that takes ~0.6 s and ~60 MB to load: only
 * kubeconfigs with exec plugins or auth providers pay for it. (Node >= 20.19 loads ES modules
 * through require().)
 */
export function loadClientNode(): typeof import('@kubernetes/client-node') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
}

function inCluster(environment: AccessEnvironment): boolean {
  return !!environment.env.KUBERNETES_SERVICE_HOST && environment.exists(join(SERVICE_ACCOUNT_DIR, 'token'));
}

function kubeconfigFiles(environment: AccessEnvironment): string[] {
  const fromEnv = (environment.env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  const candidates = fromEnv.length ? fromEnv : [join(environment.home, '.kube', 'config')];
  return candidates.filter((file) => environment.exists(file));
}

const target = (cluster: string, server: string, context: string): KubeTarget => ({
  getCurrentCluster: () => ({ name: cluster, server }),
  getCurrentContext: () => context,
});

/** @param keyPath the auth_type key, for errors (e.g. `processors.k8s_attributes.auth_type`). */
export function resolveKubeAccess(authType: AuthType, keyPath: string, environment: AccessEnvironment = HOST_ENVIRONMENT): KubeAccess {
  if (authType === 'none') return { mode: 'local', reason: 'auth_type is none' };
  const useServiceAccount = authType === 'serviceAccount' || (authType === 'auto' && inCluster(environment));
  if (useServiceAccount) {
    if (!inCluster(environment)) {
      throw new ConfigError(keyPath, `is serviceAccount, but this is not a pod with a service account (needs $KUBERNETES_SERVICE_HOST and ${SERVICE_ACCOUNT_DIR}/token); use auto or kubeConfig`);
    }
    // The token and CA are read at the first request (and the token again as it rotates).
    const credentials = inClusterCredentials(environment.env);
    return { mode: 'api', kubeConfig: target('inCluster', credentials.server, 'inClusterContext'), api: new KubeHttpClient(credentials.server, new StaticAuthorizer(credentials)), source: 'in-cluster service account' };
  }
  const files = kubeconfigFiles(environment);
  if (files.length === 0) {
    if (authType === 'kubeConfig') {
      throw new ConfigError(keyPath, `is kubeConfig, but there is no kubeconfig file (looked at ${environment.env.KUBECONFIG ? `$KUBECONFIG=${environment.env.KUBECONFIG}` : join(environment.home, '.kube', 'config')})`);
    }
    return { mode: 'local', reason: 'no in-cluster service account and no kubeconfig' };
  }
  let chosen: ReturnType<typeof currentTarget>;
  try {
    // Several $KUBECONFIG files merge, as kubectl merges them.
    chosen = currentTarget(readKubeconfigs(files));
  } catch (error) {
    throw new ConfigError(keyPath, `cannot read kubeconfig ${files.join(delimiter)}: ${(error as Error).message}`, { cause: error });
  }
  if (!chosen) throw new ConfigError(keyPath, `kubeconfig ${files.join(delimiter)} has no current context with a cluster`);
  const where = `kubeconfig ${files.join(delimiter)} (context ${chosen.context}`;
  if (chosen.kind === 'static') {
    const api = new KubeHttpClient(chosen.credentials.server, new StaticAuthorizer(chosen.credentials));
    return { mode: 'api', kubeConfig: target(chosen.cluster, chosen.credentials.server, chosen.context), api, source: `${where})` };
  }
  let kubeConfig: KubeConfig;
  try {
    const [first, ...rest] = files.map(loadKubeconfigFile);
    for (const other of rest) first.mergeConfig(other);
    kubeConfig = first;
  } catch (error) {
    throw new ConfigError(keyPath, `cannot read kubeconfig ${files.join(delimiter)}: ${(error as Error).message}`, { cause: error });
  }
  return {
    mode: 'api',
    kubeConfig: target(chosen.cluster, chosen.server, chosen.context),
    api: new KubeHttpClient(chosen.server, clientNodeAuthorizer(kubeConfig)),
    source: `${where}; user credentials from an ${chosen.plugin === 'exec' ? 'exec plugin' : 'auth provider'}, run through @kubernetes/client-node)`,
  };
}

function loadKubeconfigFile(file: string): KubeConfig {
  const kubeConfig = new (loadClientNode().KubeConfig)();
  kubeConfig.loadFromFile(file);
  return kubeConfig;
}

/** client-node runs the exec plugin or auth provider (and caches its token until it expires). */
function clientNodeAuthorizer(kubeConfig: KubeConfig): Authorizer {
  return { authorize: (options) => kubeConfig.applyToHTTPSOptions(options) };
}

/**
 * A KubeApi for a client-node KubeConfig a caller already has (tests build them): static
 * credentials go through the agent's own client; exec plugins and auth providers through client-node.
 */
export function kubeApiFromKubeConfig(kubeConfig: KubeConfig): KubeApi {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('KubeConfig has no current cluster');
  const user = kubeConfig.getCurrentUser();
  if (user?.exec || user?.authProvider) return new KubeHttpClient(cluster.server, clientNodeAuthorizer(kubeConfig));
  const material = (data?: string, file?: string) => (data ? { data: Buffer.from(data, 'base64') } : file ? { file } : undefined);
  const ca = material(cluster.caData, cluster.caFile);
  const cert = material(user?.certData, user?.certFile);
  const key = material(user?.keyData, user?.keyFile);
  const credentials: StaticCredentials = {
    server: cluster.server,
    ...(ca ? { ca } : {}),
    ...(cluster.skipTLSVerify ? { insecureSkipTlsVerify: true } : {}),
    ...(user?.token ? { token: user.token } : {}),
    ...(cert ? { clientCertificate: cert } : {}),
    ...(key ? { clientKey: key } : {}),
    ...(user?.username !== undefined ? { username: user.username, password: user.password ?? '' } : {}),
  };
  return new KubeHttpClient(cluster.server, new StaticAuthorizer(credentials));
}
