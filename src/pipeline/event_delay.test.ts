// tcpscope.exporter.event_delay with records of known ages and a fake clock: exact bucket counts,
// sum, min and max; the metric against its definition; and the graph measuring every hand-off to
// a logs exporter while the metrics pipeline exports the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HrTime } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { DataPointType, type HistogramMetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumer, Consumers, ExporterFactory, ReceiverFactory, Signal } from '../component';
import { parseConfigText, validateConfig } from '../config';
import { createLogger } from '../logger';
import { agentResource } from '../resource';
import { ATTR } from '../telemetry/attributes';
import { METRICS } from '../telemetry/signals';
import { EVENT_DELAY_BOUNDARIES_S, EventDelayAppender, EventDelays } from './event_delay';
import { AGENT_SCOPE } from './exporter_drops';
import { FactoryRegistry } from './registry';
import { buildService } from './service';

const NOW: HrTime = [1_700_000_000, 250_000_000];

/** A record `ageNs` before NOW. */
function aged(ageNs: number): ReadableLogRecord {
  // Nanoseconds since the epoch exceed 2^53: split the age instead.
  const nanos = NOW[1] - (ageNs % 1e9);
  const carry = Math.floor(nanos / 1e9);
  return { hrTime: [NOW[0] - Math.trunc(ageNs / 1e9) + carry, nanos - carry * 1e9] } as unknown as ReadableLogRecord;
}

const MS = 1_000_000;

class Recording implements Consumer<'logs'> {
  readonly batches: (readonly ReadableLogRecord[])[] = [];
  consume(records: readonly ReadableLogRecord[]): Promise<void> {
    this.batches.push(records);
    return Promise.resolve();
  }
}

function histogramPoint(delays: EventDelays, id: string) {
  const metric = delays.metric([NOW[0] + 1, 0]) as HistogramMetricData;
  const point = metric.dataPoints.find((p) => p.attributes[ATTR.exporter.key] === id);
  assert.ok(point, `a data point for exporter ${id}`);
  return point.value;
}

test('records of known ages land in exact buckets, (lower, upper] as OpenTelemetry defines them', async () => {
  const delays = new EventDelays(() => NOW, [NOW[0] - 10, 0]);
  const next = new Recording();
  const meter = delays.meter('file/logs', next);
  // One batch crossing a seconds boundary of NOW (250 ms past the second), one in the same second.
  const first = [aged(0), aged(1 * MS), aged(1 * MS + 1), aged(5 * MS), aged(40 * MS), aged(300 * MS)];
  const second = [aged(999 * MS), aged(1000 * MS), aged(9_999 * MS), aged(10_000 * MS), aged(10_000 * MS + 1), aged(3600e9)];
  await meter.consume(first);
  await meter.consume(second);
  assert.deepEqual(next.batches, [first, second], 'the exporter gets the very batches, in order');

  const value = histogramPoint(delays, 'file/logs');
  const expected = new Array<number>(EVENT_DELAY_BOUNDARIES_S.length + 1).fill(0);
  const bucketOf = (seconds: number) => EVENT_DELAY_BOUNDARIES_S.indexOf(seconds);
  expected[0] += 2; // 0 and exactly 1 ms: (-inf, 1 ms]
  expected[bucketOf(0.0015)] += 1; // 1 ms + 1 ns
  expected[bucketOf(0.005)] += 1; // exactly 5 ms
  expected[bucketOf(0.05)] += 1; // 40 ms: (30, 50] ms
  expected[bucketOf(0.3)] += 1; // exactly 300 ms, across the seconds boundary
  expected[bucketOf(1)] += 2; // 999 ms and exactly 1 s
  expected[bucketOf(10)] += 2; // 9.999 s and exactly 10 s
  expected[EVENT_DELAY_BOUNDARIES_S.length] += 2; // 10 s + 1 ns and an hour: overflow
  assert.deepEqual(value.buckets.counts, expected);
  assert.deepEqual(value.buckets.boundaries, EVENT_DELAY_BOUNDARIES_S);
  assert.equal(value.count, 12);
  const sumNs = [0, 1, 1, 5, 40, 300, 999, 1000, 9999, 10000, 10000].reduce((s, ms) => s + ms * MS, 0) + 2 + 3600e9;
  assert.ok(Math.abs((value.sum ?? 0) - sumNs / 1e9) < 1e-9, `sum ${value.sum} = ${sumNs / 1e9}`);
  assert.equal(value.min, 0);
  assert.equal(value.max, 3600);
});

test('a record stamped after now (the wall clock stepped back) counts as 0', async () => {
  const delays = new EventDelays(() => NOW);
  await delays.meter('otlp', new Recording()).consume([aged(-5 * MS), aged(2 * MS)]);
  const value = histogramPoint(delays, 'otlp');
  assert.equal(value.buckets.counts[0], 1);
  assert.equal(value.buckets.counts[EVENT_DELAY_BOUNDARIES_S.indexOf(0.002)], 1);
  assert.equal(value.min, 0);
  assert.equal(value.count, 2);
});

