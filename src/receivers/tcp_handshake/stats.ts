// Reads the kernel's handshake histogram (tcp_handshake_stats, per-CPU) and sums CPUs.
import type { MapEntries } from '../../bridge/bpf_object';
import type { CgroupSeriesEntry } from '../common/cgroup_series';
import { DURATION_BUCKETS } from '../common/duration_buckets';
import type { HandshakeRole } from '../common/workload_attributes';
import { CONSTANTS, STATS_FIELDS as F, STATS_KEY_FIELDS as K, STATS_KEY_SIZE, STATS_SIZE } from './layout';

export interface HandshakeStats extends CgroupSeriesEntry {
  readonly cgroupId: bigint;
  /** Meaningless for the overflow series (one series for every role and outcome). */
  readonly role: HandshakeRole;
  /** errno, 0 for success. */
  readonly error: number;
  readonly count: bigint;
  readonly durationSumNs: bigint;
  readonly durationBuckets: readonly bigint[];
}

export function sumHandshakeStats(entries: MapEntries): HandshakeStats[] {
  if (entries.keySize !== STATS_KEY_SIZE || entries.valueSize !== STATS_SIZE) {
    throw new Error(`tcp_handshake_stats layout mismatch: key ${entries.keySize}/${STATS_KEY_SIZE}, value ${entries.valueSize}/${STATS_SIZE}`);
  }
  const result: HandshakeStats[] = [];
  for (let i = 0; i < entries.count; i++) {
    const key = entries.key(i);
    let count = 0n;
    let durationSumNs = 0n;
    const durationBuckets = new Array<bigint>(DURATION_BUCKETS).fill(0n);
    for (let cpu = 0; cpu < entries.cpus; cpu++) {
      const v = entries.value(i, cpu);
      count += v.readBigUInt64LE(F.count.offset);
      durationSumNs += v.readBigUInt64LE(F.duration_sum_ns.offset);
      for (let b = 0; b < DURATION_BUCKETS; b++) durationBuckets[b] += v.readBigUInt64LE(F.duration_buckets.offset + 8 * b);
    }
    if (count === 0n) continue;
    result.push({
      key: Buffer.from(key),
      cgroupId: key.readBigUInt64LE(K.cgroup_id.offset),
      role: key.readUInt32LE(K.role.offset) === CONSTANTS.TCP_HANDSHAKE_ROLE_SERVER ? 'server' : 'client',
      error: key.readUInt32LE(K.error.offset),
      count,
      durationSumNs,
      durationBuckets,
    });
  }
  return result;
}

export function handshakeStatsKey(cgroupId: bigint, role: number, error: number): Buffer {
  const key = Buffer.alloc(STATS_KEY_SIZE);
  key.writeBigUInt64LE(cgroupId, K.cgroup_id.offset);
  key.writeUInt32LE(role, K.role.offset);
  key.writeUInt32LE(error, K.error.offset);
  return key;
}
