// Sends metrics and logs over OTLP/gRPC. Each signal has its own bounded delivery queue, so a
// backend that is down or slow never blocks the pipeline: consume() queues and returns.
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Consumer, Consumers, CreateSettings, Exporter, Host, Signal } from '../../component';
import { ExportError } from '../../errors';
import type { AgentLogger } from '../../logger';
import type { Readiness, ReportsReadiness } from '../../health/readiness';
import type { DropCounting, DroppedItems } from '../dropped_items';
import type { QueueSizes, ReportsQueueSize } from '../queue_size';
import type { BoundedShutdown } from '../shutdown_budget';
import { dataPointCount } from '../signal_counts';
import type { OtlpExporterSettings } from './config';
import { DeliveryQueue } from './delivery_queue';
import { createMetricsSender, type BatchSender } from './grpc_sender';
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

interface Lane<T> {
  readonly queue: DeliveryQueue<T>;
  sender: BatchSender<T> | undefined;
}

export class OtlpExporter implements Exporter, DropCounting, BoundedShutdown, ReportsReadiness, ReportsQueueSize {
  readonly consumers: Consumers;
  private readonly logger: AgentLogger;
  private readonly metrics: Lane<ResourceMetrics> | undefined;
  private readonly logs: Lane<EncodedLogs> | undefined;
  private started = false;
  private shutdownDone: Promise<void> | undefined;

  constructor(
    settings: CreateSettings,
    private readonly config: OtlpExporterSettings,
    signals: readonly Signal[],
  ) {
    this.logger = settings.logger;
    const consumers: { -readonly [S in Signal]?: Consumer<S> } = {};
    if (signals.includes('metrics')) {
      const lane = (this.metrics = this.lane('metrics', dataPointCount, createMetricsSender));
      consumers.metrics = { consume: async (data) => this.accept(lane, 'metrics', data) };
    }
    if (signals.includes('logs')) {
      // Each batch is encoded as it is accepted: the queue holds request bytes, not record objects.
      const encode = logsEncoder();
      const lane = (this.logs = this.lane<EncodedLogs>('logs', (b) => b.records, (s) => createEncodedLogsSender(s, this.logger), {
        sizeOf: (b) => b.size,
        merge: (waiting, next) => mergeEncodedLogs(waiting, next, MAX_RECORDS_PER_REQUEST),
        lingerMs: this.config.flushTimeoutMs ?? 0,
        full: (b) => b.records >= MAX_RECORDS_PER_REQUEST || b.size >= MAX_MERGED_BYTES / 2,
        release: releaseEncodedLogs,
      }));
      consumers.logs = { consume: async (data) => this.accept(lane, 'logs', ...requestsOf(data, (chunk) => encodeLogsBatch(chunk, encode, this.logger))) };
    }
    this.consumers = consumers;
  }

  async start(_host: Host): Promise<void> {
    if (this.started || this.shutdownDone) return;
    this.started = true;
    // Senders (and their gRPC channels) are made on the first export, and connect then: start()
    // stays quick and never fails because the backend is not up yet.
    for (const [, lane] of this.lanes()) lane.queue.start();
  }

  /**
   * Delivers what is queued now. Rejects with EXPORT_FAILED, leaving the batches queued for
   * retry, when an attempt fails or `timeout` passes first.
   */
  async forceFlush(): Promise<void> {
    const lanes = this.lanes();
    const results = await Promise.all(lanes.map(([, lane]) => lane.queue.flush(this.config.timeoutMs)));
    const stuck = lanes.filter((_, i) => !results[i]).map(([signal, lane]) => `${lane.queue.pending()} ${signal}`);
    if (stuck.length > 0) {
      throw new ExportError(
        `could not deliver to ${this.config.endpoint} now; ${stuck.join(' and ')} batches stay queued for retry`,
      );
    }
  }

  shutdown(): Promise<void> {
    this.shutdownDone ??= this.stop();
    return this.shutdownDone;
  }

