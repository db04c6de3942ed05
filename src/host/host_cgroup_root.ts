// Which cgroup2 directory is the host's root cgroup, so that kernel cgroup ids map to host paths.
//
// In a pod the agent runs in a private cgroup namespace: /proc/self/cgroup reads `0::/`, and a
// cgroup2 mounted inside that namespace is rooted at the agent's own cgroup, so walking it would
// name nothing but the agent (or name other cgroups by the wrong, namespace-relative path). The
// host's hierarchy has to be mounted into the container (service.host.cgroup_root). Whatever the
// namespaces, one fact tells the host's root from any other cgroup: the root cgroup's id (the
// inode of its directory in the cgroup2 file system) is 1. So the agent walks a directory only
// when it is on cgroup2 and its inode is 1, and refuses to start otherwise: a wrong root would
// silently mislabel every socket. mountinfo's root field and the cgroup namespace only explain
// the refusal; neither alone decides (an agent on the host may sit in the root cgroup and read
// `0::/` too, and /proc/1 is the container's own init without hostPID).
import { readFileSync, readlinkSync, statfsSync, statSync } from 'node:fs';
import { TcpscopeError } from '../errors';

/** statfs f_type of cgroup2 (include/uapi/linux/magic.h). */
export const CGROUP2_SUPER_MAGIC = 0x63677270;
/** The id (kernfs inode) of the root cgroup of the cgroup2 hierarchy. */
export const ROOT_CGROUP_ID = 1n;
/** The initial cgroup namespace's inode (PROC_CGROUP_INIT_INO in include/linux/proc_ns.h). */
export const INIT_CGROUP_NAMESPACE = 'cgroup:[4026531835]';

/** The cgroup2 hierarchy is not the host's, or not there: the agent cannot name cgroups. */
export class HostCgroupError extends TcpscopeError {
  constructor(message: string) {
    super('HOST_CGROUP_UNUSABLE', message);
  }
}

export interface MountinfoEntry {
  /** Field 4: the mount's root inside its file system (for cgroup2: relative to the reader's cgroup namespace). */
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
}

/** What the agent reads of the system; tests pass fakes. */
export interface CgroupProbe {
  /** /proc/self/mountinfo */
  mountinfo(): string;
  /** /proc/self/cgroup */
  selfCgroup(): string | undefined;
  /** readlink /proc/self/ns/cgroup, undefined when unreadable. */
  cgroupNamespace(): string | undefined;
  /** The directory's inode and whether it is on cgroup2; undefined when it is not there. */
  inspect(path: string): { readonly ino: bigint; readonly cgroup2: boolean } | undefined;
}

export const systemProbe: CgroupProbe = {
  mountinfo: () => readFileSync('/proc/self/mountinfo', 'utf8'),
  selfCgroup: () => readOrUndefined(() => readFileSync('/proc/self/cgroup', 'utf8')),
  cgroupNamespace: () => readOrUndefined(() => readlinkSync('/proc/self/ns/cgroup')),
  inspect: (path) =>
    readOrUndefined(() => {
      const stat = statSync(path, { bigint: true });
      if (!stat.isDirectory()) return undefined;
      return { ino: stat.ino, cgroup2: Number(statfsSync(path).type) === CGROUP2_SUPER_MAGIC };
    }),
};

function readOrUndefined<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountinfo(text: string): MountinfoEntry[] {
  const entries: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields.length < separator + 2) continue;
    entries.push({ root: unescapeMountinfo(fields[3]), mountPoint: unescapeMountinfo(fields[4]), fsType: fields[separator + 1] });
  }
  return entries;
}

export interface HostCgroupRoot {
  /** The host's cgroup2 root directory to walk; undefined when no cgroup2 is mounted at all. */
  readonly root: string | undefined;
  /** How it was chosen, for the start-up log. */
  readonly description: string;
}

/** What to do, naming the DaemonSet's volume and config key (and the podman flag) that provide it. */
export const HOW_TO_MOUNT =
  "mount the host's cgroup2 mount point itself read-only into the container (DaemonSet: volume `host-cgroup`, hostPath /sys/fs/cgroup, " +
  'or /sys/fs/cgroup/unified on a hybrid host, mounted read-only at /host/sys/fs/cgroup, and service.host.cgroup_root: /host/sys/fs/cgroup ' +
  'in its config.yaml; podman/docker: -v /sys/fs/cgroup:/host/sys/fs/cgroup:ro) and set service.host.cgroup_root to it';

