// The direct writer must produce byte-for-byte what the generic transformer path produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { agentResource } from '../../resource';
import { encodeLogsRequestGeneric } from './otlp_json';
import { writeLogsRequestJson } from './logs_json_writer';

const resource = agentResource();
const otherResource = resourceFromAttributes({ 'service.name': 'other', 'x.count': 3 });
const scope = { name: 'tcpscope/receiver/tcp_lifecycle', version: '0.1.0' };
const bareScope = { name: 'bare' };

function record(overrides: Partial<ReadableLogRecord>): ReadableLogRecord {
  return {
    hrTime: [1_763_900_000, 123_456_789],
    hrTimeObserved: [1_763_900_001, 5],
    eventName: 'tcp.close',
    attributes: {},
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    ...overrides,
  };
}

test('direct writer output equals the transformer path for every scalar shape', () => {
  const records: ReadableLogRecord[] = [
    record({
      attributes: {
        'network.peer.address': '::1',
        'network.peer.port': 443,
        'tcp.duration': 0.125,
        'tcp.rtt': 4.2e-5,
        'tcp.bytes.sent': 2 ** 53 - 1,
        negative: -7,
        zero: -0,
        ok: true,
        no: false,
        quote: 'a "quoted" \\ line\nbreak ☃',
        nan: NaN,
        inf: Infinity,
        ninf: -Infinity,
      },
    }),
    record({ hrTime: [0, 42], eventName: undefined, severityNumber: 9, severityText: 'INFO', body: 'text body' }),
    record({ resource: otherResource, instrumentationScope: bareScope, droppedAttributesCount: 2 }),
    record({ eventName: 'tcp.connect', attributes: { k: 'v' } }),
  ];
  const direct = writeLogsRequestJson(records);
  assert.ok(direct !== undefined);
  assert.equal(direct, encodeLogsRequestGeneric(records));
});

test('shapes it does not handle go to the generic path', () => {
  assert.equal(writeLogsRequestJson([record({ attributes: { list: ['a'] } })]), undefined);
  assert.equal(writeLogsRequestJson([record({ body: { nested: 1 } })]), undefined);
  assert.equal(
    writeLogsRequestJson([record({ spanContext: { traceId: '0'.repeat(32), spanId: '1'.repeat(16), traceFlags: 1 } })]),
    undefined,
  );
});
