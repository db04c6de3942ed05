// Reads tcp_rtt_histograms (per-CPU) and merges the CPUs of each series.
import type { MapEntries } from '../../bridge/bpf_object';
import { formatAddress, type IpAddress } from '../../host/ip_address';
import { KERNEL_BUCKETS } from './buckets';
import { HISTOGRAM_FIELDS as H, HISTOGRAM_SIZE, KEY_FIELDS as K, KEY_SIZE } from './layout';

export interface RttSeries {
  readonly key: Buffer;
  readonly cgroupId: bigint;
  readonly peer?: IpAddress;
  readonly peerPort?: number;
  readonly count: bigint;
  readonly sumUs: bigint;
  readonly minUs: bigint;
  readonly maxUs: bigint;
  readonly buckets: readonly bigint[];
}

export function readRttSeries(entries: MapEntries): RttSeries[] {
  if (entries.keySize !== KEY_SIZE || entries.valueSize !== HISTOGRAM_SIZE) {
    throw new Error(`tcp_rtt_histograms layout mismatch: key ${entries.keySize}/${KEY_SIZE}, value ${entries.valueSize}/${HISTOGRAM_SIZE}`);
  }
  const series: RttSeries[] = [];
  for (let i = 0; i < entries.count; i++) {
    const key = Buffer.from(entries.key(i));
    let count = 0n;
    let sumUs = 0n;
    let minUs = 0n;
    let maxUs = 0n;
    const buckets = new Array<bigint>(KERNEL_BUCKETS).fill(0n);
    for (let cpu = 0; cpu < entries.cpus; cpu++) {
      const v = entries.value(i, cpu);
      const n = v.readBigUInt64LE(H.count.offset);
      if (n === 0n) continue;
      count += n;
      sumUs += v.readBigUInt64LE(H.sum_us.offset);
      const min = v.readBigUInt64LE(H.min_us.offset);
      const max = v.readBigUInt64LE(H.max_us.offset);
      if (min !== 0n && (minUs === 0n || min < minUs)) minUs = min;
      if (max > maxUs) maxUs = max;
      for (let b = 0; b < KERNEL_BUCKETS; b++) buckets[b] += v.readBigUInt64LE(H.buckets.offset + 8 * b);
    }
    if (count === 0n) continue;
    const family = key.readUInt16LE(K.family.offset);
    const peerPort = key.readUInt16LE(K.peer_port.offset);
    series.push({
      key,
      cgroupId: key.readBigUInt64LE(K.cgroup_id.offset),
      ...(family ? { peer: formatAddress(family, key, K.peer_addr.offset) } : {}),
      ...(peerPort ? { peerPort } : {}),
      count,
      sumUs,
      minUs,
      maxUs,
      buckets,
    });
  }
  return series;
}