test('one histogram per exporter id, shared by the pipelines that hand it records; zero counts before any', async () => {
  let now: HrTime = NOW;
  const delays = new EventDelays(() => now);
  const a1 = delays.meter('otlp', new Recording());
  const a2 = delays.meter('otlp', new Recording());
  delays.meter('debug', new Recording());
  await a1.consume([aged(2 * MS)]);
  now = [NOW[0], NOW[1] + 10 * MS];
  await a2.consume([aged(2 * MS)]); // 12 ms old by now
  await a2.consume([]); // an empty batch reads no clock and counts nothing
  const otlp = histogramPoint(delays, 'otlp');
  assert.equal(otlp.count, 2);
  assert.equal(otlp.buckets.counts[EVENT_DELAY_BOUNDARIES_S.indexOf(0.002)], 1);
  assert.equal(otlp.buckets.counts[EVENT_DELAY_BOUNDARIES_S.indexOf(0.015)], 1);
  const debug = histogramPoint(delays, 'debug');
  assert.equal(debug.count, 0);
  assert.equal(debug.sum, 0);
  assert.equal(debug.min, undefined, 'no min or max without records');
  assert.ok(debug.buckets.counts.every((c) => c === 0));
  assert.equal(new EventDelays(() => NOW).metric(), undefined, 'no exporter takes logs: no metric');
});

test('the metric matches its definition and joins the tcpscope/agent scope', async () => {
  const delays = new EventDelays(() => NOW);
  delays.meter('file/logs', new Recording());
  const exported: ResourceMetrics[] = [];
  const appender = new EventDelayAppender(delays, { consume: async (d) => void exported.push(d) });
  const resource = agentResource();
  const other = { scope: { name: 'tcp_lifecycle' }, metrics: [] };
  await appender.consume({ resource, scopeMetrics: [other, { scope: AGENT_SCOPE, metrics: [] }] });
  await appender.consume({ resource, scopeMetrics: [other] });
  for (const data of exported) {
    const agent = data.scopeMetrics.filter((s) => s.scope.name === AGENT_SCOPE.name);
    assert.equal(agent.length, 1, 'one agent scope');
    const [metric] = agent[0].metrics;
    const def = METRICS.exporterEventDelay;
    assert.equal(metric.descriptor.name, def.name);
    assert.equal(metric.descriptor.unit, def.unit);
    assert.equal(def.instrument, 'histogram');
    assert.equal(metric.dataPointType, DataPointType.HISTOGRAM);
    const allowed = new Set<string>(def.attributes.map((a) => a.key));
    for (const p of metric.dataPoints) for (const key of Object.keys(p.attributes)) assert.ok(allowed.has(key), key);
  }
});

test('the service measures every hand-off to a logs exporter and exports it with the metrics', async () => {
  const receivers = new Map<string, Consumers>();
  const got: { id: string; signal: Signal; data: unknown }[] = [];
  const source: ReceiverFactory = {
    kind: 'receiver',
    type: 'source',
    signals: ['metrics', 'logs'],
    schema: {},
    create: (settings, _config, next) => {
      receivers.set(settings.id.text, next);
      return { start: async () => undefined, shutdown: async () => undefined };
    },
  };
  const sink: ExporterFactory = {
    kind: 'exporter',
    type: 'sink',
    signals: ['metrics', 'logs'],
    schema: {},
    create: (settings, _config, signals) => {
      const consumers: { metrics?: Consumer<'metrics'>; logs?: Consumer<'logs'> } = {};
      const id = settings.id.text;
      if (signals.includes('metrics')) consumers.metrics = { consume: async (data) => void got.push({ id, signal: 'metrics', data }) };
      if (signals.includes('logs')) consumers.logs = { consume: async (data) => void got.push({ id, signal: 'logs', data }) };
      return { start: async () => undefined, shutdown: async () => undefined, consumers, forceFlush: async () => undefined };
    },
  };
  const registry = new FactoryRegistry([source, sink]);
  const yaml = [
    'receivers: {source: {}}',
    'exporters: {sink/a: {}, sink/b: {}, sink/m: {}}',
    'service:',
    '  pipelines:',
    '    metrics: {receivers: [source], exporters: [sink/m]}',
    '    logs: {receivers: [source], exporters: [sink/a, sink/b]}',
    '    logs/2: {receivers: [source], exporters: [sink/a]}',
  ].join('\n');
  const config = validateConfig(parseConfigText(yaml, 'test.yaml', {}), registry);
  buildService(config, registry, { resource: agentResource(), logger: createLogger('error', () => undefined) });
  const next = receivers.get('source');
  assert.ok(next?.logs && next.metrics);
  const hour: ReadableLogRecord = { hrTime: [Math.floor(Date.now() / 1000) - 3600, 0] } as unknown as ReadableLogRecord;
  await next.logs.consume([hour, hour, hour]);
  await next.metrics.consume({ resource: agentResource(), scopeMetrics: [] });

  const exported = got.find((g) => g.signal === 'metrics')?.data as ResourceMetrics;
  const metric = exported.scopeMetrics
    .find((s) => s.scope.name === AGENT_SCOPE.name)
    ?.metrics.find((m) => m.descriptor.name === METRICS.exporterEventDelay.name) as HistogramMetricData | undefined;
  assert.ok(metric, 'the metrics export carries the event delay');
  const counts = Object.fromEntries(metric.dataPoints.map((p) => [p.attributes[ATTR.exporter.key], p.value.count]));
  // The receiver feeds both logs pipelines: sink/a gets the batch twice, sink/b once; sink/m takes no logs.
  assert.deepEqual(counts, { 'sink/a': 6, 'sink/b': 3 });
  for (const p of metric.dataPoints) {
    assert.equal(p.value.buckets.counts[EVENT_DELAY_BOUNDARIES_S.length], p.value.count, 'an hour old: the overflow bucket');
    assert.ok((p.value.min ?? 0) >= 3600);
  }
});
