// otlpProto() of records backed by raw tcp_lifecycle bytes against the decoded reference
// (decodeLifecycleEvent + lifecycleLogRecord) for the same bytes: the generic encoder's and the
// SDK serializer's ExportLogsServiceRequest bytes, and the same message decoded with the official
// OTLP protos, alone, after k8s_attributes' enrichment and the sampling processor, and mixed
// with plain records in one batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { MonotonicClock } from '../../host/monotonic_clock';
import { agentResource } from '../../resource';
import { Enrichment } from '../../processors/k8s_attributes/enrichment';
import { SamplingProcessor } from '../../processors/sampling/processor';
import { isOtlpProtoLogRecord, withAddedAttributes } from '../../telemetry/otlp_encodable';
import { OtlpLogsProtoEncoder } from '../../telemetry/otlp_proto_logs';
import { assertSameLogsProto, decodedLogRecords, decodeLogsRequest } from '../../../test/support/otlp_logs_proto';
import type { LogRecordContext } from '../common/log_record_context';
import { RawEventCaches } from '../common/raw_events';
import { OVERFLOW_CGROUP_ID } from '../common/workload_attributes';
import { decodeLifecycleEvent } from './decoder';
import { CONSTANTS as C, EVENT_FIELDS as F, EVENT_SIZE } from './layout';
import { lifecycleLogRecord } from './log_records';
import { LifecycleRawLogRecord } from './raw_log_record';

const POD_CONTAINER = 'ab'.repeat(32);
const POD = '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod11111111_2222_4333_8444_555555555555.slice/cri-containerd-' + POD_CONTAINER + '.scope';
const PATHS = new Map<bigint, string>([
  [1234n, '/system.slice/nginx.service'],
  [77n, POD],
  [2n ** 40n + 5n, '/user.slice/with "quote" and \\ back, grüße'],
]);
const context: LogRecordContext = {
  resource: agentResource(),
  scope: { name: 'tcpscope/receiver/tcp_lifecycle', version: '0.1.0' },
  clock: new MonotonicClock({ wallMs: () => 1_763_900_000_123, monotonicNs: () => 5_000_000_000n }, 0n),
  cgroups: { resolve: (id: bigint) => PATHS.get(id) } as unknown as CgroupResolver,
};

interface EventSpec {
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
  segments?: number;
  srttUs?: number;
  netns?: number;
}

const v4 = (...b: number[]) => [...b, ...new Array(12).fill(0)];
const mapped = (...b: number[]) => [...new Array(10).fill(0), 0xff, 0xff, ...b];
const v6 = (...groups: number[]) => groups.flatMap((g) => [g >> 8, g & 255]);

function eventBytes(e: EventSpec): Buffer {
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
  return b;
}

const CONNECT = C.TCP_LIFECYCLE_EVENT_CONNECT;
const ACCEPT = C.TCP_LIFECYCLE_EVENT_ACCEPT;
const CLOSE = C.TCP_LIFECYCLE_EVENT_CLOSE;
const SERVER = C.TCP_LIFECYCLE_ROLE_SERVER;

const EVENTS: EventSpec[] = [
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
];

function bothPaths(events: EventSpec[]): { raw: ReadableLogRecord[]; decoded: ReadableLogRecord[] } {
  const frames = events.map(eventBytes);
  const batch = Buffer.concat(frames.flatMap((f) => [Buffer.from([EVENT_SIZE, 0, 0, 0]), f]));
  const offsets = frames.map((_, i) => i * (4 + EVENT_SIZE) + 4);
  const observed: [number, number] = [1_763_900_001, 5];
  const rawBatch = new RawEventCaches(context).batch(batch, observed);
  return {
    raw: offsets.map((o) => LifecycleRawLogRecord.decode(rawBatch, o, EVENT_SIZE)),
    decoded: offsets.map((o) => lifecycleLogRecord(decodeLifecycleEvent(batch, o, EVENT_SIZE), context, observed)),
  };
}

test('otlpProto() writes the generic encoder bytes of the decoded records, each alone and all in one request', () => {
  const { raw, decoded } = bothPaths(EVENTS);
  assert.ok(raw.every(isOtlpProtoLogRecord));
  assertSameLogsProto(raw, decoded);
  for (let i = 0; i < raw.length; i++) assertSameLogsProto([raw[i]], [decoded[i]]);
  // with the encoder's caches warm, twice
  const encoder = new OtlpLogsProtoEncoder();
  for (let round = 0; round < 2; round++) assertSameLogsProto(raw, decoded, encoder);
});

