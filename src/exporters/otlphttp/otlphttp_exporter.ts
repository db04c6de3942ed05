// Sends metrics and logs over OTLP/HTTP (protobuf or JSON bodies). The queues, retries, drop
// counts and shutdown are the shared ones (../exporterhelper/); what is this exporter's own is
// encoding batches as they are accepted (./encoded_request.ts) and one POST per attempt
// (./http_sender.ts).
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumer, Consumers, CreateSettings, Signal } from '../../component';
import { QueuedExporter } from '../exporterhelper/queued_exporter';
import { withEnvironmentHeaders } from '../otlp_environment_headers';
import { QueuedSignals } from '../exporterhelper/queued_signals';
import type { OtlpHttpExporterSettings } from './config';
import { chunks, logsEncoder, logsMerger, MAX_MERGED_BYTES, MAX_RECORDS_PER_REQUEST, metricsEncoder, type EncodedRequest } from './encoded_request';
import { OtlpHttpSender } from './http_sender';

export class OtlpHttpExporter extends QueuedExporter {
  readonly consumers: Consumers;

  constructor(settings: CreateSettings, config: OtlpHttpExporterSettings, signals: readonly Signal[]) {
    const logger = settings.logger;
    const destination = config.metricsUrl === config.logsUrl ? config.logsUrl : signals.map((s) => (s === 'metrics' ? config.metricsUrl : config.logsUrl)).join(' and ');
    const sending = new QueuedSignals({ exporterType: 'otlphttp', destination, settings: config, logger });
    super(sending);
    const sender = (signal: Signal, url: string) => () =>
      new OtlpHttpSender({ signal, url, encoding: config.encoding, headers: withEnvironmentHeaders(config.headers, signal), compression: config.compression, timeoutMs: config.timeoutMs, tls: config.tls, logger });
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
}
