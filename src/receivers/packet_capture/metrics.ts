// packet_capture's metrics from its counts: tcpscope.capture.packets by outcome, and with the
// trigger watch tcpscope.capture.triggers by reason and outcome. Pure, so that the definitions
// test (src/telemetry/metric_builders.test.ts) feeds it without a kernel.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { ATTR } from '../../telemetry/attributes';
import { METRICS, type MetricDefinition } from '../../telemetry/signals';
import { TRIGGER_REASONS, type TriggerCounts } from './trigger_watch';

/** Cumulative packet outcomes (captures finished and running). */
export interface PacketOutcomes {
  captured: number;
  sampling: number;
  rateLimit: number;
  lost: number;
}

export interface CaptureCounts {
  readonly receiverId: string;
  readonly packets: PacketOutcomes;
  /** Absent without the trigger watch. */
  readonly triggers?: TriggerCounts;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
}

function counter(def: MetricDefinition, input: CaptureCounts, points: readonly [Attributes, number][]): MetricData {
  return {
    descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: points.map(([attributes, value]) => ({
      startTime: input.startTime,
      endTime: input.endTime,
      attributes: { [ATTR.receiver.key]: input.receiverId, ...attributes },
      value,
    })),
  };
}

export function captureMetrics(input: CaptureCounts): MetricData[] {
  const p = input.packets;
  const outcome = (value: string): Attributes => ({ [ATTR.captureOutcome.key]: value });
  const metrics = [
    counter(METRICS.capturePackets, input, [
      [outcome('captured'), p.captured],
      [outcome('skipped_sampling'), p.sampling],
      [outcome('skipped_rate_limit'), p.rateLimit],
      [outcome('skipped_lost'), p.lost],
    ]),
  ];
  const t = input.triggers;
  if (t) {
    metrics.push(
      counter(
        METRICS.captureTriggers,
        input,
        TRIGGER_REASONS.flatMap((reason) =>
          (['started', 'cooldown', 'busy'] as const).map((o): [Attributes, number] => [{ [ATTR.captureReason.key]: reason, ...outcome(o) }, t[o][reason]]),
        ),
      ),
    );
  }
  return metrics;
}
