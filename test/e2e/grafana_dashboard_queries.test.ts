// Every PromQL query that ships with tcpscope returns data from a real Prometheus scraping the
// real agent: each panel target and variable of deploy/grafana/tcpscope.json and each ```promql
// block of docs/promql.md, found by walking the files (a new panel or cookbook entry is covered
// without touching this test). The agent runs with the prometheus exporter and with
// k8s_attributes against a stand-in Kubernetes API server, so the pod, namespace and workload
// labels the dashboard filters by are real; real connections come from kubelet-style cgroups of
// four pods (a Deployment's, a StatefulSet's, a DaemonSet's and a CronJob's): successes with
// payload both ways to a Service ClusterIP (a loopback address of the test's own), and refused
// connects. A query that returns nothing fails the test with the panel (or line) and the query.
// The cookbook's queries for classic RTT buckets run against a second Prometheus, started without
// native histograms (it scrapes the text format).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, DIST_ROOT, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { agentArgv, startAgent, stopAgent, testDir, writeAgentConfig, type AgentConfig } from '../support/agent';
import { cgroupPathOf, NODE, populateCluster, type LocalPod } from '../support/k8s_fixture';
import { containerId, KubeApiStandIn, ownerReference, podObject } from '../support/kube_api_server';
import { uniqueLoopbackAddress } from '../support/names';
import { startOtlpGrpcServer } from '../support/otlp-grpc-server';
import {
  cookbookQueries,
  dashboardVariables,
  loadDashboard,
  panelQueries,
  parseVariableQuery,
  substituteVariables,
  variableQueries,
  type Json,
} from '../support/dashboard_queries';
import { prometheusMissing, startPrometheusForTest, type PrometheusServer, type PromSample } from '../support/prometheus_server';
import { isCi, requireKernel } from '../support/kernel';

/** The exporter's start-up line, with the port it bound (the config asks for port 0). */
const SERVING = /serving GET \/metrics on (127\.0\.0\.1:\d+)/;
const CONNECT_ATTEMPTS = join(DIST_ROOT, 'test', 'support', 'connect_attempts.js');

/** Per pod and wave: connections that succeed (payload both ways) and connects that are refused. */
const CONNECTIONS = 3;
const REFUSED = 2;
const SEND_BYTES = 1000;
const REPLY_BYTES = 300;
/**
 * What the test substitutes for Grafana's interval variables: one window that covers the whole
 * test, so every rate() sees both waves of traffic (deploy/grafana/README.md documents it).
 */
const WINDOW = '5m';
const GRAFANA_GLOBALS = { __rate_interval: WINDOW, __interval: WINDOW, __range: WINDOW, __range_s: '300', __interval_ms: '300000' };

interface TestPod {
  readonly pod: LocalPod;
  /** The dashboard's workload_kind value for this pod's owner, and the owner's name. */
  readonly kinds: readonly { readonly label: string; readonly workload: string }[];
}

/** One value per dashboard variable: what a user picks in the dashboard's drop-downs. */
type Selection = Readonly<Record<string, string>>;

