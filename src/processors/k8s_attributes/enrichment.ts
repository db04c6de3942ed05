// Attributes a cgroup path adds, computed once per path (cached, bounded).
import type { Attributes } from '@opentelemetry/api';
import { ATTR } from '../../telemetry/attributes';
import { parseContainerCgroup } from './cgroup_path';

const MAX_CACHED_PATHS = 8192;

export class CgroupEnrichment {
  private readonly cache = new Map<string, Attributes>();

  /** The attributes to add for a process.linux.cgroup value (empty when it names no container). */
  forCgroup(cgroup: string): Attributes {
    let added = this.cache.get(cgroup);
    if (added) return added;
    const identity = parseContainerCgroup(cgroup);
    added = {};
    if (identity.containerId) added[ATTR.containerId.key] = identity.containerId;
    if (identity.podUid) added[ATTR.k8sPodUid.key] = identity.podUid;
    if (this.cache.size >= MAX_CACHED_PATHS) this.cache.clear(); // paths churn with pods: start over
    this.cache.set(cgroup, added);
    return added;
  }

  /** `attributes` with the cgroup's attributes added, or the same object when there are none. */
  enrich<A extends Readonly<Record<string, unknown>>>(attributes: A): A {
    const cgroup = attributes[ATTR.processLinuxCgroup.key];
    if (typeof cgroup !== 'string') return attributes;
    const added = this.forCgroup(cgroup);
    return Object.keys(added).length ? { ...attributes, ...added } : attributes;
  }
}
