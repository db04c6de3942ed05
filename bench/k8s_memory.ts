// `node dist/bench/k8s_memory.js [--node-flags "FLAGS"] [pods...]` (--help): what k8s_attributes'
// watches cost in memory per 1,000 pods. A stand-in API server (test/support/kube_api_server.ts,
// real list/watch protocol) holds N realistic pods (plus N/10 Services, N/5 ReplicaSets, N/50
// nodes); a separate process runs the processor's cluster view with peer resolution on, waits
// until everything is listed and reports its peak RSS (VmHWM: loading client-node and listing
// included), and its heap and RSS after a full GC; it never loads the stand-in's module, which
// imports client-node. That process runs node with the launcher's heap
// flags (bin/tcpscope), as the agent does, unless --node-flags says otherwise. N=0 in the same run
// is the baseline (the agent's code and API client loaded, nothing cached), so the per-pod figures
// are the cost of the data.
//
// `--agent [--agent-bin BIN]... [--rounds N] [--local-too]`: the whole agent instead (BIN run --config, default
// this checkout's bin/tcpscope; several BINs alternate round by round, e.g. another checkout's for
// a before/after): every connection as a log event (tcp_lifecycle) through k8s_attributes
// (auth_type kubeConfig, against the stand-in with no pods) to a file exporter on /dev/null; its
// peak RSS (VmHWM) 5 s after it attached. Needs root (BPF).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterView } from '../src/processors/k8s_attributes/cluster_view';
import { resolveKubeAccess } from '../src/processors/k8s_attributes/kube_access';
import { createLogger } from '../src/logger';
import { AgentProcess, launcherNodeFlags, sleep } from './agent_process';
import { memoryUse } from './proc_stats';
import { spawnTracked } from './child_processes';
import type { KubeApiStandIn } from '../test/support/kube_api_server';

// The stand-in is loaded by the driving process only: it imports @kubernetes/client-node (for the
// KubeConfig it hands to tests), which must not be in the measured process's heap.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const standIn = () => require('../test/support/kube_api_server') as typeof import('../test/support/kube_api_server');

interface Measurement {
  readonly pods: number;
  readonly heapUsedMb: number;
  readonly rssMb: number;
  /** VmHWM: the most the process ever held, the initial lists included. */
  readonly peakRssMb: number;
  readonly listSeconds: number;
}

const USAGE = `usage: node dist/bench/k8s_memory.js [--node-flags "FLAGS"] [pods...]   (after npm run build)

  pods...            pod counts to measure besides 0 (default 1000 5000 20000)
  --node-flags FLAGS node flags of the measured process (default: the launcher's, read from
                     bin/tcpscope, e.g. "--max-semi-space-size=8 --heap-growing-percent=25")
Prints one table row per pod count: heap used and RSS after a full GC, peak RSS (VmHWM), the
per-1,000-pod cost of the data, and how long listing took.

       node dist/bench/k8s_memory.js --agent [--agent-bin BIN]... [--rounds N] [--local-too]   (as root)

  The whole agent (BIN run --config; default bin/tcpscope of this checkout; several BINs
  alternate round by round) with events through k8s_attributes in API mode against the stand-in
  (no pods) to a file exporter on /dev/null: peak RSS (VmHWM) 5 s after it attached, N rounds
  (default 3). --local-too: each BIN also with auth_type none in the same rounds (the agent sees
  every connection of the machine: the difference is the API side's).`;

const LAUNCHER = join(__dirname, '..', '..', 'bin', 'tcpscope');

function peakRssMb(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('bench: no VmHWM in /proc/self/status');
  return Number(match[1]) / 1024;
}

const mb = (bytes: number) => bytes / (1 << 20);

/** The fields a real pod carries that the agent does not keep: what the API sends and trimming drops. */
function realisticPod(i: number) {
  const { ownerReference, podObject } = standIn();
  const rs = `app-${Math.floor(i / 5)}-5d8f7c9b4`;
  const pod = podObject({
    name: `${rs}-${i.toString(36).padStart(5, 'x')}`,
    namespace: `team-${i % 40}`,
    nodeName: `node-${i % 50}`,
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    labels: { app: `app-${Math.floor(i / 5)}`, 'pod-template-hash': '5d8f7c9b4', 'app.kubernetes.io/part-of': 'shop', tier: 'backend' },
    annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-01T10:00:00Z', 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
    ownerReferences: [ownerReference('ReplicaSet', rs)],
    containers: [{ name: 'app', image: `registry.example/shop/app-${i % 100}:1.${i % 7}` }, { name: 'sidecar', image: 'registry.example/proxy:2.1' }],
  });
  const bulk = pod as unknown as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  bulk.metadata.managedFields = [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:containers': {} } } }];
  bulk.spec.volumes = [{ name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] } }];
  (bulk.spec.containers as Record<string, unknown>[]).forEach((c) => {
    c.env = Array.from({ length: 8 }, (_, k) => ({ name: `SETTING_${k}`, value: `value-${k}` }));
    c.resources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } };
    c.ports = [{ containerPort: 8080, protocol: 'TCP' }];
  });
  return pod;
}

