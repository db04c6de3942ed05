// The two counters of a receiver's event stream, kept apart on purpose: dropped_events are
// losses (the ring buffer was full), sampled_out_events are intended (the sampling predicate,
// pushed down to the kernel, dropped what the sampling processor would have dropped).
import { ValueType, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { ATTR } from '../../telemetry/attributes';
import { METRICS, type MetricDefinition } from '../../telemetry/signals';

export interface EventCounts {
  readonly receiverId: string;
  readonly droppedEvents: bigint;
  readonly sampledOutEvents: bigint;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
}

function counter(def: MetricDefinition, input: EventCounts, value: bigint): MetricData {
  return {
    descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: [{ startTime: input.startTime, endTime: input.endTime, attributes: { [ATTR.receiver.key]: input.receiverId }, value: Number(value) }],
  };
}

export function eventCounterMetrics(input: EventCounts): MetricData[] {
  return [counter(METRICS.droppedEvents, input, input.droppedEvents), counter(METRICS.sampledOutEvents, input, input.sampledOutEvents)];
}
