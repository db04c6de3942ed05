// Where the Kubernetes API is, decided once at start-up. client-node's own loadFromDefault() would
// fall back to http://localhost:8080 when nothing is configured; a host agent must instead fall
// back to local mode (container.id from cgroup paths), so the files are checked here first.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../../errors';
import type { AuthType } from './config';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export type KubeAccess =
  | { readonly mode: 'api'; readonly kubeConfig: KubeConfig; readonly source: string }
  | { readonly mode: 'local'; readonly reason: string };

export interface AccessEnvironment {
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
  readonly exists: (path: string) => boolean;
}

const HOST_ENVIRONMENT: AccessEnvironment = { env: process.env, home: homedir(), exists: existsSync };

/**
 * client-node is an ES module of 800-odd exports that takes ~0.6 s to load: only agents that
 * talk to an API server pay for it. (Node >= 20.19 loads ES modules through require().)
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

/** @param keyPath the auth_type key, for errors (e.g. `processors.k8s_attributes.auth_type`). */
export function resolveKubeAccess(authType: AuthType, keyPath: string, environment: AccessEnvironment = HOST_ENVIRONMENT): KubeAccess {
  if (authType === 'none') return { mode: 'local', reason: 'auth_type is none' };
  const useServiceAccount = authType === 'serviceAccount' || (authType === 'auto' && inCluster(environment));
  if (useServiceAccount) {
    if (!inCluster(environment)) {
      throw new ConfigError(keyPath, `is serviceAccount, but this is not a pod with a service account (needs $KUBERNETES_SERVICE_HOST and ${SERVICE_ACCOUNT_DIR}/token); use auto or kubeConfig`);
    }
    const kubeConfig = new (loadClientNode().KubeConfig)();
    kubeConfig.loadFromCluster();
    return { mode: 'api', kubeConfig, source: 'in-cluster service account' };
  }
  const files = kubeconfigFiles(environment);
  if (files.length === 0) {
    if (authType === 'kubeConfig') {
      throw new ConfigError(keyPath, `is kubeConfig, but there is no kubeconfig file (looked at ${environment.env.KUBECONFIG ? `$KUBECONFIG=${environment.env.KUBECONFIG}` : join(environment.home, '.kube', 'config')})`);
    }
    return { mode: 'local', reason: 'no in-cluster service account and no kubeconfig' };
  }
  let kubeConfig: KubeConfig;
  try {
    // Several $KUBECONFIG files merge, as kubectl merges them.
    const [first, ...rest] = files.map(loadKubeconfigFile);
    for (const other of rest) first.mergeConfig(other);
    kubeConfig = first;
  } catch (error) {
    throw new ConfigError(keyPath, `cannot read kubeconfig ${files.join(delimiter)}: ${(error as Error).message}`, { cause: error });
  }
  if (!kubeConfig.getCurrentCluster()) throw new ConfigError(keyPath, `kubeconfig ${files.join(delimiter)} has no current context with a cluster`);
  return { mode: 'api', kubeConfig, source: `kubeconfig ${files.join(delimiter)} (context ${kubeConfig.getCurrentContext()})` };
}

function loadKubeconfigFile(file: string): KubeConfig {
  const kubeConfig = new (loadClientNode().KubeConfig)();
  kubeConfig.loadFromFile(file);
  return kubeConfig;
}
