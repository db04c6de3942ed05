// The Kubernetes side of tcpscope, checked without a cluster: deploy/kubernetes (what
// `kubectl apply -k` applies), the chart deploy/helm/tcpscope rendered by a real helm with several
// value sets, and the example gateway Collector in deploy/collector. Every object is validated
// against the Kubernetes API schemas (kubernetes-models, plus a walk that rejects unknown fields),
// every rendered tcpscope config passes the agent's own config validation, the chart's defaults
// render exactly deploy/kubernetes, and the RBAC grants exactly what k8s_attributes watches.
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { shutdownLimitMs } from '../../src/agent';
import { defaultRegistry } from '../../src/components';
import { parseConfigText, validateConfig, type ValidatedConfig } from '../../src/config';
import type { CreatedExporter } from '../../src/exporter_census';
import { PACKAGE_ROOT } from '../../src/paths';
import type { Signal } from '../../src/component';
import { JOBS_SPEC, localPodsSpec, NODES_SPEC, PEER_PODS_SPEC, REPLICA_SETS_SPEC, SERVICES_SPEC } from '../../src/processors/k8s_attributes/kube_resources';
import { requireHelm } from '../support/helm';
import { formatIssues, KUBERNETES_MODELS_VERSION, schemaNameOf, validateKubeObject, validateWithoutWalk } from '../support/kube_schema';
import { testSettings } from '../support/settings';

