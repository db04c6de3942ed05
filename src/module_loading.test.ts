// Code a config does not use is never loaded: each package below costs megabytes of RSS (its
// sources stay in the heap once loaded), so the agent loads it only when a component needs it.
// Each case starts the agent in a fresh process (require.cache is per process) with the shipped
// factories and a stand-in receiver, and reads which packages were loaded once it ran.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { stringify as toYaml } from 'yaml';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DIST_ROOT } from '../test/support/child';

const CHILD = join(DIST_ROOT, 'test', 'support', 'loaded_modules_child.js');
const GRPC = '@grpc/grpc-js';
const METRICS_EXPORTER = '@opentelemetry/exporter-metrics-otlp-grpc';
const CLIENT_NODE = '@kubernetes/client-node';
/** The package's index (its generated protobuf code); the file exporter uses three small internal modules of it. */
const TRANSFORMER_INDEX = /@opentelemetry\/otlp-transformer\/build\/src\/index\.js$/;

const dir = mkdtempSync(join(tmpdir(), 'tcpscope-modules-'));
// An OTLP endpoint that accepts connections and is never sent anything (no records flow).
let endpoint: Server;
let port = 0;
before(async () => {
  endpoint = createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  port = (endpoint.address() as AddressInfo).port;
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await new Promise((resolve) => endpoint.close(resolve));
});

interface Loaded {
  readonly packages: readonly string[];
  readonly files: readonly string[];
}

function loadedWith(name: string, yaml: string, how: { readonly env?: NodeJS.ProcessEnv; readonly command?: readonly string[] } = {}): Loaded {
  const configPath = join(dir, `${name}.yaml`);
  writeFileSync(configPath, yaml);
  const [program, ...args] = how.command ?? [process.execPath];
  const run = spawnSync(program!, [...args, CHILD, configPath], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, KUBECONFIG: join(dir, 'no-kubeconfig'), KUBERNETES_SERVICE_HOST: '', ...how.env } });
  assert.equal(run.status, 0, `child failed (${run.status ?? run.signal}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Loaded;
}

const fileExporter = (name: string) => `  file/${name}: {path: ${JSON.stringify(join(dir, `${name}.jsonl`))}}`;
const otlpExporter = () => `  otlp: {endpoint: "127.0.0.1:${port}", tls: {insecure: true}}`;

describe('modules loaded by the configured components only', () => {
  it('file exporters and k8s_attributes in local mode (auth_type auto, no service account, no kubeconfig): no gRPC, no OTLP SDK exporter or protobuf code, no Kubernetes client', () => {
    const loaded = loadedWith(
      'file',
      ['receivers: {source: }', 'processors:', '  k8s_attributes: {auth_type: auto}', 'exporters:', fileExporter('metrics'), fileExporter('logs'),
        'service:', '  pipelines:', '    metrics: {receivers: [source], exporters: [file/metrics]}', '    logs: {receivers: [source], processors: [k8s_attributes], exporters: [file/logs]}', ''].join('\n'),
    );
    for (const name of [GRPC, METRICS_EXPORTER, CLIENT_NODE]) assert.ok(!loaded.packages.includes(name), `${name} was loaded`);
    assert.equal(loaded.files.filter((f) => TRANSFORMER_INDEX.test(f)).length, 0, 'otlp-transformer index was loaded');
  });

  it('otlp exporter in a logs pipeline only: its own gRPC over node:http2, not grpc-js, the SDK metrics exporter nor otlp-transformer', () => {
    const loaded = loadedWith(
      'otlp-logs',
      ['receivers: {source: }', 'exporters:', fileExporter('metrics'), otlpExporter(),
        'service:', '  pipelines:', '    metrics: {receivers: [source], exporters: [file/metrics]}', '    logs: {receivers: [source], exporters: [otlp]}', ''].join('\n'),
    );
    assert.ok(loaded.files.some((f) => f.endsWith('exporters/otlp/otlp_exporter.js')), 'the otlp exporter was loaded');
    // A send loads nothing more: grpc_unary_http2.test.ts checks that after a delivered export.
    for (const name of [GRPC, METRICS_EXPORTER]) assert.ok(!loaded.packages.includes(name), `${name} was loaded`);
    assert.equal(loaded.files.filter((f) => TRANSFORMER_INDEX.test(f)).length, 0, 'otlp-transformer index was loaded');
  });

  const apiPipeline = (authType: string) =>
    ['receivers: {source: }', 'processors:', `  k8s_attributes: {auth_type: ${authType}, node_name: node-1}`, 'exporters:', fileExporter('api-logs'),
      'service:', '  pipelines:', '    logs: {receivers: [source], processors: [k8s_attributes], exporters: [file/api-logs]}', ''].join('\n');

  it('k8s_attributes in API mode with a static kubeconfig (server, token): no Kubernetes client package', () => {
    const kubeconfig = join(dir, 'static-kubeconfig');
    writeFileSync(kubeconfig, toYaml({
      clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 'static' } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    }));
    const loaded = loadedWith('api-kubeconfig', apiPipeline('kubeConfig'), { env: { KUBECONFIG: kubeconfig } });
    assert.ok(loaded.files.some((f) => f.endsWith('k8s_attributes/kube_client.js')), 'the agent\'s own client was loaded: API mode');
    assert.ok(!loaded.packages.includes(CLIENT_NODE), `${CLIENT_NODE} was loaded`);
  });

  it('k8s_attributes in API mode with the in-cluster service account: no Kubernetes client package', () => {
    // The service account directory exists in the child's own mount namespace only: a tmpfs on /run.
    const accountDir = '/run/secrets/kubernetes.io/serviceaccount';
    const script = `mount -t tmpfs tcpscope-test /run && mkdir -p ${accountDir} && printf token > ${accountDir}/token && printf ca > ${accountDir}/ca.crt && exec "$0" "$@"`;
    const loaded = loadedWith('api-service-account', apiPipeline('serviceAccount'), {
      command: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, process.execPath],
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) },
    });
    assert.ok(loaded.files.some((f) => f.endsWith('k8s_attributes/kube_client.js')), 'the agent\'s own client was loaded: API mode');
    assert.ok(!loaded.packages.includes(CLIENT_NODE), `${CLIENT_NODE} was loaded`);
  });
});
