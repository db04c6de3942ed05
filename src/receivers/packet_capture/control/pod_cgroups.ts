// Pods (namespace + name, namespace, labels) -> their cgroup v2 directories, which is what the
// capture engine selects by (its programs attach there and see every container below). The pods come from k8s_attributes' view of this
// node (its watch of spec.nodeName=<node>: only pods here can be captured here); their cgroups
// from one bounded walk of the host's cgroup2 hierarchy, each directory's path parsed the way
// k8s_attributes parses a socket's (kubelet's systemd and cgroupfs layouts, every runtime).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterView } from '../../../processors/k8s_attributes/cluster_view';
import { parseContainerCgroup } from '../../../processors/k8s_attributes/cgroup_path';
import type { PodInfo } from '../../../processors/k8s_attributes/pod_store';
import { CaptureError } from '../capture_api';
import type { PodSelection } from './capture_input';

export interface SelectedPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface ResolvedPods {
  readonly pods: readonly SelectedPod[];
  /** Absolute cgroup v2 directories of the pods (each pod's own, holding its containers'). */
  readonly cgroupPaths: readonly string[];
}

/** kubelet nests a container at most 4 levels down (kubepods / qos / pod / container); hosts add a few. */
const MAX_DEPTH = 12;
/** A walk stops after this many directories: a host with more is misconfigured, not busy. */
const MAX_DIRECTORIES = 200_000;

export function describePods(selection: PodSelection): string {
  if (selection.name !== undefined) return `pod ${selection.namespace}/${selection.name}`;
  const labels = selection.labels ? Object.entries(selection.labels).map(([k, v]) => `${k}=${v}`).join(',') : undefined;
  if (labels && selection.namespace !== undefined) return `pods with labels ${labels} in namespace ${selection.namespace}`;
  if (labels) return `pods with labels ${labels}`;
  return `pods of namespace ${selection.namespace}`;
}

export function podMatches(pod: PodInfo, selection: PodSelection): boolean {
  if (selection.namespace !== undefined && pod.namespace !== selection.namespace) return false;
  if (selection.name !== undefined && pod.name !== selection.name) return false;
  for (const [key, value] of Object.entries(selection.labels ?? {})) if (pod.labels[key] !== value) return false;
  return true;
}

export class PodCgroupResolver {
  /**
   * @param views the running k8s_attributes views (API mode); none means pods cannot be selected.
   * @param cgroupRoot the host's cgroup2 root, as the agent found it.
   */
  constructor(
    private readonly views: () => readonly ClusterView[],
    private readonly cgroupRoot: string | undefined,
  ) {}

  /**
   * The pods matching `selection` and their containers' cgroups. Waits up to `syncWaitMs` for a
   * view that has not listed this node's pods yet. Throws CaptureError with what to do when there
   * is no view, no pod matches, or a matching pod has no cgroup on this host.
   */
  async resolve(selection: PodSelection, syncWaitMs = 10_000): Promise<ResolvedPods> {
    const views = this.views();
    if (views.length === 0) {
      throw new CaptureError(
        'CAPTURE_INVALID_REQUEST',
        `selecting ${describePods(selection)} needs the Kubernetes API: add a k8s_attributes processor with API access (auth_type auto, serviceAccount or kubeConfig) to a pipeline of the agent's config, or select by --cgroup, --host, --port or --tuple`,
      );
    }
    const deadline = Date.now() + syncWaitMs;
    while (!views.every((view) => view.synced) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!views.some((view) => view.synced)) {
      throw new CaptureError('CAPTURE_FAILED', `the pods of this node are not listed yet (is the Kubernetes API reachable? the agent's log says); try again in a moment`);
    }
    const matched = new Map<string, PodInfo>();
    let known = 0;
    for (const view of views) {
      for (const pod of view.localPods.livePods()) {
        known++;
        if (!pod.hostNetwork && podMatches(pod, selection)) matched.set(pod.uid, pod);
      }
    }
    if (matched.size === 0) {
      throw new CaptureError('CAPTURE_INVALID_REQUEST', `no ${describePods(selection)} on this node (${known} pods known here; hostNetwork pods are not selectable: select them by --port); check the names with kubectl get pods -o wide`);
    }
    if (!this.cgroupRoot) throw new CaptureError('CAPTURE_FAILED', 'this host has no cgroup v2 hierarchy: pods cannot be selected by cgroup; select by --host, --port or --tuple');
    const byPod = this.walk(new Set(matched.keys()));
    const missing = [...matched.values()].filter((pod) => !byPod.has(pod.uid));
    if (missing.length > 0) {
      const names = missing.map((pod) => `${pod.namespace}/${pod.name}`).join(', ');
      throw new CaptureError('CAPTURE_FAILED', `no cgroup found under ${this.cgroupRoot} for ${names} (pod not started yet, or service.host.cgroup_root is not the host's cgroup2 hierarchy)`);
    }
    const pods = [...matched.values()].map((pod) => ({ namespace: pod.namespace, name: pod.name, uid: pod.uid }));
    pods.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
    return { pods, cgroupPaths: [...byPod.values()].sort() };
  }

  /**
   * uid -> the pod's own cgroup directory (kubepods-<qos>-pod<uid>.slice, pod<uid>), for each
   * wanted pod found. The pod's directory rather than its containers': a capture attached there
   * sees every container of the pod, also one restarted during the capture (a new directory
   * below it inherits the parent's programs).
   */
  private walk(uids: ReadonlySet<string>): Map<string, string> {
    const root = this.cgroupRoot!;
    const found = new Map<string, string>();
    let visited = 0;
    const visit = (relative: string, depth: number): void => {
      if (depth > MAX_DEPTH || visited >= MAX_DIRECTORIES || found.size === uids.size) return;
      let entries;
      try {
        entries = readdirSync(join(root, relative), { withFileTypes: true });
      } catch {
        return; // removed while walking: a cgroup that is gone holds no sockets
      }
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        visited++;
        const path = `${relative}/${entry.name}`;
        const identity = parseContainerCgroup(path);
        if (identity.podUid !== undefined) {
          // The first directory naming the pod is the pod's own; what is below it is its containers.
          if (uids.has(identity.podUid) && !found.has(identity.podUid)) found.set(identity.podUid, join(root, path));
          continue;
        }
        visit(path, depth + 1);
      }
    };
    visit('', 0);
    return found;
  }
}