test('the decoded message has what the kernel bytes say: a close over IPv6 with its counters', () => {
  const { raw } = bothPaths([{ kind: CLOSE, family: 10, saddr: v6(0xfd00, 0, 0, 0, 0, 0, 0, 1), daddr: v6(0xfd00, 0, 0, 0, 0, 0, 0, 2), cgroupId: 77n, durationNs: 2_500_000_000n, srttUs: 125 }]);
  const [log] = decodedLogRecords(decodeLogsRequest(new OtlpLogsProtoEncoder().encode(raw)));
  const attributes = Object.fromEntries((log.attributes ?? []).map((a) => [a.key, a.value]));
  assert.equal(log.event_name, 'tcp.close');
  assert.deepEqual(attributes['network.type'], { string_value: 'ipv6' });
  assert.deepEqual(attributes['network.local.address'], { string_value: 'fd00::1' });
  assert.deepEqual(attributes['network.peer.address'], { string_value: 'fd00::2' });
  assert.deepEqual(attributes['network.local.port'], { int_value: '40000' });
  assert.deepEqual(attributes['process.linux.cgroup'], { string_value: `0::${POD}` });
  assert.deepEqual(attributes['tcp.duration'], { double_value: 2.5 });
  assert.deepEqual(attributes['tcp.bytes.sent'], { int_value: '1000' });
  assert.deepEqual(attributes['tcp.rtt'], { double_value: 0.000125 });
  // wall 1,763,900,000.123 s at monotonic 5 s; the event at monotonic 7,000.123456789 s
  assert.equal(log.time_unix_nano, '1763906995246456789');
});

test('after k8s_attributes (local mode) and sampling, the wrappers write the generic encoder bytes', async () => {
  const { raw, decoded } = bothPaths(EVENTS);
  const enrichment = new Enrichment();
  const enrichedRaw = raw.map((r) => enrichment.enrichRecord(r));
  const enrichedDecoded = decoded.map((r) => {
    const attributes = enrichment.enrich(r.attributes);
    return attributes === r.attributes ? r : { ...r, attributes };
  });
  const pod = enrichedRaw.filter((r) => r.attributes['container.id'] === POD_CONTAINER);
  assert.equal(pod.length, 3, 'the pod cgroup events are enriched');
  assertSameLogsProto(enrichedRaw, enrichedDecoded);

  const sampled = async (records: ReadableLogRecord[]) => {
    const out: ReadableLogRecord[] = [];
    const processor = new SamplingProcessor(
      { keep_errors: true, combine: 'any', policies: [{ hash: { ratio: 0.5 } }, { threshold: { field: 'tcp.duration', min: 1e-6 } }] },
      { consume: async (kept) => void out.push(...kept) },
    );
    await processor.consume(records);
    return out;
  };
  const keptRaw = await sampled(enrichedRaw);
  const keptDecoded = await sampled(enrichedDecoded);
  assert.ok(keptRaw.length > 0 && keptRaw.length < EVENTS.length, `sampling kept ${keptRaw.length} of ${EVENTS.length}`);
  assert.ok(keptRaw.some((r) => r.attributes['container.id'] === POD_CONTAINER), 'an enriched record is among the kept: two added sets on it');
  const encoder = new OtlpLogsProtoEncoder();
  for (let round = 0; round < 2; round++) assertSameLogsProto(keptRaw, keptDecoded, encoder);
});

test('raw records and plain records in one batch: each written its way, the request as the generic one', () => {
  const { raw, decoded } = bothPaths(EVENTS);
  const plain = decoded.map((r) => ({ ...r }));
  const mixed = raw.flatMap((r, i) => [r, plain[i]]);
  const references = decoded.flatMap((r, i) => [r, plain[i]]);
  const ours = new OtlpLogsProtoEncoder().encode(mixed);
  assert.equal(ours.toString('hex'), new OtlpLogsProtoEncoder().encode(references).toString('hex'));
});

test('an added attribute the record already has: the copy is a plain record, encoded generically', () => {
  const { raw, decoded } = bothPaths([{ kind: CONNECT }]);
  const copy = withAddedAttributes(raw[0], { 'network.peer.port': 1, extra: 'x' });
  assert.equal(isOtlpProtoLogRecord(copy), false);
  const reference = { ...decoded[0], attributes: { ...decoded[0].attributes, 'network.peer.port': 1, extra: 'x' } };
  assert.equal(new OtlpLogsProtoEncoder().encode([copy]).toString('hex'), new OtlpLogsProtoEncoder().encode([reference]).toString('hex'));
});