/**
 * The host's cgroup2 root: `configured` (service.host.cgroup_root) when given, else the first
 * cgroup2 mount that is the host's root. Throws HostCgroupError when what would be walked is not
 * the host's root. Without any cgroup2 mount in the initial cgroup namespace (a cgroup v1 host)
 * there is nothing to walk and nothing wrong: root is undefined.
 */
export function locateHostCgroupRoot(configured: string | undefined, probe: CgroupProbe = systemProbe): HostCgroupRoot {
  const mounts = parseMountinfo(probe.mountinfo()).filter((m) => m.fsType === 'cgroup2');
  if (configured) {
    const found = probe.inspect(configured);
    const key = 'service.host.cgroup_root';
    if (!found) throw new HostCgroupError(`${key}: ${configured} is not a directory; ${HOW_TO_MOUNT}`);
    if (!found.cgroup2) {
      throw new HostCgroupError(
        `${key}: ${configured} is not a cgroup2 file system (a cgroup v1 or tmpfs mount? on a hybrid host the v2 hierarchy is /sys/fs/cgroup/unified); ${HOW_TO_MOUNT}`,
      );
    }
    if (found.ino !== ROOT_CGROUP_ID) {
      throw new HostCgroupError(`${key}: ${describeNotRoot(configured, found.ino, mounts, probe)}; ${HOW_TO_MOUNT}`);
    }
    return { root: configured, description: `${configured} (service.host.cgroup_root; the host's root cgroup)` };
  }
  const seen: string[] = [];
  // A mount point mounted over again appears once per mount; stat sees only the top one.
  for (const mount of mounts.filter((m, i) => mounts.findIndex((o) => o.mountPoint === m.mountPoint) === i)) {
    const found = probe.inspect(mount.mountPoint);
    if (!found?.cgroup2) continue;
    if (found.ino === ROOT_CGROUP_ID) {
      return { root: mount.mountPoint, description: `${mount.mountPoint} (found in /proc/self/mountinfo; the host's root cgroup)` };
    }
    seen.push(describeNotRoot(mount.mountPoint, found.ino, mounts, probe));
  }
  const namespace = probe.cgroupNamespace();
  const privateNamespace = namespace !== undefined && namespace !== INIT_CGROUP_NAMESPACE;
  if (seen.length === 0 && !privateNamespace) {
    return { root: undefined, description: 'none (no cgroup2 mounted): sockets are not named by cgroup path' };
  }
  const what = seen.length > 0 ? `no cgroup2 mount here is the host's root cgroup: ${seen.join('; ')}` : `no cgroup2 is mounted and ${namespaceNote(probe)}`;
  throw new HostCgroupError(`${what}; ${HOW_TO_MOUNT}`);
}

function describeNotRoot(path: string, ino: bigint, mounts: readonly MountinfoEntry[], probe: CgroupProbe): string {
  const mount = [...mounts].reverse().find((m) => m.mountPoint === path);
  const rootField = mount ? `, mounted from ${mount.root}` : '';
  return `${path} is a cgroup2 directory with cgroup id ${ino}${rootField}, not the host's root cgroup (id ${ROOT_CGROUP_ID}): ${namespaceNote(probe)}`;
}

function namespaceNote(probe: CgroupProbe): string {
  const namespace = probe.cgroupNamespace();
  const self = probe.selfCgroup()?.split('\n').find((l) => l.startsWith('0::'));
  const cgroupLine = self ? `, /proc/self/cgroup ${self}` : '';
  if (namespace === undefined) return `the agent's cgroup namespace is unknown${cgroupLine}`;
  if (namespace === INIT_CGROUP_NAMESPACE) return `the agent is in the host's cgroup namespace, so this is a sub-cgroup mounted or bound there${cgroupLine}`;
  return `the agent runs in a private cgroup namespace (${namespace}${cgroupLine}), where a cgroup2 mounted inside is rooted at the agent's own cgroup`;
}