test('every query of the Grafana dashboard and of docs/promql.md returns data from a real Prometheus scraping the agent', async (t) => {
  if (!requireKernel(t)) return;
  const missing = prometheusMissing();
  if (missing) {
    if (isCi(process.env.CI)) assert.fail(missing);
    t.skip(missing);
    return;
  }
  const dir = testDir(t, 'tcpscope-e2e-grafana');
  const children: RunningChild[] = [];
  const cgroups: TestCgroup[] = [];
  const base = testCgroupBase('e2e-grafana');
  const api = new KubeApiStandIn();
  const backend = await startOtlpGrpcServer();
  t.after(async () => {
    for (const c of children) c.kill();
    for (const c of cgroups) c.remove(base);
    await backend.close();
    await api.stop();
  });

  // ---- A cluster: the shared fixture's pods, a DaemonSet's pod, a Service at a loopback address.
  await api.start();
  const serviceIp = uniqueLoopbackAddress();
  const fixture = populateCluster(api, { peerPodIp: '198.18.15.2', clusterIp: serviceIp, peerNodeIp: '198.18.15.3' });
  const shipper: LocalPod = {
    name: 'log-shipper-k7x2p',
    namespace: 'logging',
    uid: randomUUID(),
    containerId: containerId(),
    layout: 'systemd-containerd',
    expected: { 'k8s.namespace.name': 'logging', 'k8s.pod.name': 'log-shipper-k7x2p', 'k8s.daemonset.name': 'log-shipper' },
  };
  api.apply('pods', podObject({
    name: shipper.name, namespace: shipper.namespace, uid: shipper.uid, nodeName: NODE, ip: '198.18.15.14',
    ownerReferences: [ownerReference('DaemonSet', 'log-shipper')],
    containers: [{ name: 'shipper', image: 'registry.example/shipper:3.1', id: shipper.containerId }],
  }));
  const pods: TestPod[] = [
    { pod: fixture.checkout, kinds: [{ label: 'k8s_deployment_name', workload: 'checkout' }] },
    { pod: fixture.cart, kinds: [{ label: 'k8s_statefulset_name', workload: 'cart' }] },
    { pod: shipper, kinds: [{ label: 'k8s_daemonset_name', workload: 'log-shipper' }] },
    { pod: fixture.backup, kinds: [{ label: 'k8s_cronjob_name', workload: 'backup' }, { label: 'k8s_job_name', workload: 'backup-29345678' }] },
  ];
  const kubeconfig = join(dir, 'kubeconfig');
  api.writeKubeconfig(kubeconfig);
  const podCgroups = new Map(pods.map(({ pod }) => {
    const cgroup = TestCgroup.create(cgroupPathOf(pod, base));
    cgroups.push(cgroup);
    return [pod.name, cgroup] as const;
  }));

  // ---- The agent: every receiver, k8s_attributes with API access, Prometheus for metrics, OTLP for
  // events (so that the exporter health panels have an exporter that queues, drops and delays).
  const config: AgentConfig = {
    receivers: {
      tcp_lifecycle: { collection_interval: '1s' },
      tcp_handshake: { collection_interval: '1s' },
      // Every segment a sample, per peer address: the peer Service panels need network.peer.address.
      tcp_rtt: { collection_interval: '1s', sample_interval: 0, group_by: ['cgroup', 'peer_address'] },
    },
    processors: {
      k8s_attributes: { auth_type: 'kubeConfig', node_name: NODE, peer: { enabled: true } },
      // Pushed down to the kernel (the logs pipeline starts with it): sampled_out_events is exported.
      sampling: { keep_errors: true, policies: [{ hash: { ratio: 0.5 } }] },
    },
    exporters: {
      prometheus: { endpoint: '127.0.0.1:0' },
      otlp: { endpoint: backend.endpoint, tls: { insecure: true } },
    },
    pipelines: {
      metrics: { receivers: ['tcp_lifecycle', 'tcp_handshake', 'tcp_rtt'], processors: ['k8s_attributes'], exporters: ['prometheus'] },
      logs: { receivers: ['tcp_lifecycle', 'tcp_handshake'], processors: ['sampling', 'k8s_attributes'], exporters: ['otlp'] },
    },
  };
  const agent = await startAgent(children, agentArgv(writeAgentConfig(dir, config)), {
    env: { ...process.env, KUBECONFIG: kubeconfig, K8S_NODE_NAME: NODE },
    ready: (stderr) => SERVING.test(stderr) && (stderr.match(/attached /g) ?? []).length >= 3,
    what: 'the agent to attach its three receivers and serve /metrics',
  });
  // The informers open their watches only after the list has landed in their stores.
  const watching = (kind: 'pods' | 'replicasets' | 'jobs' | 'services') => api.requests(kind).some((r) => r.verb === 'watch');
  await waitUntil(() => watching('pods') && watching('replicasets') && watching('jobs') && watching('services'), DEADLINE_MS, 'the agent to sync pods, owners and services', () => agent.stderr());

  const target = scrapeTarget(agent.stderr());
  const prometheus = await startPrometheusForTest(t, { scrapeTargets: [target] });
  // A Prometheus without native histograms scrapes the text format: the RTT as classic buckets,
  // for the cookbook's queries marked for it.
  const classic = await startPrometheusForTest(t, { scrapeTargets: [target], nativeHistograms: false });

  // ---- Traffic, in two waves with a scrape between them: rate() needs an increase between two
  // samples, and the second wave makes one for every series the first created.
  const server = startChild(podCgroups.get(fixture.checkout.name)!.wrap([process.execPath, TCP_PEER, 'server', String(REPLY_BYTES), 'client-first']));
  children.push(server);
  const { dual } = await server.nextJson<{ dual: number }>();
  const wave = async () => {
    await Promise.all(pods.map(async ({ pod }) => {
      const cgroup = podCgroups.get(pod.name)!;
      const client = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'client', serviceIp, String(dual), String(CONNECTIONS), String(SEND_BYTES), '0', 'client-first']));
      children.push(client);
      assert.deepEqual(await resultOf(client, `${pod.name}'s client`), { done: CONNECTIONS }, `${pod.name}: connections`);
      // Port 1 of a loopback address nothing else uses: refused for certain.
      const refusals = startChild(cgroup.wrap([process.execPath, CONNECT_ATTEMPTS, uniqueLoopbackAddress(), '1', String(REFUSED)]));
      children.push(refusals);
      assert.deepEqual(await resultOf(refusals, `${pod.name}'s refused connects`), { ECONNREFUSED: REFUSED }, `${pod.name}: refused connects`);
    }));
  };
  // After each wave, every receiver's series must have been scraped with that wave in them: the
  // exact truth for counts and bytes, a grown sample count for the RTT (its samples per
  // connection are the kernel's to decide). Otherwise a rate() could see no increase.
  const rttSamples = new Map<string, number>();
  const classicRttSamples = new Map<string, number>();
  for (const waves of [1, 2]) {
    await wave();
    const expect = async (server: PrometheusServer, what: string, promql: string, want: (pod: LocalPod) => number | ((seen: number) => boolean)) => {
      const ok = (pod: LocalPod, seen: PromSample | undefined) => {
        const value = Number(seen?.value?.[1]);
        const w = want(pod);
        return typeof w === 'number' ? value === w : w(value);
      };
      return server.waitFor(
        promql,
        (result) => pods.every(({ pod }) => ok(pod, result.find((s) => s.metric.k8s_pod_name === pod.name))),
        `${what} of wave ${waves} per pod`,
      );
    };
    for (const server of [prometheus, classic]) {
      await expect(server, 'outbound connect attempts', 'sum by (k8s_pod_name) (system_network_tcp_handshake_duration_seconds_count{network_tcp_handshake_role="client"})', () => waves * (CONNECTIONS + REFUSED));
      await expect(server, 'refused connects', 'sum by (k8s_pod_name) (system_network_tcp_handshake_duration_seconds_count{error_type="ECONNREFUSED"})', () => waves * REFUSED);
      await expect(server, 'closed client connections', 'sum by (k8s_pod_name) (system_network_tcp_connection_duration_seconds_count{network_tcp_handshake_role="client"})', () => waves * CONNECTIONS);
      await expect(server, 'payload sent by clients', 'sum by (k8s_pod_name) (system_network_tcp_io_bytes_total{network_tcp_handshake_role="client", network_io_direction="transmit"})', () => waves * CONNECTIONS * SEND_BYTES);
      await expect(server, 'payload received by clients', 'sum by (k8s_pod_name) (system_network_tcp_io_bytes_total{network_tcp_handshake_role="client", network_io_direction="receive"})', () => waves * CONNECTIONS * REPLY_BYTES);
    }
    // The same RTT samples reach both: as a native histogram, and as classic buckets.
    const rtt = await expect(prometheus, 'RTT samples', 'histogram_count(sum by (k8s_pod_name) (system_network_tcp_rtt_duration_seconds))', (pod) => (seen) => seen > (rttSamples.get(pod.name) ?? 0));
    for (const s of rtt) rttSamples.set(s.metric.k8s_pod_name ?? '', Number(s.value?.[1]));
    const classicRtt = await expect(classic, 'RTT samples (classic)', 'sum by (k8s_pod_name) (system_network_tcp_rtt_duration_seconds_count)', (pod) => (seen) => seen >= rttSamples.get(pod.name)! && seen > (classicRttSamples.get(pod.name) ?? 0));
    for (const s of classicRtt) classicRttSamples.set(s.metric.k8s_pod_name ?? '', Number(s.value?.[1]));
  }
  // Every connection was served by the checkout pod: its server side saw them all.
  await prometheus.waitFor(
    `sum(system_network_tcp_connection_duration_seconds_count{k8s_pod_name="${fixture.checkout.name}", network_tcp_handshake_role="server"})`,
    (result) => result[0]?.value?.[1] === String(2 * pods.length * CONNECTIONS),
    'the server side of every connection in the checkout pod',
  );

  // ---- Every query, for every selection of the dashboard's variables.
  const dashboard = loadDashboard();
  const selections = dashboardSelections(dashboard, pods);
  // A query without variables is the same in every selection: asked once, reported once.
  const problems = new Map<string, Promise<string | undefined>>();
  const problemOf = (expr: string) => {
    if (!problems.has(expr)) problems.set(expr, emptyOrError(prometheus, expr));
    return problems.get(expr)!;
  };
  const failures = new Set<string>();
  for (const selection of selections) {
    const values = { ...GRAFANA_GLOBALS, ...selection };
    const label = Object.entries(selection).map(([k, v]) => `${k}=${v}`).join(' ');
    for (const q of panelQueries(dashboard)) {
      const expr = substituteVariables(q.expr, values, q.where);
      const problem = await problemOf(expr);
      if (problem) failures.add(`${q.where}${expr === q.expr ? '' : ` [${label}]`}: ${problem}\n    ${expr}`);
    }
    for (const v of variableQueries(dashboard)) {
      const parsed = parseVariableQuery(substituteVariables(v.query, values, v.where), v.where);
      const options = await variableOptions(prometheus, parsed);
      const expected = selection[v.name];
      if (options.length === 0) failures.add(`${v.where} [${label}]: no values\n    ${v.query}`);
      else if (expected !== undefined && !isAllValue(dashboard, v.name, expected) && !options.includes(expected)) {
        failures.add(`${v.where} [${label}]: ${JSON.stringify(expected)} is not among its values ${JSON.stringify(options)}\n    ${v.query}`);
      }
    }
  }
  // The check itself can fail: a pod that does not exist has no data.
  assert.equal(await emptyOrError(prometheus, 'sum(system_network_tcp_io_bytes_total{k8s_pod_name="no-such-pod"})'), 'no data');
  for (const q of cookbookQueries()) {
    const problem = q.histograms === 'classic' ? await emptyOrError(classic, q.expr) : await problemOf(q.expr);
    if (problem) failures.add(`${q.where}: ${problem}\n    ${q.expr}`);
  }
  if (failures.size > 0) assert.fail(`${failures.size} queries return nothing:\n${[...failures].join('\n')}`);

  // Beyond "returns data": a panel whose value the test knows exactly, for each pod's workload.
  // Every connection carried SEND_BYTES one way and REPLY_BYTES the other (the checkout pod also
  // has the server ends: the mean per connection is the same). Exact although rate()
  // extrapolates: a close adds its bytes and its count in the same export, so the two rates of a
  // series pair see the same samples. (The failure ratio is not exact in the same way: refused
  // and successful attempts are different series, first scraped at different times.)
  const truths: [title: string, value: number][] = [['Mean payload bytes per closed connection by workload', SEND_BYTES + REPLY_BYTES]];
  for (const [title, want] of truths) {
    const queries = panelQueries(dashboard).filter((q) => q.panelTitle === title);
    assert.equal(queries.length, 1, `one query in the panel "${title}" (renamed? update this test)`);
    for (const selection of selections.slice(0, -1)) {
      const expr = substituteVariables(queries[0].expr, { ...GRAFANA_GLOBALS, ...selection }, queries[0].where);
      const result = await prometheus.query(expr);
      assert.equal(result.length, 1, `${title} for ${selection.workload}: one series\n${expr}\n${JSON.stringify(result)}`);
      const value = Number(result[0].value?.[1]);
      assert.ok(Math.abs(value - want) <= want * 1e-9, `${title} for ${selection.workload}: ${value}, want ${want}\n${expr}`);
    }
  }

  await stopAgent(agent);
});

