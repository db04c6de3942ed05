// The attributes each processor adds, for docs/telemetry.md. The processors use the same ATTR
// definitions, so a key renamed there is renamed here.
import { ATTR, type AttributeDefinition } from './attributes';

export interface ProcessorAttributes {
  readonly processor: string;
  readonly attributes: readonly AttributeDefinition[];
  /** What the attributes are derived from, and when they are present. */
  readonly source: string;
}

export const PROCESSOR_ATTRIBUTES: readonly ProcessorAttributes[] = [
  {
    processor: 'k8s_attributes (every mode)',
    attributes: [ATTR.containerId, ATTR.k8sPodUid],
    source: 'Parsed from `process.linux.cgroup` (kubelet and runtime cgroup layouts). The only attributes added without a Kubernetes API (local mode, the default config on a bare host).',
  },
  {
    processor: 'k8s_attributes (local side, API mode)',
    attributes: [
      ATTR.k8sNamespaceName,
      ATTR.k8sPodName,
      ATTR.k8sPodUid,
      ATTR.k8sContainerName,
      ATTR.containerImageName,
      ATTR.k8sNodeName,
      ATTR.k8sReplicaSetName,
      ATTR.k8sDeploymentName,
      ATTR.k8sStatefulSetName,
      ATTR.k8sDaemonSetName,
      ATTR.k8sJobName,
      ATTR.k8sCronJobName,
      ATTR.k8sPodLabel,
      ATTR.k8sPodAnnotation,
    ],
    source: 'The pod of the socket\'s cgroup (by container id, else by pod uid) from a watch of this node\'s pods (field selector `spec.nodeName`); owners from watches of ReplicaSets and Jobs. Added to events and to data points that carry `process.linux.cgroup`.',
  },
  {
    processor: 'k8s_attributes (peer side, `peer.enabled`)',
    attributes: [ATTR.peerK8sPodName, ATTR.peerK8sNamespaceName, ATTR.peerK8sServiceName, ATTR.peerK8sNodeName],
    source: '`network.peer.address` looked up among Service ClusterIPs, then pod IPs (hostNetwork pods excluded), then node addresses, from cluster-wide watches. Added to events and to data points that carry `network.peer.address` (tcp_rtt with `group_by: [peer_address]`).',
  },
  {
    processor: 'sampling',
    attributes: [ATTR.samplingProbability],
    source: 'Every event the sampling processor keeps.',
  },
];
