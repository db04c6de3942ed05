// Where the API server is and which credentials to present, for the agent's own client
// (kube_client.ts): the in-cluster service account, or a kubeconfig with static credentials.
// Kubeconfigs whose user runs an exec plugin or an auth provider are flagged, for client-node.
import { readFileSync } from 'node:fs';
import type * as https from 'node:https';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Authorizer } from './kube_client';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Bound service-account tokens rotate (the kubelet rewrites the file, by default hourly for a
 * token valid one hour or more): the file is read again when the copy is this old, as client-go does.
 */
export const TOKEN_REFRESH_MS = 60_000;

export type Material = { readonly data: Buffer } | { readonly file: string };

export interface StaticCredentials {
  readonly server: string;
  readonly ca?: Material;
  readonly insecureSkipTlsVerify?: boolean;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly clientCertificate?: Material;
  readonly clientKey?: Material;
  readonly username?: string;
  readonly password?: string;
}

function read(material: Material): Buffer {
  return 'data' in material ? material.data : readFileSync(material.file);
}

/** Static credentials: files read when first needed; the token file re-read every `refreshMs`. */
export class StaticAuthorizer implements Authorizer {
  private token?: { value: string; readAt: number };
  private tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };

  constructor(
    readonly credentials: StaticCredentials,
    private readonly refreshMs: number = TOKEN_REFRESH_MS,
    private readonly now: () => number = Date.now,
  ) {}

  authorize(options: https.RequestOptions): Promise<void> {
    const c = this.credentials;
    this.tls ??= {
      ...(c.ca ? { ca: read(c.ca) } : {}),
      ...(c.clientCertificate ? { cert: read(c.clientCertificate) } : {}),
      ...(c.clientKey ? { key: read(c.clientKey) } : {}),
    };
    if (this.tls.ca) options.ca = this.tls.ca;
    if (this.tls.cert) options.cert = this.tls.cert;
    if (this.tls.key) options.key = this.tls.key;
    if (c.insecureSkipTlsVerify) options.rejectUnauthorized = false;
    const token = this.currentToken();
    const headers = (options.headers ?? {}) as Record<string, string>;
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (c.username !== undefined) headers.Authorization = `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
    options.headers = headers;
    return Promise.resolve();
  }

  private currentToken(): string | undefined {
    const file = this.credentials.tokenFile;
    if (!file) return this.credentials.token;
    const now = this.now();
    if (!this.token || now - this.token.readAt >= this.refreshMs) {
      try {
        this.token = { value: readFileSync(file, 'utf8').trim(), readAt: now };
      } catch (error) {
        // A rotation in progress (the kubelet swaps a symlink): the last token read is still valid a while.
        if (!this.token) throw error;
      }
    }
    return this.token.value;
  }
}

/** The in-cluster service account, as client-go's rest.InClusterConfig reads it. */
export function inClusterCredentials(env: NodeJS.ProcessEnv, dir: string = SERVICE_ACCOUNT_DIR): StaticCredentials {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { server: `https://${hostPart}:${port}`, ca: { file: join(dir, 'ca.crt') }, tokenFile: join(dir, 'token') };
}

// ---- kubeconfig files ----

interface NamedCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
}
interface NamedUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
}
interface NamedContext {
  cluster?: string;
  user?: string;
}

interface Entry<T> {
  readonly value: T;
  /** The directory of the file it came from: relative paths in it are relative to that. */
  readonly dir: string;
}

/** Several kubeconfig files merged as kubectl merges $KUBECONFIG: the first file to set a name wins. */
export interface MergedKubeconfig {
  readonly files: readonly string[];
  readonly currentContext?: string;
  readonly clusters: ReadonlyMap<string, Entry<NamedCluster>>;
  readonly users: ReadonlyMap<string, Entry<NamedUser>>;
  readonly contexts: ReadonlyMap<string, Entry<NamedContext>>;
}

type RawFile = {
  'current-context'?: unknown;
  clusters?: { name?: unknown; cluster?: unknown }[];
  users?: { name?: unknown; user?: unknown }[];
  contexts?: { name?: unknown; context?: unknown }[];
};

