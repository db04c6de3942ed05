// The agent's Resource: it describes the agent, never the observed workloads (those are
// data point and log record attributes).
import { hostname } from 'node:os';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { VERSION } from './version';

export function agentResource(env: NodeJS.ProcessEnv = process.env): Resource {
  const attributes: Record<string, string> = {
    'service.name': 'tcpscope',
    'service.version': VERSION,
    'host.name': hostname(),
  };
  if (env.K8S_NODE_NAME) attributes['k8s.node.name'] = env.K8S_NODE_NAME;
  return resourceFromAttributes(attributes);
}
