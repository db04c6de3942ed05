// The direct protobuf encoder against the SDK's: for every kind of record tcpscope emits (built
// by the receivers' own builders from decoded kernel bytes, then enriched and sampled the way the
// processors do) and for every odd shape a ReadableLogRecord can take, the bytes must be the
// SDK serializer's, byte for byte, and decode with the official OTLP protos to the same message.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { HrTime } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import * as protobuf from 'protobufjs';
import type { CgroupResolver } from '../host/cgroup_resolver';
import { MonotonicClock } from '../host/monotonic_clock';
import { PACKAGE_ROOT } from '../paths';
import { decodeHandshakeEvent } from '../receivers/tcp_handshake/decoder';
import { CONSTANTS as HS, EVENT_FIELDS as HF, EVENT_SIZE as HANDSHAKE_SIZE } from '../receivers/tcp_handshake/layout';
import { handshakeLogRecord } from '../receivers/tcp_handshake/log_records';
import { decodeLifecycleEvent } from '../receivers/tcp_lifecycle/decoder';
import { lifecycleLogRecord } from '../receivers/tcp_lifecycle/log_records';
import type { LogRecordContext } from '../receivers/common/log_record_context';
import { ATTR } from './attributes';
import { OtlpLogsProtoEncoder } from './otlp_proto_logs';

const PROTO_ROOT = join(PACKAGE_ROOT, 'test', 'support', 'proto');
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_ROOT, target);
root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto', { keepCase: true });
const Request = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');

/** The decoded message as plain data: 64-bit ints as strings, bytes as hex, NaN kept as such. */
function decode(bytes: Uint8Array): unknown {
  return Request.toObject(Request.decode(bytes), { longs: String, bytes: String, defaults: false, arrays: true, oneofs: true });
}

const sdk = (records: ReadableLogRecord[]) => Buffer.from(ProtobufLogsSerializer.serializeRequest(records) ?? new Uint8Array(0));

function assertSame(records: ReadableLogRecord[], encoder = new OtlpLogsProtoEncoder()): void {
  const theirs = sdk(records);
  const ours = encoder.encode(records);
  assert.deepStrictEqual(decode(ours), decode(theirs));
  assert.equal(ours.toString('hex'), theirs.toString('hex'));
}

const resource = resourceFromAttributes({ 'service.name': 'tcpscope', 'host.name': 'node-1', 'service.version': '0.1.0' });
const scope = { name: 'tcpscope/tcp_lifecycle', version: '0.1.0' };
// A fixed clock: kernel monotonic 0 is wall 1,700,000,000 s.
const clock = new MonotonicClock({ monotonicNs: () => 0n, wallMs: () => 1_700_000_000_000 }, 0n);
const cgroups = { resolve: (id: bigint) => (id === 1n ? '/' : id === 77n ? '/kubepods/pod-abc/ctr' : undefined) } as unknown as CgroupResolver;
const ctx: LogRecordContext = { resource, scope, clock, cgroups };
const OBSERVED: HrTime = [1_700_000_123, 456_789_012];

/** The kernel-captured lifecycle records of the decoder's golden test (connect, accept, close; v4 and v6). */
function lifecycleRecords(context = ctx): ReadableLogRecord[] {
  const hex = readFileSync(join(PACKAGE_ROOT, 'src', 'receivers', 'tcp_lifecycle', 'testdata', 'events.hex'), 'utf8');
  return hex
    .trim()
    .split('\n')
    .map((line) => Buffer.from(line, 'hex'))
    .map((b) => lifecycleLogRecord(decodeLifecycleEvent(b, 0, b.length), context, OBSERVED));
}

