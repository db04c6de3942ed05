// The connection_hash field of kernel event records, read back as the processor's unit number:
// exact for every 53-bit value, absent when bit 63 is clear, and offered by the raw records of both
// receivers (also through the wrapper that adds attributes) as connectionHash().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { MonotonicClock } from '../../host/monotonic_clock';
import { connectionHash, connectionUnit } from '../../processors/sampling/connection_hash';
import { knownConnectionHash } from '../../processors/sampling/known_connection_hash';
import { agentResource } from '../../resource';
import { withAddedAttributes } from '../../telemetry/otlp_encodable';
import { CONSTANTS as HC, EVENT_FIELDS as HF, EVENT_SIZE as HS } from '../tcp_handshake/layout';
import { HandshakeRawLogRecord } from '../tcp_handshake/raw_log_record';
import { CONSTANTS as LC, EVENT_FIELDS as LF, EVENT_SIZE as LS } from '../tcp_lifecycle/layout';
import { LifecycleRawLogRecord } from '../tcp_lifecycle/raw_log_record';
import type { LogRecordContext } from './log_record_context';
import { RawEventCaches } from './raw_events';
import { connectionHashField, recordConnectionHash } from './record_connection_hash';

const context: LogRecordContext = {
  resource: agentResource(),
  scope: { name: 'test', version: '0' },
  clock: new MonotonicClock({ wallMs: () => 1_763_900_000_123, monotonicNs: () => 5_000_000_000n }, 0n),
  cgroups: { resolve: () => undefined } as unknown as CgroupResolver,
};

/** The field as the kernel writes it from a full 64-bit hash: present bit | hash >> 11. */
function kernelField(hash: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE((1n << 63n) | (hash >> 11n));
  return out;
}

test('the field reads back as connectionUnit() of the same tuple, bit for bit', () => {
  for (let i = 0; i < 2000; i++) {
    const a = { address: `198.18.${i % 256}.${(i * 7) % 256}`, port: 1024 + i };
    const b = { address: i % 2 ? `fd00::${i.toString(16)}` : '127.0.0.1', port: 443 };
    assert.equal(recordConnectionHash(kernelField(connectionHash(a, b)), 0), connectionUnit(a, b));
  }
});

test('every 53-bit unit survives the round trip; extremes and halves included', () => {
  const units = [0, 2 ** -53, 0.5, 0.5 - 2 ** -53, 1 - 2 ** -53, 2 ** -21, 2 ** -20 + 2 ** -53, (2 ** 32 - 1) / 2 ** 53];
  for (const unit of units) {
    const field = connectionHashField(unit);
    assert.equal(field.readBigUInt64LE() >> 63n, 1n, `${unit}: present bit set`);
    assert.equal(recordConnectionHash(field, 0), unit);
  }
  assert.throws(() => connectionHashField(1), RangeError);
  assert.throws(() => connectionHashField(2 ** -54), RangeError);
});

test('absent without the present bit, whatever the other bits hold', () => {
  assert.equal(recordConnectionHash(Buffer.alloc(8), 0), undefined);
  const unitOnly = Buffer.alloc(8);
  unitOnly.writeBigUInt64LE((1n << 53n) - 1n);
  assert.equal(recordConnectionHash(unitOnly, 0), undefined);
});

function framed(size: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(size);
  return Buffer.concat([header, body]);
}

test('raw records of both receivers offer the field as connectionHash(), also when wrapped with added attributes', () => {
  const unit = connectionUnit({ address: '127.0.0.1', port: 40000 }, { address: '198.18.0.2', port: 443 });
  const lifecycle = Buffer.alloc(LS);
  lifecycle[LF.kind.offset] = LC.TCP_LIFECYCLE_EVENT_CLOSE;
  lifecycle[LF.end.offset] = LC.TCP_LIFECYCLE_END_FIN; // every close has an end
  const handshake = Buffer.alloc(HS);
  handshake[HF.kind.offset] = HC.TCP_HANDSHAKE_OUTCOME;
  const caches = new RawEventCaches(context);
  for (const present of [false, true]) {
    if (present) {
      connectionHashField(unit).copy(lifecycle, LF.connection_hash.offset);
      connectionHashField(unit).copy(handshake, HF.connection_hash.offset);
    }
    const records = [
      LifecycleRawLogRecord.decode(caches.batch(framed(LS, lifecycle), [1, 0]), 4, LS),
      HandshakeRawLogRecord.decode(caches.batch(framed(HS, handshake), [1, 0]), 4, HS),
    ];
    for (const record of records) {
      const expected = present ? unit : undefined;
      assert.equal(knownConnectionHash(record), expected);
      const wrapped = withAddedAttributes(record, Object.freeze({ 'k8s.pod.name': 'p' }));
      assert.notEqual(wrapped, record);
      assert.equal(knownConnectionHash(wrapped), expected, 'the wrapper forwards it');
      assert.equal(knownConnectionHash({ ...record, attributes: record.attributes }), undefined, 'a plain copy has none');
    }
  }
});
