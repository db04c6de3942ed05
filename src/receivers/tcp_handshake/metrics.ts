// The kernel's handshake histogram as system.network.tcp.handshake.duration (cumulative).
import { ValueType, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { errnoName } from '../../host/errno';
import { ATTR } from '../../telemetry/attributes';
import { METRICS } from '../../telemetry/signals';
import { durationHistogramValue } from '../shared/duration_buckets';
import { eventCounterMetrics, type EvictedEvents } from '../shared/event_counters';
import { workloadAttributes } from '../shared/workload_attributes';
import type { HandshakeStats } from './stats';

export interface HandshakeMetricsInput {
  readonly stats: readonly HandshakeStats[];
  readonly droppedEvents: bigint;
  readonly evictedEvents?: EvictedEvents;
  readonly sampledOutEvents: bigint;
  readonly receiverId: string;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly cgroups: CgroupResolver;
}

export function handshakeMetrics(input: HandshakeMetricsInput): MetricData[] {
  const { startTime, endTime } = input;
  const def = METRICS.handshakeDuration;
  const histogram: MetricData = {
    descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: input.stats.map((s) => {
      const attributes = workloadAttributes(input.cgroups, s.cgroupId, s.role);
      if (s.error !== 0) attributes[ATTR.errorType.key] = errnoName(s.error);
      return { startTime, endTime, attributes, value: durationHistogramValue(s.durationBuckets, s.durationSumNs, s.count) };
    }),
  };
  return [histogram, ...eventCounterMetrics(input)];
}
