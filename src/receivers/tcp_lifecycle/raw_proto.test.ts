// otlpProto() of records backed by raw tcp_lifecycle bytes against the decoded reference
// (decodeLifecycleEvent + lifecycleLogRecord) for the same bytes: the generic encoder's and the
// SDK serializer's ExportLogsServiceRequest bytes, and the same message decoded with the official
// OTLP protos, alone, after k8s_attributes' enrichment and the sampling processor, and mixed
// with plain records in one batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { Enrichment } from '../../processors/k8s_attributes/enrichment';
import { SamplingProcessor } from '../../processors/sampling/processor';
import { isOtlpProtoLogRecord, withAddedAttributes } from '../../telemetry/otlp_encodable';
import { OtlpLogsProtoEncoder } from '../../telemetry/otlp_proto_logs';
import { RequestSlabs, SLAB_BYTES } from '../../telemetry/otlp_proto_slabs';
import { RawEventCaches } from '../common/raw_events';
import { OVERFLOW_CGROUP_ID } from '../common/workload_attributes';
import { decodeLifecycleEvent } from './decoder';
import { EVENT_SIZE } from './layout';
import { lifecycleLogRecord } from './log_records';
import { LifecycleRawLogRecord } from './raw_log_record';
import { assertSameLogsProto, decodedLogRecords, decodeLogsRequest } from '../../../test/support/otlp_logs_proto';
import {
  ACCEPT,
  CLOSE,
  CONNECT,
  EVENTS,
  POD,
  POD_CONTAINER,
  SERVER,
  batchOf,
  bothPaths,
  context,
  mapped,
  v4,
  v6,
  type EventSpec,
} from '../../../test/support/raw_lifecycle_events';

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

/** `events` as raw and decoded records of one batch that reached user space at `observed`. */
function batchPaths(events: EventSpec[], observed: [number, number], caches = new RawEventCaches(context)): { raw: ReadableLogRecord[]; decoded: ReadableLogRecord[] } {
  const { batch, offsets } = batchOf(events);
  const raw = caches.batch(batch, observed);
  return {
    raw: offsets.map((o) => LifecycleRawLogRecord.decode(raw, o, EVENT_SIZE)),
    decoded: offsets.map((o) => lifecycleLogRecord(decodeLifecycleEvent(batch, o, EVENT_SIZE), context, observed)),
  };
}

// Every integer the record writes itself, at each varint width (1 to 5 bytes) and its limits: the
// record sets the two length bytes of each such field after its varint.
const WIDTHS = [0, 1, 127, 128, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 0xffffffff];

test('the integer fields at every varint width, the numbers in each form (integer, double, from 2^32 on), byte for byte', () => {
  const events: EventSpec[] = [];
  for (const n of WIDTHS) {
    const port = Math.min(n, 65535);
    events.push({ kind: CONNECT, sport: port, dport: 65535 - port, pid: n, netns: n, durationNs: BigInt(n) * 1_000_000_000n });
    events.push({ kind: ACCEPT, role: SERVER, sport: port, dport: port, pid: n === 0 ? 1 : n, netns: n });
    events.push({ kind: CLOSE, sport: port, pid: n, netns: n, segments: n, bytesSent: BigInt(n), bytesReceived: BigInt(n) + 1n, srttUs: n, durationNs: BigInt(n) });
  }
  // Numbers that take the double form and the int64 form (from 2^32 on) beside the fast forms.
  events.push({ kind: CLOSE, bytesSent: 2n ** 32n, bytesReceived: 2n ** 40n + 3n, durationNs: 1_500_000_000n, srttUs: 1_500_000 });
  events.push({ kind: CONNECT, durationNs: 2n ** 63n });
  const { raw, decoded } = bothPaths(events);
  assertSameLogsProto(raw, decoded);
  for (let i = 0; i < raw.length; i++) assertSameLogsProto([raw[i]], [decoded[i]]);
});

