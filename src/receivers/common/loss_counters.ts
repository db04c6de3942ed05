// The receiver-health counters every kernel receiver exports besides its own metrics: runs the
// kernel skipped (bpf_prog_info.recursion_misses, per program) and aggregate updates folded into
// the overflow series because a series map was full. Both are losses of attribution or of data
// that "metrics are complete" must be qualified by (docs/telemetry.md).
import { ValueType, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import type { ProgramInfo } from '../../bridge/bpf_object';
import { ATTR } from '../../telemetry/attributes';
import { METRICS, type MetricDefinition } from '../../telemetry/signals';

export interface LossCounts {
  readonly receiverId: string;
  /** The receiver's loaded programs, read now. */
  readonly programs: readonly ProgramInfo[];
  readonly overflowUpdates: bigint;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
}

function cumulativeCounter(def: MetricDefinition, points: MetricData['dataPoints']): MetricData {
  return {
    descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: points,
  } as MetricData;
}

export function lossCounterMetrics(input: LossCounts): MetricData[] {
  const { receiverId, startTime, endTime } = input;
  const missed = input.programs.map((p) => ({
    startTime,
    endTime,
    attributes: { [ATTR.receiver.key]: receiverId, [ATTR.program.key]: p.program },
    value: Number(p.recursionMisses),
  }));
  const overflow = [{ startTime, endTime, attributes: { [ATTR.receiver.key]: receiverId }, value: Number(input.overflowUpdates) }];
  return [cumulativeCounter(METRICS.overflowUpdates, overflow), cumulativeCounter(METRICS.missedRuns, missed)];
}
