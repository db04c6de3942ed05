import type { ProcessorFactory } from '../../component';
import { K8sAttributesProcessor } from './processor';

/** Local mode only for now: no config keys (Kubernetes API enrichment is not built yet). */
export type K8sAttributesConfig = Record<string, never>;

export const k8sAttributesProcessorFactory: ProcessorFactory<K8sAttributesConfig> = {
  kind: 'processor',
  type: 'k8s_attributes',
  signals: ['metrics', 'logs'],
  schema: {},
  // Adds container.id and k8s.pod.uid only: a sampling predicate after it reads the same values.
  logsEffect: { kind: 'passes_through' },
  create: (_settings, _config, signal, next) => new K8sAttributesProcessor(signal, next),
};
