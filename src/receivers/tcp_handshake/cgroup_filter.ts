// The kernel's cgroup_prefix filter (tcp_handshake_cgroups): the ids of every cgroup in the
// configured subtree, kept equal to the subtree at each refresh. Cgroups created below the prefix
// are added, removed ones deleted (pods come and go: a set that only grows fills up and then
// silently stops taking new pods). The map holds `capacity` ids; beyond it the cgroups not in it
// make no events, which is said once in the log with the key that raises it.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BpfObject } from '../../bridge/bpf_object';
import type { AgentLogger } from '../../logger';

export type FilterMap = Pick<BpfObject, 'updateMap' | 'deleteFromMap'>;

const PRESENT = Buffer.from([1]);

function idKey(id: bigint): Buffer {
  const key = Buffer.alloc(8);
  key.writeBigUInt64LE(id);
  return key;
}

/** Cgroup ids of `directory` and everything below it, parents before children. */
export function subtreeIds(directory: string): bigint[] {
  const ids: bigint[] = [];
  const visit = (dir: string) => {
    try {
      ids.push(statSync(dir, { bigint: true }).ino);
      for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) visit(join(dir, entry.name));
    } catch {
      // removed while we walk: it simply is not there
    }
  };
  visit(directory);
  return ids;
}

export class CgroupSubtreeFilter {
  private readonly inMap = new Set<bigint>();
  private warnedFull = false;

  constructor(
    private readonly map: string,
    /** The subtree's directory (absolute). */
    private readonly directory: string,
    /** max_entries of the kernel map. */
    private readonly capacity: number,
    private readonly logger: AgentLogger,
    /** The config key that sets `capacity`, for the warning. */
    private readonly capacityKey: string,
  ) {}

  /** Ids in the kernel map now. */
  get size(): number {
    return this.inMap.size;
  }

  /** Makes the kernel map equal to the subtree (as far as `capacity` allows). */
  sync(bpf: FilterMap): void {
    const present = subtreeIds(this.directory);
    const current = new Set(present);
    // Removed first, so that their slots go to new cgroups.
    for (const id of this.inMap) {
      if (current.has(id)) continue;
      bpf.deleteFromMap(this.map, idKey(id));
      this.inMap.delete(id);
    }
    let left = 0;
    for (const id of present) {
      if (this.inMap.has(id)) continue;
      if (this.inMap.size >= this.capacity) {
        left++;
        continue;
      }
      bpf.updateMap(this.map, idKey(id), PRESENT);
      this.inMap.add(id);
    }
    if (left > 0 && !this.warnedFull) {
      this.warnedFull = true;
      this.logger.warn(
        `${present.length} cgroups under ${this.directory}, but the kernel's cgroup filter holds ${this.capacity}: sockets of the ${left} not in it make no events ` +
          `(metrics still count them). Raise ${this.capacityKey}. (Said once.)`,
      );
    }
  }
}
