// The kernel's anomaly counters as system.network.tcp.retransmits / resets / drops /
// buffer.pressure (cumulative sums).
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import type { CgroupResolver } from '../../host/cgroup_resolver';
import { ATTR } from '../../telemetry/attributes';
import { METRICS, type MetricDefinition } from '../../telemetry/signals';
import { eventCounterMetrics } from '../common/event_counters';
import { cgroupAttributes, OVERFLOW_CGROUP_ID } from '../common/workload_attributes';
import { CONSTANTS as C } from './layout';
import type { ReasonNames } from './log_records';
import { bufferPressureName, retransmitNames } from './names';
import type { AnomalyStats } from './stats';

export interface AnomalyMetricsInput {
  readonly stats: readonly AnomalyStats[];
  readonly names: ReasonNames;
  /** Whether drops are counted on this kernel (else system.network.tcp.drops is left out). */
  readonly dropsCounted: boolean;
  readonly droppedEvents: bigint;
  readonly sampledOutEvents: bigint;
  readonly receiverId: string;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly cgroups: CgroupResolver;
  readonly seriesStartTime?: (cgroupId: bigint) => HrTime;
}

/** The series' own attributes (what and why), before its cgroup's. */
function kindAttributes(s: AnomalyStats, names: ReasonNames): Attributes {
  switch (s.kind) {
    case C.TCP_ANOMALIES_RETRANSMIT: {
      const { kind, trigger } = retransmitNames(s.reason);
      return { [ATTR.tcpRetransmitKind.key]: kind, [ATTR.tcpRetransmitTrigger.key]: trigger };
    }
    case C.TCP_ANOMALIES_RESET_SENT:
      return { [ATTR.ioDirection.key]: 'transmit', [ATTR.tcpResetReason.key]: names.resetReasonName(s.reason) };
    case C.TCP_ANOMALIES_RESET_RECEIVED:
      return { [ATTR.ioDirection.key]: 'receive' };
    case C.TCP_ANOMALIES_DROP:
      return { [ATTR.tcpDropReason.key]: names.dropReasonName(s.reason) };
    default:
      return { [ATTR.tcpBufferPressureKind.key]: bufferPressureName(s.kind, s.reason) };
  }
}

/** The host series (no socket) has no cgroup attribute; the overflow series only the overflow flag. */
export function anomalySeriesAttributes(s: AnomalyStats, names: ReasonNames, cgroups: CgroupResolver): Attributes {
  if (s.cgroupId === OVERFLOW_CGROUP_ID) return { [ATTR.overflow.key]: true };
  const attributes = kindAttributes(s, names);
  if (s.cgroupId !== BigInt(C.TCP_ANOMALIES_HOST_CGROUP)) cgroupAttributes(cgroups, s.cgroupId, attributes);
  return attributes;
}

const METRIC_OF_KIND: Readonly<Record<number, MetricDefinition>> = {
  [C.TCP_ANOMALIES_RETRANSMIT]: METRICS.retransmits,
  [C.TCP_ANOMALIES_RESET_SENT]: METRICS.resets,
  [C.TCP_ANOMALIES_RESET_RECEIVED]: METRICS.resets,
  [C.TCP_ANOMALIES_DROP]: METRICS.drops,
  [C.TCP_ANOMALIES_RCVQUEUE_FULL]: METRICS.bufferPressure,
  [C.TCP_ANOMALIES_MEMORY_LIMIT]: METRICS.bufferPressure,
};

interface SumPoint {
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly attributes: Attributes;
  readonly value: number;
}

function point(input: AnomalyMetricsInput, cgroupId: bigint, attributes: Attributes, count: bigint): SumPoint {
  return { startTime: input.seriesStartTime?.(cgroupId) ?? input.startTime, endTime: input.endTime, attributes, value: Number(count) };
}

export function anomalyMetrics(input: AnomalyMetricsInput): MetricData[] {
  const definitions: MetricDefinition[] = [METRICS.retransmits, METRICS.resets, ...(input.dropsCounted ? [METRICS.drops] : []), METRICS.bufferPressure];
  const points = new Map<MetricDefinition, SumPoint[]>(definitions.map((d) => [d, []]));
  // One overflow series per kind in the kernel (reason 0); two kinds share a metric (resets sent
  // and received, both buffer pressures): their overflow counts are summed into its one point.
  const overflow = new Map<MetricDefinition, bigint>();
  for (const s of input.stats) {
    const def = METRIC_OF_KIND[s.kind];
    const list = def && points.get(def);
    if (!list) continue;
    if (s.cgroupId === OVERFLOW_CGROUP_ID) {
      overflow.set(def, (overflow.get(def) ?? 0n) + s.count);
      continue;
    }
    list.push(point(input, s.cgroupId, anomalySeriesAttributes(s, input.names, input.cgroups), s.count));
  }
  for (const [def, count] of overflow) points.get(def)?.push(point(input, OVERFLOW_CGROUP_ID, { [ATTR.overflow.key]: true }, count));
  const sums: MetricData[] = definitions.map((def) => ({
    descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: points.get(def) ?? [],
  } as MetricData));
  return [...sums, ...eventCounterMetrics(input)];
}
