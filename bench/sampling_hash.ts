// `node dist/bench/sampling_hash.js [rounds] [batches] [records per batch]`: the sampling
// processor's cost per event on tcp_lifecycle raw records, with the connection hash the kernel
// writes into each record (connectionHash()) and without it (the field zeroed: the processor
// formats, parses and hashes the two endpoints itself, as before the kernel wrote it). Same
// records, same predicate (hash ratio 0.1, as the bench's userspace-sampled:0.1 mode); the two
// variants alternate inside one run and each figure is the median over rounds of process CPU
// (user+system) per record, so other work on the machine moves them less than wall-clock rates.
// Both variants must keep exactly the same records: checked before timing.
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Consumer } from '../src/component';
import type { CgroupResolver } from '../src/host/cgroup_resolver';
import { MonotonicClock } from '../src/host/monotonic_clock';
import { forEachRecord } from '../src/bridge/ring_reader';
import type { SamplingConfig } from '../src/processors/sampling/config';
import { connectionUnit } from '../src/processors/sampling/connection_hash';
import { SamplingProcessor } from '../src/processors/sampling/processor';
import type { LogRecordContext } from '../src/receivers/common/log_record_context';
import { RawEventCaches } from '../src/receivers/common/raw_events';
import { connectionHashField } from '../src/receivers/common/record_connection_hash';
import { agentResource } from '../src/resource';
import { decodeLifecycleEvent } from '../src/receivers/tcp_lifecycle/decoder';
import { EVENT_FIELDS as F } from '../src/receivers/tcp_lifecycle/layout';
import { LifecycleRawLogRecord } from '../src/receivers/tcp_lifecycle/raw_log_record';
import { churnBatch, podCgroupPath } from './lifecycle_batches';

const ROUNDS = Number(process.argv[2] ?? 9);
const BATCHES = Number(process.argv[3] ?? 200);
const BATCH_RECORDS = Number(process.argv[4] ?? 256);
const CGROUPS = 8;
const SAMPLING: SamplingConfig = { keep_errors: true, combine: 'any', policies: [{ hash: { ratio: 0.1 } }] };

const paths = new Map<bigint, string>(Array.from({ length: CGROUPS }, (_, i) => [BigInt(1000 + i), podCgroupPath(i)]));
const context: LogRecordContext = {
  resource: agentResource(),
  scope: { name: 'tcpscope/receiver/tcp_lifecycle', version: '0.1.0' },
  clock: new MonotonicClock(),
  cgroups: { resolve: (id: bigint) => paths.get(id) } as unknown as CgroupResolver,
};

/** Writes, into every record of `batch`, the connection_hash the kernel would have written. */
function withKernelHashes(batch: Buffer): Buffer {
  const out = Buffer.from(batch);
  forEachRecord(out, (offset, length) => {
    const e = decodeLifecycleEvent(out, offset, length);
    connectionHashField(connectionUnit({ address: e.local.text, port: e.localPort }, { address: e.peer.text, port: e.peerPort })).copy(out, offset + F.connection_hash.offset);
  });
  return out;
}

class Counting implements Consumer<'logs'> {
  kept = 0;
  async consume(records: readonly ReadableLogRecord[]): Promise<void> {
    this.kept += records.length;
  }
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const caches = new RawEventCaches(context);
  const observed: [number, number] = [1_763_900_001, 5_000_000];
  const plainBatches = Array.from({ length: BATCHES }, (_, i) => churnBatch(i, BATCH_RECORDS, CGROUPS));
  const records = (batches: Buffer[]) =>
    batches.map((batch) => {
      const rawBatch = caches.batch(batch, observed);
      const out: ReadableLogRecord[] = [];
      forEachRecord(batch, (offset, length) => out.push(LifecycleRawLogRecord.decode(rawBatch, offset, length)));
      return out;
    });
  const variants = [
    { name: 'processor hashes the tuple (no kernel hash)', batches: records(plainBatches) },
    { name: 'processor reads the kernel hash', batches: records(plainBatches.map(withKernelHashes)) },
  ];
  // Equal output is the bar: the same records kept, both ways.
  const kept = await Promise.all(
    variants.map(async (v) => {
      const ids: string[] = [];
      const collect: Consumer<'logs'> = {
        consume: async (rs) => void ids.push(...rs.map((r) => JSON.stringify([r.eventName, r.attributes]))),
      } as Consumer<'logs'>;
      const processor = new SamplingProcessor(SAMPLING, collect);
      for (const batch of v.batches) await processor.consume(batch);
      return ids.join(',');
    }),
  );
  if (kept[0] !== kept[1]) throw new Error('the two variants kept different records');

  const perRecord = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const total = BATCHES * BATCH_RECORDS;
  for (let round = 0; round <= ROUNDS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(k + round) % variants.length];
      const next = new Counting();
      const processor = new SamplingProcessor(SAMPLING, next);
      const start = cpuSeconds();
      for (const batch of variant.batches) await processor.consume(batch);
      const seconds = cpuSeconds() - start;
      if (round > 0) perRecord.get(variant.name)!.push((seconds / total) * 1e9); // round 0 warms the JIT up
    }
  }
  console.log(`sampling processor (${JSON.stringify(SAMPLING.policies)}) CPU ns per event, median of ${ROUNDS} rounds of ${BATCHES} batches x ${BATCH_RECORDS} tcp_lifecycle records (min-max):`);
  console.log('| variant | ns / event | min-max |');
  console.log('|---|---|---|');
  for (const [name, values] of perRecord) console.log(`| ${name} | ${median(values).toFixed(0)} | ${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)} |`);
  const [without, withHash] = [...perRecord.values()].map(median);
  console.log(`ratio (kernel hash / no kernel hash): ${(withHash / without).toFixed(2)}`);
}

void main();
