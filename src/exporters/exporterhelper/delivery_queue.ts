// A bounded queue of batches for one signal, drained by a single sender that retries with
// exponential backoff: the Collector's exporterhelper sending_queue + retry_on_failure, sized for
// an agent, shared by every network exporter (./queued_signals.ts drives one per signal).
//
// - enqueue() never waits: the pipeline keeps running while the backend is down.
// - At most `capacity` batches wait; the batch being sent or retried is not counted among them.
//   When a new batch arrives at a full queue the *oldest* waiting batch is dropped: for
//   cumulative metrics the newest point carries everything older ones had, and for events the
//   recent past is what someone debugging an outage looks at first.
// - Every dropped batch is counted in items (data points or log records).
// - The log says when the backend goes away, when the queue starts overflowing and when the
//   backend is back (with what was lost meanwhile): one line per change, not one per batch.
import type { Signal } from '../../component';
import type { AgentLogger } from '../../logger';
import { ExponentialBackoff, type BackoffSettings } from './backoff';
import { systemClock, type Clock } from './clock';

/** What one attempt to send a batch came to. */
export type SendOutcome =
  /** Delivered; `rejected` items of it the backend refused (an OTLP partial success) are counted as dropped. */
  | { readonly kind: 'sent'; readonly rejected?: number }
  /**
   * Worth trying again later (backend unreachable, overloaded, timed out). `retryAfterMs`: the
   * backend said when (OTLP/HTTP `Retry-After`, gRPC RetryInfo); the next attempt waits at least
   * that long, longer when the backoff says so, as the Collector's retry sender does.
   */
  | { readonly kind: 'retryable'; readonly reason: string; readonly retryAfterMs?: number }
  /** Retrying cannot help (the backend refused the data itself). */
  | { readonly kind: 'permanent'; readonly reason: string };

export interface RetrySettings extends BackoffSettings {
  readonly enabled: boolean;
}

export interface DeliveryQueueOptions<T> {
  readonly signal: Signal;
  /** Where batches go, for log lines (e.g. `collector:4317`). */
  readonly destination: string;
  /** Batches that may wait besides the one being sent; at least 1. */
  readonly capacity: number;
  /**
   * Bytes the waiting batches may hold together (with `sizeOf`): beyond it the oldest are dropped
   * as for `capacity`. A single batch larger than this still waits when it is alone.
   */
  readonly capacityBytes?: number;
  readonly sizeOf?: (batch: T) => number;
  /**
   * Joins a new batch to the newest waiting one when that fits (undefined: it does not), so that
   * many small batches arriving while a send is in flight wait as one: the queue's capacity is
   * then not spent on a few records each, and the backend gets fewer, larger requests.
   */
  readonly merge?: (waiting: T, next: T) => T | undefined;
  /**
   * With `merge`: a lone waiting batch is held up to this long after it arrived, so that batches
   * arriving meanwhile join it and go out as one request, unless `full` says it cannot take more
   * (or a flush or a shutdown asks for delivery now). Each request costs the sender far more than
   * each record in it (a gRPC call, HTTP/2 frames): at a high event rate this sends fewer, larger
   * requests; at a low rate a batch waits at most this long.
   */
  readonly lingerMs?: number;
  readonly full?: (batch: T) => boolean;
  readonly retry: RetrySettings;
  /** One attempt, resolving within the exporter's timeout; a throw counts as a permanent failure. */
  readonly send: (batch: T) => Promise<SendOutcome>;
  readonly countItems: (batch: T) => number;
  /**
   * Called once for each batch that leaves the queue for good (delivered, dropped, refused) and
   * that no send is reading any more, so that its buffers can be reused. A batch joined into
   * another by `merge` is not released itself: the joined one stands for it. A send still in
   * flight when shutdown gives up on it is never released (its buffers are left to the GC).
   */
  readonly release?: (batch: T) => void;
  readonly logger: AgentLogger;
  readonly clock?: Clock;
  readonly random?: () => number;
}

type Health = 'ok' | 'unavailable' | 'rejecting';

