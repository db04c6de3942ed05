// The collections k8s_attributes watches, and what it keeps of each object. Lists and watch
// events are the API's plain JSON (kube_client.ts); one trim function serves both.
import type { PodObject } from './pod_store';
import type { CollectionSpec, KubeObject } from './watched_collection';

interface OwnerReference {
  kind?: string;
  name?: string;
  controller?: boolean;
}

interface Metadata {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface TrimmedPod extends KubeObject, PodObject {
  metadata: Metadata;
}
export interface TrimmedService extends KubeObject {
  metadata: Metadata;
  spec: { clusterIPs: string[] };
}
export interface TrimmedNode extends KubeObject {
  metadata: Metadata;
  status: { addresses: string[] };
}
/** A ReplicaSet or a Job: only who controls it matters (its Deployment, its CronJob). */
export interface TrimmedOwned extends KubeObject {
  metadata: Metadata & { controller?: { kind: string; name: string } };
}

type Raw = {
  metadata?: Metadata;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

function baseMetadata(raw: Raw): Metadata {
  const m = raw.metadata ?? {};
  return { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
}

function controllerOf(raw: Raw): { kind: string; name: string } | undefined {
  const owner = raw.metadata?.ownerReferences?.find((o) => o.controller && o.kind && o.name);
  return owner ? { kind: owner.kind!, name: owner.name! } : undefined;
}

type ContainerStatus = { name?: string; image?: string; containerID?: string };

/**
 * Pods of this node: everything the local side names (containers, owner, the labels and
 * annotations asked for). `keep` lists the annotation keys to keep; others are dropped. Labels
 * are all kept (small, and what pod selectors match on).
 */
export function trimLocalPod(keep: { labels: readonly string[]; annotations: readonly string[] }): (object: unknown) => TrimmedPod {
  return (object) => {
    const raw = object as Raw;
    const spec = (raw.spec ?? {}) as { nodeName?: string; hostNetwork?: boolean };
    const status = (raw.status ?? {}) as { podIP?: string; podIPs?: { ip?: string }[]; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
    const statuses = (list?: ContainerStatus[]) => list?.map((s) => ({ name: s.name, image: s.image, containerID: s.containerID }));
    return {
      metadata: {
        ...baseMetadata(raw),
        // Every label, not only those extracted: packet_capture selects this node's pods by any
        // label (`tcpscope capture start --selector`); enrichment adds only the extracted ones.
        labels: raw.metadata?.labels ? { ...raw.metadata.labels } : undefined,
        annotations: pick(raw.metadata?.annotations, keep.annotations),
        ownerReferences: raw.metadata?.ownerReferences?.map((o) => ({ kind: o.kind, name: o.name, controller: o.controller })),
      },
      spec: { nodeName: spec.nodeName, hostNetwork: spec.hostNetwork },
      status: {
        podIP: status.podIP,
        podIPs: status.podIPs?.map((p) => ({ ip: p.ip })),
        containerStatuses: statuses(status.containerStatuses),
        initContainerStatuses: statuses(status.initContainerStatuses),
      },
    };
  };
}

/** Pods of the whole cluster, for the peer side: name, namespace, node and IPs only. */
export function trimPeerPod(object: unknown): TrimmedPod {
  const raw = object as Raw;
  const spec = (raw.spec ?? {}) as { nodeName?: string; hostNetwork?: boolean };
  const status = (raw.status ?? {}) as { podIP?: string; podIPs?: { ip?: string }[] };
  return {
    metadata: baseMetadata(raw),
    spec: { nodeName: spec.nodeName, hostNetwork: spec.hostNetwork },
    status: { podIP: status.podIP, podIPs: status.podIPs?.map((p) => ({ ip: p.ip })) },
  };
}

export function trimService(object: unknown): TrimmedService {
  const raw = object as Raw;
  const spec = (raw.spec ?? {}) as { clusterIP?: string; clusterIPs?: string[] };
  // Headless services (clusterIP None) have no address of their own: their clients see pod IPs.
  const clusterIPs = [...new Set([spec.clusterIP, ...(spec.clusterIPs ?? [])])].filter((ip): ip is string => !!ip && ip !== 'None');
  return { metadata: baseMetadata(raw), spec: { clusterIPs } };
}

export function trimNode(object: unknown): TrimmedNode {
  const raw = object as Raw;
  const addresses = ((raw.status ?? {}) as { addresses?: { type?: string; address?: string }[] }).addresses ?? [];
  // InternalIP / ExternalIP; Hostname and InternalDNS entries are names, not peer addresses.
  const ips = addresses.filter((a) => (a.type === 'InternalIP' || a.type === 'ExternalIP') && a.address).map((a) => a.address!);
  return { metadata: baseMetadata(raw), status: { addresses: [...new Set(ips)] } };
}

export function trimOwned(object: unknown): TrimmedOwned {
  const raw = object as Raw;
  const controller = controllerOf(raw);
  return { metadata: { ...baseMetadata(raw), ...(controller ? { controller } : {}) } };
}

function pick(from: Record<string, string> | undefined, keys: readonly string[]): Record<string, string> | undefined {
  if (!from || keys.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out;
}

export function localPodsSpec(nodeName: string, keep: { labels: readonly string[]; annotations: readonly string[] }): CollectionSpec<TrimmedPod> {
  return {
    resource: 'pods',
    apiGroup: '',
    path: '/api/v1/pods',
    fieldSelector: `spec.nodeName=${nodeName}`,
    trim: trimLocalPod(keep),
  };
}

export const PEER_PODS_SPEC: CollectionSpec<TrimmedPod> = {
  resource: 'pods',
  apiGroup: '',
  path: '/api/v1/pods',
  trim: trimPeerPod,
};

export const SERVICES_SPEC: CollectionSpec<TrimmedService> = {
  resource: 'services',
  apiGroup: '',
  path: '/api/v1/services',
  trim: trimService,
};

export const NODES_SPEC: CollectionSpec<TrimmedNode> = {
  resource: 'nodes',
  apiGroup: '',
  path: '/api/v1/nodes',
  trim: trimNode,
};

export const REPLICA_SETS_SPEC: CollectionSpec<TrimmedOwned> = {
  resource: 'replicasets',
  apiGroup: 'apps',
  path: '/apis/apps/v1/replicasets',
  trim: trimOwned,
};

export const JOBS_SPEC: CollectionSpec<TrimmedOwned> = {
  resource: 'jobs',
  apiGroup: 'batch',
  path: '/apis/batch/v1/jobs',
  trim: trimOwned,
};
