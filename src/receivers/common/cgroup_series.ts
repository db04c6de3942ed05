// Kernel series keyed by cgroup (per-cgroup aggregates in BPF hash maps) leave their map once
// their cgroup is gone: otherwise, on a node where pods come and go, the map fills with the
// series of pods long deleted and every new workload lands in the overflow series until restart.
//
// A series is removed only
//  - after its last export: its cgroup was already gone *before* the read whose values are
//    exported, so that read holds everything the cgroup's processes did (no new socket can join a
//    cgroup without processes). It is deleted right after that read is turned into metrics.
//  - when none of its connections is still open (a receiver that counts them says so): a socket
//    keeps its cgroup after its process left or the cgroup was rmdir'ed, and its close must still
//    find the series that counted its open.
// A series that comes back anyway (a surviving socket of a receiver that cannot count open
// connections, e.g. an RTT sample) is a new cumulative series: its start time is when the old
// one was removed, never the receiver's start, so a backend never sees a cumulative value fall.
import type { HrTime } from '@opentelemetry/api';
import type { BpfObject } from '../../bridge/bpf_object';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { hrTimeNow } from '../../host/monotonic_clock';
import { OVERFLOW_CGROUP_ID } from './workload_attributes';

/** One entry of a per-cgroup kernel map, as a receiver read it. */
export interface CgroupSeriesEntry {
  /** The map key, for the delete. */
  readonly key: Buffer;
  readonly cgroupId: bigint;
  /** Connections counted open in this series (absent: the receiver does not count them). */
  readonly openConnections?: bigint;
}

/** Restart times remembered at most (oldest first out). */
const MAX_RESTARTED = 16384;

export class CgroupSeriesReaper {
  /** Per map: the cgroups of the last read, and whether each was already found gone. */
  private readonly lastRead = new Map<string, Map<bigint, boolean>>();
  /** When the series of a cgroup were removed: the start time of any series of it after that. */
  private readonly restartedAt = new Map<bigint, HrTime>();
  private removedCount = 0;

  constructor(
    private readonly cgroups: CgroupResolver,
    private readonly now: () => HrTime = hrTimeNow,
  ) {}

  /**
   * Reads `map` with `read`, hands the series to `build` (which turns them into metric data),
   * then deletes from the kernel map the series whose cgroup was gone before this read and has
   * no open connection. Returns what `build` returned.
   */
  collect<S extends CgroupSeriesEntry, R>(bpf: Pick<BpfObject, 'deleteFromMap'>, map: string, read: () => readonly S[], build: (series: readonly S[]) => R): R {
    const gone = this.goneBeforeRead(map);
    const series = read();
    this.cgroups.prepare(series.map((s) => s.cgroupId).filter((id) => id !== OVERFLOW_CGROUP_ID));
    const result = build(series);
    const next = new Map<bigint, boolean>();
    const removedIds = new Set<bigint>();
    for (const s of series) {
      if (s.cgroupId === OVERFLOW_CGROUP_ID) continue;
      const isGone = gone.has(s.cgroupId);
      if (isGone && !s.openConnections) {
        bpf.deleteFromMap(map, s.key);
        removedIds.add(s.cgroupId);
        this.removedCount++;
      } else {
        // kept: alive, or gone with a connection still open (checked again next time)
        next.set(s.cgroupId, isGone);
      }
    }
    this.lastRead.set(map, next);
    const time = this.now();
    for (const id of removedIds) {
      if (next.has(id)) continue;
      this.markRestarted(id, time);
      if (!this.heldByAnotherMap(map, id)) this.cgroups.forget(id);
    }
    return result;
  }

  /** The start time of the cumulative series of `cgroupId` (the receiver's, unless restarted). */
  startTime(cgroupId: bigint, receiverStart: HrTime): HrTime {
    return this.restartedAt.get(cgroupId) ?? receiverStart;
  }

  /** Series removed from the kernel maps since the receiver started. */
  get removed(): number {
    return this.removedCount;
  }

  private goneBeforeRead(map: string): Set<bigint> {
    const previous = this.lastRead.get(map);
    if (!previous) return new Set();
    const gone = new Set<bigint>();
    const unsure: bigint[] = [];
    // cgroup ids are 64-bit kernfs ids, never reused while the system runs: once gone, gone.
    for (const [id, knownGone] of previous) {
      if (knownGone) gone.add(id);
      else unsure.push(id);
    }
    for (const id of this.cgroups.vanished(unsure)) gone.add(id);
    return gone;
  }

  private heldByAnotherMap(map: string, id: bigint): boolean {
    for (const [other, ids] of this.lastRead) if (other !== map && ids.has(id)) return true;
    return false;
  }

  private markRestarted(id: bigint, time: HrTime): void {
    this.restartedAt.delete(id);
    if (this.restartedAt.size >= MAX_RESTARTED) this.restartedAt.delete(this.restartedAt.keys().next().value as bigint);
    this.restartedAt.set(id, time);
  }
}