export class DeliveryQueue<T> {
  private readonly waiting: T[] = [];
  /** Bytes of the waiting batches (with sizeOf). */
  private waitingBytes = 0;
  private inFlight: T | undefined;
  private started = false;
  private running = false;
  /** Shutting down: no more backoff waits; the first failure drops everything left. */
  private draining = false;
  /** Nothing more will be sent. */
  private closed = false;
  private loop: Promise<void> = Promise.resolve();
  private wake = new AbortController();
  /** Ends a linger early: a second batch waits, a flush, a shutdown. */
  private lingerWake = new AbortController();
  /** When the oldest waiting batch arrived (clock time). */
  private headSince = 0;
  private readonly clock: Clock;
  private readonly unit: string;

  private droppedItems = 0;
  private health: Health = 'ok';
  /** Why the backend rejected the last batch, while it keeps rejecting (health 'rejecting'). */
  private rejectedBecause = '';
  private downSince = 0;
  /** Dropped count at the last successful delivery, to report what an outage cost. */
  private droppedAtLastSuccess = 0;
  private overflowing = false;
  /** Flushes waiting for the queue to empty; told `false` when an attempt fails. */
  private flushWaiters: ((drained: boolean) => void)[] = [];

  constructor(private readonly options: DeliveryQueueOptions<T>) {
    this.clock = options.clock ?? systemClock;
    this.unit = options.signal === 'metrics' ? 'data points' : 'log records';
  }

  /** Items dropped so far: data points for metrics, log records for logs. */
  dropped(): number {
    return this.droppedItems;
  }

  /** Batches not yet delivered, including the one being sent. */
  pending(): number {
    return this.waiting.length + (this.inFlight === undefined ? 0 : 1);
  }

  /**
   * The backend's reason while it rejects every batch with a permanent error (retrying cannot
   * help: bad credentials, a malformed request); undefined once a delivery succeeds again. An
   * unreachable backend is not this: it is retried and may come back.
   */
  permanentFailure(): string | undefined {
    return this.health === 'rejecting' ? this.rejectedBecause : undefined;
  }

  start(): void {
    this.started = true;
    this.pump();
  }

  /** Queues a batch and returns at once. After shutdown the batch is dropped (and counted). */
  enqueue(batch: T): void {
    // An empty batch has nothing to deliver; sending it would only cost a round trip.
    if (this.options.countItems(batch) === 0) {
      this.options.release?.(batch);
      return;
    }
    if (this.draining || this.closed) {
      this.drop(batch);
      return;
    }
    // A batch joined to the waiting one keeps that one's arrival time.
    if (this.waiting.length === 0) this.headSince = this.clock.now();
    const maxBytes = this.options.capacityBytes ?? Infinity;
    const last = this.waiting.length > 0 ? this.waiting[this.waiting.length - 1] : undefined;
    const merged = last === undefined ? undefined : this.options.merge?.(last, batch);
    // A join never makes a batch the byte bound would refuse: the oldest is dropped instead, as
    // for any batch that does not fit, so that the bound holds for what merges too.
    if (merged !== undefined && (this.options.sizeOf?.(merged) ?? 0) <= maxBytes) {
      this.waiting.pop();
      this.waitingBytes -= this.options.sizeOf?.(last as T) ?? 0;
      batch = merged;
    }
    const size = this.options.sizeOf?.(batch) ?? 0;
    while (this.waiting.length >= this.options.capacity || (this.waiting.length > 0 && this.waitingBytes + size > maxBytes)) {
      this.drop(this.take() as T);
      if (!this.overflowing) {
        this.overflowing = true;
        const limit = maxBytes === Infinity ? `${this.options.capacity} batches` : `${this.options.capacity} batches or ${maxBytes} bytes`;
        this.options.logger.warn(
          `${this.options.signal}: sending queue full (${limit}): ${this.options.destination} is unreachable or not keeping up; dropping the oldest batch for each new one until a delivery succeeds`,
        );
      }
    }
    this.waiting.push(batch);
    this.waitingBytes += size;
    if (this.waiting.length > 1) this.lingerWake.abort();
    this.pump();
  }

