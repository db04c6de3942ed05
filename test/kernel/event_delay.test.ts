// tcpscope.exporter.event_delay on the real kernel, through the service graph the agent builds:
// N real loopback connections from processes in the test's own cgroup give 4N log records (connect,
// accept, a close on each side); a test processor passes only this cgroup's records to the named
// exporter, so its histogram must count exactly 4N, every delay within [0, the time this test saw
// from before its first connection to the exporter's last hand-off].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { HistogramMetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumer, ExporterFactory, ProcessorFactory, Signal, SignalData } from '../../src/component';
import { parseConfigText, validateConfig } from '../../src/config';
import { EVENT_DELAY_BOUNDARIES_S } from '../../src/pipeline/event_delay';
import { FactoryRegistry } from '../../src/pipeline/registry';
import { buildService } from '../../src/pipeline/service';
import { tcpLifecycleReceiverFactory } from '../../src/receivers/tcp_lifecycle/factory';
import { createLogger } from '../../src/logger';
import { agentResource } from '../../src/resource';
import { ATTR } from '../../src/telemetry/attributes';
import { METRICS } from '../../src/telemetry/signals';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';

const CONNECTIONS = 300;
/** Date.now()'s millisecond resolution at both ends of the test's own window, and the ≤ 1 ms the
 * shared clock's wall offset may rise between a batch's stamping and its hand-off. */
const CLOCK_ALLOWANCE_S = 0.003;

/** Passes on only the log records of one cgroup (the test's), so that other traffic on the host is not counted. */
const onlyCgroup: ProcessorFactory<{ cgroup: string }> = {
  kind: 'processor',
  type: 'only_cgroup',
  signals: ['logs'],
  schema: { cgroup: { default: '', format: String } },
  create<S extends Signal>(_settings: unknown, config: { cgroup: string }, _signal: S, next: Consumer<S>) {
    return {
      start: async () => undefined,
      shutdown: async () => undefined,
      consume: (data: SignalData[S]) => {
        const ours = (data as readonly ReadableLogRecord[]).filter((r) => r.attributes[ATTR.processLinuxCgroup.key] === config.cgroup);
        return ours.length === 0 ? Promise.resolve() : next.consume(ours as unknown as SignalData[S]);
      },
    };
  },
};

class Recorded {
  readonly records: ReadableLogRecord[] = [];
  readonly metrics: ResourceMetrics[] = [];
  /** Date.now() at the last hand-off of records. */
  lastHandOffMs = 0;
}

function recordingExporter(recorded: Recorded): ExporterFactory {
  return {
    kind: 'exporter',
    type: 'recording',
    signals: ['metrics', 'logs'],
    schema: {},
    create: (_settings, _config, signals) => ({
      start: async () => undefined,
      shutdown: async () => undefined,
      forceFlush: async () => undefined,
      consumers: {
        ...(signals.includes('logs')
          ? {
              logs: {
                consume: async (records: readonly ReadableLogRecord[]) => {
                  recorded.records.push(...records);
                  recorded.lastHandOffMs = Date.now();
                },
              },
            }
          : {}),
        ...(signals.includes('metrics') ? { metrics: { consume: async (data: ResourceMetrics) => void recorded.metrics.push(data) } } : {}),
      },
    }),
  };
}

function eventDelay(data: ResourceMetrics | undefined, exporter: string) {
  const metric = data?.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === METRICS.exporterEventDelay.name) as HistogramMetricData | undefined;
  return metric?.dataPoints.find((p) => p.attributes[ATTR.exporter.key] === exporter)?.value;
}