test('runs kept per address and cgroup, and the last one used, follow every change from record to record', () => {
  // One local address with changing peers, IPv6 between IPv4 records with the same leading bytes,
  // an IPv4-mapped address after the IPv4 one it maps, cgroups changing and coming back, pid 0
  // between pids (no pid field, the role alone), every kind.
  const events: EventSpec[] = [
    { kind: CONNECT, saddr: v4(10, 0, 0, 1), daddr: v4(10, 0, 0, 2), cgroupId: 77n },
    { kind: CONNECT, saddr: v4(10, 0, 0, 1), daddr: v4(10, 0, 0, 3), cgroupId: 77n },
    { kind: CLOSE, saddr: v4(10, 0, 0, 1), daddr: v4(10, 0, 0, 3), cgroupId: 1234n, pid: 0 },
    { kind: ACCEPT, role: SERVER, family: 10, saddr: [10, 0, 0, 1, ...new Array(12).fill(0)], daddr: v6(0xfd00, 0, 0, 0, 0, 0, 0, 3), cgroupId: 1234n },
    { kind: ACCEPT, role: SERVER, family: 10, saddr: mapped(10, 0, 0, 1), daddr: mapped(10, 0, 0, 3), cgroupId: 77n },
    { kind: CLOSE, saddr: v4(10, 0, 0, 1), daddr: v4(10, 0, 0, 3), cgroupId: OVERFLOW_CGROUP_ID },
    { kind: CLOSE, role: SERVER, saddr: v4(10, 0, 0, 3), daddr: v4(10, 0, 0, 1), cgroupId: 99n, pid: 0 },
    { kind: CONNECT, saddr: v4(10, 0, 0, 1), daddr: v4(10, 0, 0, 2), cgroupId: 77n },
  ];
  const { raw, decoded } = bothPaths(events);
  const encoder = new OtlpLogsProtoEncoder();
  for (let round = 0; round < 2; round++) assertSameLogsProto(raw, decoded, encoder);
  // Each alone and backwards: every record after a record other than the one it followed.
  for (let i = raw.length - 1; i >= 0; i--) assertSameLogsProto([raw[i]], [decoded[i]], encoder);
  assertSameLogsProto([...raw].reverse(), [...decoded].reverse(), encoder);
});

test('records of consecutive batches carry their own batch observed time, also when batches alternate', () => {
  const caches = new RawEventCaches(context);
  const a = batchPaths(EVENTS, [1_763_900_001, 5], caches);
  const b = batchPaths(EVENTS, [1_763_900_002, 999_999_999], caches);
  const encoder = new OtlpLogsProtoEncoder();
  assertSameLogsProto(a.raw, a.decoded, encoder);
  assertSameLogsProto(b.raw, b.decoded, encoder);
  // Interleaved: the closing fields kept for one batch are not those of the other.
  const raw = a.raw.flatMap((r, i) => [r, b.raw[i]]);
  const decoded = a.decoded.flatMap((r, i) => [r, b.decoded[i]]);
  assertSameLogsProto(raw, decoded, encoder);
});

test('written into request slabs (the exporter path): the same bytes as a request of its own, the writer moved on past a slab', () => {
  const { raw, decoded } = bothPaths(EVENTS);
  const enriched = raw.map((r) => new Enrichment().enrichRecord(r));
  const reference = new OtlpLogsProtoEncoder({ selfEncoding: false }).encode(enriched);
  assert.equal(reference.toString('hex'), new OtlpLogsProtoEncoder().encode(decoded.map((r) => new Enrichment().enrichRecord(r))).toString('hex'));
  const encoder = new OtlpLogsProtoEncoder();
  const slabs = new RequestSlabs();
  // Requests kept (their leases held) until they fill more than one slab: records reserve their
  // room up to a slab's end, and the request that no longer fits goes to the next slab.
  const leases = [];
  let written = 0;
  for (let i = 0; written < SLAB_BYTES + 64 * 1024; i++) {
    const { bytes, lease } = encoder.encodeInto(enriched, slabs);
    assert.equal(bytes.toString('hex'), reference.toString('hex'), `request ${i}`);
    written += bytes.length;
    leases.push(lease);
  }
  assert.equal(slabs.allocated, 2);
  assert.ok(leases.every((lease) => lease !== undefined), 'every request was written into a slab');
  for (const lease of leases) lease?.release();
});

test('added sets: empty, with a value JSON fragments cannot hold, and one set reused on many records', () => {
  const { raw, decoded } = bothPaths(EVENTS);
  const empty = withAddedAttributes(raw[0], {});
  assert.ok(isOtlpProtoLogRecord(empty));
  assertSameLogsProto([empty], [decoded[0]]);
  // an array value: no pre-encoded JSON for the set, so the record is copied with its map
  const list = Object.freeze({ 'k8s.pod.labels': ['a', 'b'] });
  const copied = withAddedAttributes(raw[0], list);
  assert.equal(isOtlpProtoLogRecord(copied), false);
  const reference = { ...decoded[0], attributes: { ...decoded[0].attributes, ...list } };
  assert.equal(new OtlpLogsProtoEncoder().encode([copied]).toString('hex'), new OtlpLogsProtoEncoder().encode([reference]).toString('hex'));
  const added = Object.freeze({ 'k8s.pod.uid': 'u-1', 'k8s.namespace.name': 'shop' });
  const wrapped = raw.map((r) => withAddedAttributes(r, added));
  assert.ok(wrapped.every(isOtlpProtoLogRecord));
  // the same set again on top: a second wrapper, its keys already set, so a plain copy
  assert.equal(isOtlpProtoLogRecord(withAddedAttributes(wrapped[0], added)), false);
  assertSameLogsProto(wrapped, decoded.map((r) => ({ ...r, attributes: { ...r.attributes, ...added } })));
});
