// A preallocated kernel table that is full does not follow what comes next: the loss is counted
// in tcpscope.receiver.dropped_events, and the first time it happens the receiver says once, in its
// own words, what was lost and which key to raise (a warning every collection would drown the
// log; the counter keeps the running total).
import type { AgentLogger } from '../../logger';
import type { UntrackedEvents } from './event_counters';

/** How a receiver words its table-full warning: the parts between the fixed phrases. */
export interface UntrackedWording {
  /** What is lost, counted: "handshake outcome(s)". */
  readonly lost: string;
  /** The config key that sizes the table: "max_attempts". */
  readonly key: string;
  /** That key's configured value. */
  readonly limit: number;
  /** What exceeded it: "connects were pending at once". */
  readonly exceeded: string;
  /** What was not followed and what is missing: "new ones went unseen: their outcomes are missing from ...". */
  readonly consequence: string;
  /** The dropped_events reason the losses are counted under. */
  readonly reason: UntrackedEvents['reason'];
  /** What to raise the key above: "the peak number of connects waiting for an answer". */
  readonly raiseAbove: string;
}

/** Warns the first time a receiver's kernel table was full; silent afterwards. */
export class UntrackedReport {
  private reported = false;

  constructor(
    private readonly logger: AgentLogger,
    private readonly receiverId: string,
    private readonly wording: UntrackedWording,
  ) {}

  /** `untracked`: the running count of what was not followed (a warning only when above zero, once per run). */
  note(untracked: bigint): void {
    if (untracked <= 0n || this.reported) return;
    this.reported = true;
    const w = this.wording;
    this.logger.warn(
      `${untracked} ${w.lost} lost: more than ${w.key} (${w.limit}) ${w.exceeded}, so ${w.consequence} ` +
        `(counted in tcpscope.receiver.dropped_events reason=${w.reason}). Set receivers.${this.receiverId}.${w.key} above ${w.raiseAbove}. ` +
        'Logged once.',
    );
  }
}