  /** stop() gives up at `timeout` (lanes drain in parallel, channels close by the same deadline). */
  shutdownBudgetMs(): number {
    return this.config.timeoutMs + 1_000;
  }

  droppedItems(): DroppedItems {
    return { metrics: this.metrics?.queue.dropped() ?? 0, logs: this.logs?.queue.dropped() ?? 0 };
  }

  /** Batches waiting for delivery (with the one being sent), per signal this exporter serves. */
  queueSizes(): QueueSizes {
    const sizes: { -readonly [S in Signal]?: number } = {};
    for (const [signal, lane] of this.lanes()) sizes[signal] = lane.queue.pending();
    return sizes;
  }

  /** Not ready while the backend rejects batches permanently (see DeliveryQueue.permanentFailure). */
  readiness(): Readiness {
    const failures = this.lanes().flatMap(([signal, lane]) => {
      const reason = lane.queue.permanentFailure();
      return reason === undefined ? [] : [`${signal}: ${reason}`];
    });
    if (failures.length === 0) return { ready: true };
    return { ready: false, reason: `${this.config.endpoint} rejects batches permanently (${failures.join('; ')}); fix the exporter's endpoint, headers or credentials` };
  }

  private async accept<T>(lane: Lane<T>, signal: Signal, ...batches: T[]): Promise<void> {
    // After shutdown the queue drops and counts what it is given.
    for (const batch of batches) lane.queue.enqueue(batch);
    if (this.shutdownDone) throw new ExportError(`otlp exporter for ${this.config.endpoint} is shut down; ${signal} batch dropped`);
  }

  private async stop(): Promise<void> {
    // One `timeout` for everything: the lanes drain in parallel, then the channels close. A call
    // still in flight at the end is left to its own gRPC deadline rather than waited for.
    const deadline = Date.now() + this.config.timeoutMs;
    const lanes = this.lanes();
    const dropped = await Promise.all(lanes.map(([, lane]) => lane.queue.shutdown(this.config.timeoutMs)));
    lanes.forEach(([signal, lane], i) => {
      if (dropped[i] > 0) {
        this.logger.warn(
          `${signal}: ${dropped[i]} ${signal === 'metrics' ? 'data points' : 'log records'} still queued for ${this.config.endpoint} were dropped at shutdown`,
        );
      }
    });
    const closing = Promise.all(
      lanes.map(([signal, lane]) =>
        lane.sender?.shutdown().catch((error: unknown) => this.logger.debug(`${signal}: closing the gRPC channel: ${(error as Error).message}`)),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      timer.unref();
    });
    await Promise.race([closing, late]);
    clearTimeout(timer);
  }

  private lanes(): [Signal, Lane<unknown>][] {
    const lanes: [Signal, Lane<unknown>][] = [];
    if (this.metrics) lanes.push(['metrics', this.metrics as Lane<unknown>]);
    if (this.logs) lanes.push(['logs', this.logs as Lane<unknown>]);
    return lanes;
  }

  private lane<T>(
    signal: Signal,
    countItems: (batch: T) => number,
    createSender: (settings: OtlpExporterSettings) => BatchSender<T>,
    bytes?: { sizeOf: (batch: T) => number; merge: (waiting: T, next: T) => T | undefined; lingerMs?: number; full?: (batch: T) => boolean; release?: (batch: T) => void },
  ): Lane<T> {
    const lane: Lane<T> = {
      sender: undefined,
      queue: new DeliveryQueue<T>({
        signal,
        destination: this.config.endpoint,
        capacity: this.config.queueSize,
        ...(bytes ? { capacityBytes: this.config.queueBytes, sizeOf: bytes.sizeOf, merge: bytes.merge, lingerMs: bytes.lingerMs, full: bytes.full, release: bytes.release } : {}),
        retry: this.config.retry,
        countItems,
        logger: this.logger,
        send: (batch) => (lane.sender ??= createSender(this.config)).send(batch),
      }),
    };
    return lane;
  }
}
