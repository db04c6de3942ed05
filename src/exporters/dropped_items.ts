// Exporters that can lose data (a full retry queue, a failed write) count what they lose, so the
// agent can export the count as its own metric: nothing is dropped silently (docs/architecture.md).
import type { Exporter, Signal } from '../component';

/** Items lost per signal since start: data points for metrics, log records for logs. */
export type DroppedItems = { readonly [S in Signal]: number };

export interface DropCounting {
  droppedItems(): DroppedItems;
}

/** Lets the agent's self-telemetry find the exporters that count drops without knowing their types. */
export function countsDroppedItems(exporter: Exporter): exporter is Exporter & DropCounting {
  return typeof (exporter as Partial<DropCounting>).droppedItems === 'function';
}