  /**
   * Tries to deliver everything now (cutting a backoff wait short). Resolves true once the queue
   * is empty, false as soon as an attempt fails or `timeoutMs` passes; batches stay queued.
   */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.pending() === 0) return Promise.resolve(true);
    if (!this.started) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => settle(false), timeoutMs);
      const settle = (drained: boolean) => {
        clearTimeout(timer);
        this.flushWaiters = this.flushWaiters.filter((w) => w !== settle);
        resolve(drained);
      };
      this.flushWaiters.push(settle);
      this.wake.abort();
      this.lingerWake.abort();
    });
  }

  /**
   * Sends what it can within `timeoutMs` (one attempt per batch, no backoff waits), then drops and
   * counts whatever is left. Returns the number of items dropped by this shutdown.
   */
  async shutdown(timeoutMs: number): Promise<number> {
    const before = this.droppedItems;
    if (this.closed) return 0;
    this.draining = true;
    this.wake.abort();
    this.lingerWake.abort();
    if (this.started) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([this.loop, deadline]);
      clearTimeout(timer);
    }
    this.close();
    return this.droppedItems - before;
  }

  private close(): void {
    this.closed = true;
    for (const batch of this.waiting.splice(0)) this.drop(batch);
    this.waitingBytes = 0;
    // A send still in flight past the deadline is given up for lost: counted now, and its late
    // outcome ignored (deliver() checks `closed`).
    if (this.inFlight !== undefined) {
      this.drop(this.inFlight, false);
      this.inFlight = undefined;
    }
    this.settleFlushes(this.pending() === 0);
  }

  private pump(): void {
    if (!this.started || this.running || this.closed) return;
    this.running = true;
    // run() handles every failure of a send; anything else escaping it is a bug worth a log line,
    // not an unhandled rejection that would take the agent down.
    this.loop = this.run().catch((error: unknown) =>
      this.options.logger.error(`${this.options.signal}: delivery loop failed: ${(error as Error).stack ?? String(error)}`),
    );
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        // Awaited only when it may wait: otherwise the next batch is taken synchronously, as before.
        if (this.lingering()) await this.linger();
        const batch = this.take();
        if (batch === undefined || this.closed) break;
        this.inFlight = batch;
        await this.deliver(batch);
        if (this.closed) return;
        this.inFlight = undefined;
        if (this.waiting.length === 0) this.settleFlushes(true);
      }
    } finally {
      // Synchronous with the last emptiness check above, so an enqueue() can never find the
      // loop "running" after it has decided to stop.
      this.running = false;
    }
  }

  /** Holds a lone batch that can take more for up to lingerMs after its arrival (see the option). */
  private async linger(): Promise<void> {
    while (this.lingering()) {
      const left = this.headSince + (this.options.lingerMs ?? 0) - this.clock.now();
      if (left <= 0) return;
      await this.clock.sleep(left, this.lingerWake.signal);
      if (this.lingerWake.signal.aborted) this.lingerWake = new AbortController();
    }
  }

  /** Whether the lone waiting batch may wait for more (lingerMs, and nothing asks for it now). */
  private lingering(): boolean {
    return (
      (this.options.lingerMs ?? 0) > 0 &&
      this.waiting.length === 1 &&
      !this.draining &&
      !this.closed &&
      this.flushWaiters.length === 0 &&
      !(this.options.full?.(this.waiting[0]) ?? false) &&
      this.headSince + (this.options.lingerMs ?? 0) > this.clock.now()
    );
  }

  /** The oldest waiting batch, out of the queue and its byte count. */
  private take(): T | undefined {
    const batch = this.waiting.shift();
    if (batch !== undefined) this.waitingBytes -= this.options.sizeOf?.(batch) ?? 0;
    return batch;
  }

  private async deliver(batch: T): Promise<void> {
    const { retry } = this.options;
    const backoff = new ExponentialBackoff(retry, this.options.random);
    const startedAt = this.clock.now();
    for (;;) {
      const outcome = await this.attempt(batch);
      if (this.closed) return;
      if (outcome.kind === 'sent') {
        this.recovered();
        // Counted after recovered(): what the backend refused is lost, whatever came before.
        this.droppedItems += outcome.rejected ?? 0;
        this.options.release?.(batch);
        return;
      }
      this.settleFlushes(false);
      if (outcome.kind === 'permanent') {
        this.drop(batch);
        this.rejected(outcome.reason, this.options.countItems(batch));
        return;
      }
      this.unavailable(outcome.reason);
      if (this.draining) {
        // The backend is down and we are stopping: one failure is enough to know.
        this.close();
        return;
      }
      const wait = retry.enabled ? retryWait(backoff, this.clock.now() - startedAt, outcome.retryAfterMs, retry.maxElapsedTimeMs) : undefined;
      if (wait === undefined) {
        this.drop(batch);
        this.options.logger.debug(
          retry.enabled
            ? `${this.options.signal}: gave up on a batch after ${Math.round(this.clock.now() - startedAt)}ms of retries (retry_on_failure.max_elapsed_time)`
            : `${this.options.signal}: dropped a batch (retry_on_failure disabled)`,
        );
        return;
      }
      await this.clock.sleep(wait, this.wake.signal);
      if (this.wake.signal.aborted) this.wake = new AbortController();
    }
  }

  private async attempt(batch: T): Promise<SendOutcome> {
    try {
      return await this.options.send(batch);
    } catch (error) {
      return { kind: 'permanent', reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Counts a batch as dropped and releases it, unless a send may still read it (`release` false). */
  private drop(batch: T, release = true): void {
    this.droppedItems += this.options.countItems(batch);
    if (release) this.options.release?.(batch);
  }

  private settleFlushes(drained: boolean): void {
    for (const waiter of [...this.flushWaiters]) waiter(drained);
  }

  private unavailable(reason: string): void {
    if (this.health === 'unavailable') return;
    this.health = 'unavailable';
    this.downSince = this.clock.now();
    const plan = this.options.retry.enabled
      ? `keeping up to ${this.options.capacity} batches and retrying with backoff`
      : 'dropping batches until it is back (retry_on_failure is disabled)';
    this.options.logger.warn(`${this.options.signal}: cannot deliver to ${this.options.destination} (${reason}); ${plan}`);
  }

  private rejected(reason: string, items: number): void {
    this.rejectedBecause = reason;
    if (this.health === 'rejecting') return;
    this.health = 'rejecting';
    this.options.logger.warn(
      `${this.options.signal}: ${this.options.destination} rejected a batch (${reason}); dropped its ${items} ${this.unit} without retrying, as retrying cannot help; further rejections are counted, not logged`,
    );
  }

  private recovered(): void {
    if (this.health === 'unavailable') {
      const seconds = ((this.clock.now() - this.downSince) / 1000).toFixed(1);
      const lost = this.droppedItems - this.droppedAtLastSuccess;
      this.options.logger.info(
        `${this.options.signal}: delivering to ${this.options.destination} again after ${seconds}s; ${lost} ${this.unit} were dropped since the last successful delivery`,
      );
    } else if (this.health === 'rejecting') {
      this.options.logger.info(`${this.options.signal}: ${this.options.destination} accepts data again`);
    }
    this.health = 'ok';
    this.overflowing = false;
    this.droppedAtLastSuccess = this.droppedItems;
  }
}

/**
 * The wait before the next attempt: the backoff's, or the backend's Retry-After when that is
 * longer; undefined when waiting it would pass max_elapsed_time (0: no limit).
 */
function retryWait(backoff: ExponentialBackoff, elapsedMs: number, retryAfterMs: number | undefined, maxElapsedTimeMs: number): number | undefined {
  const wait = backoff.next(elapsedMs);
  if (wait === undefined || retryAfterMs === undefined || !(retryAfterMs > wait)) return wait;
  if (maxElapsedTimeMs > 0 && elapsedMs + retryAfterMs > maxElapsedTimeMs) return undefined;
  return retryAfterMs;
}
