// Anomaly records backed by raw event bytes against the decoded reference (decodeAnomalyEvent +
// anomalyLogRecord) for the same bytes: attribute maps in key order, times, names, the generic
// path's OTLP/JSON bytes and the generic encoder's protobuf bytes, alone and after k8s_attributes
// and sampling (whose connection hash they take from the kernel's field).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { MonotonicClock } from '../../host/monotonic_clock';
import { encodeLogsRequest, encodeLogsRequestGeneric } from '../../exporters/file/otlp_json';
import { Enrichment } from '../../processors/k8s_attributes/enrichment';
import { connectionUnit } from '../../processors/sampling/connection_hash';
import { SamplingProcessor } from '../../processors/sampling/processor';
import { agentResource } from '../../resource';
import { isOtlpJsonLogRecord, isOtlpProtoLogRecord } from '../../telemetry/otlp_encodable';
import { assertSameLogsProto } from '../../../test/support/otlp_logs_proto';
import type { LogRecordContext } from '../common/log_record_context';
import { RawEventCaches } from '../common/raw_events';
import { connectionHashField } from '../common/record_connection_hash';
import { OVERFLOW_CGROUP_ID } from '../common/workload_attributes';
import { decodeAnomalyEvent } from './decoder';
import { kernelReasons } from './kernel_reasons';
import { CONSTANTS as C, EVENT_FIELDS as F, EVENT_SIZE } from './layout';
import { anomalyLogRecord, type ReasonNames } from './log_records';
import { AnomalyRawLogRecord } from './raw_log_record';
import { v4 } from '../../../test/support/address_bytes';

const POD = '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod21111111_2222_4333_8444_555555555552.slice/crio-' + 'cd'.repeat(32) + '.scope';
const PATHS = new Map<bigint, string>([
  [1234n, '/system.slice/curl.service'],
  [77n, POD],
]);
const context: LogRecordContext = {
  resource: agentResource(),
  scope: { name: 'tcpscope/receiver/tcp_anomalies', version: '0.1.0' },
  clock: new MonotonicClock({ wallMs: () => 1_763_900_000_123, monotonicNs: () => 5_000_000_000n }, 0n),
  cgroups: { resolve: (id: bigint) => PATHS.get(id) } as unknown as CgroupResolver,
};
const names: ReasonNames = {
  resetReasonName: (v) => (v === 1 ? 'NO_SOCKET' : v === C.TCP_ANOMALIES_REASON_UNKNOWN ? 'unknown' : `R${v}`),
  dropReasonName: (v) => (v === 32 ? 'TCP_ZEROWINDOW' : 'unknown'),
};

interface Spec {
  kind: number;
  reason?: number;
  family?: number;
  saddr?: number[];
  daddr?: number[];
  sport?: number;
  dport?: number;
  cgroupId?: bigint;
  pid?: number;
  comm?: string;
  count?: bigint;
  state?: number;
  netns?: number;
  hash?: number;
}

const v6 = (...groups: number[]) => groups.flatMap((g) => [g >> 8, g & 255]);

function eventBytes(s: Spec): Buffer {
  const b = Buffer.alloc(EVENT_SIZE);
  b.writeBigUInt64LE(7_000_123_456_789n, F.timestamp_ns.offset);
  b.writeBigUInt64LE(s.cgroupId ?? 1234n, F.cgroup_id.offset);
  b.writeBigUInt64LE(s.count ?? 0n, F.count.offset);
  if (s.hash !== undefined) connectionHashField(s.hash).copy(b, F.connection_hash.offset);
  Buffer.from(s.saddr ?? v4(198, 18, 0, 1)).copy(b, F.saddr.offset);
  Buffer.from(s.daddr ?? v4(198, 18, 0, 2)).copy(b, F.daddr.offset);
  b.writeUInt32LE(s.pid ?? 0, F.pid.offset);
  b.writeUInt32LE(s.netns ?? 4026531840, F.netns_inode.offset);
  b.writeUInt32LE(s.reason ?? 0, F.reason.offset);
  b.writeInt32LE(-1, F.stack_id.offset);
  b.writeUInt16LE(s.sport ?? 40000, F.sport.offset);
  b.writeUInt16LE(s.dport ?? 443, F.dport.offset);
  b.writeUInt16LE(s.family ?? 2, F.family.offset);
  b[F.kind.offset] = s.kind;
  b[F.state.offset] = s.state ?? 1;
  Buffer.from(s.comm ?? '', 'latin1').copy(b, F.comm.offset, 0, 16);
  return b;
}