// ---- the objects, as plain data ----

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }
interface VolumeMount { name: string; mountPath: string; readOnly?: boolean; recursiveReadOnly?: string }
interface Volume { name: string; hostPath?: { path: string; type?: string }; configMap?: { name: string } }
interface Probe { httpGet: { path: string; port: string | number } }
interface Container {
  name: string;
  image: string;
  args: string[];
  env: EnvVar[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown> & { capabilities: { drop: string[]; add: string[] }; seccompProfile: { type: string; localhostProfile?: string } };
  volumeMounts: VolumeMount[];
}
interface PodSpec {
  serviceAccountName?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  priorityClassName?: string;
  tolerations?: Record<string, unknown>[];
  terminationGracePeriodSeconds: number;
  containers: Container[];
  volumes: Volume[];
}
interface Workload extends KubeObject {
  spec: { selector: { matchLabels: Record<string, string> }; updateStrategy?: { type: string }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}
interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }

const KUBE_DIR = join(PACKAGE_ROOT, 'deploy', 'kubernetes');
const CHART_DIR = join(PACKAGE_ROOT, 'deploy', 'helm', 'tcpscope');
const COLLECTOR_DIR = join(PACKAGE_ROOT, 'deploy', 'collector');
const NAMESPACE = 'observability';

function parseObjects(text: string, source: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d, i) => {
      if (d.errors.length > 0) throw new Error(`${source} document ${i}: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null);
}

/** The resources a kustomization.yaml lists, read in its order; kustomize's own output where kubectl is present is compared separately. */
function kustomizationResources(dir: string): { files: string[]; objects: KubeObject[] } {
  const k = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return { files: k.resources, objects: k.resources.flatMap((f) => parseObjects(readFileSync(join(dir, f), 'utf8'), f)) };
}

function find<T extends KubeObject = KubeObject>(objects: readonly KubeObject[], kind: string, name: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  assert.equal(found.length, 1, `exactly one ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0] as T;
}

async function assertSchemaValid(objects: readonly KubeObject[]): Promise<void> {
  assert.ok(objects.length > 0, 'objects to validate');
  for (const o of objects) {
    const issues = await validateKubeObject(o);
    assert.deepEqual(issues, [], formatIssues(o, issues));
  }
}

function container(ds: Workload, name: string): Container {
  const found = ds.spec.template.spec.containers.filter((c) => c.name === name);
  assert.equal(found.length, 1, `one container ${name}`);
  return found[0];
}

const envOf = (c: Container) => new Map(c.env.map((e) => [e.name, e]));

/** `${env:NAME:-default}` -> default. */
function envDefault(value: unknown, name: string): string {
  const m = new RegExp(`^\\$\\{env:${name}:-(.*)\\}$`).exec(String(value));
  assert.ok(m, `${String(value)} is \${env:${name}:-default}`);
  return m[1];
}

/** The config text as the agent validates it, with the environment the DaemonSet gives it. */
function validateAgentConfig(text: string, env: Record<string, string>): ValidatedConfig {
  return validateConfig(parseConfigText(text, 'config.yaml (ConfigMap)', env), defaultRegistry());
}

const DAEMONSET_ENV = { K8S_NODE_NAME: 'node-1' };

/** The shutdown limit the agent derives from this config's exporters (README "Signals"). */
async function shutdownLimitOf(config: ValidatedConfig): Promise<number> {
  const registry = defaultRegistry();
  const created: CreatedExporter[] = [];
  for (const [id, component] of config.exporters) {
    const signals = [...new Set(config.pipelines.filter((p) => p.exporters.includes(id)).map((p) => p.id.signal))] as Signal[];
    const factory = registry.get('exporter', component.id.type);
    assert.ok(factory, `exporter factory ${component.id.type}`);
    created.push({ id, exporter: factory.create(testSettings(component.id.type, component.id.name), component.config, signals) });
  }
  try {
    return shutdownLimitMs(created);
  } finally {
    for (const { exporter } of created) await exporter.shutdown();
  }
}

// ---- the unknown-field walk itself ----

describe('schema validation (kubernetes-models plus the unknown-field walk)', () => {
  const probeObject = (): Workload =>
    structuredClone(find<Workload>(kustomizationResources(KUBE_DIR).objects, 'DaemonSet', 'tcpscope'));

  it(`kubernetes-models ${KUBERNETES_MODELS_VERSION} is the pinned version, and schema names map as the package names them`, () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    assert.equal(pkg.devDependencies['kubernetes-models'], KUBERNETES_MODELS_VERSION, 'an exact pin in package.json');
    assert.equal(schemaNameOf('apps/v1', 'DaemonSet'), 'IoK8sApiAppsV1DaemonSet');
    assert.equal(schemaNameOf('v1', 'ConfigMap'), 'IoK8sApiCoreV1ConfigMap');
    assert.equal(schemaNameOf('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'), 'IoK8sApiRbacV1ClusterRoleBinding');
  });

  it('a misspelled field (redinessProbe) passes kubernetes-models alone and is caught by the walk', async () => {
    const ds = probeObject();
    const c = ds.spec.template.spec.containers[0] as unknown as Record<string, unknown>;
    c.redinessProbe = c.readinessProbe;
    delete c.readinessProbe;
    assert.equal(await validateWithoutWalk(ds), true, 'the compiled validator ignores unknown properties');
    assert.deepEqual(await validateKubeObject(ds), [
      { path: '/spec/template/spec/containers/0/redinessProbe', message: `unknown field "redinessProbe" (not in the apps/v1 DaemonSet schema of kubernetes-models ${KUBERNETES_MODELS_VERSION})` },
    ]);
  });

  it('unknown fields at every depth are reported, map keys (labels, limits) are not', async () => {
    const ds = probeObject();
    (ds.metadata as Record<string, unknown>).lables = { a: 'b' };
    (ds.spec.template.spec.volumes[1].hostPath as Record<string, unknown>).readonly = true;
    ds.spec.template.metadata.labels['any.label/key'] = 'x';
    ds.spec.template.spec.containers[0].resources.limits['example.com/device'] = '1';
    const paths = (await validateKubeObject(ds)).map((i) => i.path);
    assert.deepEqual(paths.sort(), ['/metadata/lables', '/spec/template/spec/volumes/1/hostPath/readonly']);
  });

  it('a schema violation is reported with its path', async () => {
    const ds = probeObject();
    (ds.spec.template.spec as unknown as Record<string, unknown>).terminationGracePeriodSeconds = 'thirty';
    (ds.spec.template.spec.containers[0].volumeMounts[0] as unknown as Record<string, unknown>).mountPath = undefined;
    const issues = await validateKubeObject(JSON.parse(JSON.stringify(ds)));
    assert.deepEqual(issues.map((i) => `${i.path} ${i.message.split(':')[0]}`).sort(), ['/spec/template/spec/containers/0/volumeMounts/0 required', '/spec/template/spec/terminationGracePeriodSeconds type']);
  });

  it('an unknown kind is refused with what was looked for', async () => {
    await assert.rejects(validateKubeObject({ apiVersion: 'apps/v1', kind: 'DeamonSet', metadata: { name: 'x' } }), /no schema for apps\/v1 DeamonSet in kubernetes-models/);
  });
});

