// tcp_handshake event bytes built field by field, for the tests that hold the records backed by
// raw bytes (writeOtlpJson, otlpProto) to the decoded reference path: one set of fixture events
// (outcomes and pre-SYN failures with their errno, every family and role, unresolved, overflow
// and non-ASCII cgroups, escaped and 16-byte comms, fd limits), the context they are decoded
// with, and both paths over one framed ring batch.
import { constants } from 'node:os';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { CgroupResolver } from '../../src/host/cgroup_resolver';
import { MonotonicClock } from '../../src/host/monotonic_clock';
import { agentResource } from '../../src/resource';
import type { LogRecordContext } from '../../src/receivers/common/log_record_context';
import { RawEventCaches } from '../../src/receivers/common/raw_events';
import { OVERFLOW_CGROUP_ID } from '../../src/receivers/common/workload_attributes';
import { decodeHandshakeEvent } from '../../src/receivers/tcp_handshake/decoder';
import { CONSTANTS as C, EVENT_FIELDS as F, EVENT_SIZE } from '../../src/receivers/tcp_handshake/layout';
import { handshakeLogRecord } from '../../src/receivers/tcp_handshake/log_records';
import { HandshakeRawLogRecord } from '../../src/receivers/tcp_handshake/raw_log_record';
import { mapped, v4, v6 } from './address_bytes';

export const POD_CONTAINER = 'cd'.repeat(32);
export const POD = '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod21111111_2222_4333_8444_555555555552.slice/crio-' + POD_CONTAINER + '.scope';
export const PATHS = new Map<bigint, string>([
  [1234n, '/system.slice/curl.service'],
  [77n, POD],
  // non-ASCII (UTF-8 in cgroupfs names) and an astral-plane character
  [4242n, '/user.slice/café-☃-😀.scope'],
]);
export const context: LogRecordContext = {
  resource: agentResource(),
  scope: { name: 'tcpscope/receiver/tcp_handshake', version: '0.1.0' },
  clock: new MonotonicClock({ wallMs: () => 1_763_900_000_123, monotonicNs: () => 5_000_000_000n }, 0n),
  cgroups: { resolve: (id: bigint) => PATHS.get(id) } as unknown as CgroupResolver,
};

export interface EventSpec {
  kind?: number;
  role?: number;
  family?: number;
  saddr?: number[];
  daddr?: number[];
  sport?: number;
  dport?: number;
  durationNs?: bigint;
  cgroupId?: bigint;
  pid?: number;
  fd?: number;
  error?: number;
  comm?: Buffer;
}

export { mapped, v4, v6 } from './address_bytes';

export function eventBytes(e: EventSpec): Buffer {
  const b = Buffer.alloc(EVENT_SIZE);
  b.writeBigUInt64LE(7_000_123_456_789n, F.timestamp_ns.offset);
  b.writeBigUInt64LE(e.durationNs ?? 1_234_567n, F.duration_ns.offset);
  b.writeBigUInt64LE(e.cgroupId ?? 1234n, F.cgroup_id.offset);
  Buffer.from(e.saddr ?? v4(198, 18, 0, 1)).copy(b, F.saddr.offset);
  Buffer.from(e.daddr ?? v4(198, 18, 0, 2)).copy(b, F.daddr.offset);
  b.writeUInt32LE(e.pid ?? 4242, F.pid.offset);
  b.writeInt32LE(e.fd ?? 7, F.fd.offset);
  b.writeUInt32LE(4026531840, F.netns_inode.offset);
  b.writeUInt32LE(e.error ?? 0, F.error.offset);
  b.writeUInt16LE(e.sport ?? 40000, F.sport.offset);
  b.writeUInt16LE(e.dport ?? 443, F.dport.offset);
  b.writeUInt16LE(e.family ?? 2, F.family.offset);
  b[F.kind.offset] = e.kind ?? C.TCP_HANDSHAKE_OUTCOME;
  b[F.role.offset] = e.role ?? C.TCP_HANDSHAKE_ROLE_CLIENT;
  (e.comm ?? Buffer.from('curl\0')).copy(b, F.comm.offset, 0, 16);
  return b;
}

export const SYNC = C.TCP_HANDSHAKE_SYNC_FAILURE;
export const SERVER = C.TCP_HANDSHAKE_ROLE_SERVER;
export const E = constants.errno;

/** The fixture events, one of each shape the encoders must agree on. */
export const EVENTS: EventSpec[] = [
  {},
  { error: E.ECONNREFUSED, sport: 0 },
  { error: E.ECONNREFUSED },
  { error: E.ETIMEDOUT, durationNs: 0n, fd: -1, cgroupId: 77n },
  { kind: SYNC, error: E.ENETUNREACH, saddr: v4(0, 0, 0, 0), sport: 0 },
  { role: SERVER, family: 10, saddr: v6(0xfd00, 0, 0, 0, 0, 0, 0, 1), daddr: v6(0xfd00, 0, 0, 0, 0, 0, 0, 2), pid: 0, fd: -1, cgroupId: 77n },
  { family: 10, saddr: mapped(127, 0, 0, 1), daddr: mapped(127, 0, 0, 1), error: E.EHOSTUNREACH, cgroupId: OVERFLOW_CGROUP_ID },
  { fd: 0, dport: 0, sport: 65535, durationNs: 5_000_000_000n },
  { error: 4095, cgroupId: 99n, comm: Buffer.from('x"\\\xff\x02yyyyyyyyyyyyyyyy', 'latin1') },
  { fd: 2 ** 31 - 1, comm: Buffer.from('0123456789abcdef', 'latin1') },
];

/** The same events as records backed by one framed batch's bytes and as the decoded reference records. */
export function bothPaths(events: EventSpec[]): { raw: ReadableLogRecord[]; decoded: ReadableLogRecord[] } {
  const frames = events.map(eventBytes);
  const batch = Buffer.concat(frames.flatMap((f) => [Buffer.from([EVENT_SIZE, 0, 0, 0]), f]));
  const offsets = frames.map((_, i) => i * (4 + EVENT_SIZE) + 4);
  const observed: [number, number] = [1_763_900_001, 5];
  const rawBatch = new RawEventCaches(context).batch(batch, observed);
  return {
    raw: offsets.map((o) => HandshakeRawLogRecord.decode(rawBatch, o, EVENT_SIZE)),
    decoded: offsets.map((o) => handshakeLogRecord(decodeHandshakeEvent(batch, o, EVENT_SIZE), context, observed)),
  };
}
