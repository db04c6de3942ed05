// What the user-space event-path benchmarks (event_path.ts into the file exporter, otlp_path.ts
// into the otlp exporter) share: the synthetic receiver context (8 pod cgroups), records made as
// KernelReceiver makes them, and an EventPump fed churn-shaped ring batches at a fixed rate,
// paused and resumed by the pump's own back-pressure as the kernel ring would be.
import { readFileSync } from 'node:fs';
import type { HrTime } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { RingReader } from '../src/bridge/ring_reader';
import type { CgroupResolver } from '../src/host/cgroup_resolver';
import { MonotonicClock } from '../src/host/monotonic_clock';
import type { EventPump } from '../src/receivers/common/event_pump';
import type { LogRecordContext } from '../src/receivers/common/log_record_context';
import { RawEventCaches, type RawBatch } from '../src/receivers/common/raw_events';
import { LifecycleRawLogRecord } from '../src/receivers/tcp_lifecycle/raw_log_record';
import { agentResource } from '../src/resource';
import { churnBatch, podCgroupPath } from './lifecycle_batches';

export const BATCH_RECORDS = 256;
const CGROUPS = 8;
const TEMPLATES = 16;
const FEED_INTERVAL_MS = 5;

/** `--name VALUE` from this process's arguments. */
export function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

/** This process's peak RSS (VmHWM), MB. */
export function peakRssMb(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** tcp_lifecycle's record context, its cgroup ids resolving to the batches' pod cgroups. */
export function syntheticContext(): LogRecordContext {
  const paths = new Map<bigint, string>(Array.from({ length: CGROUPS }, (_, i) => [BigInt(1000 + i), podCgroupPath(i)]));
  return {
    resource: agentResource(),
    scope: { name: 'tcpscope/receiver/tcp_lifecycle', version: '0.1.0' },
    clock: new MonotonicClock(),
    cgroups: { resolve: (id: bigint) => paths.get(id) } as unknown as CgroupResolver,
  };
}

/** Records backed by the ring bytes, one RawBatch per batch Buffer, as KernelReceiver wires decodeRaw. */
export function rawRecords(context: LogRecordContext): (batch: Buffer, offset: number, length: number, observed: HrTime) => ReadableLogRecord {
  const caches = new RawEventCaches(context);
  let current: Buffer | undefined;
  let raw: RawBatch | undefined;
  return (batch, offset, length, observed) => {
    if (batch !== current || raw === undefined) {
      current = batch;
      raw = caches.batch(batch, observed);
    }
    return LifecycleRawLogRecord.decode(raw, offset, length);
  };
}

/**
 * Feeds `pump` `events` records (rounded down to whole batches) at `rate` per second, a fresh
 * Buffer per batch as the addon hands over, every 5 ms the batches that keep the rate (a drain
 * timer with wake-ups, roughly). While the pump has paused the ring nothing is handed over (the
 * kernel ring would hold it); the feeder catches up after, so every event is still delivered.
 * Resolves with the count fed, once the last batch was handed over.
 */
export async function feedAtRate(pump: EventPump, events: number, rate: number): Promise<number> {
  let paused = false;
  pump.attach({ pause: () => (paused = true), resume: () => (paused = false), close: () => undefined } as unknown as RingReader);
  const templates = Array.from({ length: TEMPLATES }, (_, i) => churnBatch(i, BATCH_RECORDS, CGROUPS));
  const started = Date.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(events, Math.floor(((Date.now() - started) / 1000) * rate));
      while (!paused && sent + BATCH_RECORDS <= due) {
        pump.onBatch(Buffer.from(templates[(sent / BATCH_RECORDS) % templates.length]), BATCH_RECORDS, 0);
        sent += BATCH_RECORDS;
      }
      if (sent + BATCH_RECORDS > events) {
        clearInterval(timer);
        resolve();
      }
    }, FEED_INTERVAL_MS);
  });
  return sent;
}
