// Turns the kernel aggregates into OpenTelemetry metric data (cumulative, start time = when the
// receiver attached: the kernel counts from zero at that moment).
import { ValueType, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { ATTR } from '../../telemetry/attributes';
import { METRICS, type MetricDefinition } from '../../telemetry/signals';
import { durationHistogramValue } from '../common/duration_buckets';
import { eventCounterMetrics, type UntrackedEvents } from '../common/event_counters';
import { workloadAttributes } from '../common/workload_attributes';
import type { WorkloadStats } from './stats';

function descriptor(def: MetricDefinition, valueType: ValueType) {
  return { name: def.name, description: def.description, unit: def.unit, valueType };
}

export interface LifecycleMetricsInput {
  readonly stats: readonly WorkloadStats[];
  readonly droppedEvents: bigint;
  readonly untrackedEvents: UntrackedEvents;
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
  // The kernel keeps a series per (cgroup, role, end): the open count and the bytes are per
  // (cgroup, role), summed over the ends; the lifetimes keep their end (tcp.connection.end).
  const groups = new Map<string, { established: bigint; closed: bigint; bytesSent: bigint; bytesReceived: bigint; first: WorkloadStats }>();
  for (const s of input.stats) {
    const id = `${s.cgroupId}/${s.role}`;
    const group = groups.get(id);
    if (group === undefined) {
      groups.set(id, { established: s.established, closed: s.closed, bytesSent: s.bytesSent, bytesReceived: s.bytesReceived, first: s });
    } else {
      group.established += s.established;
      group.closed += s.closed;
      group.bytesSent += s.bytesSent;
      group.bytesReceived += s.bytesReceived;
    }
  }
  for (const group of groups.values()) {
    const s = group.first;
    const startTime = input.seriesStartTime?.(s.cgroupId) ?? input.startTime;
    const attributes = workloadAttributes(input.cgroups, s.cgroupId, s.role);
    open.dataPoints.push({
      startTime,
      endTime,
      attributes: { ...attributes, [ATTR.networkTransport.key]: 'tcp', [ATTR.connectionState.key]: 'established' },
      value: Number(group.established),
    });
    if (group.closed === 0n) continue;
    io.dataPoints.push(
      { startTime, endTime, attributes: { ...attributes, [ATTR.ioDirection.key]: 'transmit' }, value: Number(group.bytesSent) },
      { startTime, endTime, attributes: { ...attributes, [ATTR.ioDirection.key]: 'receive' }, value: Number(group.bytesReceived) },
    );
  }
  for (const s of input.stats) {
    if (s.closed === 0n || s.end === undefined) continue;
    durations.dataPoints.push({
      startTime: input.seriesStartTime?.(s.cgroupId) ?? input.startTime,
      endTime,
      attributes: { ...workloadAttributes(input.cgroups, s.cgroupId, s.role), [ATTR.tcpConnectionEnd.key]: s.end },
      value: durationHistogramValue(s.durationBuckets, s.durationSumNs, s.closed),
    });
  }
  return [durations, io, open, ...eventCounterMetrics(input)];
}
