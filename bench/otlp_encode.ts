// Micro-benchmark: ExportLogsServiceRequest protobuf from tcpscope's log records, the SDK's
// serializer (@opentelemetry/otlp-transformer ProtobufLogsSerializer, what the SDK exporter ran)
// against the direct encoder (src/telemetry/otlp_proto_logs.ts), alternating within one run.
//
//   node dist/bench/otlp_encode.js [--rounds 10] [--batches 200] [--batch 512]
//
// Records: the kernel-captured tcp_lifecycle records of the decoder's golden test, built by the
// receiver's own lifecycleLogRecord() and enriched the way k8s_attributes does. Cost is process
// CPU time (user + system) per record, robust to other load on the machine; each round runs both
// encoders on the same batches, in alternating order. Prints the median and the range over rounds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { CgroupResolver } from '../src/host/cgroup_resolver';
import { MonotonicClock } from '../src/host/monotonic_clock';
import { PACKAGE_ROOT } from '../src/paths';
import { decodeLifecycleEvent } from '../src/receivers/tcp_lifecycle/decoder';
import { lifecycleLogRecord } from '../src/receivers/tcp_lifecycle/log_records';
import { OtlpLogsProtoEncoder } from '../src/telemetry/otlp_proto_logs';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '10' }, batches: { type: 'string', default: '200' }, batch: { type: 'string', default: '512' } },
});
const ROUNDS = Number(values.rounds);
const BATCHES = Number(values.batches);
const BATCH = Number(values.batch);

function batchesOfRecords(): ReadableLogRecord[][] {
  const resource = resourceFromAttributes({ 'service.name': 'tcpscope', 'service.version': '0.1.0', 'host.name': 'node-1', 'host.arch': 'amd64' });
  const scope = { name: 'tcpscope/tcp_lifecycle', version: '0.1.0' };
  const clock = new MonotonicClock();
  const cgroups = { resolve: () => '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-abcdef.scope' } as unknown as CgroupResolver;
  const ctx = { resource, scope, clock, cgroups };
  const hex = readFileSync(join(PACKAGE_ROOT, 'src', 'receivers', 'tcp_lifecycle', 'testdata', 'events.hex'), 'utf8').trim().split('\n');
  const events = hex.map((h) => Buffer.from(h, 'hex')).map((b) => decodeLifecycleEvent(b, 0, b.length));
  const out: ReadableLogRecord[][] = [];
  for (let b = 0; b < BATCHES; b++) {
    const batch: ReadableLogRecord[] = [];
    for (let i = 0; i < BATCH; i++) {
      const event = events[i % events.length];
      const r = lifecycleLogRecord({ ...event, localPort: (b * BATCH + i) % 65536, timestampNs: event.timestampNs + BigInt(i) }, ctx);
      batch.push({
        ...r,
        attributes: { ...r.attributes, 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'checkout-7d4b9c-x2x9z', 'k8s.container.name': 'checkout', 'k8s.deployment.name': 'checkout' },
      });
    }
    out.push(batch);
  }
  return out;
}

interface Sample {
  cpuNsPerRecord: number;
  recordsPerCpuSecond: number;
  bytesPerRecord: number;
}

function run(encode: (rs: ReadableLogRecord[]) => Uint8Array, batches: ReadableLogRecord[][]): Sample {
  let bytes = 0;
  const cpu = process.cpuUsage();
  for (const batch of batches) bytes += encode(batch).length;
  const used = process.cpuUsage(cpu);
  const cpuNs = (used.user + used.system) * 1000;
  const records = batches.length * BATCH;
  return { cpuNsPerRecord: cpuNs / records, recordsPerCpuSecond: records / (cpuNs / 1e9), bytesPerRecord: bytes / records };
}

function summary(samples: Sample[], key: keyof Sample): string {
  const sorted = samples.map((s) => s[key]).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const fmt = (v: number) => (v >= 1000 ? Math.round(v).toLocaleString('en') : v.toFixed(1));
  return `${fmt(median)} [${fmt(sorted[0])}…${fmt(sorted[sorted.length - 1])}]`;
}

function main(): void {
  const batches = batchesOfRecords();
  const encoder = new OtlpLogsProtoEncoder();
  const variants: [string, (rs: ReadableLogRecord[]) => Uint8Array][] = [
    ['sdk ProtobufLogsSerializer', (rs) => ProtobufLogsSerializer.serializeRequest(rs) ?? new Uint8Array(0)],
    ['direct OtlpLogsProtoEncoder', (rs) => encoder.encode(rs)],
  ];
  // Same bytes, or the comparison means nothing.
  for (const batch of batches.slice(0, 3)) {
    if (Buffer.compare(Buffer.from(variants[0][1](batch)), Buffer.from(variants[1][1](batch))) !== 0) throw new Error('the encoders disagree');
  }
  // Warm-up: both optimized before measuring.
  for (const [, encode] of variants) run(encode, batches.slice(0, 20));
  const samples = new Map<string, Sample[]>(variants.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const [name, encode] of order) samples.get(name)!.push(run(encode, batches));
  }
  console.log(`otlp_encode: ${ROUNDS} rounds × ${BATCHES} batches × ${BATCH} records (lifecycle records, k8s-enriched), alternating; median [min…max] over rounds`);
  for (const [name, s] of samples) {
    console.log(`  ${name.padEnd(28)} cpu ns/record ${summary(s, 'cpuNsPerRecord')}  records/cpu-s ${summary(s, 'recordsPerCpuSecond')}  bytes/record ${summary(s, 'bytesPerRecord')}`);
  }
  const sdk = samples.get(variants[0][0])!;
  const direct = samples.get(variants[1][0])!;
  const ratios = sdk.map((s, i) => s.cpuNsPerRecord / direct[i].cpuNsPerRecord).sort((a, b) => a - b);
  console.log(`  speed-up (sdk cpu / direct cpu, per round): median ${ratios[Math.floor(ratios.length / 2)].toFixed(2)}× [${ratios[0].toFixed(2)}…${ratios[ratios.length - 1].toFixed(2)}]`);
}

main();
