// The sending side every network exporter shares, by composition: one bounded DeliveryQueue per
// signal, drained by a sender the exporter provides (./sender.ts), with the flush, the bounded
// shutdown, the drop counts, the queue sizes and the readiness the agent reads from an exporter.
// The exporter keeps only what is its own: encoding batches and one attempt to send them.
import { performance } from 'node:perf_hooks';
import type { Signal } from '../../component';
import { ExportError } from '../../errors';
import type { Readiness } from '../../health/readiness';
import type { AgentLogger } from '../../logger';
import type { DroppedItems } from '../dropped_items';
import type { QueueSizes } from '../queue_size';
import type { QueueRetrySettings } from './config';
import { DeliveryQueue, type DeliveryQueueOptions } from './delivery_queue';
import type { BatchSender } from './sender';

/** How one signal's batches are queued and sent. */
export interface LaneSpec<T> {
  /** Data points for metrics, log records for logs: what drops are counted in. */
  readonly countItems: (batch: T) => number;
  /** Made on the first send of the signal. */
  readonly createSender: () => BatchSender<T>;
  /**
   * For a queue of encoded requests: their size (bounded by `sending_queue.queue_bytes`), how two
   * waiting ones join into one request, when one is full, and how its buffers are given back.
   * The linger (`sending_queue.flush_timeout`) applies only to a lane that can merge: holding a
   * batch that nothing can join would only delay it.
   */
  readonly bytes?: Pick<DeliveryQueueOptions<T>, 'merge' | 'full' | 'release'> & { readonly sizeOf: (batch: T) => number };
  /** Where this signal's batches go, for its log lines, when not the exporter's destination (a per-signal URL). */
  readonly destination?: string;
}

/** A signal's queue and its sender; given back by QueuedSignals.lane() to accept batches with. */
export interface Lane<T> {
  readonly signal: Signal;
  readonly queue: DeliveryQueue<T>;
  sender: BatchSender<T> | undefined;
}

export interface QueuedSignalsOptions {
  /** The exporter's type, for messages (`otlp`). */
  readonly exporterType: string;
  /** Where batches go, for messages (`collector:4317`, a URL). */
  readonly destination: string;
  readonly settings: QueueRetrySettings;
  readonly logger: AgentLogger;
}

const UNITS: { readonly [S in Signal]: string } = { metrics: 'data points', logs: 'log records' };

export class QueuedSignals {
  private readonly lanes: Lane<unknown>[] = [];
  private started = false;
  private shutdownDone: Promise<void> | undefined;

  constructor(private readonly options: QueuedSignalsOptions) {}

  /** Adds the queue of one signal (once per signal, before start). */
  lane<T>(signal: Signal, spec: LaneSpec<T>): Lane<T> {
    const { settings, destination, logger } = this.options;
    const lane: Lane<T> = {
      signal,
      sender: undefined,
      queue: new DeliveryQueue<T>({
        signal,
        destination: spec.destination ?? destination,
        capacity: settings.queueSize,
        ...(spec.bytes
          ? {
              capacityBytes: settings.queueBytes,
              sizeOf: spec.bytes.sizeOf,
              merge: spec.bytes.merge,
              lingerMs: spec.bytes.merge ? (settings.flushTimeoutMs ?? 0) : 0,
              full: spec.bytes.full,
              release: spec.bytes.release,
            }
          : {}),
        retry: settings.retry,
        countItems: spec.countItems,
        logger,
        send: (batch) => (lane.sender ??= spec.createSender()).send(batch),
      }),
    };
    this.lanes.push(lane as Lane<unknown>);
    return lane;
  }

  /**
   * Queues batches and returns at once. After shutdown they are dropped and counted, and this
   * rejects with EXPORT_FAILED so that the pipeline knows.
   */
  async accept<T>(lane: Lane<T>, ...batches: T[]): Promise<void> {
    for (const batch of batches) lane.queue.enqueue(batch);
    if (this.shutdownDone) {
      throw new ExportError(`${this.options.exporterType} exporter for ${this.options.destination} is shut down; ${lane.signal} batch dropped`);
    }
  }

  start(): void {
    if (this.started || this.shutdownDone) return;
    this.started = true;
    for (const lane of this.lanes) lane.queue.start();
  }

  /**
   * Delivers what is queued now. Rejects with EXPORT_FAILED, leaving the batches queued for
   * retry, when an attempt fails or `timeout` passes first.
   */
  async forceFlush(): Promise<void> {
    const results = await Promise.all(this.lanes.map((lane) => lane.queue.flush(this.options.settings.timeoutMs)));
    const stuck = this.lanes.filter((_, i) => !results[i]).map((lane) => `${lane.queue.pending()} ${lane.signal}`);
    if (stuck.length > 0) {
      throw new ExportError(`could not deliver to ${this.options.destination} now; ${stuck.join(' and ')} batches stay queued for retry`);
    }
  }

  /** Idempotent, safe without start; ends within shutdownBudgetMs(). */
  shutdown(): Promise<void> {
    this.shutdownDone ??= this.stop();
    return this.shutdownDone;
  }

  /** stop() gives up at `timeout` (lanes drain in parallel, senders close by the same deadline). */
  shutdownBudgetMs(): number {
    return this.options.settings.timeoutMs + 1_000;
  }

  droppedItems(): DroppedItems {
    const dropped = { metrics: 0, logs: 0 };
    for (const lane of this.lanes) dropped[lane.signal] += lane.queue.dropped();
    return dropped;
  }

  /** Batches waiting for delivery (with the one being sent), per signal served. */
  queueSizes(): QueueSizes {
    const sizes: { -readonly [S in Signal]?: number } = {};
    for (const lane of this.lanes) sizes[lane.signal] = lane.queue.pending();
    return sizes;
  }

  /** Not ready while the backend rejects batches permanently (see DeliveryQueue.permanentFailure). */
  readiness(): Readiness {
    const failures = this.lanes.flatMap((lane) => {
      const reason = lane.queue.permanentFailure();
      return reason === undefined ? [] : [`${lane.signal}: ${reason}`];
    });
    if (failures.length === 0) return { ready: true };
    return {
      ready: false,
      reason: `${this.options.destination} rejects batches permanently (${failures.join('; ')}); fix the exporter's endpoint, headers or credentials`,
    };
  }

  private async stop(): Promise<void> {
    // One `timeout` for everything: the lanes drain in parallel, then the senders close. A call
    // still in flight at the end is left to its own deadline rather than waited for.
    const { timeoutMs } = this.options.settings;
    const { logger, destination } = this.options;
    const deadline = performance.now() + timeoutMs;
    const dropped = await Promise.all(this.lanes.map((lane) => lane.queue.shutdown(timeoutMs)));
    this.lanes.forEach((lane, i) => {
      if (dropped[i] > 0) logger.warn(`${lane.signal}: ${dropped[i]} ${UNITS[lane.signal]} still queued for ${destination} were dropped at shutdown`);
    });
    const closing = Promise.all(
      this.lanes.map((lane) => lane.sender?.shutdown().catch((error: unknown) => logger.debug(`${lane.signal}: closing the connection: ${(error as Error).message}`))),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
      timer.unref();
    });
    await Promise.race([closing, late]);
    clearTimeout(timer);
  }
}
