// What every queued network exporter is besides its consumers: started, flushed, shut down,
// counted and reported by its QueuedSignals. A new exporter extends this, makes its
// QueuedSignals and lanes (one per signal, each with its own sender) and sets `consumers`; the
// lifecycle below is then the same as otlp's and otlphttp's.
import type { Consumers, Exporter, Host } from '../../component';
import type { Readiness, ReportsReadiness } from '../../health/readiness';
import type { DropCounting, DroppedItems } from '../dropped_items';
import type { QueueSizes, ReportsQueueSize } from '../queue_size';
import type { BoundedShutdown } from '../shutdown_budget';
import type { QueuedSignals } from './queued_signals';

export abstract class QueuedExporter implements Exporter, DropCounting, BoundedShutdown, ReportsReadiness, ReportsQueueSize {
  abstract readonly consumers: Consumers;

  protected constructor(protected readonly sending: QueuedSignals) {}

  async start(_host: Host): Promise<void> {
    // Senders are made on the first export, and connect then: start() stays quick and never
    // fails because the backend is not up yet.
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
