// tcp_anomalies in kernel tests: a config with events drained every 20 ms and metrics read by
// hand, and readers of its metrics and events for one cgroup or tuple.
import { statSync } from 'node:fs';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics, SumMetricData } from '@opentelemetry/sdk-metrics';
import type { TcpAnomaliesConfig } from '../../src/receivers/tcp_anomalies/config';

export const ANOMALIES_TEST_CONFIG: TcpAnomaliesConfig = {
  collection_interval: '1h',
  drain_interval: '20ms',
  ring_buffer_size: 1 << 20,
  max_series: 1024,
  wakeup_min_bytes: 4096,
  sampling_pushdown: true,
  reset_events: true,
  retransmit_events: true,
  event_interval: '1ms',
  drop_events: true,
  drops: true,
  stack_traces: false,
  max_stacks: 1024,
  ports: [],
  cgroup_prefix: '',
  max_filter_cgroups: 4096,
};

/** The inode of a named network namespace (what tcp.netns.inode says). */
export function netnsInode(name: string): number {
  return Number(statSync(`/run/netns/${name}`).ino);
}

/** Data points of metric `name` whose attributes include `match`, as "attr=value,...": value. */
export function sumPoints(metrics: ResourceMetrics, name: string, match: Readonly<Record<string, unknown>>, keys: readonly string[]): Record<string, number> {
  const metric = metrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name) as SumMetricData | undefined;
  const out: Record<string, number> = {};
  for (const p of metric?.dataPoints ?? []) {
    if (!Object.entries(match).every(([k, v]) => p.attributes[k] === v)) continue;
    const label = keys.map((k) => `${k}=${String(p.attributes[k])}`).join(',');
    out[label] = (out[label] ?? 0) + p.value;
  }
  return out;
}

/** Events `name` whose attributes include `match`. */
export function eventsOf(records: readonly ReadableLogRecord[], name: string, match: Readonly<Record<string, unknown>>): ReadableLogRecord[] {
  return records.filter((r) => r.eventName === name && Object.entries(match).every(([k, v]) => r.attributes[k] === v));
}
