// The agent's own health in every metrics export: items each exporter has lost (a full retry
// queue during a backend outage, a failed file write), so nothing is dropped silently. It rides
// along with the receivers' metrics right before the exporters, so processors cannot remove it.
import { ValueType, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumer, Exporter } from '../component';
import { countsDroppedItems, type DropCounting } from '../exporters/dropped_items';
import { hrTimeNow } from '../host/monotonic_clock';
import { ATTR } from '../telemetry/attributes';
import { METRICS } from '../telemetry/signals';
import { VERSION } from '../version';

/** The scope of the agent's own metrics. */
export const AGENT_SCOPE = { name: 'tcpscope/agent', version: VERSION };

export class ExporterDropsAppender implements Consumer<'metrics'> {
  private readonly counting: [string, DropCounting][];
  private readonly startTime: HrTime = hrTimeNow();

  constructor(
    exporters: ReadonlyMap<string, Exporter>,
    private readonly next: Consumer<'metrics'>,
  ) {
    this.counting = [...exporters].filter((entry): entry is [string, Exporter & DropCounting] => countsDroppedItems(entry[1]));
  }

  consume(data: ResourceMetrics): Promise<void> {
    if (this.counting.length === 0) return this.next.consume(data);
    return this.next.consume({ resource: data.resource, scopeMetrics: [...data.scopeMetrics, { scope: AGENT_SCOPE, metrics: [this.dropped()] }] });
  }

  private dropped(): MetricData {
    const endTime = hrTimeNow();
    const def = METRICS.exporterDroppedItems;
    return {
      descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.INT },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: this.counting.flatMap(([id, exporter]) => {
        const dropped = exporter.droppedItems();
        return (['metrics', 'logs'] as const).map((signal) => ({
          startTime: this.startTime,
          endTime,
          attributes: { [ATTR.exporter.key]: id, [ATTR.signal.key]: signal },
          value: dropped[signal],
        }));
      }),
    };
  }
}
