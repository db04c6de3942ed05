// tcp_lifecycle event bytes built field by field, for the tests that hold the records backed by
// raw bytes (writeOtlpJson, otlpProto) to the decoded reference path: one set of fixture events
// (every family, role and kind; unresolved, overflow and non-ASCII cgroups; escaped and 16-byte
// comms; counters past 2^53 and at their limits), the context they are decoded with, and both
// paths over one framed ring batch.
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { CgroupResolver } from '../../src/host/cgroup_resolver';
import { MonotonicClock } from '../../src/host/monotonic_clock';
import { agentResource } from '../../src/resource';
import type { LogRecordContext } from '../../src/receivers/common/log_record_context';
import { RawEventCaches } from '../../src/receivers/common/raw_events';
import { OVERFLOW_CGROUP_ID } from '../../src/receivers/common/workload_attributes';
import { decodeLifecycleEvent } from '../../src/receivers/tcp_lifecycle/decoder';
import { CONSTANTS as C, EVENT_FIELDS as F, EVENT_SIZE } from '../../src/receivers/tcp_lifecycle/layout';
import { lifecycleLogRecord } from '../../src/receivers/tcp_lifecycle/log_records';
import { LifecycleRawLogRecord } from '../../src/receivers/tcp_lifecycle/raw_log_record';
import { mapped, v4, v6 } from './address_bytes';

export const POD_CONTAINER = 'ab'.repeat(32);
export const POD = '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod11111111_2222_4333_8444_555555555555.slice/cri-containerd-' + POD_CONTAINER + '.scope';
export const PATHS = new Map<bigint, string>([
  [1234n, '/system.slice/nginx.service'],
  [77n, POD],
  [2n ** 40n + 5n, '/user.slice/with "quote" and \\ back, grüße'],
  // non-ASCII (UTF-8 in cgroupfs names), a control character and an astral-plane character
  [4242n, '/user.slice/café-☃-\u0007-😀.scope'],
]);
export const context: LogRecordContext = {
  resource: agentResource(),
  scope: { name: 'tcpscope/receiver/tcp_lifecycle', version: '0.1.0' },
  // Fixed clocks: the offset (wall - monotonic) is sampled once and never again.
  clock: new MonotonicClock({ wallMs: () => 1_763_900_000_123, monotonicNs: () => 5_000_000_000n }, 0n),
  cgroups: { resolve: (id: bigint) => PATHS.get(id) } as unknown as CgroupResolver,
};

export interface EventSpec {
  kind: number;
  role?: number;
  family?: number;
  saddr?: number[];
  daddr?: number[];
  sport?: number;
  dport?: number;
  timestampNs?: bigint;
  durationNs?: bigint;
  cgroupId?: bigint;
  pid?: number;
  comm?: Buffer;
  bytesSent?: bigint;
  bytesReceived?: bigint;
  /** segments sent, segments received and retransmits all set to this; else 12, 11 and 1 */
  segments?: number;
  srttUs?: number;
  netns?: number;
  /** TCP_LIFECYCLE_END_*; default: fin on a close, 0 otherwise */
  end?: number;
}

export { mapped, v4, v6 } from './address_bytes';

export function eventBytes(e: EventSpec): Buffer {
  const b = Buffer.alloc(EVENT_SIZE);
  b.writeBigUInt64LE(e.timestampNs ?? 7_000_123_456_789n, F.timestamp_ns.offset);
  b.writeBigUInt64LE(e.durationNs ?? 1_234_567n, F.duration_ns.offset);
  b.writeBigUInt64LE(e.cgroupId ?? 1234n, F.cgroup_id.offset);
  b.writeBigUInt64LE(e.bytesSent ?? 1000n, F.bytes_sent.offset);
  b.writeBigUInt64LE(e.bytesReceived ?? 2000n, F.bytes_received.offset);
  Buffer.from(e.saddr ?? v4(127, 0, 0, 1)).copy(b, F.saddr.offset);
  Buffer.from(e.daddr ?? v4(198, 18, 0, 2)).copy(b, F.daddr.offset);
  b.writeUInt32LE(e.pid ?? 4242, F.pid.offset);
  b.writeUInt32LE(e.netns ?? 4026531840, F.netns_inode.offset);
  b.writeUInt32LE(e.segments ?? 12, F.segments_sent.offset);
  b.writeUInt32LE(e.segments ?? 11, F.segments_received.offset);
  b.writeUInt32LE(e.segments ?? 1, F.retransmits.offset);
  b.writeUInt32LE(e.srttUs ?? 42, F.srtt_us.offset);
  b.writeUInt16LE(e.sport ?? 40000, F.sport.offset);
  b.writeUInt16LE(e.dport ?? 443, F.dport.offset);
  b.writeUInt16LE(e.family ?? 2, F.family.offset);
  b[F.kind.offset] = e.kind;
  b[F.role.offset] = e.role ?? C.TCP_LIFECYCLE_ROLE_CLIENT;
  const comm = e.comm ?? Buffer.from('curl\0');
  comm.copy(b, F.comm.offset, 0, Math.min(F.comm.size, comm.length));
  b[F.end.offset] = e.end ?? (e.kind === C.TCP_LIFECYCLE_EVENT_CLOSE ? C.TCP_LIFECYCLE_END_FIN : C.TCP_LIFECYCLE_END_NONE);
  return b;
}

