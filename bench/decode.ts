// `node dist/bench/decode.js [rounds] [batches] [records per batch]`: tcp_lifecycle ring records per second of CPU on
// one core, decoded into log records and then encoded as the file exporter's OTLP/JSON request,
// by the decoded path (decodeLifecycleEvent + lifecycleLogRecord, then the direct JSON writer over
// attribute maps) and by the raw-bytes path (LifecycleRawLogRecord, then writeOtlpJson()), with and
// without k8s_attributes' local enrichment; "as text" makes the request's string (what tests
// compare), "into the buffer" only writes its bytes into one reused buffer, as the file exporter does. Variants alternate inside one run and each figure is
// the median over rounds of records / process CPU seconds (user+system), so that other work on
// the machine moves them less than wall-clock rates. Synthetic batches shaped like the churn load:
// loopback IPv4, connect + accept + two closes per connection, a handful of cgroups.
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { appendLogsRequest, encodeLogsRequest, encodeLogsRequestGeneric } from '../src/exporters/file/otlp_json';
import { JsonByteWriter } from '../src/telemetry/json_byte_writer';
import type { CgroupResolver } from '../src/host/cgroup_resolver';
import { MonotonicClock } from '../src/host/monotonic_clock';
import { Enrichment } from '../src/processors/k8s_attributes/enrichment';
import { agentResource } from '../src/resource';
import type { LogRecordContext } from '../src/receivers/common/log_record_context';
import { RawEventCaches } from '../src/receivers/common/raw_events';
import { decodeLifecycleEvent } from '../src/receivers/tcp_lifecycle/decoder';
import { lifecycleLogRecord } from '../src/receivers/tcp_lifecycle/log_records';
import { LifecycleRawLogRecord } from '../src/receivers/tcp_lifecycle/raw_log_record';
import { forEachRecord } from '../src/bridge/ring_reader';
import { churnBatch, podCgroupPath } from './lifecycle_batches';

/** Records per batch (third argument): ring batches under churn held a median of 200-300 records. */
const BATCH_RECORDS = Number(process.argv[4] ?? 256);
const CGROUPS = 8;
const paths = new Map<bigint, string>(Array.from({ length: CGROUPS }, (_, i) => [BigInt(1000 + i), podCgroupPath(i)]));
const context: LogRecordContext = {
  resource: agentResource(),
  scope: { name: 'tcpscope/receiver/tcp_lifecycle', version: '0.1.0' },
  clock: new MonotonicClock(),
  cgroups: { resolve: (id: bigint) => paths.get(id) } as unknown as CgroupResolver,
};

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
const writer = new JsonByteWriter(1 << 20);
/** The request's bytes into the reused buffer, as the file exporter writes them. */
const intoBuffer = (records: readonly ReadableLogRecord[]): number => {
  writer.reset();
  appendLogsRequest(writer, records);
  sink += writer.length;
  return records.length;
};
const VARIANTS: Variant[] = [
  { name: 'decoded: decode', run: (b) => decoded(b).length },
  { name: 'raw:     decode', run: (b) => raw(b).length },
  { name: 'decoded: decode + OTLP/JSON', run: (b) => ((sink += encodeLogsRequest(decoded(b)).length), BATCH_RECORDS) },
  { name: 'raw:     decode + OTLP/JSON as text', run: (b) => ((sink += encodeLogsRequest(raw(b)).length), BATCH_RECORDS) },
  { name: 'raw:     decode + OTLP/JSON into the buffer', run: (b) => intoBuffer(raw(b)) },
  { name: 'decoded: decode + k8s_attributes + OTLP/JSON', run: (b) => ((sink += encodeLogsRequest(enrichDecoded(decoded(b))).length), BATCH_RECORDS) },
  { name: 'raw:     decode + k8s_attributes + OTLP/JSON as text', run: (b) => ((sink += encodeLogsRequest(enrichRaw(raw(b))).length), BATCH_RECORDS) },
  { name: 'raw:     decode + k8s_attributes + OTLP/JSON into the buffer', run: (b) => intoBuffer(enrichRaw(raw(b))) },
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
  const batchesPerRound = Number(process.argv[3] ?? 400);
  const batches = Array.from({ length: 16 }, (_, i) => churnBatch(i, BATCH_RECORDS, CGROUPS));
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
  console.log(`raw/decoded: decode ${ratio('raw:     decode', 'decoded: decode')}x, decode + OTLP/JSON ${ratio('raw:     decode + OTLP/JSON into the buffer', 'decoded: decode + OTLP/JSON')}x, with k8s_attributes ${ratio('raw:     decode + k8s_attributes + OTLP/JSON into the buffer', 'decoded: decode + k8s_attributes + OTLP/JSON')}x`);
  if (sink < 0) console.log(sink);
}

main();