function populate(api: KubeApiStandIn, pods: number): void {
  const { nodeObject, replicaSetObject, serviceObject } = standIn();
  for (let i = 0; i < pods; i++) api.apply('pods', realisticPod(i));
  for (let i = 0; i < pods / 5; i++) api.apply('replicasets', replicaSetObject({ name: `app-${i}-5d8f7c9b4`, namespace: `team-${(i * 5) % 40}`, deploymentName: `app-${i}` }));
  for (let i = 0; i < pods / 10; i++) api.apply('services', serviceObject({ name: `svc-${i}`, namespace: `team-${i % 40}`, clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}` }));
  for (let i = 0; i < Math.max(1, pods / 50); i++) api.apply('nodes', nodeObject({ name: `node-${i}`, internalIPs: [`10.250.${(i >> 8) & 255}.${i & 255}`] }));
}

/** The measured side, in its own process: only the agent's state is in this heap. */
async function measureView(expectedPods: number): Promise<void> {
  const access = resolveKubeAccess('kubeConfig', 'bench');
  if (access.mode !== 'api') throw new Error('bench: no kubeconfig');
  const started = Date.now();
  const view = new ClusterView(access.api, { nodeName: 'node-0', peer: true, extract: { labels: ['app'], annotations: [] }, deletionGraceMs: 120_000 }, createLogger('warn'));
  view.start();
  const deadline = Date.now() + 300_000;
  while (!(view.synced && view.peerPods.size === expectedPods)) {
    if (Date.now() > deadline) throw new Error(`bench: listed ${view.peerPods.size} of ${expectedPods} pods in 300 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const listSeconds = (Date.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 500)); // the other collections finish listing
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bench: run the measured side with --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  const memory = process.memoryUsage();
  const result: Measurement = { pods: expectedPods, heapUsedMb: mb(memory.heapUsed), rssMb: mb(memory.rss), peakRssMb: peakRssMb(), listSeconds };
  process.stdout.write(JSON.stringify(result) + '\n');
  await view.stop();
  process.exit(0);
}

/** Values of a repeated `--name VALUE` option. */
function optionValues(argv: readonly string[], name: string): string[] {
  const values: string[] = [];
  argv.forEach((a, i) => {
    if (a !== name) return;
    if (i + 1 >= argv.length) throw new Error(`${name} needs a value\n${USAGE}`);
    values.push(argv[i + 1]);
  });
  return values;
}

const AGENT_SETTLE_MS = 5_000;

async function measureAgents(argv: readonly string[]): Promise<void> {
  const bins = optionValues(argv, '--agent-bin');
  const agentBins = bins.length ? bins : [LAUNCHER];
  const rounds = Number(optionValues(argv, '--rounds').at(-1) ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error(`--rounds must be 1-20\n${USAGE}`);
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-bench-k8s-agent-'));
  const api = new (standIn().KubeApiStandIn)();
  // --local-too: each agent also with auth_type none (local mode) in the same rounds; the agent
  // sees every connection of the machine, so its events-mode RSS moves with the host's churn,
  // and the difference between the two rows is the API side's.
  const variants = argv.includes('--local-too') ? (['kubeConfig', 'none'] as const) : (['kubeConfig'] as const);
  const runs = agentBins.flatMap((bin) => variants.map((auth) => ({ bin, auth, label: `${bin} (auth_type ${auth})` })));
  const peaks = new Map<string, number[]>(runs.map((r) => [r.label, []]));
  try {
    await api.start();
    const kubeconfig = join(dir, 'kubeconfig');
    api.writeKubeconfig(kubeconfig);
    // The agent inherits this process's environment (spawnTracked).
    process.env.KUBECONFIG = kubeconfig;
    const configPath = (auth: string) => join(dir, `agent-${auth}.yaml`);
    for (const auth of variants) writeFileSync(
      configPath(auth),
      ['receivers:', '  tcp_lifecycle: {collection_interval: 10s}', 'processors:', `  k8s_attributes: {auth_type: ${auth}, node_name: node-0}`,
        'exporters:', '  file/logs: {path: /dev/null}', '  file/metrics: {path: /dev/null}', 'service:', '  pipelines:',
        '    metrics: {receivers: [tcp_lifecycle], exporters: [file/metrics]}', '    logs: {receivers: [tcp_lifecycle], processors: [k8s_attributes], exporters: [file/logs]}', ''].join('\n'),
    );
    for (let round = 0; round < rounds; round++) {
      for (const { bin, auth, label } of runs) {
        const agent = await AgentProcess.start(bin, configPath(auth), 60_000);
        try {
          await sleep(AGENT_SETTLE_MS);
          peaks.get(label)!.push(mb(memoryUse(agent.pid).peakRssBytes));
          const apiMode = /Kubernetes API through kubeconfig/.test(agent.stderrTail(200));
          if (apiMode !== (auth === 'kubeConfig')) throw new Error(`${label}: API mode ${apiMode}:\n${agent.stderrTail()}`);
        } finally {
          await agent.stop(30_000);
        }
        process.stderr.write(`round ${round + 1}: ${label} ${peaks.get(label)!.at(-1)!.toFixed(1)} MB\n`);
      }
    }
  } finally {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`the whole agent, events through k8s_attributes (API mode, kubeconfig, no pods) to /dev/null: peak RSS ${AGENT_SETTLE_MS / 1000} s after attaching, ${rounds} round(s)`);
  console.log('| agent | peak RSS MB, each round | min | max |');
  console.log('|---|---|---:|---:|');
  for (const [bin, values] of peaks) console.log(`| ${bin} | ${values.map((v) => v.toFixed(1)).join(', ')} | ${Math.min(...values).toFixed(1)} | ${Math.max(...values).toFixed(1)} |`);
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  if (argv.includes('--agent')) return measureAgents(argv.filter((a) => a !== '--agent'));
  const flagsAt = argv.indexOf('--node-flags');
  if (flagsAt >= 0 && flagsAt + 1 >= argv.length) throw new Error('--node-flags needs a value (quote it: --node-flags "--max-semi-space-size=8")');
  const nodeFlags = flagsAt >= 0 ? argv[flagsAt + 1].split(/\s+/).filter(Boolean) : launcherNodeFlags(LAUNCHER);
  const rest = flagsAt >= 0 ? [...argv.slice(0, flagsAt), ...argv.slice(flagsAt + 2)] : [...argv];
  const unknown = rest.filter((a) => !(Number.isInteger(Number(a)) && Number(a) > 0));
  if (unknown.length > 0) throw new Error(`unknown argument(s) ${unknown.join(' ')}\n${USAGE}`);
  const sizes = rest.map(Number);
  const podCounts = [0, ...(sizes.length ? sizes : [1000, 5000, 20000])];
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-bench-k8s-'));
  const results: Measurement[] = [];
  try {
    for (const pods of podCounts) {
      const api = new (standIn().KubeApiStandIn)({ historyLimit: 10 });
      await api.start();
      populate(api, pods);
      const kubeconfig = join(dir, `kubeconfig-${pods}`);
      api.writeKubeconfig(kubeconfig);
      // Asynchronously: a synchronous spawn would block this process's event loop, and with it the API server.
      const { stdout, status, stderr } = await runChild(kubeconfig, pods, nodeFlags);
      await api.stop();
      if (status !== 0) throw new Error(`measured process failed (${status}): ${stderr}`);
      results.push(JSON.parse(stdout.trim().split('\n').at(-1)!) as Measurement);
      process.stderr.write(`measured ${pods} pods\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const base = results[0];
  console.log(`k8s_attributes cluster view, peer resolution on (pods, services, nodes, replicasets, jobs watched); node ${nodeFlags.join(' ') || '(no flags)'}`);
  console.log('| pods | services | heap used MB | RSS MB | peak RSS MB | heap per 1,000 pods MB | RSS per 1,000 pods MB | list+sync s |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const per = (v: number, b: number) => (r.pods ? (((v - b) / r.pods) * 1000).toFixed(2) : '-');
    console.log(`| ${r.pods} | ${Math.floor(r.pods / 10)} | ${r.heapUsedMb.toFixed(1)} | ${r.rssMb.toFixed(1)} | ${r.peakRssMb.toFixed(1)} | ${per(r.heapUsedMb, base.heapUsedMb)} | ${per(r.rssMb, base.rssMb)} | ${r.listSeconds.toFixed(2)} |`);
  }
}

function runChild(kubeconfig: string, pods: number, nodeFlags: readonly string[]): Promise<{ stdout: string; stderr: string; status: number | null }> {
  return new Promise((resolve) => {
    const child = spawnTracked(process.execPath, [...nodeFlags, '--expose-gc', __filename, '--measure', String(pods)], { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d));
    child.stderr?.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (status) => resolve({ stdout, stderr, status }));
  });
}

if (process.argv[2] === '--measure') {
  measureView(Number(process.argv[3])).catch((error: Error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
} else {
  main(process.argv.slice(2)).catch((error: Error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
}
