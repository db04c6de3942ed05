// What a network exporter implements to get the shared sending queue and retries
// (./queued_signals.ts): one attempt to deliver one batch, classified by the exporter's protocol
// rules into an outcome the queue acts on. The sender never retries, sleeps or counts drops
// itself; it only says what happened.
import type { SendOutcome } from './delivery_queue';

export type { SendOutcome } from './delivery_queue';

/**
 * One attempt per send() call, resolving (never rejecting) within the exporter's `timeout` with:
 * - `{ kind: 'sent', rejected? }`: delivered; `rejected` items of it the backend refused (an OTLP
 *   partial success) are counted as dropped, not retried;
 * - `{ kind: 'retryable', reason, retryAfterMs? }`: transient (unreachable, overloaded, timed out);
 *   retried with backoff, waiting at least `retryAfterMs` when the backend asked for it;
 * - `{ kind: 'permanent', reason }`: the backend refused the data itself; dropped and counted.
 * A send that throws counts as permanent. Made on the first send of its signal, so that an
 * exporter's start() never waits for, or fails on, a backend that is not up yet.
 */
export interface BatchSender<T> {
  send(batch: T): Promise<SendOutcome>;
  /** Closes connections, failing a call still in flight. */
  shutdown(): Promise<void>;
}