const RETRANSMIT = (what: number, trigger: number) => (what << 8) | trigger;
/** The hash the kernel writes for the default tuple 198.18.0.1:40000 <-> 198.18.0.2:443. */
const TUPLE_HASH = connectionUnit({ address: '198.18.0.1', port: 40000 }, { address: '198.18.0.2', port: 443 });
const SPECS: Spec[] = [
  { kind: C.TCP_ANOMALIES_RESET_SENT, reason: 1, cgroupId: 0n, state: 0, sport: 1, dport: 51000 },
  { kind: C.TCP_ANOMALIES_RESET_SENT, reason: 12, pid: 4242, comm: 'python3', state: 7 },
  { kind: C.TCP_ANOMALIES_RESET_SENT, reason: C.TCP_ANOMALIES_REASON_UNKNOWN, cgroupId: 77n, comm: 'caf\xe9"\\', pid: 7 },
  { kind: C.TCP_ANOMALIES_RESET_RECEIVED, state: 2, family: 10, saddr: v6(0xfd00, 0, 0, 0, 0, 0, 0, 1), daddr: v6(0xfd00, 0, 0, 0, 0, 0, 0, 2) },
  { kind: C.TCP_ANOMALIES_RETRANSMIT, reason: RETRANSMIT(C.TCP_ANOMALIES_RETRANSMIT_DATA, C.TCP_ANOMALIES_TRIGGER_TLP), count: 1n, hash: TUPLE_HASH },
  { kind: C.TCP_ANOMALIES_RETRANSMIT, reason: RETRANSMIT(C.TCP_ANOMALIES_RETRANSMIT_SYN, C.TCP_ANOMALIES_TRIGGER_RTO), count: 3n, state: 2, cgroupId: 99n },
  { kind: C.TCP_ANOMALIES_DROP, reason: 32, cgroupId: 77n, hash: TUPLE_HASH },
  { kind: C.TCP_ANOMALIES_DROP, reason: 3, cgroupId: 0n, state: 0, netns: 0 },
  { kind: C.TCP_ANOMALIES_DROP, reason: 3, cgroupId: 0n, state: 0, family: 0 },
  { kind: C.TCP_ANOMALIES_RETRANSMIT, reason: RETRANSMIT(1, 3), cgroupId: OVERFLOW_CGROUP_ID, count: 2n ** 40n },
];

function bothPaths(specs: Spec[]): { raw: AnomalyRawLogRecord[]; decoded: ReadableLogRecord[] } {
  const frames = specs.map(eventBytes);
  const batch = Buffer.concat(frames.flatMap((f) => [Buffer.from([EVENT_SIZE, 0, 0, 0]), f]));
  const offsets = frames.map((_, i) => i * (4 + EVENT_SIZE) + 4);
  const observed: [number, number] = [1_763_900_001, 5];
  const rawBatch = new RawEventCaches(context).batch(batch, observed);
  return {
    raw: offsets.map((o) => AnomalyRawLogRecord.decode(rawBatch, o, EVENT_SIZE, names)),
    decoded: offsets.map((o) => anomalyLogRecord(decodeAnomalyEvent(batch, o, EVENT_SIZE), context, names, observed)),
  };
}

test('attributes, names, times and single lookups equal the decoded reference', () => {
  const { raw, decoded } = bothPaths(SPECS);
  for (let i = 0; i < raw.length; i++) {
    assert.deepEqual(Object.entries(raw[i].attributes), Object.entries(decoded[i].attributes), `event ${i}`);
    assert.equal(raw[i].eventName, decoded[i].eventName);
    assert.deepEqual(raw[i].hrTime, decoded[i].hrTime);
    for (const key of [...Object.keys(decoded[i].attributes), 'container.id']) assert.equal(raw[i].attribute(key), decoded[i].attributes[key]);
  }
  assert.deepEqual(
    raw.map((r) => r.eventName),
    ['tcp.reset', 'tcp.reset', 'tcp.reset', 'tcp.reset', 'tcp.retransmit', 'tcp.retransmit', 'tcp.drop', 'tcp.drop', 'tcp.drop', 'tcp.retransmit'],
  );
  const [noSocket, linger, , received, tlp, syn, , , noTuple] = decoded.map((d) => d.attributes);
  assert.deepEqual(noSocket, {
    'network.transport': 'tcp',
    'network.type': 'ipv4',
    'network.local.address': '198.18.0.1',
    'network.local.port': 1,
    'network.peer.address': '198.18.0.2',
    'network.peer.port': 51000,
    'network.io.direction': 'transmit',
    'tcp.reset.reason': 'NO_SOCKET',
    'tcp.netns.inode': 4026531840,
  });
  assert.equal(linger['process.pid'], 4242);
  assert.equal(linger['network.connection.state'], 'closed');
  assert.equal(linger['process.linux.cgroup'], '0::/system.slice/curl.service');
  assert.equal(received['network.io.direction'], 'receive');
  assert.equal(received['tcp.reset.reason'], undefined);
  assert.equal(received['network.type'], 'ipv6');
  assert.deepEqual([tlp['tcp.retransmit.kind'], tlp['tcp.retransmit.trigger'], tlp['tcp.retransmits']], ['data', 'tlp', 1]);
  assert.deepEqual([syn['tcp.retransmit.kind'], syn['tcp.retransmit.trigger'], syn['tcp.cgroup.id']], ['syn', 'rto', 99]);
  assert.deepEqual(noTuple, { 'network.transport': 'tcp', 'tcp.drop.reason': 'unknown', 'tcp.netns.inode': 4026531840 });
  assert.equal(raw[4].connectionHash(), TUPLE_HASH);
  assert.equal(raw[0].connectionHash(), undefined);
});

