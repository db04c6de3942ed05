// Records backed by raw event bytes against the decoded reference (decodeLifecycleEvent +
// lifecycleLogRecord) for the same bytes: equal attribute maps in key order, equal times, and the
// same OTLP/JSON bytes from writeOtlpJson() as from the generic transformer path, alone and after
// k8s_attributes' enrichment and the sampling processor, whatever the byte buffer had to grow through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { MonotonicClock } from '../../host/monotonic_clock';
import { agentResource } from '../../resource';
import { appendLogsRequest, encodeLogsRequest, encodeLogsRequestGeneric } from '../../exporters/file/otlp_json';
import { JsonByteWriter } from '../../telemetry/json_byte_writer';
import { Enrichment } from '../../processors/k8s_attributes/enrichment';
import { SamplingProcessor } from '../../processors/sampling/processor';
import { isOtlpJsonLogRecord, withAddedAttributes } from '../../telemetry/otlp_encodable';
import type { LogRecordContext } from '../common/log_record_context';
import { RawEventCaches } from '../common/raw_events';
import { OVERFLOW_CGROUP_ID } from '../common/workload_attributes';
import { decodeLifecycleEvent } from './decoder';
import { CONSTANTS as C, EVENT_FIELDS as F, EVENT_SIZE } from './layout';
import { lifecycleLogRecord } from './log_records';
import { LifecycleRawLogRecord } from './raw_log_record';

const POD = '0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod11111111_2222_4333_8444_555555555555.slice/cri-containerd-' + 'ab'.repeat(32) + '.scope';
const PATHS = new Map<bigint, string>([
  [1234n, '/system.slice/nginx.service'],
  [77n, POD.slice(3)],
  [2n ** 40n + 5n, '/user.slice/with "quote" and \\ back'],
  // non-ASCII (UTF-8 in cgroupfs names), a control character and an astral-plane character
  [4242n, '/user.slice/café-☃-\u0007-😀.scope'],
]);
const resolver = { resolve: (id: bigint) => PATHS.get(id) } as unknown as CgroupResolver;
const context: LogRecordContext = {
  resource: agentResource(),
  scope: { name: 'tcpscope/receiver/tcp_lifecycle', version: '0.1.0' },
  // Fixed clocks: the offset (wall - monotonic) is sampled once and never again.
  clock: new MonotonicClock({ wallMs: () => 1_763_900_000_123, monotonicNs: () => 5_000_000_000n }, 0n),
  cgroups: resolver,
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
  srttUs?: number;
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
  b.writeUInt32LE(4026531840, F.netns_inode.offset);
  b.writeUInt32LE(12, F.segments_sent.offset);
  b.writeUInt32LE(11, F.segments_received.offset);
  b.writeUInt32LE(1, F.retransmits.offset);
  b.writeUInt32LE(e.srttUs ?? 42, F.srtt_us.offset);
  b.writeUInt16LE(e.sport ?? 40000, F.sport.offset);
  b.writeUInt16LE(e.dport ?? 443, F.dport.offset);
  b.writeUInt16LE(e.family ?? 2, F.family.offset);
  b[F.kind.offset] = e.kind;
  b[F.role.offset] = e.role ?? C.TCP_LIFECYCLE_ROLE_CLIENT;
  (e.comm ?? Buffer.from('curl\0')).copy(b, F.comm.offset, 0, Math.min(16, (e.comm ?? Buffer.from('curl\0')).length));
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
  { kind: CLOSE, cgroupId: 99n, comm: Buffer.from('a "q" \\ \xe9\x01zzzzzzzzzzzzzzzzzz', 'latin1') },
  { kind: CLOSE, cgroupId: 2n ** 40n + 5n, bytesSent: 2n ** 53n + 1n, bytesReceived: 2n ** 63n + 12345n, durationNs: 0n, srttUs: 0 },
  { kind: CLOSE, cgroupId: 2n ** 60n, timestampNs: 2n ** 63n + 999_999_999n, durationNs: 2n ** 64n - 1n },
  { kind: CLOSE, cgroupId: 77n, sport: 0, dport: 65535, durationNs: 1n },
];

/** One framed ring batch of `events`, as the pump sees it. */
function batchOf(events: EventSpec[]): { batch: Buffer; offsets: number[] } {
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

const observed: [number, number] = [1_763_900_001, 5];

function bothPaths(events: EventSpec[]): { raw: ReadableLogRecord[]; decoded: ReadableLogRecord[] } {
  const { batch, offsets } = batchOf(events);
  const raw = new RawEventCaches(context).batch(batch, observed);
  return {
    raw: offsets.map((o) => LifecycleRawLogRecord.decode(raw, o, EVENT_SIZE)),
    decoded: offsets.map((o) => lifecycleLogRecord(decodeLifecycleEvent(batch, o, EVENT_SIZE), context, observed)),
  };
}

test('lazy attributes equal lifecycleLogRecord for the same bytes, in key order, and so do times and names', () => {
  const { raw, decoded } = bothPaths(EVENTS);
  for (let i = 0; i < raw.length; i++) {
    assert.deepEqual(Object.entries(raw[i].attributes), Object.entries(decoded[i].attributes), `event ${i}: attributes`);
    assert.deepEqual(raw[i].hrTime, decoded[i].hrTime, `event ${i}: hrTime`);
    assert.deepEqual(raw[i].hrTimeObserved, decoded[i].hrTimeObserved);
    assert.equal(raw[i].eventName, decoded[i].eventName);
    assert.equal(raw[i].resource, decoded[i].resource);
    assert.equal(raw[i].instrumentationScope, decoded[i].instrumentationScope);
    assert.equal(raw[i].droppedAttributesCount, 0);
  }
});

test('attribute(key) answers what attributes[key] holds, for every key and for absent ones', () => {
  const { raw, decoded } = bothPaths(EVENTS);
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    assert.ok(isOtlpJsonLogRecord(r));
    for (const key of [...Object.keys(decoded[i].attributes), 'process.pid', 'process.linux.cgroup', 'container.id', 'sampling.probability', 'error.type']) {
      assert.equal(r.attribute(key), decoded[i].attributes[key], `event ${i}: ${key}`);
    }
  }
});

