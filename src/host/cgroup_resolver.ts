// cgroup v2 id -> path. The kernel reports a socket's cgroup by id, which is the inode number of
// the cgroup's directory in the v2 hierarchy; we walk that hierarchy to find paths, cache them,
// and walk again when an id shows up that the last walk did not know. A new pod's first
// connection must be named at once (k8s_attributes works from the path), so a new id always gets
// a walk; an id that a walk did not find (a cgroup already removed) is walked for again at most
// once per `rescanIntervalMs`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The cgroup v2 mount: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones. */
export function findCgroupV2Root(mounts = readFileSync('/proc/self/mounts', 'utf8')): string | undefined {
  for (const line of mounts.split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    if (fsType === 'cgroup2' && mountPoint) return mountPoint;
  }
  return undefined;
}

const MAX_UNKNOWN_IDS = 4096;

export class CgroupResolver {
  private readonly paths = new Map<bigint, string>();
  /** Ids the last walks did not find: they do not trigger another walk within the interval. */
  private readonly unknown = new Set<bigint>();
  private lastScan = 0;

  constructor(
    readonly root: string | undefined = findCgroupV2Root(),
    private readonly rescanIntervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The path relative to the v2 root (`/` for the root cgroup), or undefined if unknown. */
  resolve(id: bigint): string | undefined {
    const known = this.paths.get(id);
    if (known !== undefined) return known;
    if (this.unknown.has(id) && this.now() - this.lastScan < this.rescanIntervalMs) return undefined;
    this.scan();
    const found = this.paths.get(id);
    if (found === undefined) {
      if (this.unknown.size >= MAX_UNKNOWN_IDS) this.unknown.clear();
      this.unknown.add(id);
    }
    return found;
  }

  /**
   * Whether the cgroup no longer exists. A cached path can outlive its directory, so it is
   * checked on disk; an unknown id gets a rescan, whatever the interval.
   */
  isGone(id: bigint): boolean {
    const cached = this.paths.get(id);
    if (cached !== undefined && this.root !== undefined && existsSync(join(this.root, cached))) return false;
    this.scan();
    return !this.paths.has(id);
  }

  /** Forget every cached path (ids can be reused after a cgroup is removed). */
  scan(): void {
    this.lastScan = this.now();
    this.paths.clear();
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
