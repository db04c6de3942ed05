import type { ProcessorFactory } from '../../component';
import { K8sAttributesProcessor } from './processor';

/** Local mode only for now: no config keys (Kubernetes API enrichment is not built yet). */
export type K8sAttributesConfig = Record<string, never>;

export const k8sAttributesProcessorFactory: ProcessorFactory<K8sAttributesConfig> = {
  kind: 'processor',
  type: 'k8s_attributes',
  signals: ['metrics', 'logs'],
  schema: {},
  create: (_settings, _config, signal, next) => new K8sAttributesProcessor(signal, next),
};
