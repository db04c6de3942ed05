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
import { assertSameLogsProto, decodedLogRecords, decodeLogsRequest } from '../../../test/support/otlp_logs_proto';
import { CLOSE, CONNECT, EVENTS, POD, POD_CONTAINER, bothPaths, v6 } from '../../../test/support/raw_lifecycle_events';

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
