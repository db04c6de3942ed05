// The config's scheduled captures (service.capture.schedule): each entry starts its capture at its
// times, with reason 'schedule' and the entry's name. A start that fails (no pod matches now, all
// slots busy) is logged and the next one is tried at its time: a schedule never stops the agent.
// An entry whose previous capture still runs is skipped for that time (and logged), never doubled.
import { TcpscopeError } from '../../../errors';
import type { AgentLogger } from '../../../logger';
import type { CaptureStarter } from './capture_starter';
import type { ScheduledCapture, TimeOfDay } from './config';

export interface ScheduleClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: ScheduleClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** The first time at or after `from` (ms since the epoch) that is `at` UTC. */
export function nextTimeOfDay(from: number, at: TimeOfDay): number {
  const day = new Date(from);
  const candidate = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), at.hour, at.minute);
  return candidate >= from ? candidate : candidate + 24 * 3_600_000;
}

export class CaptureSchedule {
  private readonly timers = new Map<string, unknown>();
  private readonly running = new Map<string, { receiver: string; id: string }>();
  private stopped = false;

  constructor(
    private readonly entries: readonly ScheduledCapture[],
    private readonly starter: CaptureStarter,
    private readonly logger: AgentLogger,
    private readonly clock: ScheduleClock = systemClock,
  ) {}

  start(): void {
    const now = this.clock.now();
    for (const entry of this.entries) {
      const first = entry.at ? nextTimeOfDay(now, entry.at) : now + entry.everyMs;
      this.logger.info(`scheduled capture "${entry.name}": first at ${new Date(first).toISOString()}, then every ${entry.everyMs / 1000}s`);
      this.arm(entry, first);
    }
  }

  /** Idempotent; captures already started keep running until their bounds end them. */
  stop(): void {
    this.stopped = true;
    for (const handle of this.timers.values()) this.clock.clearTimeout(handle);
    this.timers.clear();
  }

  private arm(entry: ScheduledCapture, at: number): void {
    if (this.stopped) return;
    this.timers.set(entry.name, this.clock.setTimeout(() => void this.fire(entry, at), Math.max(0, at - this.clock.now())));
  }

  private async fire(entry: ScheduledCapture, due: number): Promise<void> {
    // The next time comes from the due time, not from now: a late timer does not shift the schedule.
    let next = due + entry.everyMs;
    const now = this.clock.now();
    while (next <= now) next += entry.everyMs;
    this.arm(entry, next);
    const previous = this.running.get(entry.name);
    if (previous && this.starter.registry.find(previous.receiver)?.get(previous.id)?.state === 'running') {
      this.logger.warn(`scheduled capture "${entry.name}": capture ${previous.id} from its last start is still running; skipped this start`);
      return;
    }
    try {
      const status = await this.starter.start(entry.request, 'schedule');
      this.running.set(entry.name, { receiver: status.receiver, id: status.id });
      const pods = status.pods ? `, pods ${status.pods.map((p) => `${p.namespace}/${p.name}`).join(', ')}` : '';
      this.logger.info(`scheduled capture "${entry.name}" started as ${status.id} (receiver ${status.receiver}${pods})`);
    } catch (error) {
      this.logger.warn(`scheduled capture "${entry.name}" could not start: ${describe(error)}; next try at ${new Date(next).toISOString()}`);
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof TcpscopeError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