test('writeOtlpJson() and otlpProto() write the generic paths\' bytes, alone, enriched and sampled', async () => {
  const { raw, decoded } = bothPaths(SPECS);
  assert.ok(raw.every((r) => isOtlpJsonLogRecord(r) && isOtlpProtoLogRecord(r)));
  assert.equal(encodeLogsRequest(raw), encodeLogsRequestGeneric(decoded));
  assertSameLogsProto(raw, decoded);
  for (let i = 0; i < raw.length; i++) assertSameLogsProto([raw[i]], [decoded[i]]);
  const enrichment = new Enrichment();
  const enrichedRaw = raw.map((r) => enrichment.enrichRecord(r));
  const enrichedDecoded = decoded.map((r) => {
    const attributes = enrichment.enrich(r.attributes);
    return attributes === r.attributes ? r : { ...r, attributes };
  });
  assert.ok(enrichedRaw.some((r) => r.attributes['container.id'] === 'cd'.repeat(32)));
  assert.equal(encodeLogsRequest(enrichedRaw), encodeLogsRequestGeneric(enrichedDecoded));
  assertSameLogsProto(enrichedRaw, enrichedDecoded);
  const sampled = async (records: ReadableLogRecord[]) => {
    const out: ReadableLogRecord[] = [];
    await new SamplingProcessor({ keep_errors: true, combine: 'any', policies: [{ hash: { ratio: 0.5 } }] }, { consume: async (kept) => void out.push(...kept) }).consume(records);
    return out;
  };
  const keptRaw = await sampled(enrichedRaw);
  assert.equal(encodeLogsRequest(keptRaw), encodeLogsRequestGeneric(await sampled(enrichedDecoded)));
});

test('kernelReasons names reasons from BTF enums and marks TCP drop reasons', () => {
  const btf = {
    enumValues: (name: string) =>
      name === 'sk_rst_reason'
        ? new Map([[0, 'SK_RST_REASON_NOT_SPECIFIED'], [1, 'SK_RST_REASON_NO_SOCKET']])
        : new Map([[2, 'SKB_DROP_REASON_NOT_SPECIFIED'], [3, 'SKB_DROP_REASON_NO_SOCKET'], [32, 'SKB_DROP_REASON_TCP_ZEROWINDOW'], [104, 'SKB_DROP_REASON_QUEUE_PURGE'], [300, 'SKB_DROP_REASON_TCP_FUTURE']]),
    tracepointArguments: () => 3,
  };
  const reasons = kernelReasons(btf as never);
  assert.equal(reasons.resetReasonName(1), 'NO_SOCKET');
  assert.equal(reasons.resetReasonName(C.TCP_ANOMALIES_REASON_UNKNOWN), 'unknown');
  assert.equal(reasons.resetReasonName(77), 'unknown');
  assert.equal(reasons.dropReasonName(32), 'TCP_ZEROWINDOW');
  assert.deepEqual([reasons.dropReasonTable[2], reasons.dropReasonTable[3], reasons.dropReasonTable[32], reasons.dropReasonTable[104]], [0, C.TCP_ANOMALIES_DROP_GENERIC, C.TCP_ANOMALIES_DROP_TCP, 0]);
  assert.equal(reasons.kfreeSkbRxSk, false, 'three arguments: no rx_sk');
  assert.equal(reasons.dropReasons, true);
});
