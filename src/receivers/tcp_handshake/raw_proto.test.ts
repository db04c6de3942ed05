// otlpProto() of records backed by raw tcp_handshake bytes against the decoded reference
// (decodeHandshakeEvent + handshakeLogRecord) for the same bytes: the generic encoder's and the
// SDK serializer's bytes, and the same message decoded with the official OTLP protos, for
// successes, refused and failed connects (with and without a local port) and sync failures,
// alone and after k8s_attributes and sampling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { MonotonicClock } from '../../host/monotonic_clock';
import { agentResource } from '../../resource';
import { Enrichment } from '../../processors/k8s_attributes/enrichment';
import { SamplingProcessor } from '../../processors/sampling/processor';
import { isOtlpProtoLogRecord } from '../../telemetry/otlp_encodable';
import { OtlpLogsProtoEncoder } from '../../telemetry/otlp_proto_logs';
import { assertSameLogsProto, decodedLogRecords, decodeLogsRequest } from '../../../test/support/otlp_logs_proto';
import type { LogRecordContext } from '../common/log_record_context';
import { RawEventCaches } from '../common/raw_events';
import { OVERFLOW_CGROUP_ID } from '../common/workload_attributes';
import { decodeHandshakeEvent } from './decoder';
import { CONSTANTS as C, EVENT_FIELDS as F, EVENT_SIZE } from './layout';
import { handshakeLogRecord } from './log_records';
import { HandshakeRawLogRecord } from './raw_log_record';

const POD_CONTAINER = 'cd'.repeat(32);
const POD = '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod21111111_2222_4333_8444_555555555552.slice/crio-' + POD_CONTAINER + '.scope';
const PATHS = new Map<bigint, string>([
  [1234n, '/system.slice/curl.service'],
  [77n, POD],
]);
const context: LogRecordContext = {
  resource: agentResource(),
  scope: { name: 'tcpscope/receiver/tcp_handshake', version: '0.1.0' },
  clock: new MonotonicClock({ wallMs: () => 1_763_900_000_123, monotonicNs: () => 5_000_000_000n }, 0n),
  cgroups: { resolve: (id: bigint) => PATHS.get(id) } as unknown as CgroupResolver,
};

interface EventSpec {
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

const v4 = (...b: number[]) => [...b, ...new Array(12).fill(0)];
const mapped = (...b: number[]) => [...new Array(10).fill(0), 0xff, 0xff, ...b];
const v6 = (...groups: number[]) => groups.flatMap((g) => [g >> 8, g & 255]);

function eventBytes(e: EventSpec): Buffer {
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

const SYNC = C.TCP_HANDSHAKE_SYNC_FAILURE;
const SERVER = C.TCP_HANDSHAKE_ROLE_SERVER;
const E = constants.errno;

const EVENTS: EventSpec[] = [
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

function bothPaths(events: EventSpec[]): { raw: ReadableLogRecord[]; decoded: ReadableLogRecord[] } {
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

test('otlpProto() writes the generic encoder bytes of the decoded records, each alone and all in one request', () => {
  const { raw, decoded } = bothPaths(EVENTS);
  assert.ok(raw.every(isOtlpProtoLogRecord));
  assertSameLogsProto(raw, decoded);
  for (let i = 0; i < raw.length; i++) assertSameLogsProto([raw[i]], [decoded[i]]);
  const encoder = new OtlpLogsProtoEncoder();
  for (let round = 0; round < 2; round++) assertSameLogsProto(raw, decoded, encoder);
});

test('a refused blocking connect decodes with its errno name and without a local port', () => {
  const { raw } = bothPaths([{ error: E.ECONNREFUSED, sport: 0 }]);
  const [log] = decodedLogRecords(decodeLogsRequest(new OtlpLogsProtoEncoder().encode(raw)));
  const attributes = Object.fromEntries((log.attributes ?? []).map((a) => [a.key, a.value]));
  assert.equal(log.event_name, 'tcp.connect');
  assert.deepEqual(attributes['error.type'], { string_value: 'ECONNREFUSED' });
  assert.deepEqual(attributes['network.local.address'], { string_value: '198.18.0.1' });
  assert.equal(attributes['network.local.port'], undefined);
  assert.deepEqual(attributes['tcp.socket.fd'], { int_value: '7' });
});

test('after k8s_attributes (local mode) and sampling, the wrappers write the generic encoder bytes', async () => {
  const { raw, decoded } = bothPaths(EVENTS);
  const enrichment = new Enrichment();
  const enrichedRaw = raw.map((r) => enrichment.enrichRecord(r));
  const enrichedDecoded = decoded.map((r) => {
    const attributes = enrichment.enrich(r.attributes);
    return attributes === r.attributes ? r : { ...r, attributes };
  });
  assert.equal(enrichedRaw.filter((r) => r.attributes['container.id'] === POD_CONTAINER).length, 2);
  assertSameLogsProto(enrichedRaw, enrichedDecoded);
  const sampled = async (records: ReadableLogRecord[]) => {
    const out: ReadableLogRecord[] = [];
    await new SamplingProcessor({ keep_errors: true, combine: 'any', policies: [{ hash: { ratio: 0.3 } }] }, { consume: async (kept) => void out.push(...kept) }).consume(records);
    return out;
  };
  const keptRaw = await sampled(enrichedRaw);
  assert.ok(keptRaw.length >= 6, 'every failure is kept (keep_errors)');
  assertSameLogsProto(keptRaw, await sampled(enrichedDecoded));
});
