// Turns the kernel aggregates into OpenTelemetry metric data (cumulative, start time = when the
// receiver attached: the kernel counts from zero at that moment).
import { ValueType, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { ATTR } from '../../telemetry/attributes';
import { METRICS, type MetricDefinition } from '../../telemetry/signals';
import { durationHistogramValue } from '../common/duration_buckets';
import { eventCounterMetrics, type EvictedEvents } from '../common/event_counters';
import { workloadAttributes } from '../common/workload_attributes';
import type { WorkloadStats } from './stats';

function descriptor(def: MetricDefinition, valueType: ValueType) {
  return { name: def.name, description: def.description, unit: def.unit, valueType };
}

export interface LifecycleMetricsInput {
  readonly stats: readonly WorkloadStats[];
  readonly droppedEvents: bigint;
  readonly evictedEvents: EvictedEvents;
  readonly sampledOutEvents: bigint;
  readonly receiverId: string;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly cgroups: CgroupResolver;
  /** Start time of a cgroup's series when it differs from startTime (a series removed and re-created). */
  readonly seriesStartTime?: (cgroupId: bigint) => HrTime;
}

export function lifecycleMetrics(input: LifecycleMetricsInput): MetricData[] {
  const { endTime } = input;
  const durations: MetricData = {
    descriptor: descriptor(METRICS.connectionDuration, ValueType.DOUBLE),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [],
  };
  const io: MetricData = {
    descriptor: descriptor(METRICS.io, ValueType.INT),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: [],
  };
  const open: MetricData = {
    descriptor: descriptor(METRICS.connectionCount, ValueType.INT),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: false,
    dataPoints: [],
  };
  for (const s of input.stats) {
    const startTime = input.seriesStartTime?.(s.cgroupId) ?? input.startTime;
    const attributes = workloadAttributes(input.cgroups, s.cgroupId, s.role);
    open.dataPoints.push({
      startTime,
      endTime,
      attributes: { ...attributes, [ATTR.networkTransport.key]: 'tcp', [ATTR.connectionState.key]: 'established' },
      value: Number(s.established),
    });
    if (s.closed === 0n) continue;
    durations.dataPoints.push({
      startTime,
      endTime,
      attributes,
      value: durationHistogramValue(s.durationBuckets, s.durationSumNs, s.closed),
    });
    io.dataPoints.push(
      { startTime, endTime, attributes: { ...attributes, [ATTR.ioDirection.key]: 'transmit' }, value: Number(s.bytesSent) },
      { startTime, endTime, attributes: { ...attributes, [ATTR.ioDirection.key]: 'receive' }, value: Number(s.bytesReceived) },
    );
  }
  return [durations, io, open, ...eventCounterMetrics(input)];
}
