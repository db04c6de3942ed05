// otlpProto() of records backed by raw tcp_handshake bytes against the decoded reference
// (decodeHandshakeEvent + handshakeLogRecord) for the same bytes: the generic encoder's and the
// SDK serializer's bytes, and the same message decoded with the official OTLP protos, for
// successes, refused and failed connects (with and without a local port) and sync failures,
// alone and after k8s_attributes and sampling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { Enrichment } from '../../processors/k8s_attributes/enrichment';
import { SamplingProcessor } from '../../processors/sampling/processor';
import { isOtlpProtoLogRecord } from '../../telemetry/otlp_encodable';
import { OtlpLogsProtoEncoder } from '../../telemetry/otlp_proto_logs';
import { assertSameLogsProto, decodedLogRecords, decodeLogsRequest } from '../../../test/support/otlp_logs_proto';
import { E, EVENTS, POD_CONTAINER, bothPaths } from '../../../test/support/raw_handshake_events';

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
