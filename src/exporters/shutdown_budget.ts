// Exporters whose final flush is bounded by a setting of their own (otlp's `timeout`) say how long
// it can take, so that the agent's shutdown limit always exceeds it: a shutdown cut short by the
// agent would lose what the exporter was about to count and log.
import type { Exporter } from '../component';

export interface BoundedShutdown {
  /** The longest the exporter's shutdown() (final flush and close) can take, in milliseconds. */
  shutdownBudgetMs(): number;
}

export function declaresShutdownBudget(exporter: Exporter): exporter is Exporter & BoundedShutdown {
  return typeof (exporter as Partial<BoundedShutdown>).shutdownBudgetMs === 'function';
}
