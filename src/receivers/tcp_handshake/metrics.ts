// The kernel's handshake histogram as system.network.tcp.handshake.duration (cumulative).
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { errnoName } from '../../host/errno';
import { ATTR } from '../../telemetry/attributes';
import { METRICS } from '../../telemetry/signals';
import { durationHistogramValue } from '../common/duration_buckets';
import { eventCounterMetrics, type UntrackedEvents } from '../common/event_counters';
import { OVERFLOW_CGROUP_ID, workloadAttributes } from '../common/workload_attributes';
import type { HandshakeStats } from './stats';

export interface HandshakeMetricsInput {
  readonly stats: readonly HandshakeStats[];
  readonly droppedEvents: bigint;
  readonly untrackedEvents?: UntrackedEvents;
  readonly sampledOutEvents: bigint;
  readonly receiverId: string;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly cgroups: CgroupResolver;
  /** Start time of a cgroup's series when it differs from startTime (a series removed and re-created). */
  readonly seriesStartTime?: (cgroupId: bigint) => HrTime;
}

/**
 * The attributes of one series. The kernel's overflow series (the map was full) holds attempts
 * of every role and outcome, so it carries only otel.metric.overflow=true: a role or the absence
 * of error.type would count its failures as successful client handshakes.
 */
export function handshakeSeriesAttributes(s: HandshakeStats, cgroups: CgroupResolver): Attributes {
  if (s.cgroupId === OVERFLOW_CGROUP_ID) return { [ATTR.overflow.key]: true };
  const attributes = workloadAttributes(cgroups, s.cgroupId, s.role);
  if (s.error !== 0) attributes[ATTR.errorType.key] = errnoName(s.error);
  return attributes;
}

export function handshakeMetrics(input: HandshakeMetricsInput): MetricData[] {
  const { endTime } = input;
  const def = METRICS.handshakeDuration;
  const histogram: MetricData = {
    descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: input.stats.map((s) => ({
      startTime: input.seriesStartTime?.(s.cgroupId) ?? input.startTime,
      endTime,
      attributes: handshakeSeriesAttributes(s, input.cgroups),
      value: durationHistogramValue(s.durationBuckets, s.durationSumNs, s.count),
    })),
  };
  return [histogram, ...eventCounterMetrics(input)];
}
