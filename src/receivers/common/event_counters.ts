// The two counters of a receiver's event stream, kept apart on purpose: dropped_events are
// losses (by reason: the ring buffer was full, or a table of per-socket state was full),
// sampled_out_events are intended (the sampling predicate, pushed down to the kernel, dropped
// what the sampling processor would have dropped).
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { ATTR } from '../../telemetry/attributes';
import { METRICS, type MetricDefinition } from '../../telemetry/signals';

export interface EventCounts {
  readonly receiverId: string;
  /** Lost because the ring buffer was full (reason=ring_buffer_full). */
  readonly droppedEvents: bigint;
  /** Lost because a per-socket table was full: a socket not followed by tcp_lifecycle
   * (reason=connection_untracked), or a connect not followed by tcp_handshake (attempt_untracked). */
  readonly untrackedEvents?: UntrackedEvents;
  readonly sampledOutEvents: bigint;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
}

/** Values of tcpscope.receiver.dropped_events' `reason` attribute. */
export const DROP_REASONS = { ringBufferFull: 'ring_buffer_full', connectionUntracked: 'connection_untracked', attemptUntracked: 'attempt_untracked' } as const;

export interface UntrackedEvents {
  readonly reason: typeof DROP_REASONS.connectionUntracked | typeof DROP_REASONS.attemptUntracked;
  readonly count: bigint;
}

function counter(def: MetricDefinition, input: EventCounts, values: readonly [Attributes, bigint][]): MetricData {
  return {
    descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: values.map(([attributes, value]) => ({
      startTime: input.startTime,
      endTime: input.endTime,
      attributes: { [ATTR.receiver.key]: input.receiverId, ...attributes },
      value: Number(value),
    })),
  };
}

export function eventCounterMetrics(input: EventCounts): MetricData[] {
  // ring_buffer_full first: every event receiver has it.
  const dropped: [Attributes, bigint][] = [[{ [ATTR.dropReason.key]: DROP_REASONS.ringBufferFull }, input.droppedEvents]];
  if (input.untrackedEvents) dropped.push([{ [ATTR.dropReason.key]: input.untrackedEvents.reason }, input.untrackedEvents.count]);
  return [counter(METRICS.droppedEvents, input, dropped), counter(METRICS.sampledOutEvents, input, [[{}, input.sampledOutEvents]])];
}
