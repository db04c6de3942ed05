// One cluster view per k8s_attributes id, whatever the number of pipelines using it: the agent
// creates a processor per (id, pipeline), and each must not open its own watches. Like the
// Collector's sharedcomponent: the first processor to start starts the view, the last one shut
// down stops it.
import { Enrichment } from './enrichment';
import type { ClusterView } from './cluster_view';

export interface SharedViewLease {
  readonly enrichment: Enrichment;
  /** Absent in local mode. */
  readonly view?: ClusterView;
  start(): void;
  /** Idempotent; the last holder's release stops the view. */
  release(): Promise<void>;
}

interface Entry {
  readonly view?: ClusterView;
  readonly enrichment: Enrichment;
  leases: number;
  running: boolean;
}

const entries = new Map<string, Entry>();

/**
 * The views that processors of this agent run (API mode only): what packet_capture's control
 * channel reads to select pods by namespace, name and labels without opening watches of its own.
 */
export function runningClusterViews(): ClusterView[] {
  return [...entries.values()].flatMap((entry) => (entry.running && entry.view ? [entry.view] : []));
}

/**
 * @param key the processor id and its config: two graphs with the same id but another config
 *   (a reload, a test) must not share a view.
 * @param create builds the view (undefined in local mode) and its enrichment, once per key.
 */
export function leaseView(key: string, create: () => { view?: ClusterView; enrichment: Enrichment }): SharedViewLease {
  let entry = entries.get(key);
  if (!entry) {
    entry = { ...create(), leases: 0, running: false };
    entries.set(key, entry);
  }
  const held = entry;
  held.leases += 1;
  let released = false;
  return {
    enrichment: held.enrichment,
    ...(held.view ? { view: held.view } : {}),
    start() {
      if (held.running) return;
      held.running = true;
      held.view?.start();
    },
    async release() {
      if (released) return;
      released = true;
      held.leases -= 1;
      if (held.leases > 0) return;
      if (entries.get(key) === held) entries.delete(key);
      if (held.running) await held.view?.stop();
    },
  };
}
