// Sends metrics and logs over OTLP/HTTP (protobuf or JSON bodies). The queues, retries, drop
// counts and shutdown are the shared ones (../exporterhelper/); what is this exporter's own is
// encoding batches as they are accepted (./encoded_request.ts) and one POST per attempt
// (./http_sender.ts).
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumer, Consumers, CreateSettings, Exporter, Host, Signal } from '../../component';
import type { Readiness, ReportsReadiness } from '../../health/readiness';
import type { DropCounting, DroppedItems } from '../dropped_items';
import { QueuedSignals } from '../exporterhelper/queued_signals';
import type { QueueSizes, ReportsQueueSize } from '../queue_size';
import type { BoundedShutdown } from '../shutdown_budget';
import type { OtlpHttpExporterSettings } from './config';
import { chunks, logsEncoder, logsMerger, MAX_MERGED_BYTES, MAX_RECORDS_PER_REQUEST, metricsEncoder, type EncodedRequest } from './encoded_request';
import { OtlpHttpSender } from './http_sender';

export class OtlpHttpExporter implements Exporter, DropCounting, BoundedShutdown, ReportsReadiness, ReportsQueueSize {
  readonly consumers: Consumers;
  private readonly sending: QueuedSignals;

  constructor(settings: CreateSettings, config: OtlpHttpExporterSettings, signals: readonly Signal[]) {
    const logger = settings.logger;
    const destination = config.metricsUrl === config.logsUrl ? config.logsUrl : signals.map((s) => (s === 'metrics' ? config.metricsUrl : config.logsUrl)).join(' and ');
    const sending = (this.sending = new QueuedSignals({ exporterType: 'otlphttp', destination, settings: config, logger }));
    const sender = (signal: Signal, url: string) => () =>
      new OtlpHttpSender({ signal, url, encoding: config.encoding, headers: config.headers, compression: config.compression, timeoutMs: config.timeoutMs, tls: config.tls, logger });
    const consumers: { -readonly [S in Signal]?: Consumer<S> } = {};
    if (signals.includes('metrics')) {
      const encode = metricsEncoder(config.encoding);
      const lane = sending.lane<EncodedRequest>('metrics', {
        countItems: (b) => b.items,
        createSender: sender('metrics', config.metricsUrl),
        bytes: { sizeOf: (b) => b.size },
        destination: config.metricsUrl,
      });
      consumers.metrics = { consume: async (data: ResourceMetrics) => sending.accept(lane, encode(data)) };
    }
    if (signals.includes('logs')) {
      const encode = logsEncoder(config.encoding);
      const lane = sending.lane<EncodedRequest>('logs', {
        countItems: (b) => b.items,
        createSender: sender('logs', config.logsUrl),
        bytes: {
          sizeOf: (b) => b.size,
          merge: logsMerger(config.encoding),
          full: (b) => b.items >= MAX_RECORDS_PER_REQUEST || b.size >= MAX_MERGED_BYTES / 2,
        },
        destination: config.logsUrl,
      });
      consumers.logs = { consume: async (data: readonly ReadableLogRecord[]) => sending.accept(lane, ...chunks(data).map(encode)) };
    }
    this.consumers = consumers;
  }

  async start(_host: Host): Promise<void> {
    // Connections are made on the first export: start() stays quick and never fails because the
    // backend is not up yet.
    this.sending.start();
  }

  /**
   * Delivers what is queued now. Rejects with EXPORT_FAILED, leaving the batches queued for
   * retry, when an attempt fails or `timeout` passes first.
   */
  forceFlush(): Promise<void> {
    return this.sending.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.sending.shutdown();
  }

  shutdownBudgetMs(): number {
    return this.sending.shutdownBudgetMs();
  }

  droppedItems(): DroppedItems {
    return this.sending.droppedItems();
  }

  queueSizes(): QueueSizes {
    return this.sending.queueSizes();
  }

  readiness(): Readiness {
    return this.sending.readiness();
  }
}
