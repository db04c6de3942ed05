// Exporters that queue batches before delivery report how many wait, so the agent can export the
// queue size as its own metric (tcpscope.exporter.queue_size): a growing queue is the early sign
// of a backend that is down or too slow, before anything is dropped.
import type { Exporter, Signal } from '../component';

/** Batches waiting per signal the exporter serves (a signal it does not serve is absent). */
export type QueueSizes = { readonly [S in Signal]?: number };

export interface ReportsQueueSize {
  queueSizes(): QueueSizes;
}

export function reportsQueueSize(exporter: Exporter): exporter is Exporter & ReportsQueueSize {
  return typeof (exporter as Partial<ReportsQueueSize>).queueSizes === 'function';
}