test('writeOtlpJson() writes the generic path bytes of the decoded records', () => {
  const { raw, decoded } = bothPaths(EVENTS);
  const generic = encodeLogsRequestGeneric(decoded);
  assert.equal(encodeLogsRequest(raw), generic);
  // and of the same records' lazy maps, through the transformer
  assert.equal(encodeLogsRequestGeneric(raw), generic);
});

test('after k8s_attributes (local mode) and sampling the bytes are still those of the generic path', async () => {
  const { raw, decoded } = bothPaths(EVENTS);
  const enrichment = new Enrichment();
  const enrichedRaw = raw.map((r) => enrichment.enrichRecord(r));
  const enrichedDecoded = decoded.map((r) => {
    const attributes = enrichment.enrich(r.attributes);
    return attributes === r.attributes ? r : { ...r, attributes };
  });
  const pod = enrichedRaw.filter((r) => r.attributes['container.id'] === 'ab'.repeat(32));
  assert.equal(pod.length, 3, 'the pod cgroup events are enriched');
  assert.ok(pod.every(isOtlpJsonLogRecord), 'and keep their writeOtlpJson');
  assert.equal(encodeLogsRequest(enrichedRaw), encodeLogsRequestGeneric(enrichedDecoded));

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
  assert.ok(keptRaw.every(isOtlpJsonLogRecord));
  assert.equal(encodeLogsRequest(keptRaw), encodeLogsRequestGeneric(keptDecoded));
  assert.deepEqual(keptRaw.map((r) => Object.entries(r.attributes)), keptDecoded.map((r) => Object.entries(r.attributes)));
});

test('an added attribute the record already has keeps its position: the copy drops the capability', () => {
  const { raw } = bothPaths([{ kind: CONNECT }]);
  const enrichment = new Enrichment();
  const copy = withAddedAttributes(raw[0], { 'network.peer.port': 1, extra: 'x' });
  assert.equal(isOtlpJsonLogRecord(copy), false);
  assert.deepEqual(Object.keys(copy.attributes).slice(0, 6), Object.keys(raw[0].attributes).slice(0, 6));
  assert.equal(copy.attributes['network.peer.port'], 1);
  assert.equal(encodeLogsRequest([copy]), encodeLogsRequestGeneric([copy]));
  assert.equal(enrichment.enrichRecord(raw[0]), raw[0], 'nothing to add: the same record');
});

test('records of another size or kind are refused as decode errors', () => {
  const { batch } = batchOf([{ kind: 9 }]);
  const raw = new RawEventCaches(context).batch(batch, observed);
  assert.throws(() => LifecycleRawLogRecord.decode(raw, 4, EVENT_SIZE), /unknown tcp_lifecycle event kind 9/);
  assert.throws(() => LifecycleRawLogRecord.decode(raw, 4, EVENT_SIZE - 8), /of 120 bytes, expected 128/);
});

test('non-ASCII comm names and cgroup paths are written as UTF-8, exactly as the generic path writes them', () => {
  const events: EventSpec[] = [
    { kind: CLOSE, cgroupId: 4242n, comm: Buffer.from('caf\xe9-\xff\x80\x7f"\\', 'latin1') },
    { kind: CONNECT, cgroupId: 4242n, comm: Buffer.from('sixteen-bytes-xy', 'latin1') },
    { kind: ACCEPT, role: SERVER, cgroupId: 4242n, comm: Buffer.from('\t\n\x01', 'latin1') },
  ];
  const { raw, decoded } = bothPaths(events);
  assert.equal(raw[1].attributes['process.executable.name'], 'sixteen-bytes-xy', 'a comm filling its field');
  const generic = encodeLogsRequestGeneric(decoded);
  assert.equal(encodeLogsRequest(raw), generic);
  const w = new JsonByteWriter(64);
  appendLogsRequest(w, raw);
  assert.deepEqual(w.copyOut(), Buffer.from(generic, 'utf8'));
});

test('requests written one after the other into a small buffer that grows equal the generic lines', () => {
  const { raw, decoded } = bothPaths(EVENTS);
  const enrichment = new Enrichment();
  const w = new JsonByteWriter(64);
  const expected: string[] = [];
  for (let i = 0; i < 50; i++) {
    const slice = (records: ReadableLogRecord[]) => records.slice(i % records.length).concat(records.slice(0, i % records.length));
    appendLogsRequest(w, slice(raw).map((r) => enrichment.enrichRecord(r)));
    w.byte(0x0a);
    expected.push(encodeLogsRequestGeneric(slice(decoded).map((r) => ({ ...r, attributes: enrichment.enrich(r.attributes) }))));
  }
  assert.deepEqual(w.copyOut(), Buffer.from(expected.join('\n') + '\n', 'utf8'));
});