// ---- deploy/kubernetes ----

describe('deploy/kubernetes', () => {
  const { files, objects } = kustomizationResources(KUBE_DIR);

  it('the kustomization lists every manifest in the directory, and each object is schema-valid', async () => {
    const manifests = readdirSync(KUBE_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
    assert.deepEqual([...files].sort(), manifests);
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ClusterRole/tcpscope', 'ClusterRoleBinding/tcpscope', 'ConfigMap/tcpscope-config', 'DaemonSet/tcpscope', 'Namespace/observability', 'ServiceAccount/tcpscope',
    ]);
    for (const o of objects) if (o.kind !== 'Namespace' && o.kind !== 'ClusterRole' && o.kind !== 'ClusterRoleBinding') assert.equal(o.metadata.namespace, NAMESPACE, `${o.kind} ${o.metadata.name} namespace`);
    await assertSchemaValid(objects);
  });

  it('kubectl kustomize renders the same objects (where kubectl is installed; it is not required)', (t) => {
    const kubectl = spawnSync('kubectl', ['kustomize', KUBE_DIR], { encoding: 'utf8', timeout: 60_000 });
    if (kubectl.error) {
      t.skip(`kubectl is not installed (${kubectl.error.message}); the files were checked directly`);
      return;
    }
    assert.equal(kubectl.status, 0, kubectl.stderr);
    const rendered = parseObjects(kubectl.stdout, 'kubectl kustomize');
    const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
    assert.deepEqual(new Map(rendered.map((o) => [key(o), o])), new Map(objects.map((o) => [key(o), o])));
  });

  it('the ConfigMap holds exactly config/kubernetes.yaml, which the agent accepts', () => {
    const cm = find(objects, 'ConfigMap', 'tcpscope-config') as KubeObject & { data: Record<string, string> };
    assert.deepEqual(Object.keys(cm.data), ['config.yaml']);
    assert.equal(cm.data['config.yaml'], readFileSync(join(PACKAGE_ROOT, 'config', 'kubernetes.yaml'), 'utf8'));
    const config = validateAgentConfig(cm.data['config.yaml'], DAEMONSET_ENV);
    assert.equal(config.host.cgroup_root, '/host/sys/fs/cgroup');
    assert.equal(config.telemetry.health.endpoint, '0.0.0.0:13133');
  });

  it('bin/tcpscope validate accepts config/kubernetes.yaml', () => {
    const out = execFileSync(join(PACKAGE_ROOT, 'bin', 'tcpscope'), ['validate', '--config', join(PACKAGE_ROOT, 'config', 'kubernetes.yaml')], {
      encoding: 'utf8',
      env: { ...process.env, ...DAEMONSET_ENV },
      timeout: 60_000,
    });
    assert.match(out, /^config OK: .*config\/kubernetes\.yaml\n/);
  });

  it('the DaemonSet follows the naming contract and grants least privilege', async () => {
    const ds = find<Workload>(objects, 'DaemonSet', 'tcpscope');
    const cm = find(objects, 'ConfigMap', 'tcpscope-config') as KubeObject & { data: Record<string, string> };
    const config = validateAgentConfig(cm.data['config.yaml'], DAEMONSET_ENV);
    const pod = ds.spec.template.spec;
    assert.deepEqual(ds.spec.selector.matchLabels, ds.spec.template.metadata.labels);
    assert.equal(ds.spec.updateStrategy?.type, 'RollingUpdate');
    assert.equal(pod.serviceAccountName, 'tcpscope');
    assert.equal(pod.hostNetwork ?? false, false);
    assert.equal(pod.hostPID ?? false, false);
    assert.equal(pod.priorityClassName, 'system-node-critical');
    assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
    assert.equal(pod.containers.length, 1);
    const c = container(ds, 'tcpscope');

    // Config: the ConfigMap's key at the path the image's default command reads.
    assert.deepEqual(c.args, ['run', '--config', '/etc/tcpscope/config.yaml']);
    const mounts = new Map(c.volumeMounts.map((m) => [m.name, m]));
    const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
    assert.deepEqual(mounts.get('config'), { name: 'config', mountPath: '/etc/tcpscope', readOnly: true });
    assert.deepEqual(volumes.get('config'), { name: 'config', configMap: { name: 'tcpscope-config' } });

    // Host mounts, read-only; the cgroup one where the config's cgroup_root points.
    assert.deepEqual(mounts.get('tracefs'), { name: 'tracefs', mountPath: '/sys/kernel/tracing', readOnly: true });
    assert.deepEqual(volumes.get('tracefs'), { name: 'tracefs', hostPath: { path: '/sys/kernel/tracing', type: 'Directory' } });
    assert.deepEqual(mounts.get('host-cgroup'), { name: 'host-cgroup', mountPath: '/host/sys/fs/cgroup', readOnly: true, recursiveReadOnly: 'IfPossible' });
    assert.deepEqual(volumes.get('host-cgroup'), { name: 'host-cgroup', hostPath: { path: '/sys/fs/cgroup', type: 'Directory' } });
    assert.equal(config.host.cgroup_root, mounts.get('host-cgroup')?.mountPath);
    assert.equal(c.volumeMounts.length, 3);
    assert.equal(pod.volumes.length, 3);

    // Environment: node name from the downward API, the Collector, the health endpoint.
    const env = envOf(c);
    assert.deepEqual(env.get('K8S_NODE_NAME'), { name: 'K8S_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    assert.equal(env.get('OTLP_ENDPOINT')?.value, envDefault(parseYaml(cm.data['config.yaml']).exporters.otlp.endpoint, 'OTLP_ENDPOINT'));
    assert.equal(env.get('TCPSCOPE_HEALTH_ENDPOINT')?.value, '0.0.0.0:13133');

    // Probes on the health endpoint's port.
    assert.deepEqual(c.ports, [{ name: 'health', containerPort: 13133, protocol: 'TCP' }]);
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'health' });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'health' });

    // uid 0 with CAP_BPF and CAP_PERFMON only, the shipped seccomp profile.
    assert.deepEqual(c.securityContext, {
      runAsUser: 0,
      runAsGroup: 0,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['BPF', 'PERFMON'] },
      seccompProfile: { type: 'Localhost', localhostProfile: 'tcpscope.json' },
    });
    readFileSync(join(PACKAGE_ROOT, 'deploy', 'seccomp', c.securityContext.seccompProfile.localhostProfile!), 'utf8');

    // Resources from docs/benchmarks.md (see the manifest's comment): requests under limits.
    assert.deepEqual(c.resources, { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '384Mi' } });

    // The kubelet's SIGKILL comes after the agent's own bounded shutdown, never before.
    const limitMs = await shutdownLimitOf(config);
    assert.equal(limitMs, 16_000, 'one otlp exporter, timeout 10 s: 11 s + 5 s');
    assert.ok(pod.terminationGracePeriodSeconds * 1000 > limitMs, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} s above the agent's shutdown limit ${limitMs} ms`);
  });
});

