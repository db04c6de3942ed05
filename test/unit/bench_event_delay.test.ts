// The benchmark's event delay column: tcpscope.exporter.event_delay read back from the OTLP/JSON
// the file exporter writes (encoded here by the exporter's own encoder), merged over rounds, and
// its bucket-interpolated quantiles.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HrTime } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { delayQuantile, mergeDelays, readEventDelay, type DelayHistogram } from '../../bench/event_delay';
import { summarize, verdicts, type ModeSummary, type RoundResult } from '../../bench/report';
import { encodeMetricsRequest } from '../../src/exporters/file/otlp_json';
import { EVENT_DELAY_BOUNDARIES_S, EventDelayAppender, EventDelays } from '../../src/pipeline/event_delay';
import { agentResource } from '../../src/resource';

const NOW: HrTime = [1_700_000_000, 500_000_000];
const record = (ageMs: number) => ({ hrTime: [NOW[0], NOW[1] - ageMs * 1e6] }) as unknown as ReadableLogRecord;

async function exportLine(delays: EventDelays): Promise<string> {
  let line = '';
  await new EventDelayAppender(delays, { consume: async (data: ResourceMetrics) => void (line = encodeMetricsRequest(data)) }).consume({ resource: agentResource({}), scopeMetrics: [] });
  return line;
}

test('reads the last export of the logs exporter from the file exporter\'s OTLP/JSON', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-bench-delay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const delays = new EventDelays(() => NOW);
  const meter = delays.meter('file/logs', { consume: async () => undefined });
  const first = await exportLine(delays);
  await meter.consume([record(2), record(40), record(40), record(250)]);
  const second = await exportLine(delays);
  const path = join(dir, 'metrics.jsonl');
  writeFileSync(path, `${first}\n{"resourceMetrics":[]}\n${second}\n`);
  const h = await readEventDelay(path);
  assert.ok(h);
  assert.equal(h.count, 4);
  assert.deepEqual(h.boundaries, EVENT_DELAY_BOUNDARIES_S);
  assert.equal(h.counts.reduce((a, b) => a + b, 0), 4);
  assert.equal(h.counts[EVENT_DELAY_BOUNDARIES_S.indexOf(0.05)], 2);
  assert.equal(h.min, 0.002);
  assert.equal(h.max, 0.25);
  assert.deepEqual(await readEventDelay(path, 'file/logs'), h);
  assert.equal(await readEventDelay(path, 'otlp'), undefined);
});

test('quantiles are interpolated inside the bucket, narrowed to the exact min and max', () => {
  const boundaries = [0.01, 0.02, 0.05];
  const h: DelayHistogram = { boundaries, counts: [0, 10, 90, 0], count: 100, sum: 3, min: 0.015, max: 0.04 };
  // p50: rank 50, 40 into the (0.02, 0.04] bucket of 90 (0.05 narrowed to the max).
  assert.ok(Math.abs((delayQuantile(h, 0.5) ?? NaN) - (0.02 + (0.02 * 40) / 90)) < 1e-12);
  // p5: rank 5, half-way through (0.015, 0.02] (0.01 narrowed to the min).
  assert.ok(Math.abs((delayQuantile(h, 0.05) ?? NaN) - 0.0175) < 1e-12);
  assert.equal(delayQuantile(h, 1), 0.04);
  assert.equal(delayQuantile({ ...h, counts: [0, 0, 0, 0], count: 0, min: undefined, max: undefined }, 0.99), undefined);
  // Beyond the last bound: up to the max.
  const over: DelayHistogram = { boundaries, counts: [0, 0, 0, 4], count: 4, sum: 1, min: 0.1, max: 0.3 };
  assert.ok(Math.abs((delayQuantile(over, 0.5) ?? NaN) - 0.2) < 1e-12);
});

test('rounds merge into one histogram; the summary and the p99 < 100 ms verdict read it', () => {
  const boundaries = [0.05, 0.1, 0.2];
  const a: DelayHistogram = { boundaries, counts: [98, 1, 1, 0], count: 100, sum: 2, min: 0.001, max: 0.15 };
  const b: DelayHistogram = { boundaries, counts: [100, 0, 0, 0], count: 100, sum: 1, min: 0.002, max: 0.04 };
  const merged = mergeDelays([a, b]);
  assert.deepEqual(merged, { boundaries, counts: [198, 1, 1, 0], count: 200, sum: 3, min: 0.001, max: 0.15 });
  assert.throws(() => mergeDelays([a, { ...b, boundaries: [1] }]), /different boundaries/);

  const load = { completed: 1000, elapsedSeconds: 1, rate: 1000, errors: 0, connections: 1000, serverPorts: [] };
  const interference = { fraction: 0, top: [] };
  const agent = (eventDelay: DelayHistogram) => ({ cpuSeconds: 1, peakRssBytes: 1, catchUpSeconds: 0, closedConnections: 1000, droppedEvents: 0, sampledOutEvents: 0, eventDelay });
  const rounds = [
    { mode: 'off', round: 0, attempts: 1, load, interference, machineCpuSeconds: 1 },
    { mode: 'events', round: 0, attempts: 1, load, interference, machineCpuSeconds: 1, agent: agent(a) },
    { mode: 'events', round: 1, attempts: 1, load, interference, machineCpuSeconds: 1, agent: agent(b) },
  ] as unknown as RoundResult[];
  const units = { plural: 'connections', singular: 'connection', short: 'conn', agentCpuPer: 1000, agentCpuPerLabel: '1k', machineCpuUsDigits: 0 } as unknown as Parameters<typeof summarize>[1];
  const [, events] = summarize(rounds, units);
  // Pooled: rank 198 of 200 is the last of the first bucket, rank 200 × 0.99 = 198.
  assert.ok(Math.abs((events.eventDelayP99 ?? NaN) - 0.05) < 1e-12, `p99 ${events.eventDelayP99}`);
  assert.equal(events.eventDelayMax, 0.15);
  const verdict = verdicts([events], 'churn').find((v) => v.target.startsWith('event latency'));
  assert.equal(verdict?.met, true);
  assert.equal(verdicts([{ ...events, eventDelayP99: 0.1 }], 'churn').find((v) => v.target.startsWith('event latency'))?.met, false);
});

test('the peak RSS target holds the metrics and events modes to 80 MB, not the otlp exporter or peers', () => {
  const summary = (mode: string, peakRssMb: number) => ({ mode, ratio: 1, pairedRatio: 1, peakRssMb }) as unknown as ModeSummary;
  const rssVerdict = (list: ModeSummary[]) => verdicts(list, 'churn').find((v) => v.target.startsWith('agent peak RSS'));
  const within = rssVerdict([summary('metrics', 76.3), summary('events', 78.5), summary('otlp', 92), summary('peer:bpftrace-lifetime', 120)]);
  assert.equal(within?.target, 'agent peak RSS <= 80 MB (metrics, events)');
  assert.equal(within?.measured, '78.5 MB');
  assert.equal(within?.met, true);
  assert.equal(rssVerdict([summary('metrics', 76.3), summary('events', 80.5)])?.met, false);
  assert.equal(rssVerdict([summary('otlp', 92)]), undefined, 'no target without a metrics or events mode');
});
