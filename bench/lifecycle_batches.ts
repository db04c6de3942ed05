// Synthetic tcp_lifecycle ring batches for the event path benchmarks (decode.ts, event_path.ts).
import { CONSTANTS as C, EVENT_FIELDS as F, EVENT_SIZE } from '../src/receivers/tcp_lifecycle/layout';

/** Cgroup paths laid out as kubelet does with containerd, for ids 1000 + i. */
export function podCgroupPath(i: number): string {
  return `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${i}1111111_2222_4333_8444_55555555555${i}.slice/cri-containerd-${String(i).repeat(64)}.scope`;
}

/**
 * One framed ring batch of `records` tcp_lifecycle events shaped like the churn load: loopback
 * IPv4, connect + accept + two closes per connection, `cgroups` cgroup ids from 1000 on.
 */
export function churnBatch(seed: number, BATCH_RECORDS: number, CGROUPS: number): Buffer {
  const batch = Buffer.alloc(BATCH_RECORDS * (4 + EVENT_SIZE));
  const kinds = [C.TCP_LIFECYCLE_EVENT_CONNECT, C.TCP_LIFECYCLE_EVENT_ACCEPT, C.TCP_LIFECYCLE_EVENT_CLOSE, C.TCP_LIFECYCLE_EVENT_CLOSE];
  for (let i = 0; i < BATCH_RECORDS; i++) {
    const at = i * (4 + EVENT_SIZE);
    batch.writeUInt32LE(EVENT_SIZE, at);
    const o = at + 4;
    const conn = seed * BATCH_RECORDS + (i >> 2);
    const kind = kinds[i & 3];
    const server = kind === C.TCP_LIFECYCLE_EVENT_ACCEPT || (i & 3) === 3;
    batch.writeBigUInt64LE(BigInt(process.hrtime.bigint()) + BigInt(i), o + F.timestamp_ns.offset);
    batch.writeBigUInt64LE(BigInt(30_000 + (conn % 5000)), o + F.duration_ns.offset);
    batch.writeBigUInt64LE(BigInt(1000 + (conn % CGROUPS)), o + F.cgroup_id.offset);
    batch.writeBigUInt64LE(100n, o + F.bytes_sent.offset);
    batch.writeBigUInt64LE(100n, o + F.bytes_received.offset);
    batch.set([127, 0, 0, 1], o + F.saddr.offset);
    batch.set([127, 0, 0, 1], o + F.daddr.offset);
    batch.writeUInt32LE(4000 + (conn % 4), o + F.pid.offset);
    batch.writeUInt32LE(4026531840, o + F.netns_inode.offset);
    batch.writeUInt32LE(5, o + F.segments_sent.offset);
    batch.writeUInt32LE(4, o + F.segments_received.offset);
    batch.writeUInt32LE(17 + (conn % 13), o + F.srtt_us.offset);
    const ephemeral = 32768 + (conn % 28000);
    batch.writeUInt16LE(server ? 8080 : ephemeral, o + F.sport.offset);
    batch.writeUInt16LE(server ? ephemeral : 8080, o + F.dport.offset);
    batch.writeUInt16LE(2, o + F.family.offset);
    batch[o + F.kind.offset] = kind;
    batch[o + F.role.offset] = server ? C.TCP_LIFECYCLE_ROLE_SERVER : C.TCP_LIFECYCLE_ROLE_CLIENT;
    if (kind === C.TCP_LIFECYCLE_EVENT_CLOSE) batch[o + F.end.offset] = C.TCP_LIFECYCLE_END_FIN; // churn closes are orderly
    batch.write('node\0', o + F.comm.offset, 'latin1');
  }
  return batch;
}

