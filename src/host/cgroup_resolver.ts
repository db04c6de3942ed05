// cgroup v2 id -> path. The kernel reports a socket's cgroup by id, which is the inode number of
// the cgroup's directory in the v2 hierarchy; we walk that hierarchy to find paths, cache them,
// and walk again when an id shows up that the last walk did not know. A new pod's first
// connection must be named at once (k8s_attributes works from the path), so a new id always gets
// a walk; an id that a walk did not find (a cgroup already removed) is walked for again at most
// once per `rescanIntervalMs`. A cgroup that a walk no longer finds keeps its last path as
// "retired" until the series that name it are gone (forget()), so their last export still says
// whose they were.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_CGROUP_ID, systemProbe } from './host_cgroup_root';

/**
 * The cgroup v2 mount that is the host's root cgroup: /sys/fs/cgroup on unified hosts,
 * /sys/fs/cgroup/unified on hybrid ones, the host's hierarchy bound into a container. Not simply
 * the first cgroup2 line: in a private cgroup namespace a cgroup2 mount is rooted at the agent's
 * own cgroup (see host_cgroup_root.ts; the agent refuses to start on such a mount).
 */
export function findCgroupV2Root(
  mounts = readFileSync('/proc/self/mounts', 'utf8'),
  isHostRoot: (mountPoint: string) => boolean = (path) => {
    const found = systemProbe.inspect(path);
    return found?.cgroup2 === true && found.ino === ROOT_CGROUP_ID;
  },
): string | undefined {
  for (const line of mounts.split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    if (fsType === 'cgroup2' && mountPoint && isHostRoot(mountPoint)) return mountPoint;
  }
  return undefined;
}

const MAX_UNKNOWN_IDS = 4096;
/** Retired paths kept at most (oldest first out): enough for the series of every kernel map. */
const MAX_RETIRED_IDS = 16384;

export class CgroupResolver {
  private readonly paths = new Map<bigint, string>();
  /** Ids the last walks did not find: they do not trigger another walk within the interval. */
  private readonly unknown = new Set<bigint>();
  /** Last paths of cgroups that walks no longer find, in the order they vanished. */
  private readonly retired = new Map<bigint, string>();
  private lastScan = 0;

  constructor(
    readonly root: string | undefined = findCgroupV2Root(),
    private readonly rescanIntervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The path relative to the v2 root (`/` for the root cgroup), or undefined if unknown. */
  resolve(id: bigint): string | undefined {
    const known = this.paths.get(id) ?? this.retired.get(id);
    if (known !== undefined) return known;
    if (this.unknown.has(id) && this.now() - this.lastScan < this.rescanIntervalMs) return undefined;
    this.scan();
    const found = this.paths.get(id);
    if (found === undefined) this.markUnknown(id);
    return found;
  }

  private markUnknown(id: bigint): void {
    if (this.unknown.size >= MAX_UNKNOWN_IDS) this.unknown.clear();
    this.unknown.add(id);
  }

  /**
   * Makes resolve() of every id in `ids` answer from memory: one walk if any of them is new,
   * instead of one walk per new id (a collection after pod churn names hundreds of them).
   */
  prepare(ids: Iterable<bigint>): void {
    const fresh = this.now() - this.lastScan < this.rescanIntervalMs;
    const missing: bigint[] = [];
    for (const id of ids) {
      if (this.paths.has(id) || this.retired.has(id) || (fresh && this.unknown.has(id))) continue;
      missing.push(id);
    }
    if (missing.length === 0) return;
    this.scan();
    for (const id of missing) if (!this.paths.has(id)) this.markUnknown(id);
  }

  /**
   * The ids among `ids` whose cgroup no longer exists, with at most one walk of the hierarchy.
   * A cached path can outlive its directory, or name a new directory of the same name (a pod
   * restarted under the same path), so it counts only while the directory there has that inode.
   */
  vanished(ids: Iterable<bigint>): Set<bigint> {
    // No hierarchy to look at (none mounted, or unreadable): nothing is known to be gone, and a
    // receiver must not take that for "every cgroup vanished".
    if (this.root === undefined) return new Set();
    const unsure: bigint[] = [];
    for (const id of ids) {
      const cached = this.paths.get(id);
      if (cached === undefined || !this.isDirectoryOf(join(this.root, cached), id)) unsure.push(id);
    }
    const gone = new Set<bigint>();
    if (unsure.length === 0) return gone;
    this.scan();
    if (this.paths.size === 0) return gone;
    for (const id of unsure) {
      if (this.paths.has(id)) continue;
      gone.add(id);
      if (!this.retired.has(id)) this.markUnknown(id);
    }
    return gone;
  }

  /** Whether the cgroup no longer exists (vanished() for one id). */
  isGone(id: bigint): boolean {
    return this.vanished([id]).has(id);
  }

  /** Drops what is remembered of a vanished cgroup, once nothing will name it again. */
  forget(id: bigint): void {
    this.retired.delete(id);
    this.unknown.delete(id);
  }

  private isDirectoryOf(path: string, id: bigint): boolean {
    try {
      return statSync(path, { bigint: true }).ino === id;
    } catch {
      return false;
    }
  }

  /** Walks the hierarchy again; paths no longer found are retired (see forget()). */
  scan(): void {
    this.lastScan = this.now();
    const previous = new Map(this.paths);
    this.paths.clear();
    try {
      this.walk();
    } finally {
      for (const [id, path] of previous) if (!this.paths.has(id)) this.retire(id, path);
    }
  }

  private retire(id: bigint, path: string): void {
    this.retired.delete(id);
    if (this.retired.size >= MAX_RETIRED_IDS) this.retired.delete(this.retired.keys().next().value as bigint);
    this.retired.set(id, path);
  }

  private walk(): void {
    if (!this.root || !existsSync(this.root)) return;
    const walk = (dir: string, relative: string) => {
      try {
        this.paths.set(statSync(dir, { bigint: true }).ino, relative);
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          if (entry.isDirectory()) walk(join(dir, entry.name), relative === '/' ? `/${entry.name}` : `${relative}/${entry.name}`);
        }
      } catch {
        // a cgroup removed while we walk: it simply is not there
      }
    };
    walk(this.root, '/');
  }
}