export const CONNECT = C.TCP_LIFECYCLE_EVENT_CONNECT;
export const ACCEPT = C.TCP_LIFECYCLE_EVENT_ACCEPT;
export const CLOSE = C.TCP_LIFECYCLE_EVENT_CLOSE;
export const SERVER = C.TCP_LIFECYCLE_ROLE_SERVER;

/** The fixture events, one of each shape the encoders must agree on. */
export const EVENTS: EventSpec[] = [
  { kind: CONNECT },
  { kind: CONNECT, durationNs: 0n, timestampNs: 0n },
  { kind: CONNECT, durationNs: 3_000_000_000n, cgroupId: 77n },
  { kind: ACCEPT, role: SERVER, family: 10, saddr: v6(0xfd00, 0, 0, 0, 0, 0, 0, 1), daddr: v6(0xfd00, 0, 0, 0, 0, 0, 0, 2), cgroupId: 77n },
  { kind: ACCEPT, role: SERVER, family: 10, saddr: mapped(127, 0, 0, 1), daddr: mapped(127, 0, 0, 2), pid: 0 },
  { kind: CLOSE, family: 10, saddr: v6(0, 0, 0, 0, 0, 0, 0, 1), daddr: v6(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1) },
  { kind: CLOSE, role: SERVER, cgroupId: OVERFLOW_CGROUP_ID, pid: 0 },
  // a comm of 16 bytes without NUL, non-ASCII and control bytes; an unresolved cgroup (tcp.cgroup.id)
  { kind: CLOSE, cgroupId: 99n, comm: Buffer.from('a "q" \\ \xe9\x01zzzzzzzzzzzzzzzzzz', 'latin1') },
  { kind: CLOSE, cgroupId: 99n, comm: Buffer.from('0123456789abcdef', 'latin1') },
  { kind: CLOSE, cgroupId: 2n ** 40n + 5n, bytesSent: 2n ** 53n + 1n, bytesReceived: 2n ** 63n + 12345n, durationNs: 0n, srttUs: 0 },
  { kind: CLOSE, cgroupId: 2n ** 60n, timestampNs: 2n ** 63n + 999_999_999n, durationNs: 2n ** 64n - 1n, bytesSent: 2n ** 32n, bytesReceived: 2n ** 32n - 1n },
  { kind: CLOSE, cgroupId: 77n, sport: 0, dport: 65535, durationNs: 1n, segments: 0xffffffff, netns: 0xffffffff, pid: 0xffffffff },
  { kind: CLOSE, sport: 127, dport: 128, segments: 16384, srttUs: 1_000_000 },
  // every other way a connection ends (fin is the default above)
  { kind: CLOSE, end: C.TCP_LIFECYCLE_END_RESET_SENT, cgroupId: 99n },
  { kind: CLOSE, role: SERVER, end: C.TCP_LIFECYCLE_END_RESET_RECEIVED, pid: 0 },
  { kind: CLOSE, end: C.TCP_LIFECYCLE_END_TIMEOUT, family: 10, saddr: v6(0xfd00, 0, 0, 0, 0, 0, 0, 1), daddr: v6(0xfd00, 0, 0, 0, 0, 0, 0, 2) },
  { kind: CLOSE, end: C.TCP_LIFECYCLE_END_ABORT, cgroupId: OVERFLOW_CGROUP_ID },
];

/** One framed ring batch of `events`, as the pump sees it. */
export function batchOf(events: EventSpec[]): { batch: Buffer; offsets: number[] } {
  const frames: Buffer[] = [];
  const offsets: number[] = [];
  let at = 0;
  for (const e of events) {
    const header = Buffer.alloc(4);
    header.writeUInt32LE(EVENT_SIZE);
    frames.push(header, eventBytes(e));
    offsets.push(at + 4);
    at += 4 + EVENT_SIZE;
  }
  return { batch: Buffer.concat(frames), offsets };
}

/** When the fixture batches reached user space. */
export const observed: [number, number] = [1_763_900_001, 5];

/** The same events as records backed by the batch's bytes and as the decoded reference records. */
export function bothPaths(events: EventSpec[]): { raw: ReadableLogRecord[]; decoded: ReadableLogRecord[] } {
  const { batch, offsets } = batchOf(events);
  const raw = new RawEventCaches(context).batch(batch, observed);
  return {
    raw: offsets.map((o) => LifecycleRawLogRecord.decode(raw, o, EVENT_SIZE)),
    decoded: offsets.map((o) => lifecycleLogRecord(decodeLifecycleEvent(batch, o, EVENT_SIZE), context, observed)),
  };
}
