// A small cluster for k8s_attributes tests, put into a KubeApiStandIn: three pods on this node
// (a Deployment's, a StatefulSet's and a CronJob's, one per cgroup layout), a peer pod on another
// node, a Service and two nodes, with the attributes each must produce.
import { randomUUID } from 'node:crypto';
import { validateComponentSettings } from '../../src/config/component_settings';
import { k8sAttributesProcessorFactory, type K8sAttributesConfig } from '../../src/processors/k8s_attributes/factory';
import { containerId, jobObject, nodeObject, ownerReference, podObject, replicaSetObject, serviceObject, type KubeApiStandIn } from './kube_api_server';

export const NODE = 'node-1';
export const PEER_NODE = 'node-2';

export type CgroupLayout = 'systemd-containerd' | 'systemd-crio' | 'cgroupfs';

export interface LocalPod {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly containerId: string;
  readonly layout: CgroupLayout;
  /** What k8s_attributes must add for a socket in this pod's container. */
  readonly expected: Readonly<Record<string, string>>;
}

/** The cgroup v2 path kubelet and the runtime give this pod's container, under `base`. */
export function cgroupPathOf(pod: LocalPod, base = ''): string {
  const uid_ = pod.uid.replace(/-/g, '_');
  switch (pod.layout) {
    case 'systemd-containerd':
      return `${base}/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid_}.slice/cri-containerd-${pod.containerId}.scope`;
    case 'systemd-crio':
      return `${base}/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid_}.slice/crio-${pod.containerId}.scope`;
    case 'cgroupfs':
      return `${base}/kubepods/burstable/pod${pod.uid}/${pod.containerId}`;
  }
}

export interface Fixture {
  readonly checkout: LocalPod;
  readonly cart: LocalPod;
  readonly backup: LocalPod;
  /** A pod on the other node, at `peerPodIp`. */
  readonly peerPod: { readonly name: string; readonly namespace: string; readonly ip: string };
  readonly service: { readonly name: string; readonly namespace: string; readonly clusterIp: string };
  readonly peerNodeIp: string;
}

export interface FixtureAddresses {
  readonly peerPodIp: string;
  readonly clusterIp: string;
  readonly peerNodeIp: string;
}

export function populateCluster(api: KubeApiStandIn, addresses: FixtureAddresses): Fixture {
  api.apply('nodes', nodeObject({ name: NODE, internalIPs: ['198.18.10.1'] }));
  api.apply('nodes', nodeObject({ name: PEER_NODE, internalIPs: [addresses.peerNodeIp] }));

  const checkout: LocalPod = {
    name: 'checkout-7d4b9c-x2x9z',
    namespace: 'shop',
    uid: randomUUID(),
    containerId: containerId(),
    layout: 'systemd-containerd',
    expected: {
      'k8s.namespace.name': 'shop',
      'k8s.pod.name': 'checkout-7d4b9c-x2x9z',
      'k8s.container.name': 'app',
      'container.image.name': 'registry.example:5000/shop/checkout',
      'k8s.node.name': NODE,
      'k8s.replicaset.name': 'checkout-7d4b9c',
      'k8s.deployment.name': 'checkout',
      'k8s.pod.label.app': 'checkout',
    },
  };
  api.apply('replicasets', replicaSetObject({ name: 'checkout-7d4b9c', namespace: 'shop', deploymentName: 'checkout' }));
  api.apply('pods', podObject({
    name: checkout.name, namespace: checkout.namespace, uid: checkout.uid, nodeName: NODE, ip: '198.18.10.11',
    labels: { app: 'checkout', 'pod-template-hash': '7d4b9c', team: 'payments' },
    annotations: { 'example.com/owner': 'payments' },
    ownerReferences: [ownerReference('ReplicaSet', 'checkout-7d4b9c')],
    containers: [{ name: 'app', image: 'registry.example:5000/shop/checkout:1.4', id: checkout.containerId }],
  }));

  const cart: LocalPod = {
    name: 'cart-0',
    namespace: 'shop',
    uid: randomUUID(),
    containerId: containerId(),
    layout: 'systemd-crio',
    expected: { 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'cart-0', 'k8s.container.name': 'cart', 'container.image.name': 'registry.example/cart', 'k8s.node.name': NODE, 'k8s.statefulset.name': 'cart', 'k8s.pod.label.app': 'cart' },
  };
  api.apply('pods', podObject({
    name: cart.name, namespace: cart.namespace, uid: cart.uid, nodeName: NODE, ip: '198.18.10.12', labels: { app: 'cart' },
    ownerReferences: [ownerReference('StatefulSet', 'cart')],
    containers: [{ name: 'cart', image: 'registry.example/cart:2.0', id: `cri-o://${cart.containerId}` }],
  }));

  const backup: LocalPod = {
    name: 'backup-29345678-abcde',
    namespace: 'ops',
    uid: randomUUID(),
    containerId: containerId(),
    layout: 'cgroupfs',
    expected: { 'k8s.namespace.name': 'ops', 'k8s.pod.name': 'backup-29345678-abcde', 'k8s.container.name': 'dump', 'container.image.name': 'registry.example/pgdump', 'k8s.node.name': NODE, 'k8s.job.name': 'backup-29345678', 'k8s.cronjob.name': 'backup' },
  };
  api.apply('jobs', jobObject({ name: 'backup-29345678', namespace: 'ops', cronJobName: 'backup' }));
  api.apply('pods', podObject({
    name: backup.name, namespace: backup.namespace, uid: backup.uid, nodeName: NODE, ip: '198.18.10.13',
    ownerReferences: [ownerReference('Job', 'backup-29345678')],
    containers: [{ name: 'dump', image: 'registry.example/pgdump:16@sha256:' + 'b'.repeat(64), id: backup.containerId }],
  }));

  const peerPod = { name: 'db-0', namespace: 'data', ip: addresses.peerPodIp };
  api.apply('pods', podObject({ name: peerPod.name, namespace: peerPod.namespace, nodeName: PEER_NODE, ip: peerPod.ip, ownerReferences: [ownerReference('StatefulSet', 'db')] }));
  // A hostNetwork pod on the peer node: its IP is the node's and must name the node, not the pod.
  api.apply('pods', podObject({ name: 'node-exporter-q7x', namespace: 'monitoring', nodeName: PEER_NODE, ip: addresses.peerNodeIp, hostNetwork: true }));
  const service = { name: 'cart', namespace: 'shop', clusterIp: addresses.clusterIp };
  api.apply('services', serviceObject({ name: service.name, namespace: service.namespace, clusterIP: service.clusterIp }));
  api.apply('services', serviceObject({ name: 'headless', namespace: 'shop', clusterIP: 'None' }));
  return { checkout, cart, backup, peerPod, service, peerNodeIp: addresses.peerNodeIp };
}

/** k8s_attributes settings as a config file would give them: validated, defaults filled in. */
export function k8sAttributesConfig(settings: Record<string, unknown>): K8sAttributesConfig {
  return validateComponentSettings(k8sAttributesProcessorFactory.schema, settings, ['processors', 'k8s_attributes']) as K8sAttributesConfig;
}

/** Runs `create` with $KUBECONFIG set to `kubeconfig` (processors resolve API access when created), then restores it. */
export function withKubeconfig<T>(kubeconfig: string, create: () => T): T {
  const previous = process.env.KUBECONFIG;
  process.env.KUBECONFIG = kubeconfig;
  try {
    return create();
  } finally {
    if (previous === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = previous;
  }
}