/** A tcp_handshake_event as the kernel writes it. */
function handshakeBytes(o: { kind: number; role: number; error: number; family: 2 | 10; fd: number; cgroupId: bigint; comm: string }): Buffer {
  const b = Buffer.alloc(HANDSHAKE_SIZE);
  b.writeBigUInt64LE(5_000_000_123n, HF.timestamp_ns.offset);
  b.writeBigUInt64LE(61_742n, HF.duration_ns.offset);
  b.writeBigUInt64LE(o.cgroupId, HF.cgroup_id.offset);
  if (o.family === 2) {
    Buffer.from([198, 18, 0, 1]).copy(b, HF.saddr.offset);
    Buffer.from([198, 18, 0, 2]).copy(b, HF.daddr.offset);
  } else {
    Buffer.from('fd000000000000000000000000000001', 'hex').copy(b, HF.saddr.offset);
    Buffer.from('fd000000000000000000000000000002', 'hex').copy(b, HF.daddr.offset);
  }
  b.writeUInt32LE(4242, HF.pid.offset);
  b.writeInt32LE(o.fd, HF.fd.offset);
  b.writeUInt32LE(4026531833, HF.netns_inode.offset);
  b.writeUInt32LE(o.error, HF.error.offset);
  b.writeUInt16LE(40_000, HF.sport.offset);
  b.writeUInt16LE(443, HF.dport.offset);
  b.writeUInt16LE(o.family, HF.family.offset);
  b[HF.kind.offset] = o.kind;
  b[HF.role.offset] = o.role;
  b.write(o.comm, HF.comm.offset, 'latin1');
  return b;
}

function handshakeRecords(): ReadableLogRecord[] {
  const shapes = [
    { kind: HS.TCP_HANDSHAKE_OUTCOME, role: HS.TCP_HANDSHAKE_ROLE_CLIENT, error: 0, family: 2, fd: 7, cgroupId: 1n, comm: 'curl' },
    { kind: HS.TCP_HANDSHAKE_OUTCOME, role: HS.TCP_HANDSHAKE_ROLE_SERVER, error: 0, family: 10, fd: -1, cgroupId: 77n, comm: 'nginx' },
    { kind: HS.TCP_HANDSHAKE_OUTCOME, role: HS.TCP_HANDSHAKE_ROLE_CLIENT, error: 111, family: 2, fd: 3, cgroupId: 0xffffffffffffffffn, comm: 'curl' },
    { kind: HS.TCP_HANDSHAKE_SYNC_FAILURE, role: HS.TCP_HANDSHAKE_ROLE_CLIENT, error: 101, family: 10, fd: 5, cgroupId: 999n, comm: 'wget' },
  ] as const;
  return shapes.map((s) => {
    const b = handshakeBytes(s);
    return handshakeLogRecord(decodeHandshakeEvent(b, 0, b.length), { ...ctx, scope: { name: 'tcpscope/tcp_handshake', version: '0.1.0' } }, OBSERVED);
  });
}

/** What k8s_attributes does to a record: its attributes spread with the pod's and the peer's. */
function enriched(records: ReadableLogRecord[]): ReadableLogRecord[] {
  return records.map((r) => ({
    ...r,
    attributes: {
      ...r.attributes,
      [ATTR.k8sNamespaceName.key]: 'shop',
      [ATTR.k8sPodName.key]: 'checkout-7d4b9c-x2x9z',
      'k8s.container.name': 'checkout',
      'k8s.deployment.name': 'checkout',
    },
  }));
}

/** What the sampling processor does to a kept record. */
function sampled(records: ReadableLogRecord[], probability: number): ReadableLogRecord[] {
  return records.map((r) => ({ ...r, attributes: { ...r.attributes, [ATTR.samplingProbability.key]: probability } }));
}

function base(o: Partial<ReadableLogRecord> = {}): ReadableLogRecord {
  return {
    hrTime: [1_700_000_005, 250_000_000],
    hrTimeObserved: OBSERVED,
    attributes: { a: 1 },
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    ...o,
  } as ReadableLogRecord;
}