/**
 * The child's JSON line; if it ends without one, an error with its exit status and all of its
 * stderr ('exit' can come before the last stderr data: wait for 'close', which comes after).
 */
async function resultOf(child: RunningChild, what: string): Promise<unknown> {
  try {
    return await child.nextJson();
  } catch (error) {
    const closed = child.process.stdout?.closed === true && child.process.stderr?.closed === true;
    if (!closed) await Promise.race([once(child.process, 'close'), new Promise((r) => setTimeout(r, DEADLINE_MS).unref())]);
    throw new Error(`${what}: ${(error as Error).message}; exit code ${child.process.exitCode}, signal ${child.process.signalCode}; stderr: ${child.stderr()}`);
  }
}

/** The host:port the agent's prometheus exporter said it listens on. */
function scrapeTarget(stderr: string): string {
  const match = SERVING.exec(stderr);
  assert.ok(match, `the prometheus exporter's listening line:\n${stderr}`);
  return match[1];
}

/**
 * The selections the dashboard is checked with: per pod and per workload kind that pod has, the
 * pod's namespace, owner and name; and one with every query variable at its "All" value. Every
 * option of every custom variable (the workload kinds) must be covered by a pod of this test.
 */
function dashboardSelections(dashboard: { [key: string]: Json }, pods: readonly TestPod[]): Selection[] {
  const selections: Selection[] = [];
  for (const { pod, kinds } of pods) {
    for (const kind of kinds) selections.push({ datasource: 'prometheus', namespace: pod.namespace, workload_kind: kind.label, workload: kind.workload, pod: pod.name });
  }
  const variables = dashboardVariables(dashboard);
  for (const v of variables.filter((x) => x.type === 'custom')) {
    for (const option of v.options) {
      assert.ok(selections.some((s) => s[v.name] === option), `no pod of this test covers $${v.name}=${option}: add one`);
    }
  }
  const all: Record<string, string> = { ...selections[0] };
  for (const v of variables.filter((x) => x.type === 'query')) all[v.name] = allValue(dashboard, v.name);
  selections.push(all);
  // A variable the dashboard gains later must get a value here, or substitution throws.
  for (const v of variables) assert.ok(v.name in selections[0], `the test has no value for $${v.name}`);
  return selections;
}

