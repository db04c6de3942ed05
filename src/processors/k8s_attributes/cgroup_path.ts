// Container and pod identity from a cgroup path, as kubelet and the container runtimes lay them
// out. Handles the systemd driver (slices and scopes) and the cgroupfs driver:
//   /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
//   /kubepods.slice/kubepods-pod<uid_>.slice/crio-<id>.scope            (guaranteed QoS: no qos slice)
//   /kubepods.slice/.../docker-<id>.scope
//   /kubepods/besteffort/pod<uid>/<id>
// The systemd driver writes the pod uid with '_' for '-'. A container id is 64 hex characters.

export interface ContainerIdentity {
  readonly containerId?: string;
  readonly podUid?: string;
  /** guaranteed, burstable or besteffort */
  readonly qosClass?: string;
  readonly runtime?: 'containerd' | 'cri-o' | 'docker';
}

const HEX64 = /^[0-9a-f]{64}$/;
const SCOPE = /^(cri-containerd|crio|docker)-([0-9a-f]{64})\.scope$/;
const SYSTEMD_POD = /^kubepods(?:-(besteffort|burstable))?-pod([0-9a-f_]{36})\.slice$/;
const CGROUPFS_POD = /^pod([0-9a-f-]{36})$/;
const RUNTIMES = { 'cri-containerd': 'containerd', crio: 'cri-o', docker: 'docker' } as const;

/** Accepts a bare path or the `0::<path>` form of process.linux.cgroup. */
export function parseContainerCgroup(cgroup: string): ContainerIdentity {
  const path = cgroup.startsWith('0::') ? cgroup.slice(3) : cgroup;
  const parts = path.split('/').filter(Boolean);
  if (!parts.some((p) => p === 'kubepods' || p.startsWith('kubepods'))) {
    // Outside Kubernetes a runtime scope still names its container (docker-<id>.scope).
    const scope = parts.map((p) => SCOPE.exec(p)).find(Boolean);
    return scope ? { containerId: scope[2], runtime: RUNTIMES[scope[1] as keyof typeof RUNTIMES] } : {};
  }
  let podUid: string | undefined;
  let qosClass: string | undefined;
  let containerId: string | undefined;
  let runtime: ContainerIdentity['runtime'];
  for (const [i, part] of parts.entries()) {
    const systemdPod = SYSTEMD_POD.exec(part);
    if (systemdPod) {
      podUid = systemdPod[2].replace(/_/g, '-');
      qosClass = systemdPod[1] ?? 'guaranteed';
      continue;
    }
    const cgroupfsPod = CGROUPFS_POD.exec(part);
    if (cgroupfsPod) {
      podUid = cgroupfsPod[1];
      const previous = parts[i - 1];
      qosClass = previous === 'besteffort' || previous === 'burstable' ? previous : 'guaranteed';
      continue;
    }
    const scope = SCOPE.exec(part);
    if (scope) {
      containerId = scope[2];
      runtime = RUNTIMES[scope[1] as keyof typeof RUNTIMES];
      continue;
    }
    if (podUid && HEX64.test(part)) containerId = part; // cgroupfs driver: the bare id under the pod
  }
  return { ...(containerId ? { containerId } : {}), ...(podUid ? { podUid } : {}), ...(qosClass ? { qosClass } : {}), ...(runtime ? { runtime } : {}) };
}
