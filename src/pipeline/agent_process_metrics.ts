// The agent's own process and queue health in every metrics export: RSS and CPU time of the
// agent process (OpenTelemetry process.* semantic conventions) and the batches each queueing
// exporter holds. Like the exporter drops (exporter_drops.ts), it rides along with the receivers'
// metrics right before the exporters, so processors cannot remove it, and it goes into the same
// `tcpscope/agent` scope.
import { ValueType, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumer, Exporter } from '../component';
import { reportsQueueSize, type ReportsQueueSize } from '../exporters/queue_size';
import { hrTimeNow } from '../host/monotonic_clock';
import { ATTR } from '../telemetry/attributes';
import { METRICS, type MetricDefinition } from '../telemetry/signals';
import { AGENT_SCOPE } from './exporter_drops';

/** What the appender reads of the process; the real process unless a test passes its own. */
export interface ProcessReadings {
  /** Resident set size in bytes. */
  rss(): number;
  /** CPU time since the process started, in microseconds (as process.cpuUsage()). */
  cpuUsage(): { readonly user: number; readonly system: number };
  /** When the process started (epoch milliseconds): the start time of the cumulative CPU time. */
  readonly startMs: number;
}

export const CURRENT_PROCESS: ProcessReadings = {
  rss: () => process.memoryUsage.rss(),
  cpuUsage: () => process.cpuUsage(),
  startMs: performance.timeOrigin,
};

export class AgentProcessMetricsAppender implements Consumer<'metrics'> {
  private readonly queueing: [string, ReportsQueueSize][];
  private readonly startTime: HrTime;

  constructor(
    exporters: ReadonlyMap<string, Exporter>,
    private readonly next: Consumer<'metrics'>,
    private readonly readings: ProcessReadings = CURRENT_PROCESS,
  ) {
    this.queueing = [...exporters].filter((entry): entry is [string, Exporter & ReportsQueueSize] => reportsQueueSize(entry[1]));
    const ms = Math.floor(readings.startMs);
    this.startTime = [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
  }

  consume(data: ResourceMetrics): Promise<void> {
    const metrics = this.metrics();
    // One `tcpscope/agent` scope per export: join the exporter drops' when they are there.
    const index = data.scopeMetrics.findIndex((s) => s.scope.name === AGENT_SCOPE.name);
    const scopeMetrics =
      index < 0
        ? [...data.scopeMetrics, { scope: AGENT_SCOPE, metrics }]
        : data.scopeMetrics.map((s, i) => (i === index ? { scope: s.scope, metrics: [...s.metrics, ...metrics] } : s));
    return this.next.consume({ resource: data.resource, scopeMetrics });
  }

  private metrics(): MetricData[] {
    const endTime = hrTimeNow();
    const cpu = this.readings.cpuUsage();
    const metrics: MetricData[] = [
      sum(METRICS.processMemoryUsage, ValueType.INT, false, [{ startTime: this.startTime, endTime, attributes: {}, value: this.readings.rss() }]),
      sum(METRICS.processCpuTime, ValueType.DOUBLE, true, [
        { startTime: this.startTime, endTime, attributes: { [ATTR.cpuMode.key]: 'user' }, value: cpu.user / 1e6 },
        { startTime: this.startTime, endTime, attributes: { [ATTR.cpuMode.key]: 'system' }, value: cpu.system / 1e6 },
      ]),
    ];
    const queues = this.queueing.flatMap(([id, exporter]) =>
      Object.entries(exporter.queueSizes()).map(([signal, size]) => ({
        startTime: this.startTime,
        endTime,
        attributes: { [ATTR.exporter.key]: id, [ATTR.signal.key]: signal },
        value: size ?? 0,
      })),
    );
    if (queues.length > 0) metrics.push(sum(METRICS.exporterQueueSize, ValueType.INT, false, queues));
    return metrics;
  }
}

function sum(
  def: MetricDefinition,
  valueType: ValueType,
  isMonotonic: boolean,
  dataPoints: { startTime: HrTime; endTime: HrTime; attributes: Record<string, string>; value: number }[],
): MetricData {
  return {
    descriptor: { name: def.name, description: def.description, unit: def.unit, valueType },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic,
    dataPoints,
  };
}