describe('OTLP logs protobuf, encoded directly', () => {
  it('equals the SDK serializer for lifecycle records decoded from kernel bytes', () => {
    const records = lifecycleRecords();
    assert.equal(records.length, 8);
    assertSame(records);
    for (const r of records) assertSame([r]);
  });

  it('equals the SDK serializer for handshake records: success, failure, sync failure, overflow cgroup', () => {
    const records = handshakeRecords();
    assert.deepEqual(
      records.map((r) => [r.eventName, r.attributes[ATTR.errorType.key]]),
      [
        ['tcp.connect', undefined],
        ['tcp.accept', undefined],
        ['tcp.connect', 'ECONNREFUSED'],
        ['tcp.connect', 'ENETUNREACH'],
      ],
    );
    assertSame(records);
  });

  it('equals the SDK serializer for k8s-enriched and sampled records, mixed in one batch', () => {
    const records = [...enriched(lifecycleRecords()), ...sampled(handshakeRecords(), 0.25), ...sampled(enriched(lifecycleRecords()), 1 / 3)];
    assertSame(records);
  });

  it('groups by resource and scope object in first-seen order, as the SDK does', () => {
    const other: Resource = resourceFromAttributes({ 'service.name': 'other' });
    const schemaResource = resourceFromAttributes({ 'service.name': 'schema' }, { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });
    const scope2 = { name: 'tcpscope/tcp_handshake', version: '0.1.0', schemaUrl: 'https://example.com/s' };
    const equalButDistinct = { ...scope };
    const records = [
      base({ instrumentationScope: scope2 }),
      base({ resource: other }),
      base(),
      base({ instrumentationScope: equalButDistinct }),
      base({ resource: schemaResource, instrumentationScope: scope2 }),
      base({ resource: other, instrumentationScope: scope2 }),
      base({ instrumentationScope: scope2, attributes: { b: 2 } }),
    ];
    assertSame(records);
    const decoded = decode(new OtlpLogsProtoEncoder().encode(records)) as { resource_logs: { scope_logs: unknown[] }[] };
    assert.deepEqual(decoded.resource_logs.map((r) => r.scope_logs.length), [3, 2, 1]);
  });

  it('equals the SDK serializer for odd shapes: body, severity, span context, nested values, extreme numbers, non-ASCII', () => {
    const long = 'x'.repeat(300);
    const shapes: Partial<ReadableLogRecord>[] = [
      { body: 'a string body', severityNumber: 9, severityText: 'INFO' },
      { body: { nested: { deeper: [1, 'two', true, null, 2.5] }, list: [] }, severityNumber: 24, severityText: 'FATAL4' },
      { body: null as unknown as undefined },
      { body: new Uint8Array([0, 1, 2, 255]) },
      { body: 0 },
      { body: '' },
      { severityNumber: 0, severityText: '' },
      { severityNumber: -3 as never },
      {
        spanContext: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 },
      },
      { spanContext: { traceId: '0AF7651916CD43DD8448EB211C80319C', spanId: 'B7AD6B7169203331', traceFlags: 0 } },
      { spanContext: { traceId: '', spanId: '', traceFlags: 0 } },
      {
        attributes: {
          'non.ascii': 'grüße, 東京, 🚀',
          'lone.surrogate': 'a\ud800b',
          [long]: long,
          'key.ü': 'v',
          long: `${long}é`,
          nan: NaN,
          inf: Infinity,
          ninf: -Infinity,
          negzero: -0,
          neg: -42,
          minSafe: Number.MIN_SAFE_INTEGER,
          big: 2 ** 53 + 2,
          pow63: 2 ** 63,
          negPow63: -(2 ** 63),
          u32: 0xffffffff,
          above32: 2 ** 32 + 5,
          frac: 0.1,
          tiny: 5e-324,
          t: true,
          f: false,
          strings: ['a', 'ü', ''],
          ints: [1, -1, 2 ** 40],
          doubles: [1.5, NaN],
          bools: [true, false],
          mixed: [1, 'a', null, undefined],
          empty: [],
          undef: undefined,
          nul: null,
          bigint: 12345678901234567890n,
          bytes: new Uint8Array([9, 8, 7]),
        } as never,
      },
      { attributes: {} },
      { attributes: undefined as never },
      { droppedAttributesCount: 3 },
      { droppedAttributesCount: 300 },
      { eventName: '' },
      { eventName: 'ünïcode.event' },
      { hrTime: [0, 0], hrTimeObserved: [4_294_967_295, 999_999_999] },
      { hrTime: [18_446_744_073, 709_551_615] },
      { attributes: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, `value number ${i}`])) },
      { body: { big: long.repeat(100) } },
    ];
    for (const shape of shapes) assertSame([base(shape)]);
    assertSame(shapes.map((s) => base(s)));
  });

  it('encodes records whose fields are getters (a raw-bytes-backed record), reading each once', () => {
    let reads = 0;
    class LazyRecord {
      constructor(private readonly port: number) {}
      get attributes() {
        reads++;
        return { 'network.local.port': this.port, 'network.transport': 'tcp' };
      }
      get hrTime(): HrTime {
        return [1_700_000_000, this.port];
      }
      readonly hrTimeObserved: HrTime = OBSERVED;
      readonly eventName = 'tcp.close';
      readonly resource = resource;
      readonly instrumentationScope = scope;
      readonly droppedAttributesCount = 0;
    }
    const records = [new LazyRecord(1), new LazyRecord(2)] as unknown as ReadableLogRecord[];
    const theirs = sdk(records);
    reads = 0;
    const ours = new OtlpLogsProtoEncoder().encode(records);
    assert.equal(reads, 2, 'attributes read once per record');
    assert.equal(ours.toString('hex'), theirs.toString('hex'));
  });

  it('inherited attributes are skipped, own ones kept in insertion order', () => {
    const proto = { inherited: 'no' };
    const attributes = Object.create(proto) as Record<string, unknown>;
    attributes.z = 1;
    attributes.a = 'x';
    attributes['2'] = 'integer-like keys come first, as for..in orders them';
    assertSame([base({ attributes: attributes as never })]);
  });

  it('an encoder reused across batches gives each batch the bytes a fresh one gives (caches do not leak)', () => {
    const encoder = new OtlpLogsProtoEncoder();
    const batches = [lifecycleRecords(), handshakeRecords(), enriched(lifecycleRecords()), [], lifecycleRecords().slice(0, 1)];
    for (let round = 0; round < 3; round++) for (const batch of batches) assertSame(batch, encoder);
  });

  it('stays equal past its cache bounds: more distinct values than the 4 MiB budget, more keys than it keeps', () => {
    const encoder = new OtlpLogsProtoEncoder();
    const pad = 'p'.repeat(150);
    // 4 keys × 10,000 distinct values of ~160 bytes (~19 MB of entries): past the 4,096 values kept
    // per key, and the cache is emptied (4 MiB) a few times.
    for (let b = 0; b < 10; b++) {
      const value = (i: number, k: string) => `0::/${pad}/${k}/${b * 1000 + i}`;
      const batch = Array.from({ length: 1000 }, (_, i) => base({ attributes: { a: value(i, 'a'), b: value(i, 'b'), c: value(i, 'c'), d: value(i, 'd'), 'network.transport': 'tcp' } }));
      assertSame(batch, encoder);
    }
    // 5,000 distinct keys, past the 4,096 kept: the rest are encoded each time.
    const manyKeys = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`key.${i}`, i % 2 ? `v${i}` : i]));
    assertSame([base({ attributes: manyKeys }), base({ attributes: manyKeys })], encoder);
    assertSame([base({ attributes: { 'key.4999': 'again', 'key.0': 'again' } })], encoder);
  });

  it('an empty batch is an empty request, as the SDK encodes it', () => {
    assert.equal(new OtlpLogsProtoEncoder().encode([]).length, 0);
    assertSame([]);
  });
});
