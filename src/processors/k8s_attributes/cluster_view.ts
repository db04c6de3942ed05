// What the agent knows of the cluster, fed by the watches and read on the event path with O(1)
// lookups only. Two version counters let the enrichment cache its results: `localVersion` moves
// when anything that names a local socket changes (this node's pods, ReplicaSets, Jobs),
// `peerVersion` when anything that names a peer address changes (pods, services, nodes).
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeApiFromKubeConfig } from './kube_access';
import type { KubeApi } from './kube_client';
import type { AgentLogger } from '../../logger';
import {
  JOBS_SPEC,
  localPodsSpec,
  NODES_SPEC,
  PEER_PODS_SPEC,
  REPLICA_SETS_SPEC,
  SERVICES_SPEC,
  type TrimmedNode,
  type TrimmedOwned,
  type TrimmedPod,
  type TrimmedService,
} from './kube_resources';
import { podInfoFromObject, PodStore, type PodInfo } from './pod_store';
import { DEFAULT_BACKOFF, DEFAULT_DEADLINES, WatchedCollection, type Backoff, type Deadlines, type KubeObject } from './watched_collection';

export interface ClusterViewOptions {
  readonly nodeName: string;
  readonly peer: boolean;
  readonly extract: { readonly labels: readonly string[]; readonly annotations: readonly string[] };
  readonly deletionGraceMs: number;
  readonly backoff?: Backoff;
  readonly deadlines?: Deadlines;
}

export type PeerIdentity =
  | { readonly kind: 'service'; readonly name: string; readonly namespace: string }
  | { readonly kind: 'pod'; readonly pod: PodInfo }
  | { readonly kind: 'node'; readonly name: string };

/** Deleted pods are forgotten at this pace once their grace period is over. */
const SWEEP_INTERVAL_MS = 5_000;