function variableJson(dashboard: { [key: string]: Json }, name: string): { [key: string]: Json } {
  const list = ((dashboard.templating as { [key: string]: Json }).list as Json[]) ?? [];
  const found = list.find((v) => v !== null && typeof v === 'object' && !Array.isArray(v) && v.name === name);
  assert.ok(found && typeof found === 'object' && !Array.isArray(found), `variable $${name}`);
  return found;
}

/** What Grafana substitutes when "All" is picked: the variable's allValue (or every option joined). */
function allValue(dashboard: { [key: string]: Json }, name: string): string {
  const v = variableJson(dashboard, name);
  assert.ok(v.includeAll === true && typeof v.allValue === 'string' && v.allValue !== '', `$${name} offers "All" with an allValue`);
  return v.allValue;
}

function isAllValue(dashboard: { [key: string]: Json }, name: string, value: string): boolean {
  const v = variableJson(dashboard, name);
  return v.includeAll === true && v.allValue === value;
}

/** Undefined when `expr` returns at least one sample that is a number or a histogram; else why not. */
async function emptyOrError(prometheus: PrometheusServer, expr: string): Promise<string | undefined> {
  let result;
  try {
    result = await prometheus.query(expr);
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
  if (result.length === 0) return 'no data';
  const usable = result.filter((s) => s.histogram !== undefined || (s.value !== undefined && s.value[1] !== 'NaN'));
  if (usable.length === 0) return `only NaN (${result.length} series)`;
  return undefined;
}

/** GET a Prometheus HTTP API path; its `data`, or an error with Prometheus' message. */
async function apiGet<T>(prometheus: PrometheusServer, path: string, params: URLSearchParams): Promise<T> {
  const response = await fetch(`${prometheus.url}${path}?${params}`);
  const body = (await response.json()) as { status: string; error?: string; data?: T };
  if (body.status !== 'success' || body.data === undefined) throw new Error(`GET ${path}?${params} failed: ${body.error ?? response.status}`);
  return body.data;
}

/**
 * The values a variable offers, asked of Prometheus the way Grafana's Prometheus data source
 * does: label_values(selector, label) from /api/v1/series, label_values(label) from
 * /api/v1/label/<label>/values, label_names() from /api/v1/labels, query_result() from a query.
 */
async function variableOptions(prometheus: PrometheusServer, parsed: ReturnType<typeof parseVariableQuery>): Promise<string[]> {
  // The same window as the queries': series seen during the test.
  const range = { start: String(Date.now() / 1000 - 300), end: String(Date.now() / 1000) };
  switch (parsed.kind) {
    case 'label_values': {
      if (parsed.match === undefined) return apiGet<string[]>(prometheus, `/api/v1/label/${encodeURIComponent(parsed.label)}/values`, new URLSearchParams(range));
      const series = await apiGet<Record<string, string>[]>(prometheus, '/api/v1/series', new URLSearchParams({ 'match[]': parsed.match, ...range }));
      return [...new Set(series.flatMap((labels) => (labels[parsed.label] === undefined ? [] : [labels[parsed.label]])))];
    }
    case 'label_names':
      return apiGet<string[]>(prometheus, '/api/v1/labels', new URLSearchParams(parsed.match === undefined ? range : { 'match[]': parsed.match, ...range }));
    case 'query_result':
      return (await prometheus.query(parsed.expr)).map((s) => JSON.stringify(s.metric));
  }
}
