// The Kubernetes API stand-in (kube_api_server.ts) as a child process, so that a test can run it
// inside a network namespace it created (`ip netns exec <ns> node kube_api_child.js ...`) where
// an agent container joined to that namespace reaches it over the namespace's own loopback.
//   node kube_api_child.js <cluster.json> <kubeconfig-out>
// cluster.json: {"nodes": [NodeOptions], "pods": [PodOptions]}. Writes a kubeconfig for the
// server, prints {"url": "..."} once it listens, then {"watch": {"kind", "fieldSelector"}} for
// each watch a client opens (client-node's informer opens its watch only after it has applied
// its list: a watch means the list has landed), and serves until it is killed.
import { readFileSync } from 'node:fs';
import { KubeApiStandIn, nodeObject, podObject, type PodOptions } from './kube_api_server';

export interface StandInCluster {
  readonly nodes: readonly { readonly name: string; readonly internalIPs?: string[] }[];
  readonly pods: readonly PodOptions[];
}

async function main(clusterFile: string, kubeconfig: string): Promise<void> {
  const cluster = JSON.parse(readFileSync(clusterFile, 'utf8')) as StandInCluster;
  const api = new KubeApiStandIn();
  await api.start();
  for (const node of cluster.nodes) api.apply('nodes', nodeObject(node));
  for (const pod of cluster.pods) api.apply('pods', podObject(pod));
  api.writeKubeconfig(kubeconfig);
  process.stdout.write(JSON.stringify({ url: api.url }) + '\n');
  let reported = 0;
  setInterval(() => {
    const requests = api.requests();
    for (const request of requests.slice(reported)) {
      if (request.verb !== 'watch') continue;
      process.stdout.write(JSON.stringify({ watch: { kind: request.kind, fieldSelector: request.query.fieldSelector ?? '' } }) + '\n');
    }
    reported = requests.length;
  }, 20);
  const stop = () => void api.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  const [clusterFile, kubeconfig] = process.argv.slice(2);
  if (!clusterFile || !kubeconfig) {
    process.stderr.write('usage: kube_api_child <cluster.json> <kubeconfig-out>\n');
    process.exit(2);
  }
  main(clusterFile, kubeconfig).catch((error: Error) => {
    process.stderr.write(`kube_api_child: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