const key = (object: KubeObject) => `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;

/** Addresses by object, so that an update or a delete removes exactly the addresses it added. */
class AddressIndex<V> {
  private readonly byAddress = new Map<string, V>();
  private readonly addressesOf = new Map<string, readonly string[]>();

  set(objectKey: string, addresses: readonly string[], value: V): void {
    this.delete(objectKey);
    this.addressesOf.set(objectKey, addresses);
    for (const address of addresses) this.byAddress.set(address, value);
  }

  delete(objectKey: string): void {
    for (const address of this.addressesOf.get(objectKey) ?? []) this.byAddress.delete(address);
    this.addressesOf.delete(objectKey);
  }

  get(address: string): V | undefined {
    return this.byAddress.get(address);
  }

  get size(): number {
    return this.addressesOf.size;
  }
}

/** A pod's namespace/name -> uid: a StatefulSet pod re-created under its old name gets a new uid. */
class PodNames {
  private readonly uids = new Map<string, string>();

  /** The uid this name had before, when it differs. */
  replace(pod: PodInfo): string | undefined {
    const name = `${pod.namespace}/${pod.name}`;
    const previous = this.uids.get(name);
    this.uids.set(name, pod.uid);
    return previous !== undefined && previous !== pod.uid ? previous : undefined;
  }

  forget(pod: PodInfo): void {
    const name = `${pod.namespace}/${pod.name}`;
    if (this.uids.get(name) === pod.uid) this.uids.delete(name);
  }
}

export class ClusterView {
  readonly localPods: PodStore;
  readonly peerPods: PodStore;
  private readonly localNames = new PodNames();
  private readonly peerNames = new PodNames();
  private readonly services = new AddressIndex<{ name: string; namespace: string }>();
  private readonly nodes = new AddressIndex<string>();
  /** namespace/name of a ReplicaSet or Job -> its controller (Deployment, CronJob). */
  private readonly controllers = new Map<string, { kind: string; name: string } | undefined>();
  private readonly collections: WatchedCollection<KubeObject>[] = [];
  private readonly client: KubeApi;
  private sweepTimer?: NodeJS.Timeout;
  private localVersionValue = 0;
  private peerVersionValue = 0;

  /** @param api the agent's API client, or a client-node KubeConfig (tests build those) turned into one. */
  constructor(
    api: KubeApi | KubeConfig,
    options: ClusterViewOptions,
    logger: AgentLogger,
  ) {
    const client: KubeApi = 'getCurrentCluster' in api ? kubeApiFromKubeConfig(api) : api;
    this.client = client;
    this.localPods = new PodStore(options.deletionGraceMs);
    this.peerPods = new PodStore(options.deletionGraceMs);
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    const deadlines = options.deadlines ?? DEFAULT_DEADLINES;
    const watch = <T extends KubeObject>(spec: ConstructorParameters<typeof WatchedCollection<T>>[1], events: { upsert(o: T): void; remove(o: T): void }) => {
      this.collections.push(new WatchedCollection<T>(client, spec, events, logger, backoff, deadlines) as unknown as WatchedCollection<KubeObject>);
    };
    watch<TrimmedPod>(localPodsSpec(options.nodeName, options.extract), {
      upsert: (pod) => this.upsertPod(this.localPods, this.localNames, pod, 'local'),
      remove: (pod) => this.removePod(this.localPods, this.localNames, pod, 'local'),
    });
    watch<TrimmedOwned>(REPLICA_SETS_SPEC, { upsert: (o) => this.setController('ReplicaSet', o), remove: (o) => this.setController('ReplicaSet', o, true) });
    watch<TrimmedOwned>(JOBS_SPEC, { upsert: (o) => this.setController('Job', o), remove: (o) => this.setController('Job', o, true) });
    if (options.peer) {
      watch<TrimmedPod>(PEER_PODS_SPEC, {
        upsert: (pod) => this.upsertPod(this.peerPods, this.peerNames, pod, 'peer'),
        remove: (pod) => this.removePod(this.peerPods, this.peerNames, pod, 'peer'),
      });
      watch<TrimmedService>(SERVICES_SPEC, {
        upsert: (s) => this.changed('peer', () => this.services.set(key(s), s.spec.clusterIPs, { name: s.metadata.name ?? '', namespace: s.metadata.namespace ?? '' })),
        remove: (s) => this.changed('peer', () => this.services.delete(key(s))),
      });
      watch<TrimmedNode>(NODES_SPEC, {
        upsert: (n) => this.changed('peer', () => this.nodes.set(key(n), n.status.addresses, n.metadata.name ?? '')),
        remove: (n) => this.changed('peer', () => this.nodes.delete(key(n))),
      });
    }
  }

  get localVersion(): number {
    return this.localVersionValue;
  }

  get peerVersion(): number {
    return this.peerVersionValue;
  }

  /** True once this node's pods have been listed. */
  get synced(): boolean {
    return this.collections[0]?.synced ?? false;
  }

  start(): void {
    for (const collection of this.collections) collection.start();
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    await Promise.all(this.collections.map((c) => c.stop()));
    this.client.close?.();
  }

  /** The controller of a ReplicaSet or Job (its Deployment or CronJob), when known. */
  controllerOf(kind: 'ReplicaSet' | 'Job', namespace: string, name: string): { kind: string; name: string } | undefined {
    return this.controllers.get(`${kind}:${namespace}/${name}`);
  }

  /** Is the controller of this ReplicaSet or Job known (listed), even if it has none? */
  knowsController(kind: 'ReplicaSet' | 'Job', namespace: string, name: string): boolean {
    return this.controllers.has(`${kind}:${namespace}/${name}`);
  }

  /** Who is at `address`: a Service ClusterIP first (what a client socket sees), then a pod, then a node. */
  peer(address: string): PeerIdentity | undefined {
    const service = this.services.get(address);
    if (service) return { kind: 'service', ...service };
    // peerPods holds every pod of the cluster, this node's too; its changes move peerVersion.
    const pod = this.peerPods.podByIp(address);
    if (pod) return { kind: 'pod', pod };
    const node = this.nodes.get(address);
    return node !== undefined ? { kind: 'node', name: node } : undefined;
  }

  /** Forgets deleted pods whose grace period is over. */
  sweep(): void {
    for (const [store, side] of [
      [this.localPods, 'local'],
      [this.peerPods, 'peer'],
    ] as const) {
      const before = store.size;
      store.sweep();
      if (store.size !== before) this.bump(side);
    }
  }

  private upsertPod(store: PodStore, names: PodNames, object: TrimmedPod, side: 'local' | 'peer'): void {
    const pod = podInfoFromObject(object);
    if (!pod) return;
    const replacedUid = names.replace(pod);
    if (replacedUid) store.markDeleted(replacedUid);
    store.upsert(pod);
    this.bump(side);
  }

  private removePod(store: PodStore, names: PodNames, object: TrimmedPod, side: 'local' | 'peer'): void {
    const pod = podInfoFromObject(object);
    if (!pod) return;
    names.forget(pod);
    // Still resolvable for the grace period: its connections' close events come after this.
    store.markDeleted(pod.uid);
    this.bump(side);
  }

  private setController(kind: 'ReplicaSet' | 'Job', object: TrimmedOwned, removed = false): void {
    const id = `${kind}:${key(object)}`;
    if (removed) this.controllers.delete(id);
    else this.controllers.set(id, object.metadata.controller);
    this.bump('local');
  }

  private changed(side: 'local' | 'peer', change: () => void): void {
    change();
    this.bump(side);
  }

  private bump(side: 'local' | 'peer'): void {
    if (side === 'local') this.localVersionValue += 1;
    else this.peerVersionValue += 1;
  }
}