// ---- RBAC ----

/** `group/resource/verb` for every rule of a ClusterRole. */
function grants(role: KubeObject & { rules?: Rule[] }): string[] {
  assert.ok(role.rules, 'a ClusterRole with rules');
  return [...new Set(role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}/${v}`)))))].sort();
}

/** What k8s_attributes watches (cluster_view.ts): this node's pods, ReplicaSets, Jobs; with peer naming also all pods, services, nodes. */
function needed(peer: boolean): string[] {
  const specs = [localPodsSpec('node-1', { labels: [], annotations: [] }), REPLICA_SETS_SPEC, JOBS_SPEC, ...(peer ? [PEER_PODS_SPEC, SERVICES_SPEC, NODES_SPEC] : [])];
  return [...new Set(specs.flatMap((spec) => ['get', 'list', 'watch'].map((verb) => `${spec.apiGroup}/${spec.resource}/${verb}`)))].sort();
}

test('deploy/kubernetes/rbac.yaml grants get, list and watch on exactly the collections k8s_attributes watches, bound to the agent\'s ServiceAccount', () => {
  const objects = parseObjects(readFileSync(join(KUBE_DIR, 'rbac.yaml'), 'utf8'), 'rbac.yaml');
  const role = find(objects, 'ClusterRole', 'tcpscope') as KubeObject & { rules: Rule[] };
  assert.deepEqual(grants(role), needed(true));
  for (const r of role.rules) assert.deepEqual([...r.verbs].sort(), ['get', 'list', 'watch'], 'read-only verbs');
  const binding = find(objects, 'ClusterRoleBinding', 'tcpscope') as KubeObject & { roleRef: unknown; subjects: unknown };
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tcpscope' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'tcpscope', namespace: NAMESPACE }]);
  find(objects, 'ServiceAccount', 'tcpscope');
});

// ---- the Helm chart ----

interface Rendered {
  objects: KubeObject[];
  config: ValidatedConfig;
  configText: string;
  daemonSet: Workload;
}

function helmTemplate(helm: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helm, ['template', 'tcpscope', CHART_DIR, '--namespace', NAMESPACE, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function render(helm: string, values: Record<string, unknown>): Rendered {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-helm-values-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
    const r = helmTemplate(helm, ['--values', file]);
    assert.equal(r.status, 0, `helm template with ${JSON.stringify(values)}:\n${r.stderr}`);
    const objects = parseObjects(r.stdout, 'helm template');
    const cm = objects.find((o) => o.kind === 'ConfigMap') as (KubeObject & { data: Record<string, string> }) | undefined;
    assert.ok(cm, 'a ConfigMap');
    const daemonSet = objects.find((o) => o.kind === 'DaemonSet') as Workload | undefined;
    assert.ok(daemonSet, 'a DaemonSet');
    const configText = cm.data['config.yaml'];
    return { objects, configText, daemonSet, config: validateAgentConfig(configText, DAEMONSET_ENV) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pipeline = (config: ValidatedConfig, signal: Signal) => config.pipelines.find((p) => p.id.signal === signal);

describe('deploy/helm/tcpscope', () => {
  it('helm lint --strict passes, with the defaults and with non-default values', (t) => {
    const helm = requireHelm(t);
    if (!helm) return;
    const valueSets: readonly (readonly string[])[] = [[], ['--set', 'seccomp.mode=runtimeDefault,k8sAttributes.peer=false,receivers.tcp_rtt.enabled=false,hostCgroupRecursiveReadOnly=']];
    for (const set of valueSets) {
      const r: SpawnSyncReturns<string> = spawnSync(helm, ['lint', '--strict', CHART_DIR, '--namespace', NAMESPACE, ...set], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, `helm lint ${set.join(' ')}:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('the default values render exactly the objects of deploy/kubernetes (the Namespace aside), the config semantically equal', async (t) => {
    const helm = requireHelm(t);
    if (!helm) return;
    const chart = render(helm, {});
    await assertSchemaValid(chart.objects);
    const plain = kustomizationResources(KUBE_DIR).objects.filter((o) => o.kind !== 'Namespace');
    const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
    assert.deepEqual(chart.objects.map(key).sort(), plain.map(key).sort());
    for (const expected of plain) {
      const actual = find(chart.objects, expected.kind, expected.metadata.name);
      if (expected.kind === 'ConfigMap') {
        // Comments differ (the chart's config is rendered from values); what the agent reads must not.
        const { data: expectedData, ...expectedRest } = expected as KubeObject & { data: Record<string, string> };
        const { data: actualData, ...actualRest } = actual as KubeObject & { data: Record<string, string> };
        assert.deepEqual(actualRest, expectedRest);
        assert.deepEqual(Object.keys(actualData), ['config.yaml']);
        assert.deepEqual(parseYaml(actualData['config.yaml']), parseYaml(expectedData['config.yaml']));
      } else {
        assert.deepEqual(actual, expected, `${key(expected)}: chart default differs from deploy/kubernetes`);
      }
    }
  });

  // Each value set: the objects are schema-valid, the config passes the agent's validation, and
  // what the values say is what the objects and the config do.
  const valueSets: { name: string; values: Record<string, unknown>; check(r: Rendered): void }[] = [
    {
      name: 'runtimeDefault seccomp: RuntimeDefault, and SYS_ADMIN added',
      values: { seccomp: { mode: 'runtimeDefault' } },
      check: ({ daemonSet }) => {
        const c = container(daemonSet, 'tcpscope');
        assert.deepEqual(c.securityContext.seccompProfile, { type: 'RuntimeDefault' });
        assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'], add: ['BPF', 'PERFMON', 'SYS_ADMIN'] });
      },
    },
    {
      name: 'tcp_lifecycle and tcp_handshake off: only tcp_rtt, no logs pipeline, no sampling',
      values: { receivers: { tcp_lifecycle: { enabled: false, collectionInterval: '30s' }, tcp_handshake: { enabled: false, collectionInterval: '30s' } } },
      check: ({ config }) => {
        assert.deepEqual([...config.receivers.keys()], ['tcp_rtt']);
        assert.deepEqual(pipeline(config, 'metrics')?.receivers, ['tcp_rtt']);
        assert.equal(pipeline(config, 'logs'), undefined);
        assert.deepEqual([...config.processors.keys()], ['k8s_attributes']);
      },
    },
    {
      name: 'tcp_rtt off, tcp_handshake at 10s: gone from the metrics pipeline too',
      values: { receivers: { tcp_rtt: { enabled: false, collectionInterval: '30s' }, tcp_handshake: { enabled: true, collectionInterval: '10s' } } },
      check: ({ config }) => {
        assert.deepEqual([...config.receivers.keys()].sort(), ['tcp_handshake', 'tcp_lifecycle']);
        assert.deepEqual(pipeline(config, 'metrics')?.receivers, ['tcp_lifecycle', 'tcp_handshake']);
        assert.deepEqual(pipeline(config, 'logs')?.receivers, ['tcp_lifecycle', 'tcp_handshake']);
        assert.equal((config.receivers.get('tcp_handshake')?.config as { collection_interval: string }).collection_interval, '10s');
      },
    },
    {
      name: 'collector endpoint, sampling, labels, health port, hybrid cgroup host, image',
      values: {
        collector: { endpoint: 'gateway.monitoring.svc:14317', compression: 'none' },
        sampling: { ratio: 0.05, minDuration: 2.5, keepErrors: false },
        k8sAttributes: { labels: ['team', 'app.kubernetes.io/version'], annotations: ['owner'], peer: true },
        health: { port: 8099 },
        hostCgroupPath: '/sys/fs/cgroup/unified',
        hostCgroupRecursiveReadOnly: 'Enabled',
        image: { repository: 'registry.example.com/tcpscope', tag: '0.1.0', pullPolicy: 'Always' },
      },
      check: ({ daemonSet, configText, config }) => {
        const doc = parseYaml(configText);
        const c = container(daemonSet, 'tcpscope');
        assert.equal(envDefault(doc.exporters.otlp.endpoint, 'OTLP_ENDPOINT'), 'gateway.monitoring.svc:14317');
        assert.equal(envOf(c).get('OTLP_ENDPOINT')?.value, 'gateway.monitoring.svc:14317');
        assert.deepEqual(doc.processors.sampling, { keep_errors: false, combine: 'any', policies: [{ hash: { ratio: 0.05 } }, { threshold: { field: 'tcp.duration', min: 2.5 } }] });
        assert.deepEqual(doc.processors.k8s_attributes.extract, { labels: ['team', 'app.kubernetes.io/version'], annotations: ['owner'] });
        assert.equal(config.telemetry.health.endpoint, '0.0.0.0:8099');
        assert.equal(envDefault(doc.service.telemetry.health.endpoint, 'TCPSCOPE_HEALTH_ENDPOINT'), '0.0.0.0:8099');
        assert.equal(envOf(c).get('TCPSCOPE_HEALTH_ENDPOINT')?.value, '0.0.0.0:8099');
        assert.deepEqual(c.ports, [{ name: 'health', containerPort: 8099, protocol: 'TCP' }]);
        assert.equal(c.image, 'registry.example.com/tcpscope:0.1.0');
        const host = daemonSet.spec.template.spec.volumes.find((v) => v.name === 'host-cgroup');
        assert.deepEqual(host?.hostPath, { path: '/sys/fs/cgroup/unified', type: 'Directory' });
        assert.equal(c.volumeMounts.find((m) => m.name === 'host-cgroup')?.recursiveReadOnly, 'Enabled');
      },
    },
    {
      name: 'peer naming off: no cluster-wide pods, services or nodes in the RBAC; recursiveReadOnly left out; no tolerations',
      values: { k8sAttributes: { peer: false }, hostCgroupRecursiveReadOnly: '', tolerations: [], priorityClassName: '' },
      check: ({ objects, config, daemonSet }) => {
        assert.deepEqual((config.processors.get('k8s_attributes')?.config as { peer: { enabled: boolean } }).peer.enabled, false);
        assert.deepEqual(grants(find(objects, 'ClusterRole', 'tcpscope') as KubeObject & { rules: Rule[] }), needed(false));
        const mount = container(daemonSet, 'tcpscope').volumeMounts.find((m) => m.name === 'host-cgroup');
        assert.deepEqual(mount, { name: 'host-cgroup', mountPath: '/host/sys/fs/cgroup', readOnly: true });
        assert.equal(daemonSet.spec.template.spec.tolerations, undefined);
        assert.equal(daemonSet.spec.template.spec.priorityClassName, undefined);
      },
    },
  ];

  for (const set of valueSets) {
    it(`values: ${set.name}`, async (t) => {
      const helm = requireHelm(t);
      if (!helm) return;
      const rendered = render(helm, set.values);
      await assertSchemaValid(rendered.objects);
      const enabled = [...rendered.config.receivers.keys()];
      for (const p of rendered.config.pipelines) for (const r of p.receivers) assert.ok(enabled.includes(r), `pipeline ${p.id.text} uses only receivers that are on`);
      set.check(rendered);
    });
  }

  it('the chart default RBAC matches the collections watched with peer naming on', (t) => {
    const helm = requireHelm(t);
    if (!helm) return;
    assert.deepEqual(grants(find(render(helm, {}).objects, 'ClusterRole', 'tcpscope') as KubeObject & { rules: Rule[] }), needed(true));
  });

  it('bad values are refused by helm with the value named', (t) => {
    const helm = requireHelm(t);
    if (!helm) return;
    const refused = (args: string[], pattern: RegExp) => {
      const r = helmTemplate(helm, args);
      assert.notEqual(r.status, 0, `helm template ${args.join(' ')} should fail`);
      assert.match(r.stderr, pattern);
    };
    refused(['--set', 'seccomp.mode=unconfined'], /seccomp\.mode/);
    refused(['--set', 'sampling.ratoi=0.5'], /Additional property ratoi is not allowed/);
    refused(['--set', 'sampling.ratio=2'], /sampling\.ratio/);
    refused(
      ['--set', 'receivers.tcp_lifecycle.enabled=false', '--set', 'receivers.tcp_handshake.enabled=false', '--set', 'receivers.tcp_rtt.enabled=false'],
      /receivers: turn on at least one of tcp_lifecycle, tcp_handshake, tcp_rtt/,
    );
  });
});

