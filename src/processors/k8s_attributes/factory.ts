import { hostname } from 'node:os';
import type { Consumer, CreateSettings, Processor, ProcessorFactory, Signal } from '../../component';
import { parseDuration } from '../../exporters/duration';
import { ClusterView } from './cluster_view';
import { k8sAttributesSchema, validateK8sAttributesConfig, type K8sAttributesConfig } from './config';
import { Enrichment } from './enrichment';
import { resolveKubeAccess } from './kube_access';
import { K8sAttributesProcessor } from './processor';
import { leaseView } from './shared_view';

export type { K8sAttributesConfig } from './config';

function createView(settings: CreateSettings, config: K8sAttributesConfig): { view?: ClusterView; enrichment: Enrichment } {
  const logger = settings.logger;
  const access = resolveKubeAccess(config.auth_type, `processors.${settings.id.text}.auth_type`);
  if (access.mode === 'local') {
    logger.info(`local mode (${access.reason}): container.id and k8s.pod.uid from cgroup paths, no names from the Kubernetes API`);
    return { enrichment: new Enrichment() };
  }
  let nodeName = config.node_name;
  if (!nodeName) {
    nodeName = hostname();
    logger.warn(`node_name is empty: watching the pods of node "${nodeName}" (this host's name); set node_name: \${env:K8S_NODE_NAME} from the downward API if the node is named otherwise`);
  }
  const options = { nodeName, peer: config.peer.enabled, extract: config.extract, deletionGraceMs: parseDuration(config.deletion_grace_period) };
  logger.info(`Kubernetes API through ${access.source}: pods of node ${nodeName}${options.peer ? ', and cluster-wide pods, services and nodes for peers' : ' (peer resolution off)'}`);
  const view = new ClusterView(access.api, options, logger);
  return { view, enrichment: new Enrichment(view, options) };
}

export const k8sAttributesProcessorFactory: ProcessorFactory<K8sAttributesConfig> = {
  kind: 'processor',
  type: 'k8s_attributes',
  signals: ['metrics', 'logs'],
  schema: k8sAttributesSchema,
  validate: validateK8sAttributesConfig,
  // Adds names (k8s.*, container.*, peer.k8s.*) only: a sampling predicate after it reads the
  // same addresses, ports, error.type and tcp.* values as before it.
  logsEffect: { kind: 'passes_through' },
  create<S extends Signal>(settings: CreateSettings, config: K8sAttributesConfig, signal: S, next: Consumer<S>): Processor<S> {
    const lease = leaseView(`${settings.id.text} ${JSON.stringify(config)}`, () => createView(settings, config));
    return new K8sAttributesProcessor(signal, next, lease);
  },
};