export function readKubeconfigs(files: readonly string[], readText: (file: string) => string = (f) => readFileSync(f, 'utf8')): MergedKubeconfig {
  let currentContext: string | undefined;
  const clusters = new Map<string, Entry<NamedCluster>>();
  const users = new Map<string, Entry<NamedUser>>();
  const contexts = new Map<string, Entry<NamedContext>>();
  for (const file of files) {
    const raw = (parseYaml(readText(file)) ?? {}) as RawFile;
    if (typeof raw !== 'object') throw new Error(`${file}: not a kubeconfig (a YAML mapping)`);
    const dir = dirname(file);
    if (currentContext === undefined && typeof raw['current-context'] === 'string' && raw['current-context']) currentContext = raw['current-context'];
    const add = <T>(into: Map<string, Entry<T>>, list: unknown, field: string) => {
      if (list === undefined || list === null) return;
      if (!Array.isArray(list)) throw new Error(`${file}: ${field}s is not a list`);
      for (const item of list as Record<string, unknown>[]) {
        const name = item?.name;
        if (typeof name !== 'string') throw new Error(`${file}: a ${field} without a name`);
        if (!into.has(name)) into.set(name, { value: (item[field] ?? {}) as T, dir });
      }
    };
    add(clusters, raw.clusters, 'cluster');
    add(users, raw.users, 'user');
    add(contexts, raw.contexts, 'context');
  }
  return { files, ...(currentContext !== undefined ? { currentContext } : {}), clusters, users, contexts };
}

export type KubeconfigTarget =
  | { readonly kind: 'static'; readonly context: string; readonly cluster: string; readonly credentials: StaticCredentials }
  /** The user's credentials come from a program or a provider: client-node runs it. */
  | { readonly kind: 'plugin'; readonly context: string; readonly cluster: string; readonly server: string; readonly plugin: 'exec' | 'auth-provider' };

/** The current context's cluster and user; undefined when there is no current context with a cluster. */
export function currentTarget(config: MergedKubeconfig): KubeconfigTarget | undefined {
  const context = config.currentContext !== undefined ? config.contexts.get(config.currentContext) : undefined;
  const clusterName = context?.value.cluster;
  const cluster = clusterName !== undefined ? config.clusters.get(clusterName) : undefined;
  if (!context || !cluster || !cluster.value.server) return undefined;
  const user = context.value.user !== undefined ? config.users.get(context.value.user) : undefined;
  const u = user?.value ?? {};
  const base = { context: config.currentContext!, cluster: clusterName! };
  if (u.exec || u['auth-provider']) return { kind: 'plugin', ...base, server: cluster.value.server, plugin: u.exec ? 'exec' : 'auth-provider' };
  const path = (p: string, dir: string) => (isAbsolute(p) ? p : join(dir, p));
  const material = (data: string | undefined, file: string | undefined, dir: string): Material | undefined =>
    data ? { data: Buffer.from(data, 'base64') } : file ? { file: path(file, dir) } : undefined;
  const c = cluster.value;
  const userDir = user?.dir ?? '';
  const ca = material(c['certificate-authority-data'], c['certificate-authority'], cluster.dir);
  const cert = material(u['client-certificate-data'], u['client-certificate'], userDir);
  const key = material(u['client-key-data'], u['client-key'], userDir);
  const credentials: StaticCredentials = {
    server: c.server!,
    ...(ca ? { ca } : {}),
    ...(c['insecure-skip-tls-verify'] ? { insecureSkipTlsVerify: true } : {}),
    ...(u.token ? { token: u.token } : u.tokenFile ? { tokenFile: path(u.tokenFile, userDir) } : {}),
    ...(cert ? { clientCertificate: cert } : {}),
    ...(key ? { clientKey: key } : {}),
    ...(u.username !== undefined ? { username: u.username, password: u.password ?? '' } : {}),
  };
  return { kind: 'static', ...base, credentials };
}
