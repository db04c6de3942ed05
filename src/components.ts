// The wiring in one place: every receiver, processor and exporter the agent ships is listed here,
// and nowhere else. Adding a component means adding its factory to FACTORIES.
import type { Factory } from './component';
import { FactoryRegistry } from './pipeline/registry';

export const FACTORIES: readonly Factory[] = [
  // factories are registered here
];

export function defaultRegistry(): FactoryRegistry {
  return new FactoryRegistry(FACTORIES);
}
