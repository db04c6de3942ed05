// Sends metrics and logs over OTLP/gRPC. Each signal has its own bounded delivery queue, so a
// backend that is down or slow never blocks the pipeline: consume() queues and returns. The
// queues, retries, drop counts and shutdown are the shared ones (../exporterhelper/); what is
// this exporter's own is the gRPC senders and the encoding of log batches as they are accepted.
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumer, Consumers, CreateSettings, Signal } from '../../component';
import { dataPointCount } from '../signal_counts';
import { QueuedExporter } from '../exporterhelper/queued_exporter';
import { QueuedSignals } from '../exporterhelper/queued_signals';
import type { OtlpExporterSettings } from './config';
import { createMetricsSender } from './grpc_sender';
import { createEncodedLogsSender, encodeLogsBatch, logsEncoder, MAX_MERGED_BYTES, mergeEncodedLogs, releaseEncodedLogs, type EncodedLogs } from './logs_grpc_sender';

/**
 * Records per export request at most. A receiver refuses requests above its message size limit
 * (4 MiB by default in the Collector and gRPC servers) with RESOURCE_EXHAUSTED, which is
 * retryable: a larger request would be retried forever. tcpscope's records encode to ~350–700
 * bytes, so 2048 make ~1.4 MB at most; a ring buffer read can hand over many more at once.
 */
export const MAX_RECORDS_PER_REQUEST = 2048;

/** `records` as requests of at most MAX_RECORDS_PER_REQUEST records, in order. */
function requestsOf<R, T>(records: readonly R[], encode: (chunk: readonly R[]) => T): T[] {
  if (records.length <= MAX_RECORDS_PER_REQUEST) return [encode(records)];
  const out: T[] = [];
  for (let i = 0; i < records.length; i += MAX_RECORDS_PER_REQUEST) out.push(encode(records.slice(i, i + MAX_RECORDS_PER_REQUEST)));
  return out;
}

export class OtlpExporter extends QueuedExporter {
  readonly consumers: Consumers;

  constructor(settings: CreateSettings, config: OtlpExporterSettings, signals: readonly Signal[]) {
    const logger = settings.logger;
    const sending = new QueuedSignals({ exporterType: 'otlp', destination: config.endpoint, settings: config, logger });
    super(sending);
    const consumers: { -readonly [S in Signal]?: Consumer<S> } = {};
    if (signals.includes('metrics')) {
      const lane = sending.lane<ResourceMetrics>('metrics', { countItems: dataPointCount, createSender: () => createMetricsSender(config) });
      consumers.metrics = { consume: async (data) => sending.accept(lane, data) };
    }
    if (signals.includes('logs')) {
      // Each batch is encoded as it is accepted: the queue holds request bytes, not record objects.
      const encode = logsEncoder();
      const lane = sending.lane<EncodedLogs>('logs', {
        countItems: (b) => b.records,
        createSender: () => createEncodedLogsSender(config, logger),
        bytes: {
          sizeOf: (b) => b.size,
          merge: (waiting, next) => mergeEncodedLogs(waiting, next, MAX_RECORDS_PER_REQUEST),
          full: (b) => b.records >= MAX_RECORDS_PER_REQUEST || b.size >= MAX_MERGED_BYTES / 2,
          release: releaseEncodedLogs,
        },
      });
      consumers.logs = { consume: async (data) => sending.accept(lane, ...requestsOf(data, (chunk) => encodeLogsBatch(chunk, encode, logger))) };
    }
    this.consumers = consumers;
  }
}
