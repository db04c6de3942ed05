// `node dist/bench/decode.js [rounds] [batches]`: tcp_lifecycle ring records per second of CPU on
// one core, decoded into log records and then encoded as the file exporter's OTLP/JSON request,
// by the decoded path (decodeLifecycleEvent + lifecycleLogRecord, then the direct JSON writer over
// attribute maps) and by the raw-bytes path (LifecycleRawLogRecord, then otlpJson()), with and
// without k8s_attributes' local enrichment. Variants alternate inside one run and each figure is
// the median over rounds of records / process CPU seconds (user+system), so that other work on
// the machine moves them less than wall-clock rates. Synthetic batches shaped like the churn load:
// loopback IPv4, connect + accept + two closes per connection, a handful of cgroups.
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { encodeLogsRequest, encodeLogsRequestGeneric } from '../src/exporters/file/otlp_json';
import type { CgroupResolver } from '../src/host/cgroup_resolver';
import { MonotonicClock } from '../src/host/monotonic_clock';
import { Enrichment } from '../src/processors/k8s_attributes/enrichment';
import { agentResource } from '../src/resource';
import type { LogRecordContext } from '../src/receivers/shared/log_record_context';
import { RawEventCaches } from '../src/receivers/shared/raw_events';
import { decodeLifecycleEvent } from '../src/receivers/tcp_lifecycle/decoder';
import { CONSTANTS as C, EVENT_FIELDS as F, EVENT_SIZE } from '../src/receivers/tcp_lifecycle/layout';
import { lifecycleLogRecord } from '../src/receivers/tcp_lifecycle/log_records';
import { LifecycleRawLogRecord } from '../src/receivers/tcp_lifecycle/raw_log_record';
import { forEachRecord } from '../src/bridge/ring_reader';

/** Records per batch: what one drain of the ring hands over at ~100k events/s and 20-100 ms. */
const BATCH_RECORDS = 4096;
const CGROUPS = 8;
const pod = (i: number) =>
  `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${i}1111111_2222_4333_8444_55555555555${i}.slice/cri-containerd-${String(i).repeat(64)}.scope`;
const paths = new Map<bigint, string>(Array.from({ length: CGROUPS }, (_, i) => [BigInt(1000 + i), pod(i)]));
const context: LogRecordContext = {
  resource: agentResource(),
  scope: { name: 'tcpscope/receiver/tcp_lifecycle', version: '0.1.0' },
  clock: new MonotonicClock(),
  cgroups: { resolve: (id: bigint) => paths.get(id) } as unknown as CgroupResolver,
};

function churnBatch(seed: number): Buffer {
  const batch = Buffer.alloc(BATCH_RECORDS * (4 + EVENT_SIZE));
  const kinds = [C.TCP_LIFECYCLE_EVENT_CONNECT, C.TCP_LIFECYCLE_EVENT_ACCEPT, C.TCP_LIFECYCLE_EVENT_CLOSE, C.TCP_LIFECYCLE_EVENT_CLOSE];
  for (let i = 0; i < BATCH_RECORDS; i++) {
    const at = i * (4 + EVENT_SIZE);
    batch.writeUInt32LE(EVENT_SIZE, at);
    const o = at + 4;
    const conn = seed * BATCH_RECORDS + (i >> 2);
    const kind = kinds[i & 3];
    const server = kind === C.TCP_LIFECYCLE_EVENT_ACCEPT || (i & 3) === 3;
    batch.writeBigUInt64LE(BigInt(process.hrtime.bigint()) + BigInt(i), o + F.timestamp_ns.offset);
    batch.writeBigUInt64LE(BigInt(30_000 + (conn % 5000)), o + F.duration_ns.offset);
    batch.writeBigUInt64LE(BigInt(1000 + (conn % CGROUPS)), o + F.cgroup_id.offset);
    batch.writeBigUInt64LE(100n, o + F.bytes_sent.offset);
    batch.writeBigUInt64LE(100n, o + F.bytes_received.offset);
    batch.set([127, 0, 0, 1], o + F.saddr.offset);
    batch.set([127, 0, 0, 1], o + F.daddr.offset);
    batch.writeUInt32LE(4000 + (conn % 4), o + F.pid.offset);
    batch.writeUInt32LE(4026531840, o + F.netns_inode.offset);
    batch.writeUInt32LE(5, o + F.segments_sent.offset);
    batch.writeUInt32LE(4, o + F.segments_received.offset);
    batch.writeUInt32LE(17 + (conn % 13), o + F.srtt_us.offset);
    const ephemeral = 32768 + (conn % 28000);
    batch.writeUInt16LE(server ? 8080 : ephemeral, o + F.sport.offset);
    batch.writeUInt16LE(server ? ephemeral : 8080, o + F.dport.offset);
    batch.writeUInt16LE(2, o + F.family.offset);
    batch[o + F.kind.offset] = kind;
    batch[o + F.role.offset] = server ? C.TCP_LIFECYCLE_ROLE_SERVER : C.TCP_LIFECYCLE_ROLE_CLIENT;
    batch.write('node\0', o + F.comm.offset, 'latin1');
  }
  return batch;
}

