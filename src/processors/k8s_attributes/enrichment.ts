// The attributes k8s_attributes adds to one event or data point, cached: per cgroup path for the
// local side, per address for the peer side. A cached entry is valid while the cluster view's
// version for its side has not moved; the event path never waits for the API.
import type { Attributes } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { ATTR } from '../../telemetry/attributes';
import { isOtlpJsonLogRecord, withAddedAttributes } from '../../telemetry/otlp_encodable';
import { parseContainerCgroup } from './cgroup_path';
import type { ClusterView } from './cluster_view';
import { localNames, peerNames, type Extract } from './workload_names';

/** Entries per cache; paths and addresses churn with pods, so a full cache starts over. */
const MAX_CACHED = 8192;

/** "Nothing to add", shared, so the event path tells it by identity instead of counting keys. */
const NOTHING: Attributes = Object.freeze({});

interface Cached {
  readonly version: number;
  readonly added: Attributes;
}

class VersionedCache {
  private readonly entries = new Map<string, Cached>();

  /** The set cached for `key` at `version`, if any. (No compute callback: a closure per record on the event path.) */
  get(key: string, version: number): Attributes | undefined {
    const cached = this.entries.get(key);
    return cached && cached.version === version ? cached.added : undefined;
  }

  set(key: string, version: number, added: Attributes): Attributes {
    if (this.entries.size >= MAX_CACHED) this.entries.clear();
    this.entries.set(key, { version, added });
    return added;
  }
}

export interface EnrichmentOptions {
  readonly peer: boolean;
  readonly extract: Extract;
}

export class Enrichment {
  private readonly local = new VersionedCache();
  private readonly peer = new VersionedCache();

  /** Without a view (local mode), only what the cgroup path says: container.id and k8s.pod.uid. */
  constructor(
    private readonly view?: ClusterView,
    private readonly options: EnrichmentOptions = { peer: false, extract: { labels: [], annotations: [] } },
  ) {}

  /** The attributes to add for a process.linux.cgroup value. */
  forCgroup(cgroup: string): Attributes {
    const version = this.view?.localVersion ?? 0;
    return this.local.get(cgroup, version) ?? this.local.set(cgroup, version, this.computeLocal(cgroup));
  }

  /** Whether a peer address can name anything; when not (local mode, peer.enabled: false), a record's is not even read. */
  private get peerLookups(): boolean {
    return this.view !== undefined && this.options.peer;
  }

  /** The attributes to add for a network.peer.address value. */
  forPeer(address: string): Attributes {
    const view = this.view;
    if (!view || !this.peerLookups) return NOTHING;
    const cached = this.peer.get(address, view.peerVersion);
    if (cached) return cached;
    const peer = view.peer(address);
    return this.peer.set(address, view.peerVersion, peer ? peerNames(peer) : NOTHING);
  }

  /**
   * `record` with both sides' attributes added (the same object when there are none). A record
   * that encodes itself (src/telemetry/otlp_encodable.ts) stays one: the added sets are cached
   * objects, appended with their pre-encoded JSON, in the order enrich() merges them.
   */
  enrichRecord(record: ReadableLogRecord): ReadableLogRecord {
    if (!isOtlpJsonLogRecord(record)) {
      const attributes = this.enrich(record.attributes);
      return attributes === record.attributes ? record : { ...record, attributes };
    }
    const cgroup = record.attribute(ATTR.processLinuxCgroup.key);
    const address = this.peerLookups ? record.attribute(ATTR.peerAddress.key) : undefined;
    const local = typeof cgroup === 'string' ? this.forCgroup(cgroup) : NOTHING;
    const peer = typeof address === 'string' ? this.forPeer(address) : NOTHING;
    // {...attributes, ...local, ...peer}: local's keys after the record's, then peer's new ones.
    let enriched: ReadableLogRecord = record;
    if (local !== NOTHING) enriched = withAddedAttributes(enriched, local);
    if (peer !== NOTHING) enriched = withAddedAttributes(enriched, peer);
    return enriched;
  }

  /** `attributes` with both sides' attributes added, or the same object when there are none. */
  enrich<A extends Readonly<Record<string, unknown>>>(attributes: A): A {
    const cgroup = attributes[ATTR.processLinuxCgroup.key];
    const address = attributes[ATTR.peerAddress.key];
    const local = typeof cgroup === 'string' ? this.forCgroup(cgroup) : NOTHING;
    const peer = typeof address === 'string' ? this.forPeer(address) : NOTHING;
    if (local === NOTHING && peer === NOTHING) return attributes;
    return { ...attributes, ...local, ...peer };
  }

  private computeLocal(cgroup: string): Attributes {
    const identity = parseContainerCgroup(cgroup);
    if (!identity.containerId && !identity.podUid) return NOTHING;
    const added: Attributes = {};
    if (identity.containerId) added[ATTR.containerId.key] = identity.containerId;
    if (identity.podUid) added[ATTR.k8sPodUid.key] = identity.podUid;
    if (!this.view) return added;
    // The container id names pod and container; a pod-level cgroup (or a container the API has
    // not reported yet) still names the pod through its uid.
    const byContainer = identity.containerId ? this.view.localPods.container(identity.containerId) : undefined;
    const pod = byContainer?.pod ?? (identity.podUid ? this.view.localPods.pod(identity.podUid) : undefined);
    if (!pod) return added;
    return { ...added, ...localNames(pod, byContainer?.container, this.view, this.options.extract) };
  }
}
