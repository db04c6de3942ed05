// Records backed by raw event bytes against the decoded reference (decodeLifecycleEvent +
// lifecycleLogRecord) for the same bytes: equal attribute maps in key order, equal times, and the
// same OTLP/JSON bytes from writeOtlpJson() as from the generic transformer path, alone and after
// k8s_attributes' enrichment and the sampling processor, whatever the byte buffer had to grow through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { appendLogsRequest, encodeLogsRequest, encodeLogsRequestGeneric } from '../../exporters/file/otlp_json';
import { JsonByteWriter } from '../../telemetry/json_byte_writer';
import { Enrichment } from '../../processors/k8s_attributes/enrichment';
import { SamplingProcessor } from '../../processors/sampling/processor';
import { isOtlpJsonLogRecord, withAddedAttributes } from '../../telemetry/otlp_encodable';
import { RawEventCaches } from '../common/raw_events';
import { EVENT_SIZE } from './layout';
import { LifecycleRawLogRecord } from './raw_log_record';
import { ACCEPT, CLOSE, CONNECT, EVENTS, SERVER, batchOf, bothPaths, context, observed, type EventSpec } from '../../../test/support/raw_lifecycle_events';

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
  assert.throws(() => LifecycleRawLogRecord.decode(raw, 4, EVENT_SIZE - 8), /of 128 bytes, expected 136/);
  const { batch: closes } = batchOf([{ kind: CLOSE, end: 0 }, { kind: CLOSE, end: 6 }]);
  const rawCloses = new RawEventCaches(context).batch(closes, observed);
  assert.throws(() => LifecycleRawLogRecord.decode(rawCloses, 4, EVENT_SIZE), /close event with unknown end 0/);
  assert.throws(() => LifecycleRawLogRecord.decode(rawCloses, 4 + 4 + EVENT_SIZE, EVENT_SIZE), /close event with unknown end 6/);
});

test('every connection end is written as the decoded path writes it, in JSON and in protobuf', () => {
  const ends = ['fin', 'reset_sent', 'reset_received', 'timeout', 'abort'];
  const { raw, decoded } = bothPaths(ends.map((_, i) => ({ kind: CLOSE, end: i + 1 })));
  assert.deepEqual(raw.map((r) => r.attributes['tcp.connection.end']), ends);
  assert.deepEqual(decoded.map((r) => r.attributes['tcp.connection.end']), ends);
  assert.deepEqual(Object.keys(raw[0].attributes).slice(-2), ['tcp.rtt', 'tcp.connection.end']);
  assert.equal(encodeLogsRequest(raw), encodeLogsRequestGeneric(decoded));
  for (let i = 0; i < raw.length; i++) assert.equal((raw[i] as LifecycleRawLogRecord).attribute('tcp.connection.end'), ends[i]);
  const { raw: opens } = bothPaths([{ kind: CONNECT }, { kind: ACCEPT, role: SERVER }]);
  assert.ok(opens.every((r) => !('tcp.connection.end' in r.attributes)), 'connect and accept carry none');
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
