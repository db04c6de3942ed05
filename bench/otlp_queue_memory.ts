// What a full logs queue holds: 100 batches (the default queue_size) of 512 tcp_lifecycle records
// with k8s attributes, as record objects (what the queue held with the SDK exporter) and as
// encoded ExportLogsServiceRequest bytes (what it holds now, also bounded by queue_bytes).
//
//   node --expose-gc dist/bench/otlp_queue_memory.js
//
// Heap plus external memory after full GCs, against the same measure before the records exist.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { CgroupResolver } from '../src/host/cgroup_resolver';
import { MonotonicClock } from '../src/host/monotonic_clock';
import { PACKAGE_ROOT } from '../src/paths';
import { decodeLifecycleEvent } from '../src/receivers/tcp_lifecycle/decoder';
import { lifecycleLogRecord } from '../src/receivers/tcp_lifecycle/log_records';
import { OtlpLogsProtoEncoder } from '../src/telemetry/otlp_proto_logs';

const BATCHES = 100;
const BATCH = 512;

function held(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

function main(): void {
  const resource = resourceFromAttributes({ 'service.name': 'tcpscope', 'host.name': 'node-1' });
  const scope = { name: 'tcpscope/tcp_lifecycle', version: '0.1.0' };
  const cgroups = { resolve: () => '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-abcdef.scope' } as unknown as CgroupResolver;
  const ctx = { resource, scope, clock: new MonotonicClock(), cgroups };
  const hex = readFileSync(join(PACKAGE_ROOT, 'src', 'receivers', 'tcp_lifecycle', 'testdata', 'events.hex'), 'utf8').trim().split('\n');
  const events = hex.map((h) => Buffer.from(h, 'hex')).map((b) => decodeLifecycleEvent(b, 0, b.length));
  // Fresh strings per record, as the decoder makes them from each ring record.
  const fresh = (s: string) => `${s} `.trimEnd();
  const base = held();
  let batches: ReadableLogRecord[][] = [];
  for (let b = 0; b < BATCHES; b++) {
    const batch: ReadableLogRecord[] = [];
    for (let i = 0; i < BATCH; i++) {
      const e = events[i % events.length];
      const r = lifecycleLogRecord(
        { ...e, comm: fresh(e.comm), local: { ...e.local, text: fresh(e.local.text) }, peer: { ...e.peer, text: fresh(e.peer.text) }, localPort: (b * BATCH + i) % 65536 },
        ctx,
      );
      batch.push({ ...r, attributes: { ...r.attributes, 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'checkout-7d4b9c-x2x9z' } });
    }
    batches.push(batch);
  }
  const asObjects = held() - base;
  const encoder = new OtlpLogsProtoEncoder();
  const encoded = batches.map((batch) => encoder.encode(batch));
  batches = [];
  const asBytes = held() - base;
  const records = BATCHES * BATCH;
  const protobuf = encoded.reduce((n, b) => n + b.length, 0);
  const mb = (n: number) => (n / 1048576).toFixed(1);
  console.log(`${BATCHES} batches × ${BATCH} records waiting:`);
  console.log(`  as record objects: ${mb(asObjects)} MB (${Math.round(asObjects / records)} B per record)`);
  console.log(`  as encoded requests: ${mb(asBytes)} MB (${Math.round(asBytes / records)} B per record; ${Math.round(protobuf / records)} B of protobuf each)`);
}

main();
