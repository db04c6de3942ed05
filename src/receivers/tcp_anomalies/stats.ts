// Reads the kernel's anomaly counters (tcp_anomalies_stats, per-CPU) and sums CPUs.
import type { MapEntries } from '../../bridge/bpf_object';
import type { CgroupSeriesEntry } from '../common/cgroup_series';
import { STATS_FIELDS as F, STATS_KEY_FIELDS as K, STATS_KEY_SIZE, STATS_SIZE } from './layout';

export interface AnomalyStats extends CgroupSeriesEntry {
  /** 0: the host series (no socket). */
  readonly cgroupId: bigint;
  /** TCP_ANOMALIES_RETRANSMIT, _RESET_SENT... (meaningless for the overflow series). */
  readonly kind: number;
  readonly reason: number;
  readonly count: bigint;
}

export function sumAnomalyStats(entries: MapEntries): AnomalyStats[] {
  if (entries.keySize !== STATS_KEY_SIZE || entries.valueSize !== STATS_SIZE) {
    throw new Error(`tcp_anomalies_stats layout mismatch: key ${entries.keySize}/${STATS_KEY_SIZE}, value ${entries.valueSize}/${STATS_SIZE}`);
  }
  const result: AnomalyStats[] = [];
  for (let i = 0; i < entries.count; i++) {
    const key = entries.key(i);
    let count = 0n;
    for (let cpu = 0; cpu < entries.cpus; cpu++) count += entries.value(i, cpu).readBigUInt64LE(F.count.offset);
    if (count === 0n) continue;
    result.push({
      key: Buffer.from(key),
      cgroupId: key.readBigUInt64LE(K.cgroup_id.offset),
      kind: key.readUInt32LE(K.kind.offset),
      reason: key.readUInt32LE(K.reason.offset),
      count,
    });
  }
  return result;
}

export function anomalyStatsKey(cgroupId: bigint, kind: number, reason: number): Buffer {
  const key = Buffer.alloc(STATS_KEY_SIZE);
  key.writeBigUInt64LE(cgroupId, K.cgroup_id.offset);
  key.writeUInt32LE(kind, K.kind.offset);
  key.writeUInt32LE(reason, K.reason.offset);
  return key;
}
