import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceMetrics, SumMetricData } from '@opentelemetry/sdk-metrics';
import type { Exporter } from '../component';
import { agentResource } from '../resource';
import { ExporterDropsAppender } from './exporter_drops';

const plain = (): Exporter => ({ consumers: {}, start: async () => undefined, shutdown: async () => undefined, forceFlush: async () => undefined });
const lossy = (metrics: number, logs: number) => Object.assign(plain(), { droppedItems: () => ({ metrics, logs }) });

test('appends every drop-counting exporter\'s losses to each metrics export', async () => {
  const seen: ResourceMetrics[] = [];
  const appender = new ExporterDropsAppender(
    new Map([
      ['otlp', lossy(3, 250)],
      ['debug', plain()],
      ['file/x', lossy(0, 1)],
    ]),
    { consume: async (d) => void seen.push(d) },
  );
  await appender.consume({ resource: agentResource(), scopeMetrics: [{ scope: { name: 'r' }, metrics: [] }] });
  assert.equal(seen[0].scopeMetrics.length, 2, 'the receivers\' scope is kept');
  const metric = seen[0].scopeMetrics[1].metrics[0] as SumMetricData;
  assert.equal(metric.descriptor.name, 'tcpscope.exporter.dropped_items');
  assert.equal(metric.isMonotonic, true);
  assert.deepEqual(
    metric.dataPoints.map((p) => [p.attributes.exporter, p.attributes.signal, p.value]),
    [
      ['otlp', 'metrics', 3],
      ['otlp', 'logs', 250],
      ['file/x', 'metrics', 0],
      ['file/x', 'logs', 1],
    ],
  );
});

test('passes data through untouched when no exporter counts drops', async () => {
  const data: ResourceMetrics = { resource: agentResource(), scopeMetrics: [] };
  let got: ResourceMetrics | undefined;
  await new ExporterDropsAppender(new Map([['debug', plain()]]), { consume: async (d) => void (got = d) }).consume(data);
  assert.equal(got, data);
});
