// Reads the kernel's per-cgroup aggregates (tcp_lifecycle_stats, a per-CPU hash) and sums CPUs.
import type { MapEntries } from '../../bridge/bpf_object';
import type { CgroupSeriesEntry } from '../common/cgroup_series';
import type { HandshakeRole } from './decoder';
import { CONSTANTS, DURATION_BUCKETS, STATS_FIELDS as F, STATS_KEY_FIELDS as K, STATS_KEY_SIZE, STATS_SIZE } from './layout';

export interface WorkloadStats extends CgroupSeriesEntry {
  readonly cgroupId: bigint;
  readonly role: HandshakeRole;
  /** Connections open now (opens minus closes): system.network.connection.count. */
  readonly established: bigint;
  /** The same count, for the reaper: a series with open connections stays in the kernel map. */
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
  const result: WorkloadStats[] = [];
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
    result.push({
      key: Buffer.from(key),
      cgroupId: key.readBigUInt64LE(K.cgroup_id.offset),
      role: key.readUInt32LE(K.role.offset) === CONSTANTS.TCP_LIFECYCLE_ROLE_SERVER ? 'server' : 'client',
      established,
      openConnections: established,
      closed,
      durationSumNs,
      bytesSent,
      bytesReceived,
      durationBuckets,
    });
  }
  return result;
}

/** Key bytes of the stats map. */
export function statsKey(cgroupId: bigint, role: number): Buffer {
  const key = Buffer.alloc(STATS_KEY_SIZE);
  key.writeBigUInt64LE(cgroupId, K.cgroup_id.offset);
  key.writeUInt32LE(role, K.role.offset);
  return key;
}
