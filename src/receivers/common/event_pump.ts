// Ring buffer batches -> log records -> the logs pipeline, with back-pressure: at
// MAX_BATCHES_IN_FLIGHT batches not yet consumed the ring reader pauses, so the kernel ring
// buffer absorbs the burst and counts what it cannot hold, instead of the heap growing.
import type { HrTime } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { RingReader } from '../../bridge/ring_reader';
import { forEachRecord } from '../../bridge/ring_reader';
import type { Consumer } from '../../component';
import { hrTimeNow } from '../../host/monotonic_clock';
import type { AgentLogger } from '../../logger';

export const MAX_BATCHES_IN_FLIGHT = 4;

export class EventPump {
  private ring: RingReader | undefined;
  private inFlight = 0;
  private decodeFailures = 0;
  /** Pushes in flight, awaited by settle() so that shutdown cuts nothing off. */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly logger: AgentLogger,
    private readonly consumer: Consumer<'logs'>,
    /** `observed`: when the batch reached user space, one clock read per batch. */
    private readonly toRecord: (batch: Buffer, offset: number, length: number, observed: HrTime) => ReadableLogRecord,
  ) {}

  attach(ring: RingReader): void {
    this.ring = ring;
  }

  /** The RingBatchHandler to give BpfObject.openRing. */
  readonly onBatch = (batch: Buffer, records: number, errno: number): void => {
    if (errno !== 0) this.logger.warn(`ring buffer read lost records (errno ${errno})`);
    if (records === 0) return;
    const logRecords: ReadableLogRecord[] = [];
    const observed = hrTimeNow();
    forEachRecord(batch, (offset, length) => {
      try {
        logRecords.push(this.toRecord(batch, offset, length, observed));
      } catch (error) {
        if (this.decodeFailures++ === 0) this.logger.error(`cannot decode an event: ${(error as Error).message}`);
      }
    });
    this.push(logRecords);
  };

  // A method of its own so that the callbacks below keep the count, not the records: a closure
  // created in onBatch would share its context with `logRecords` and `batch`, and hold them (and
  // the ring bytes its records read from) until the pipeline is done with the batch, which with a
  // file or otlp exporter can be after a write: long enough to be promoted as garbage.
  private push(logRecords: ReadableLogRecord[]): void {
    const count = logRecords.length;
    this.inFlight++;
    if (this.inFlight >= MAX_BATCHES_IN_FLIGHT) this.ring?.pause();
    this.track(
      this.consumer
        .consume(logRecords)
        .catch((error: unknown) => {
          this.logger.warn(`logs pipeline rejected ${count} events: ${(error as Error).message}`);
        })
        .finally(() => {
          if (this.inFlight-- === MAX_BATCHES_IN_FLIGHT) this.ring?.resume();
        }),
    );
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** Drains the ring (its close hands over what is left), then waits for every push. */
  async settle(): Promise<void> {
    this.ring?.close();
    await Promise.allSettled([...this.pending]);
  }
}
