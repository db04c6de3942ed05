// Consumers that keep what they receive, for asserting on a pipeline's output.
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumer } from '../../src/component';

export class RecordingLogsConsumer implements Consumer<'logs'> {
  readonly records: ReadableLogRecord[] = [];
  async consume(data: readonly ReadableLogRecord[]): Promise<void> {
    this.records.push(...data);
  }
}

export class RecordingMetricsConsumer implements Consumer<'metrics'> {
  readonly batches: ResourceMetrics[] = [];
  async consume(data: ResourceMetrics): Promise<void> {
    this.batches.push(data);
  }
}
