// Micro-benchmark: ExportLogsServiceRequest protobuf from tcpscope's log records, alternating
// within one run:
//   - the SDK's serializer (@opentelemetry/otlp-transformer ProtobufLogsSerializer, what the SDK
//     exporter ran) and the direct encoder (src/telemetry/otlp_proto_logs.ts) on decoded records
//     (lifecycleLogRecord objects with their attribute maps);
//   - the records the agent emits today, backed by raw ring bytes (LifecycleRawLogRecord) and
//     wrapped by k8s_attributes' withAddedAttributes: made from the bytes and encoded from their
//     attribute maps (`raw, generic`: what the encoder did before otlpProto), and made and encoded
//     by their own otlpProto (`raw, otlpProto`). Both raw variants include making the records from
//     the batch bytes, as the receiver does per ring batch.
//
//   node dist/bench/otlp_encode.js [--rounds 10] [--batches 200] [--batch 512] [--only raw,]
//   (--only: the variants whose name contains the text, e.g. to profile one with node --cpu-prof)
//
// Records: the kernel-captured tcp_lifecycle records of the decoder's golden test, with a local
// port and a timestamp that vary per record, enriched the way k8s_attributes does. Cost is
// process CPU time (user + system) per record, robust to other load on the machine; each round
// runs every variant on the same batches, in alternating order. Prints the median and the range
// over rounds; every variant's bytes are checked equal to the SDK's first.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Attributes } from '@opentelemetry/api';
import type { CgroupResolver } from '../src/host/cgroup_resolver';
import { MonotonicClock } from '../src/host/monotonic_clock';
import { PACKAGE_ROOT } from '../src/paths';
import { decodeLifecycleEvent } from '../src/receivers/tcp_lifecycle/decoder';
import { EVENT_FIELDS as F, EVENT_SIZE } from '../src/receivers/tcp_lifecycle/layout';
import { lifecycleLogRecord } from '../src/receivers/tcp_lifecycle/log_records';
import { LifecycleRawLogRecord } from '../src/receivers/tcp_lifecycle/raw_log_record';
import { RawEventCaches, type RawBatch } from '../src/receivers/common/raw_events';
import type { LogRecordContext } from '../src/receivers/common/log_record_context';
import { withAddedAttributes } from '../src/telemetry/otlp_encodable';
import { OtlpLogsProtoEncoder } from '../src/telemetry/otlp_proto_logs';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '10' }, batches: { type: 'string', default: '200' }, batch: { type: 'string', default: '512' }, only: { type: 'string' } },
});
const ROUNDS = Number(values.rounds);
const BATCHES = Number(values.batches);
const BATCH = Number(values.batch);

/** What k8s_attributes adds for the pod: one cached object, as its caches hand it out. */
const K8S: Attributes = Object.freeze({
  'container.id': 'abcdef',
  'k8s.namespace.name': 'shop',
  'k8s.pod.name': 'checkout-7d4b9c-x2x9z',
  'k8s.container.name': 'checkout',
  'k8s.deployment.name': 'checkout',
});

function context(): LogRecordContext {
  const resource = resourceFromAttributes({ 'service.name': 'tcpscope', 'service.version': '0.1.0', 'host.name': 'node-1', 'host.arch': 'amd64' });
  const scope = { name: 'tcpscope/tcp_lifecycle', version: '0.1.0' };
  // A fixed offset: the decoded records are made once, the raw ones per run, and a live clock's
  // offset moves by a few ns between reads.
  const clock = new MonotonicClock({ wallMs: () => 1_763_900_000_123, monotonicNs: () => 5_000_000_000n }, 0n);
  const cgroups = { resolve: () => '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-abcdef.scope' } as unknown as CgroupResolver;
  return { resource, scope, clock, cgroups };
}

/** Ring batches as the pump sees them: framed tcp_lifecycle_event records. */
function ringBatches(): Buffer[] {
  const hex = readFileSync(join(PACKAGE_ROOT, 'src', 'receivers', 'tcp_lifecycle', 'testdata', 'events.hex'), 'utf8').trim().split('\n');
  const events = hex.map((h) => Buffer.from(h, 'hex'));
  const out: Buffer[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const batch = Buffer.alloc(BATCH * (4 + EVENT_SIZE));
    for (let i = 0; i < BATCH; i++) {
      const at = i * (4 + EVENT_SIZE);
      batch.writeUInt32LE(EVENT_SIZE, at);
      events[i % events.length].copy(batch, at + 4);
      batch.writeUInt16LE((b * BATCH + i) % 65536, at + 4 + F.sport.offset);
      batch.writeBigUInt64LE(batch.readBigUInt64LE(at + 4 + F.timestamp_ns.offset) + BigInt(i), at + 4 + F.timestamp_ns.offset);
    }
    out.push(batch);
  }
  return out;
}

/** The records the agent makes of a ring batch (raw-bytes records, enriched with K8S). */
function rawRecords(caches: RawEventCaches, bytes: Buffer): ReadableLogRecord[] {
  const batch: RawBatch = caches.batch(bytes, [1_763_900_001, 5]);
  const out: ReadableLogRecord[] = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) out[i] = withAddedAttributes(LifecycleRawLogRecord.decode(batch, i * (4 + EVENT_SIZE) + 4, EVENT_SIZE), K8S);
  return out;
}