test('event_delay counts exactly the 4N records of N real connections handed to the exporter, each within [0, the observed bound]', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('event-delay');
  const cgroup = TestCgroup.create(`${base}/peers`);
  const children: RunningChild[] = [];
  const recorded = new Recorded();
  const registry = new FactoryRegistry([tcpLifecycleReceiverFactory, onlyCgroup, recordingExporter(recorded)]);
  const yaml = [
    'receivers:',
    '  tcp_lifecycle: {collection_interval: 200ms, drain_interval: 20ms}',
    'processors:',
    `  only_cgroup: {cgroup: ${JSON.stringify(cgroup.attribute)}}`,
    'exporters: {recording/events: {}, recording/metrics: {}}',
    'service:',
    '  pipelines:',
    '    metrics: {receivers: [tcp_lifecycle], exporters: [recording/metrics]}',
    '    logs: {receivers: [tcp_lifecycle], processors: [only_cgroup], exporters: [recording/events]}',
  ].join('\n');
  const config = validateConfig(parseConfigText(yaml, 'event_delay.yaml', {}), registry);
  const logger = createLogger(process.env.TCPSCOPE_TEST_LOG ? 'debug' : 'warn');
  const service = buildService(config, registry, { resource: agentResource(), logger });
  t.after(async () => {
    for (const c of children) c.kill();
    try {
      await service.shutdown();
    } finally {
      cgroup.remove(base);
    }
  });
  await service.start({ reportFatal: (e) => assert.fail(e) });

  const server = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'server', '100', 'client-first']));
  children.push(server);
  const ports = await server.nextJson<{ v4: number }>();
  // Every event of these connections happens after this instant (a listen emits no event).
  const startMs = Date.now();
  const client = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'client', '127.0.0.1', String(ports.v4), String(CONNECTIONS), '10', '0', 'client-first']));
  children.push(client);
  assert.equal((await client.nextJson<{ done: number }>(2 * DEADLINE_MS)).done, CONNECTIONS);
  await waitUntil(() => recorded.records.length >= 4 * CONNECTIONS, DEADLINE_MS, `${4 * CONNECTIONS} records at the exporter`, () => `${recorded.records.length}`);
  const boundS = (recorded.lastHandOffMs - startMs) / 1000 + CLOCK_ALLOWANCE_S;
  const exportsBefore = recorded.metrics.length;
  // A metrics export that began after the last hand-off has every record in it.
  await waitUntil(() => recorded.metrics.length >= exportsBefore + 2, DEADLINE_MS, 'two more metrics exports');

  assert.equal(recorded.records.length, 4 * CONNECTIONS, 'connect, accept and two closes per connection, nothing else of ours');
  const value = eventDelay(recorded.metrics.at(-1), 'recording/events');
  assert.ok(value, 'the metrics export carries tcpscope.exporter.event_delay for recording/events');
  assert.equal(value.count, 4 * CONNECTIONS, 'one delay per record handed to the exporter');
  assert.equal(
    value.buckets.counts.reduce((a, b) => a + b, 0),
    4 * CONNECTIONS,
    'the buckets hold every record',
  );
  assert.deepEqual(value.buckets.boundaries, EVENT_DELAY_BOUNDARIES_S);
  assert.ok(value.min !== undefined && value.max !== undefined);
  // Above 0, not just at least 0: a delay below 0 would have been counted as 0.
  assert.ok(value.min > 0, `min ${value.min} > 0`);
  assert.ok(value.max <= boundS, `max ${value.max} s <= ${boundS} s, the window this test observed`);
  assert.ok(value.sum !== undefined && value.sum >= 4 * CONNECTIONS * value.min && value.sum <= 4 * CONNECTIONS * value.max, `sum ${value.sum} within count × [min, max]`);
  // No bucket wholly above the bound holds a record.
  value.buckets.counts.forEach((count, i) => {
    const lower = i === 0 ? 0 : EVENT_DELAY_BOUNDARIES_S[i - 1];
    if (lower >= boundS) assert.equal(count, 0, `bucket above ${lower} s is empty`);
  });
  assert.equal(eventDelay(recorded.metrics.at(-1), 'recording/metrics'), undefined, 'an exporter without logs has no event delay');

  // The records themselves agree: each was stamped inside the window.
  for (const r of recorded.records) {
    const ms = r.hrTime[0] * 1000 + r.hrTime[1] / 1e6;
    assert.ok(ms >= startMs - 1 && ms <= recorded.lastHandOffMs + 1, `${r.eventName} at ${ms} inside [${startMs}, ${recorded.lastHandOffMs}]`);
  }
});
