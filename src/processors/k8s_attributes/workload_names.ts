// The attributes that name a local pod, its container and its owner, and a peer address.
import type { Attributes } from '@opentelemetry/api';
import { ATTR } from '../../telemetry/attributes';
import type { ClusterView, PeerIdentity } from './cluster_view';
import type { ContainerInfo, PodInfo } from './pod_store';

export interface Extract {
  readonly labels: readonly string[];
  readonly annotations: readonly string[];
}

/**
 * `registry:5000/shop/web:1.2@sha256:…` -> `registry:5000/shop/web`: container.image.name is the
 * image without tag or digest (a colon before the last slash is a registry port, not a tag).
 */
export function imageName(image: string): string {
  const withoutDigest = image.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const tagColon = withoutDigest.indexOf(':', lastSlash + 1);
  return tagColon < 0 ? withoutDigest : withoutDigest.slice(0, tagColon);
}

/** Owner attributes: through the ReplicaSet to its Deployment, through the Job to its CronJob. */
function addOwner(pod: PodInfo, view: ClusterView, into: Attributes): void {
  const owner = pod.owner;
  if (!owner) return;
  switch (owner.kind) {
    case 'ReplicaSet': {
      into[ATTR.k8sReplicaSetName.key] = owner.name;
      const controller = view.controllerOf('ReplicaSet', pod.namespace, owner.name);
      if (controller?.kind === 'Deployment') into[ATTR.k8sDeploymentName.key] = controller.name;
      else if (!view.knowsController('ReplicaSet', pod.namespace, owner.name)) {
        // ReplicaSet not listed (yet, or replicasets forbidden): a Deployment names its
        // ReplicaSets <deployment>-<pod-template-hash>, and the pod carries that hash.
        const hash = pod.labels['pod-template-hash'];
        if (hash && owner.name.endsWith(`-${hash}`)) into[ATTR.k8sDeploymentName.key] = owner.name.slice(0, -hash.length - 1);
      }
      return;
    }
    case 'StatefulSet':
      into[ATTR.k8sStatefulSetName.key] = owner.name;
      return;
    case 'DaemonSet':
      into[ATTR.k8sDaemonSetName.key] = owner.name;
      return;
    case 'Job': {
      into[ATTR.k8sJobName.key] = owner.name;
      const controller = view.controllerOf('Job', pod.namespace, owner.name);
      if (controller?.kind === 'CronJob') into[ATTR.k8sCronJobName.key] = controller.name;
      return;
    }
  }
}

export function localNames(pod: PodInfo, container: ContainerInfo | undefined, view: ClusterView, extract: Extract): Attributes {
  const names: Attributes = {
    [ATTR.k8sNamespaceName.key]: pod.namespace,
    [ATTR.k8sPodName.key]: pod.name,
    [ATTR.k8sPodUid.key]: pod.uid,
  };
  if (container) {
    names[ATTR.k8sContainerName.key] = container.name;
    if (container.image) names[ATTR.containerImageName.key] = imageName(container.image);
  }
  if (pod.nodeName) names[ATTR.k8sNodeName.key] = pod.nodeName;
  addOwner(pod, view, names);
  for (const label of extract.labels) if (pod.labels[label] !== undefined) names[`k8s.pod.label.${label}`] = pod.labels[label];
  for (const annotation of extract.annotations) if (pod.annotations[annotation] !== undefined) names[`k8s.pod.annotation.${annotation}`] = pod.annotations[annotation];
  return names;
}

export function peerNames(peer: PeerIdentity): Attributes {
  switch (peer.kind) {
    case 'service':
      return { [ATTR.peerK8sServiceName.key]: peer.name, [ATTR.peerK8sNamespaceName.key]: peer.namespace };
    case 'pod':
      return {
        [ATTR.peerK8sPodName.key]: peer.pod.name,
        [ATTR.peerK8sNamespaceName.key]: peer.pod.namespace,
        ...(peer.pod.nodeName ? { [ATTR.peerK8sNodeName.key]: peer.pod.nodeName } : {}),
      };
    case 'node':
      return { [ATTR.peerK8sNodeName.key]: peer.name };
  }
}
