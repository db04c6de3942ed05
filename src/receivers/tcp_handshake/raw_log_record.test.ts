// Handshake records backed by raw event bytes against the decoded reference (decodeHandshakeEvent
// + handshakeLogRecord) for the same bytes: equal attribute maps in key order, times, names, and
// the generic path's OTLP/JSON bytes from writeOtlpJson(), alone and after k8s_attributes and sampling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { appendLogsRequest, encodeLogsRequest, encodeLogsRequestGeneric } from '../../exporters/file/otlp_json';
import { JsonByteWriter } from '../../telemetry/json_byte_writer';
import { Enrichment } from '../../processors/k8s_attributes/enrichment';
import { SamplingProcessor } from '../../processors/sampling/processor';
import { isOtlpJsonLogRecord } from '../../telemetry/otlp_encodable';
import { RawEventCaches } from '../common/raw_events';
import { EVENT_SIZE } from './layout';
import { HandshakeRawLogRecord } from './raw_log_record';
import { E, EVENTS, SERVER, bothPaths, context, eventBytes, type EventSpec } from '../../../test/support/raw_handshake_events';

test('lazy attributes, attribute(key), times and names equal handshakeLogRecord for the same bytes', () => {
  const { raw, decoded } = bothPaths(EVENTS);
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    assert.deepEqual(Object.entries(r.attributes), Object.entries(decoded[i].attributes), `event ${i}: attributes`);
    assert.deepEqual(r.hrTime, decoded[i].hrTime);
    assert.equal(r.eventName, decoded[i].eventName);
    assert.ok(isOtlpJsonLogRecord(r));
    for (const key of [...Object.keys(decoded[i].attributes), 'error.type', 'network.local.port', 'container.id']) {
      assert.equal(r.attribute(key), decoded[i].attributes[key], `event ${i}: ${key}`);
    }
  }
});

test('writeOtlpJson() writes the generic path bytes, alone and after k8s_attributes and sampling', async () => {
  const { raw, decoded } = bothPaths(EVENTS);
  assert.equal(encodeLogsRequest(raw), encodeLogsRequestGeneric(decoded));
  const enrichment = new Enrichment();
  const enrichedRaw = raw.map((r) => enrichment.enrichRecord(r));
  const enrichedDecoded = decoded.map((r) => ({ ...r, attributes: enrichment.enrich(r.attributes) }));
  assert.equal(enrichedRaw.filter((r) => r.attributes['container.id'] === 'cd'.repeat(32)).length, 2);
  assert.equal(encodeLogsRequest(enrichedRaw), encodeLogsRequestGeneric(enrichedDecoded));
  const sampled = async (records: ReadableLogRecord[]) => {
    const out: ReadableLogRecord[] = [];
    await new SamplingProcessor({ keep_errors: true, combine: 'any', policies: [{ hash: { ratio: 0.3 } }] }, { consume: async (kept) => void out.push(...kept) }).consume(records);
    return out;
  };
  const keptRaw = await sampled(enrichedRaw);
  assert.ok(keptRaw.length >= 5 && keptRaw.every(isOtlpJsonLogRecord), 'every failure is kept (keep_errors), as wrappers');
  assert.equal(encodeLogsRequest(keptRaw), encodeLogsRequestGeneric(await sampled(enrichedDecoded)));
});

test('records of another size or kind are refused', () => {
  const batch = Buffer.concat([Buffer.from([EVENT_SIZE, 0, 0, 0]), eventBytes({ kind: 9 })]);
  const rawBatch = new RawEventCaches(context).batch(batch, [1, 2]);
  assert.throws(() => HandshakeRawLogRecord.decode(rawBatch, 4, EVENT_SIZE), /unknown tcp_handshake event kind 9/);
  assert.throws(() => HandshakeRawLogRecord.decode(rawBatch, 4, 10), /of 10 bytes, expected 104/);
});

test('non-ASCII comm names and cgroup paths are written as UTF-8, as the generic path writes them, into a buffer that grows', () => {
  const events: EventSpec[] = [
    { cgroupId: 4242n, comm: Buffer.from('caf\xe9-\xff\x80\x7f"\\', 'latin1') },
    { role: SERVER, cgroupId: 4242n, comm: Buffer.from('sixteen-bytes-xy', 'latin1'), error: E.ECONNRESET },
  ];
  const { raw, decoded } = bothPaths(events);
  const generic = encodeLogsRequestGeneric(decoded);
  assert.equal(encodeLogsRequest(raw), generic);
  const w = new JsonByteWriter(64);
  appendLogsRequest(w, raw);
  assert.deepEqual(w.copyOut(), Buffer.from(generic, 'utf8'));
});
