// Reads the kernel's per-cgroup aggregates (tcp_lifecycle_stats, a per-CPU hash) and sums CPUs.
import type { MapEntries } from '../../bridge/bpf_object';
import type { CgroupSeriesEntry } from '../common/cgroup_series';
import { ENDS, type ConnectionEnd, type HandshakeRole } from './decoder';
import { CONSTANTS, DURATION_BUCKETS, STATS_FIELDS as F, STATS_KEY_FIELDS as K, STATS_KEY_SIZE, STATS_SIZE } from './layout';

export interface WorkloadStats extends CgroupSeriesEntry {
  readonly cgroupId: bigint;
  readonly role: HandshakeRole;
  /** The series' connection end (the kernel counts opens in the fin series). */
  readonly end: ConnectionEnd | undefined;
  /** Opens minus closes counted in this series: only the sum over the ends of a (cgroup, role)
   * is the number of connections open now (system.network.connection.count). */
  readonly established: bigint;
  /** That sum, in every series of the (cgroup, role), for the reaper: the series of a cgroup
   * with open connections all stay in the kernel map, and all leave together. */
  readonly openConnections: bigint;
  readonly closed: bigint;
  readonly durationSumNs: bigint;
  readonly bytesSent: bigint;
  readonly bytesReceived: bigint;
  /** Counts per bucket: bucket i holds lifetimes in (2^(i-1), 2^i] microseconds. */
  readonly durationBuckets: readonly bigint[];
}

export function sumWorkloadStats(entries: MapEntries): WorkloadStats[] {
  if (entries.keySize !== STATS_KEY_SIZE || entries.valueSize !== STATS_SIZE) {
    throw new Error(`tcp_lifecycle_stats layout mismatch: key ${entries.keySize}/${STATS_KEY_SIZE}, value ${entries.valueSize}/${STATS_SIZE}`);
  }
  const result: (Omit<WorkloadStats, 'openConnections'> & { openConnections: bigint })[] = [];
  const open = new Map<string, bigint>();
  for (let i = 0; i < entries.count; i++) {
    const key = entries.key(i);
    let established = 0n;
    let closed = 0n;
    let durationSumNs = 0n;
    let bytesSent = 0n;
    let bytesReceived = 0n;
    const durationBuckets = new Array<bigint>(DURATION_BUCKETS).fill(0n);
    for (let cpu = 0; cpu < entries.cpus; cpu++) {
      const v = entries.value(i, cpu);
      established += v.readBigInt64LE(F.established.offset);
      closed += v.readBigUInt64LE(F.closed.offset);
      durationSumNs += v.readBigUInt64LE(F.duration_sum_ns.offset);
      bytesSent += v.readBigUInt64LE(F.bytes_sent.offset);
      bytesReceived += v.readBigUInt64LE(F.bytes_received.offset);
      for (let b = 0; b < DURATION_BUCKETS; b++) durationBuckets[b] += v.readBigUInt64LE(F.duration_buckets.offset + 8 * b);
    }
    const cgroupId = key.readBigUInt64LE(K.cgroup_id.offset);
    const role = key.readUInt32LE(K.role.offset) === CONSTANTS.TCP_LIFECYCLE_ROLE_SERVER ? 'server' : 'client';
    const group = `${cgroupId}/${role}`;
    open.set(group, (open.get(group) ?? 0n) + established);
    result.push({
      key: Buffer.from(key),
      cgroupId,
      role,
      end: ENDS[key.readUInt32LE(K.end.offset)],
      established,
      openConnections: 0n,
      closed,
      durationSumNs,
      bytesSent,
      bytesReceived,
      durationBuckets,
    });
  }
  for (const s of result) s.openConnections = open.get(`${s.cgroupId}/${s.role}`) ?? 0n;
  return result;
}

/** Key bytes of the stats map. */
export function statsKey(cgroupId: bigint, role: number, end: number): Buffer {
  const key = Buffer.alloc(STATS_KEY_SIZE);
  key.writeBigUInt64LE(cgroupId, K.cgroup_id.offset);
  key.writeUInt32LE(role, K.role.offset);
  key.writeUInt32LE(end, K.end.offset);
  return key;
}
