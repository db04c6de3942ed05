// Container and pod identity from a cgroup path, as kubelet and the container runtimes lay them
// out. Handles the systemd driver (slices and scopes) and the cgroupfs driver:
//   /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
//   /kubepods.slice/kubepods-pod<uid_>.slice/crio-<id>.scope            (guaranteed QoS: no qos slice)
//   /kubepods.slice/.../docker-<id>.scope
//   /kubepods/besteffort/pod<uid>/<id>
// and, without Kubernetes, plain Docker and podman containers:
//   /system.slice/docker-<id>.scope        /docker/<id>               (Docker: systemd, cgroupfs)
//   /machine.slice/libpod-<id>.scope       /libpod_parent/libpod-<id> (podman: systemd, cgroupfs)
// The systemd driver writes the pod uid with '_' for '-'. A container id is 64 hex characters.
// Only kubelet's pod cgroups give a k8s.pod.uid: a podman pod (machine-libpod_pod_<id>.slice)
// is not a Kubernetes pod. A runtime's monitor (libpod-conmon-<id>.scope, crio-conmon-<id>.scope)
// is not the container and names none.

export interface ContainerIdentity {
  readonly containerId?: string;
  readonly podUid?: string;
  /** guaranteed, burstable or besteffort */
  readonly qosClass?: string;
  readonly runtime?: 'containerd' | 'cri-o' | 'docker' | 'podman';
}

const HEX64 = /^[0-9a-f]{64}$/;
/** A runtime's own cgroup for a container: a systemd scope, or (cgroupfs driver) a plain directory. */
const RUNTIME_CGROUP = /^(cri-containerd|crio|docker|libpod)-([0-9a-f]{64})(?:\.scope)?$/;
const SYSTEMD_POD = /^kubepods(?:-(besteffort|burstable))?-pod([0-9a-f_]{36})\.slice$/;
const CGROUPFS_POD = /^pod([0-9a-f-]{36})$/;
const RUNTIMES = { 'cri-containerd': 'containerd', crio: 'cri-o', docker: 'docker', libpod: 'podman' } as const;

/** Accepts a bare path or the `0::<path>` form of process.linux.cgroup. */
export function parseContainerCgroup(cgroup: string): ContainerIdentity {
  const path = cgroup.startsWith('0::') ? cgroup.slice(3) : cgroup;
  const parts = path.split('/').filter(Boolean);
  const underKubelet = parts.some((p) => p.startsWith('kubepods'));
  let podUid: string | undefined;
  let qosClass: string | undefined;
  let containerId: string | undefined;
  let runtime: ContainerIdentity['runtime'];
  // The innermost container wins (a container started inside another one, e.g. Docker in Docker).
  for (const [i, part] of parts.entries()) {
    const systemdPod = underKubelet ? SYSTEMD_POD.exec(part) : null;
    if (systemdPod) {
      podUid = systemdPod[2].replace(/_/g, '-');
      qosClass = systemdPod[1] ?? 'guaranteed';
      continue;
    }
    const cgroupfsPod = underKubelet ? CGROUPFS_POD.exec(part) : null;
    if (cgroupfsPod) {
      podUid = cgroupfsPod[1];
      const previous = parts[i - 1];
      qosClass = previous === 'besteffort' || previous === 'burstable' ? previous : 'guaranteed';
      continue;
    }
    const scope = RUNTIME_CGROUP.exec(part);
    if (scope) {
      containerId = scope[2];
      runtime = RUNTIMES[scope[1] as keyof typeof RUNTIMES];
      continue;
    }
    if (!HEX64.test(part)) continue;
    if (podUid) {
      containerId = part; // kubelet's cgroupfs driver: the bare id under the pod
    } else if (parts[i - 1] === 'docker') {
      containerId = part; // Docker's cgroupfs driver: /docker/<id>
      runtime = 'docker';
    }
  }
  return { ...(containerId ? { containerId } : {}), ...(podUid ? { podUid } : {}), ...(qosClass ? { qosClass } : {}), ...(runtime ? { runtime } : {}) };
}