// ---- deploy/collector ----

interface CollectorConfig {
  extensions?: Record<string, unknown>;
  receivers: Record<string, { protocols?: { grpc?: { endpoint?: string } } }>;
  processors?: Record<string, unknown>;
  exporters: Record<string, unknown>;
  service: { extensions?: string[]; pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }> };
}

describe('deploy/collector', () => {
  const configText = readFileSync(join(COLLECTOR_DIR, 'config.yaml'), 'utf8');
  const config = parseYaml(configText) as CollectorConfig;
  const kustomization = parseYaml(readFileSync(join(COLLECTOR_DIR, 'kustomization.yaml'), 'utf8')) as {
    resources: string[];
    configMapGenerator: { name: string; namespace: string; files: string[]; options: { disableNameSuffixHash: boolean; labels: Record<string, string> } }[];
  };
  // The ConfigMap kustomize generates from config.yaml, built the way kustomize builds it.
  const generated: KubeObject[] = kustomization.configMapGenerator.map((g) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: g.name, namespace: g.namespace, labels: g.options.labels },
    data: Object.fromEntries(g.files.map((f) => [f, readFileSync(join(COLLECTOR_DIR, f), 'utf8')])),
  }));
  const objects = [...kustomizationResources(COLLECTOR_DIR).objects, ...generated];

  it('every object is schema-valid, all in the observability namespace', async () => {
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), ['ConfigMap/otel-collector-config', 'Deployment/otel-collector', 'Service/otel-collector']);
    for (const o of objects) assert.equal(o.metadata.namespace, NAMESPACE);
    const manifests = readdirSync(COLLECTOR_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'config.yaml').sort();
    assert.deepEqual([...kustomization.resources].sort(), manifests);
    await assertSchemaValid(objects);
  });

  it('kubectl kustomize renders the same objects (where kubectl is installed; it is not required)', (t) => {
    const kubectl = spawnSync('kubectl', ['kustomize', COLLECTOR_DIR], { encoding: 'utf8', timeout: 60_000 });
    if (kubectl.error) {
      t.skip(`kubectl is not installed (${kubectl.error.message}); the files were checked directly`);
      return;
    }
    assert.equal(kubectl.status, 0, kubectl.stderr);
    const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
    assert.deepEqual(new Map(parseObjects(kubectl.stdout, 'kubectl kustomize').map((o) => [key(o), o])), new Map(objects.map((o) => [key(o), o])));
  });

  it('the pipelines use only components the config defines, and every defined component is used', () => {
    const used = { receivers: new Set<string>(), processors: new Set<string>(), exporters: new Set<string>() };
    assert.deepEqual(Object.keys(config.service.pipelines).sort(), ['logs', 'metrics'], 'both signals tcpscope sends');
    for (const [name, p] of Object.entries(config.service.pipelines)) {
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        for (const id of p[kind] ?? []) {
          assert.ok(id in (config[kind] ?? {}), `pipeline ${name}: ${kind} ${id} is defined`);
          used[kind].add(id);
        }
      }
      assert.equal(p.processors?.[0], 'memory_limiter', `pipeline ${name}: memory_limiter first`);
    }
    for (const kind of ['receivers', 'processors', 'exporters'] as const) assert.deepEqual([...used[kind]].sort(), Object.keys(config[kind] ?? {}).sort(), `every ${kind} entry is in a pipeline`);
    for (const id of config.service.extensions ?? []) assert.ok(id in (config.extensions ?? {}), `extension ${id} is defined`);
  });

  it('the receiver port is the Service\'s and the container\'s, and tcpscope\'s default endpoint is that Service', async () => {
    const grpc = config.receivers.otlp.protocols?.grpc?.endpoint;
    assert.equal(grpc, '0.0.0.0:4317');
    const port = Number(grpc!.split(':').pop());
    const service = find(objects, 'Service', 'otel-collector') as KubeObject & { spec: { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string | number }[] } };
    const deployment = find<Workload>(objects, 'Deployment', 'otel-collector');
    const c = container(deployment, 'otel-collector');
    const servicePort = service.spec.ports.find((p) => p.name === 'otlp-grpc');
    assert.ok(servicePort);
    assert.equal(servicePort.port, port);
    assert.equal(c.ports.find((p) => p.name === servicePort.targetPort)?.containerPort, port);
    assert.deepEqual(service.spec.selector, deployment.spec.template.metadata.labels);
    const collectorEndpoint = `${service.metadata.name}.${service.metadata.namespace}.svc:${servicePort.port}`;
    assert.equal(collectorEndpoint, 'otel-collector.observability.svc:4317');

    // tcpscope points there by default: the shipped config, the DaemonSet, the chart.
    const shipped = parseYaml(readFileSync(join(PACKAGE_ROOT, 'config', 'kubernetes.yaml'), 'utf8'));
    assert.equal(envDefault(shipped.exporters.otlp.endpoint, 'OTLP_ENDPOINT'), collectorEndpoint);
    const ds = find<Workload>(kustomizationResources(KUBE_DIR).objects, 'DaemonSet', 'tcpscope');
    assert.equal(envOf(container(ds, 'tcpscope')).get('OTLP_ENDPOINT')?.value, collectorEndpoint);
    const values = parseYaml(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'));
    assert.equal(values.collector.endpoint, collectorEndpoint);

    // The Deployment mounts the generated ConfigMap where its args read it.
    assert.deepEqual(c.args, ['--config=/etc/otelcol/config.yaml']);
    assert.deepEqual(c.volumeMounts, [{ name: 'config', mountPath: '/etc/otelcol', readOnly: true }]);
    assert.deepEqual(deployment.spec.template.spec.volumes, [{ name: 'config', configMap: { name: 'otel-collector-config' } }]);
  });
});
