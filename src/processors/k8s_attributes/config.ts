// Config of the k8s_attributes processor. Shaped like the example and, where it has a
// counterpart, like the OpenTelemetry Collector's k8sattributes processor (auth_type, extract).
import type { Schema } from 'convict';
import type { SettingProblem } from '../../component';
import { ConfigError } from '../../errors';
import { durationFormat, type DurationSetting } from '../../exporters/duration';
import { resolveKubeAccess } from './kube_access';

/**
 * How to reach the Kubernetes API. `auto`: the in-cluster service account when the agent runs in
 * a pod, else $KUBECONFIG or ~/.kube/config when one exists, else none (local mode).
 */
export const AUTH_TYPES = ['auto', 'serviceAccount', 'kubeConfig', 'none'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

export interface K8sAttributesConfig {
  auth_type: AuthType;
  /** This node's name: only its pods are watched for the local side. Empty: the host name. */
  node_name: string;
  peer: { enabled: boolean };
  extract: { labels: string[]; annotations: string[] };
  /** How long a deleted pod stays resolvable, so the close events of its connections are enriched. */
  deletion_grace_period: DurationSetting;
}

// Label and annotation keys: an optional DNS-subdomain prefix and a name (Kubernetes' syntax).
const METADATA_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function metadataKeys(value: unknown): void {
  if (!Array.isArray(value)) throw new Error(`must be a list of label or annotation keys`);
  const bad = value.find((key) => typeof key !== 'string' || !METADATA_KEY.test(key) || key.length > 316);
  if (bad !== undefined) throw new Error(`has ${JSON.stringify(bad)}, which is not a Kubernetes label or annotation key (e.g. app, app.kubernetes.io/name)`);
}

export const k8sAttributesSchema: Schema<K8sAttributesConfig> = {
  auth_type: {
    doc: 'How to reach the Kubernetes API: auto (service account in a pod, else $KUBECONFIG or ~/.kube/config, else none), serviceAccount, kubeConfig, or none (container.id and k8s.pod.uid from cgroup paths only).',
    format: [...AUTH_TYPES],
    default: 'auto',
  },
  node_name: {
    doc: "The node whose pods are watched (field selector spec.nodeName). Set it from the downward API (env K8S_NODE_NAME); empty means this host's name.",
    format: String,
    default: '',
  },
  peer: {
    enabled: {
      doc: 'Resolve network.peer.address to peer.k8s.* (pod, service, node) from cluster-wide watches of pods, services and nodes. Switch off in very large clusters to save memory and API load.',
      format: Boolean,
      default: true,
    },
  },
  extract: {
    labels: {
      doc: 'Pod labels to add, each as k8s.pod.label.<key>.',
      format: metadataKeys,
      default: [] as string[],
    },
    annotations: {
      doc: 'Pod annotations to add, each as k8s.pod.annotation.<key>.',
      format: metadataKeys,
      default: [] as string[],
    },
  },
  deletion_grace_period: {
    doc: 'How long a deleted pod stays resolvable, so that the close events of its last connections are still enriched ("2m", "30s" or milliseconds).',
    format: durationFormat(0),
    default: '2m',
  },
};

/**
 * The k8s_attributes factory's validate(): whether auth_type can be honoured on this host (a
 * service account, a readable kubeconfig with a current cluster), checked as create() will check
 * it, so that `tcpscope validate` refuses what `tcpscope run` would.
 */
export function validateK8sAttributesConfig(config: K8sAttributesConfig): SettingProblem | undefined {
  try {
    resolveKubeAccess(config.auth_type, '');
  } catch (error) {
    if (error instanceof ConfigError) return { key: 'auth_type', message: error.message };
    throw error;
  }
  return undefined;
}
