// What the agent knows about pods, indexed for O(1) lookups on the event path: by pod uid, by
// container id and by pod IP. Fed by the Kubernetes watches (cluster_view.ts) with objects in the
// API's JSON shape. A deleted pod stays resolvable for a grace period, so that the close
// events of its last connections are still enriched.

/** The parts of a v1 Pod (API JSON) the enrichment uses. */
export interface PodObject {
  metadata?: {
    uid?: string;
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
  };
  spec?: { nodeName?: string; hostNetwork?: boolean; containers?: { name?: string; image?: string }[] };
  status?: {
    podIP?: string;
    podIPs?: { ip?: string }[];
    containerStatuses?: { name?: string; image?: string; containerID?: string }[];
    initContainerStatuses?: { name?: string; image?: string; containerID?: string }[];
  };
}

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly image?: string;
}

export interface PodInfo {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly nodeName?: string;
  readonly hostNetwork: boolean;
  readonly ips: readonly string[];
  readonly containers: readonly ContainerInfo[];
  /** The controller owner as the API names it (e.g. ReplicaSet web-7d4b9c). */
  readonly owner?: { readonly kind: string; readonly name: string };
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** `containerd://<id>`, `cri-o://<id>`, `docker://<id>` -> `<id>`. */
export function containerIdOf(containerID: string | undefined): string | undefined {
  if (!containerID) return undefined;
  const at = containerID.indexOf('://');
  return at < 0 ? containerID : containerID.slice(at + 3);
}

export function podInfoFromObject(pod: PodObject): PodInfo | undefined {
  const meta = pod.metadata;
  if (!meta?.uid || !meta.name || !meta.namespace) return undefined;
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  const containers = statuses.flatMap((s) => {
    const id = containerIdOf(s.containerID);
    return id && s.name ? [{ id, name: s.name, ...(s.image ? { image: s.image } : {}) }] : [];
  });
  const ips = [...new Set([pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((p) => p.ip)].filter((ip): ip is string => !!ip))];
  const controller = meta.ownerReferences?.find((o) => o.controller && o.kind && o.name);
  return {
    uid: meta.uid,
    name: meta.name,
    namespace: meta.namespace,
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    hostNetwork: pod.spec?.hostNetwork === true,
    ips,
    containers,
    ...(controller ? { owner: { kind: controller.kind!, name: controller.name! } } : {}),
    labels: meta.labels ?? {},
    annotations: meta.annotations ?? {},
  };
}

export class PodStore {
  private readonly byUid = new Map<string, PodInfo>();
  private readonly byContainer = new Map<string, { pod: PodInfo; container: ContainerInfo }>();
  private readonly byIp = new Map<string, PodInfo>();
  /** uid -> time (ms) after which a deleted pod is forgotten. */
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly deletionGraceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.byUid.size;
  }

  /** ADDED / MODIFIED (and each item of a list). */
  upsert(pod: PodInfo): void {
    const previous = this.byUid.get(pod.uid);
    if (previous) this.unindex(previous);
    this.expiries.delete(pod.uid);
    this.byUid.set(pod.uid, pod);
    for (const container of pod.containers) this.byContainer.set(container.id, { pod, container });
    // hostNetwork pods share the node's IP: it names the node, not the pod.
    if (!pod.hostNetwork) for (const ip of pod.ips) this.byIp.set(ip, pod);
  }

  /** DELETED: still resolvable for the grace period. */
  markDeleted(uid: string): void {
    if (this.byUid.has(uid)) this.expiries.set(uid, this.now() + this.deletionGraceMs);
  }

  /** Forgets deleted pods whose grace period is over; call it now and then (e.g. per collection). */
  sweep(): void {
    const now = this.now();
    for (const [uid, expiry] of this.expiries) {
      if (expiry > now) continue;
      const pod = this.byUid.get(uid);
      if (pod) this.unindex(pod);
      this.byUid.delete(uid);
      this.expiries.delete(uid);
    }
  }

  /** Deleted, but still resolvable until its grace period ends. */
  isDeleted(uid: string): boolean {
    return this.expiries.has(uid);
  }

  pod(uid: string): PodInfo | undefined {
    return this.byUid.get(uid);
  }

  container(id: string): { pod: PodInfo; container: ContainerInfo } | undefined {
    return this.byContainer.get(id);
  }

  podByIp(ip: string): PodInfo | undefined {
    return this.byIp.get(ip);
  }

  /** Every pod that is not deleted (for selections by namespace and labels: a walk, not the event path). */
  *livePods(): IterableIterator<PodInfo> {
    for (const [uid, pod] of this.byUid) if (!this.expiries.has(uid)) yield pod;
  }

  private unindex(pod: PodInfo): void {
    for (const container of pod.containers) if (this.byContainer.get(container.id)?.pod === pod) this.byContainer.delete(container.id);
    for (const ip of pod.ips) if (this.byIp.get(ip) === pod) this.byIp.delete(ip);
  }
}