/** The decoded path's records of the same bytes (decodeLifecycleEvent + lifecycleLogRecord), enriched. */
function decodedRecords(ctx: LogRecordContext, bytes: Buffer): ReadableLogRecord[] {
  const out: ReadableLogRecord[] = [];
  for (let i = 0; i < BATCH; i++) {
    const r = lifecycleLogRecord(decodeLifecycleEvent(bytes, i * (4 + EVENT_SIZE) + 4, EVENT_SIZE), ctx, [1_763_900_001, 5]);
    out.push({ ...r, attributes: { ...r.attributes, ...K8S } });
  }
  return out;
}

interface Sample {
  cpuNsPerRecord: number;
  recordsPerCpuSecond: number;
  bytesPerRecord: number;
}

type Variant = readonly [name: string, encode: (batch: number) => Uint8Array];

function run(encode: Variant[1]): Sample {
  let bytes = 0;
  const cpu = process.cpuUsage();
  for (let b = 0; b < BATCHES; b++) bytes += encode(b).length;
  const used = process.cpuUsage(cpu);
  const cpuNs = (used.user + used.system) * 1000;
  const records = BATCHES * BATCH;
  return { cpuNsPerRecord: cpuNs / records, recordsPerCpuSecond: records / (cpuNs / 1e9), bytesPerRecord: bytes / records };
}

function summary(samples: Sample[], key: keyof Sample): string {
  const sorted = samples.map((s) => s[key]).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const fmt = (v: number) => (v >= 1000 ? Math.round(v).toLocaleString('en') : v.toFixed(1));
  return `${fmt(median)} [${fmt(sorted[0])}…${fmt(sorted[sorted.length - 1])}]`;
}

function main(): void {
  const ctx = context();
  const rings = ringBatches();
  // Decoded records are made ahead (they are what the first two variants encode) and kept: a
  // heap of 100,000 attribute maps, which costs every variant some GC. With --only raw they are
  // made for the equality check only.
  const needDecoded = values.only === undefined || 'decoded'.includes(values.only) || values.only.startsWith('decoded');
  const decoded = rings.map((bytes, b) => (needDecoded || b < 3 ? decodedRecords(ctx, bytes) : []));
  const caches = new RawEventCaches(ctx);
  const direct = new OtlpLogsProtoEncoder();
  const before = new OtlpLogsProtoEncoder({ selfEncoding: false });
  const after = new OtlpLogsProtoEncoder();
  const variants: Variant[] = [
    ['decoded, sdk serializer', (b) => ProtobufLogsSerializer.serializeRequest(decoded[b]) ?? new Uint8Array(0)],
    ['decoded, direct encoder', (b) => direct.encode(decoded[b])],
    ['raw, generic (before)', (b) => before.encode(rawRecords(caches, rings[b]))],
    ['raw, otlpProto (after)', (b) => after.encode(rawRecords(caches, rings[b]))],
  ];
  // Same bytes, or the comparison means nothing.
  for (let b = 0; b < 3; b++) {
    const reference = Buffer.from(variants[0][1](b));
    for (const [name, encode] of variants.slice(1)) {
      if (Buffer.compare(reference, Buffer.from(encode(b))) !== 0) throw new Error(`${name} disagrees with the SDK serializer`);
    }
  }
  if (values.only !== undefined) {
    const kept = variants.filter(([name]) => name.includes(values.only!));
    variants.length = 0;
    variants.push(...kept);
  }
  // Warm-up: every variant optimized before measuring.
  for (const [, encode] of variants) for (let b = 0; b < 20; b++) encode(b);
  const samples = new Map<string, Sample[]>(variants.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const [name, encode] of order) samples.get(name)!.push(run(encode));
  }
  console.log(`otlp_encode: ${ROUNDS} rounds × ${BATCHES} batches × ${BATCH} records (lifecycle records, k8s-enriched), alternating; median [min…max] over rounds`);
  for (const [name, s] of samples) {
    console.log(`  ${name.padEnd(26)} cpu ns/record ${summary(s, 'cpuNsPerRecord')}  records/cpu-s ${summary(s, 'recordsPerCpuSecond')}  bytes/record ${summary(s, 'bytesPerRecord')}`);
  }
  const ratio = (slow: string, fast: string) => {
    const a = samples.get(slow)!;
    const b = samples.get(fast)!;
    const r = a.map((s, i) => s.cpuNsPerRecord / b[i].cpuNsPerRecord).sort((x, y) => x - y);
    console.log(`  ${`${slow} / ${fast}`.padEnd(54)} cpu ratio per round: median ${r[Math.floor(r.length / 2)].toFixed(2)}× [${r[0].toFixed(2)}…${r[r.length - 1].toFixed(2)}]`);
  };
  for (const [slow, fast] of [
    ['decoded, sdk serializer', 'decoded, direct encoder'],
    ['raw, generic (before)', 'raw, otlpProto (after)'],
  ]) {
    if (samples.has(slow) && samples.has(fast)) ratio(slow, fast);
  }
}

main();