type Decoder = (batch: Buffer) => ReadableLogRecord[];

// One observed time for every batch, so that the equality check below compares like with like.
const OBSERVED: [number, number] = [1_763_900_001, 5_000_000];
const observedNow = (): [number, number] => OBSERVED;

const decoded: Decoder = (batch) => {
  const observed = observedNow();
  const out: ReadableLogRecord[] = [];
  forEachRecord(batch, (offset, length) => out.push(lifecycleLogRecord(decodeLifecycleEvent(batch, offset, length), context, observed)));
  return out;
};

const caches = new RawEventCaches(context);
const raw: Decoder = (batch) => {
  const rawBatch = caches.batch(batch, observedNow());
  const out: ReadableLogRecord[] = [];
  forEachRecord(batch, (offset, length) => out.push(LifecycleRawLogRecord.decode(rawBatch, offset, length)));
  return out;
};

const enrichment = new Enrichment();
const enrichDecoded = (records: ReadableLogRecord[]) =>
  records.map((r) => {
    const attributes = enrichment.enrich(r.attributes);
    return attributes === r.attributes ? r : { ...r, attributes };
  });
const enrichRaw = (records: ReadableLogRecord[]) => records.map((r) => enrichment.enrichRecord(r));

interface Variant {
  readonly name: string;
  run(batch: Buffer): number;
}

let sink = 0;
const VARIANTS: Variant[] = [
  { name: 'decoded: decode', run: (b) => decoded(b).length },
  { name: 'raw:     decode', run: (b) => raw(b).length },
  { name: 'decoded: decode + OTLP/JSON', run: (b) => ((sink += encodeLogsRequest(decoded(b)).length), BATCH_RECORDS) },
  { name: 'raw:     decode + OTLP/JSON', run: (b) => ((sink += encodeLogsRequest(raw(b)).length), BATCH_RECORDS) },
  { name: 'decoded: decode + k8s_attributes + OTLP/JSON', run: (b) => ((sink += encodeLogsRequest(enrichDecoded(decoded(b))).length), BATCH_RECORDS) },
  { name: 'raw:     decode + k8s_attributes + OTLP/JSON', run: (b) => ((sink += encodeLogsRequest(enrichRaw(raw(b))).length), BATCH_RECORDS) },
];

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function main(): void {
  const rounds = Number(process.argv[2] ?? 7);
  const batchesPerRound = Number(process.argv[3] ?? 50);
  const batches = Array.from({ length: 16 }, (_, i) => churnBatch(i));
  // The bytes must say the same in both paths before anything is timed.
  const sample = batches[0];
  if (encodeLogsRequest(enrichRaw(raw(sample))) !== encodeLogsRequestGeneric(enrichDecoded(decoded(sample)))) {
    const a = encodeLogsRequest(enrichRaw(raw(sample)));
    const b = encodeLogsRequestGeneric(enrichDecoded(decoded(sample)));
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    throw new Error(`the raw path does not write the generic path bytes (at ${i}: ${a.slice(i - 80, i + 80)} vs ${b.slice(i - 80, i + 80)}): nothing to measure`);
  }
  const rates = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  for (let round = 0; round <= rounds; round++) {
    // Rotated order, so that no variant always runs right after the same other one.
    for (let k = 0; k < VARIANTS.length; k++) {
      const variant = VARIANTS[(k + round) % VARIANTS.length];
      const start = cpuSeconds();
      let records = 0;
      for (let i = 0; i < batchesPerRound; i++) records += variant.run(batches[i % batches.length]);
      const seconds = cpuSeconds() - start;
      if (round > 0) rates.get(variant.name)!.push(records / seconds); // round 0 warms the JIT up
    }
  }
  console.log(`tcp_lifecycle records per CPU second (median of ${rounds} rounds of ${batchesPerRound} batches x ${BATCH_RECORDS} records; min-max):`);
  console.log('| path | records/s | min-max |');
  console.log('|---|---|---|');
  for (const [name, values] of rates) {
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    console.log(`| ${name} | ${fmt(median(values))} | ${fmt(Math.min(...values))}-${fmt(Math.max(...values))} |`);
  }
  const ratio = (a: string, b: string) => (median(rates.get(a)!) / median(rates.get(b)!)).toFixed(2);
  console.log(`raw/decoded: decode ${ratio('raw:     decode', 'decoded: decode')}x, decode + OTLP/JSON ${ratio('raw:     decode + OTLP/JSON', 'decoded: decode + OTLP/JSON')}x, with k8s_attributes ${ratio('raw:     decode + k8s_attributes + OTLP/JSON', 'decoded: decode + k8s_attributes + OTLP/JSON')}x`);
  if (sink < 0) console.log(sink);
}

main();
