// An LRU table in the kernel that evicts entries still in use loses their events: the loss is
// counted in tcpscope.receiver.dropped_events, and the first time it happens the receiver says
// once, in its own words, what was lost and which key to raise (a warning every collection would
// drown the log; the counter keeps the running total).
import type { AgentLogger } from '../../logger';
import type { EvictedEvents } from './event_counters';

/** How a receiver words its eviction warning: the parts between the fixed phrases. */
export interface EvictionWording {
  /** What is lost, counted: "handshake outcome(s)". */
  readonly lost: string;
  /** The config key that sizes the table: "max_attempts". */
  readonly key: string;
  /** That key's configured value. */
  readonly limit: number;
  /** What exceeded it: "connects were pending at once". */
  readonly exceeded: string;
  /** What the eviction did and what is missing: "the oldest were evicted and their outcomes are missing from ...". */
  readonly consequence: string;
  /** The dropped_events reason the losses are counted under. */
  readonly reason: EvictedEvents['reason'];
  /** What to raise the key above: "the peak number of connects waiting for an answer". */
  readonly raiseAbove: string;
}

/** Warns the first time a receiver's kernel table evicted entries in use; silent afterwards. */
export class EvictionReport {
  private reported = false;

  constructor(
    private readonly logger: AgentLogger,
    private readonly receiverId: string,
    private readonly wording: EvictionWording,
  ) {}

  /** `evicted`: the running count of evictions (a warning only when above zero, once per run). */
  note(evicted: bigint): void {
    if (evicted <= 0n || this.reported) return;
    this.reported = true;
    const w = this.wording;
    this.logger.warn(
      `${evicted} ${w.lost} lost: more than ${w.key} (${w.limit}) ${w.exceeded}, so ${w.consequence} ` +
        `(counted in tcpscope.receiver.dropped_events reason=${w.reason}). Set receivers.${this.receiverId}.${w.key} above ${w.raiseAbove}. ` +
        'Logged once.',
    );
  }
}
