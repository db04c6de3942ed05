// The agent's Resource: it describes the agent, never the observed workloads (those are
// data point and log record attributes).
//
// `service.instance.id` tells two agents apart (two runs on one host, or two hosts with the same
// name): a random UUID per run, as the OpenTelemetry Collector does for its own telemetry. Like
// the Collector's `service.telemetry.resource`, the config may set any attribute of this Resource,
// replace the instance id with a stable one, or remove an attribute by setting it to null.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { VERSION } from './version';

/** `service.telemetry.resource` of the config: attribute name → value, or null to leave it out. */
export type ResourceOverrides = Readonly<Record<string, string | null>>;

export function agentResource(
  env: NodeJS.ProcessEnv = process.env,
  overrides: ResourceOverrides = {},
  newInstanceId: () => string = randomUUID,
): Resource {
  const attributes: Record<string, string> = {
    'service.name': 'tcpscope',
    'service.version': VERSION,
    'service.instance.id': newInstanceId(),
    // In a pod, hostname() is the pod's name; the agent describes the node it watches, which
    // the DaemonSet passes through the downward API.
    'host.name': env.K8S_NODE_NAME || hostname(),
  };
  if (env.K8S_NODE_NAME) attributes['k8s.node.name'] = env.K8S_NODE_NAME;
  for (const [key, value] of Object.entries(overrides)) {
    if (value === null) delete attributes[key];
    else attributes[key] = value;
  }
  return resourceFromAttributes(attributes);
}
