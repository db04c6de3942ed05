// Kubelet-style pod cgroups for workload containers (podman --cgroup-parent, runc cgroupsPath),
// under a test-owned top-level directory `/tcpscope-<kind>-<pid>-<random>` so that nothing the
// test makes can be mistaken for a real kubelet's, and what a dead run left behind can be found.
//
// podman and runc with the cgroupfs manager create a container's cgroup in *every* mounted
// hierarchy: on a hybrid host that is each cgroup v1 controller (memory, pids, cpu, ...) and the
// v2 hierarchy at /sys/fs/cgroup/unified. They remove the container's own directory when it is
// removed, but never the parents they created (measured with podman 4.3 and runc 1.1), so the
// test removes the whole tree from every hierarchy itself.
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { isStale, uniqueName } from './names';

/** Mount points of every cgroup (v1) and cgroup2 file system this process sees. */
export function cgroupMountPoints(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const points: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    const fsType = after?.split(' ')[0];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const mountPoint = before.split(' ')[4];
    if (mountPoint && !points.includes(mountPoint)) points.push(mountPoint);
  }
  return points;
}

/** Removes `dir` and everything below it, deepest first; true when it is gone. */
function removeTree(dir: string): boolean {
  if (!existsSync(dir)) return true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeTree(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    // EBUSY: a process is still in it (a container not yet reaped); ENOENT: removed meanwhile.
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** The hierarchies in which `base` (a top-level path like `/tcpscope-ctr-1-abcd0123`) still exists. */
export function hierarchiesHolding(base: string): string[] {
  return cgroupMountPoints().filter((mount) => existsSync(join(mount, base)));
}

/** Removes `base` and everything below it from every hierarchy; returns the hierarchies where it remains. */
export function removeFromEveryHierarchy(base: string): string[] {
  return cgroupMountPoints().filter((mount) => !removeTree(join(mount, base)));
}

/** The processes still in `base` or below it, per hierarchy (why a removal failed). */
export function processesUnder(base: string): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  const walk = (mount: string, dir: string) => {
    if (!existsSync(dir)) return;
    const procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    if (procs.length > 0) (found[mount] ??= []).push(`${dir.slice(mount.length)}: ${procs.join(' ')}`);
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(mount, join(dir, entry.name));
  };
  for (const mount of cgroupMountPoints()) walk(mount, join(mount, base));
  return found;
}

/**
 * Removes `base` from every hierarchy, retrying while a just-stopped container's processes are
 * still leaving it (bounded by `timeoutMs`); throws naming what remains.
 */
export async function removeTestCgroups(base: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let remaining = removeFromEveryHierarchy(base);
  while (remaining.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    remaining = removeFromEveryHierarchy(base);
  }
  if (remaining.length > 0) {
    throw new Error(`test cgroup ${base} could not be removed from ${remaining.join(', ')}; processes in it: ${JSON.stringify(processesUnder(base))}`);
  }
}

let staleRemoved = false;

/** Removes top-level `tcpscope-*` cgroups of dead test runs from every hierarchy (once per process). */
export function removeStaleTestCgroups(): void {
  if (staleRemoved) return;
  staleRemoved = true;
  for (const mount of cgroupMountPoints()) {
    let entries: string[];
    try {
      entries = readdirSync(mount, { withFileTypes: true })
        .filter((e) => e.isDirectory() && e.name.startsWith('tcpscope-'))
        .map((e) => e.name);
    } catch {
      continue;
    }
    for (const name of entries.filter(isStale)) {
      process.stderr.write(`note: removing cgroup ${join(mount, name)} left behind by an earlier test run\n`);
      removeTree(join(mount, name));
    }
  }
}

/** A kubelet QoS class, as it appears in pod cgroup paths. */
export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

/** Where kubelet would put a pod's cgroup, under the test's own top-level directory. */
export interface PodCgroupParent {
  readonly uid: string;
  /** The parent to hand podman (--cgroup-parent) or runc, e.g. `/tcpscope-ctr-1-ab/kubepods/burstable/pod<uid>`. */
  readonly path: string;
}

/** A fresh test base (stale ones of dead runs removed first). */
export function podCgroupBase(kind: string): string {
  removeStaleTestCgroups();
  return `/${uniqueName(kind)}`;
}

/** kubelet's cgroupfs driver: `/kubepods[/<qos>]/pod<uid>` (guaranteed pods have no QoS level). */
export function cgroupfsPodParent(base: string, qos: QosClass, uid: string): PodCgroupParent {
  const qosLevel = qos === 'guaranteed' ? '' : `/${qos}`;
  return { uid, path: `${base}/kubepods${qosLevel}/pod${uid}` };
}

/**
 * kubelet's systemd driver: `/kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid_>.slice`
 * (the uid with '_' for '-', as systemd unit names need). Made as plain directories: runc's
 * cgroupfs manager takes any path, so the layout can be tested without systemd.
 */
export function systemdPodParent(base: string, qos: QosClass, uid: string): PodCgroupParent {
  const uid_ = uid.replace(/-/g, '_');
  const path =
    qos === 'guaranteed'
      ? `${base}/kubepods.slice/kubepods-pod${uid_}.slice`
      : `${base}/kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${uid_}.slice`;
  return { uid, path };
}
