// End to end with a real Prometheus: the real `tcpscope run` process with tcp_lifecycle,
// tcp_handshake and tcp_rtt feeding the prometheus exporter (and the file exporter, whose
// OTLP/JSON is the truth of what the kernel histograms held), real connections from test
// cgroups, and Debian's Prometheus scraping the agent every second with native histograms on.
// PromQL then must give the truth: connection counts, bytes and refused connects exactly, the RTT
// median in the kernel histogram's median bucket, the metric and label names docs/prometheus.md
// lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metricRows } from '../../src/exporters/prometheus/names_doc';
import { prometheusLabelName } from '../../src/exporters/prometheus/naming';
import { METRICS } from '../../src/telemetry/signals';
import { agentArgv, startAgent, stopAgent, testDir, writeAgentConfig } from '../support/agent';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, DIST_ROOT, startChild, type RunningChild } from '../support/child';
import { isCi, requireKernel } from '../support/kernel';
import { createTestLink } from '../support/netns';
import { prometheusMissing, startPrometheusForTest, type PromSample } from '../support/prometheus_server';
import { startTcpPeers } from '../support/tcp_peers';

const CONNECTIONS = 6;
const SEND = 4321;
const REPLY = 1234;
const REFUSED = 7;
/** Port 1 on the loopback of a namespace the test made: nobody listens, connects are refused. */
const CLOSED_PORT = 1;
const CONNECT_ATTEMPTS = join(DIST_ROOT, 'test', 'support', 'connect_attempts.js');
const PINGPONG = join(DIST_ROOT, 'test', 'support', 'pingpong_peer.js');
// As in test/kernel/tcp_rtt_shaped.test.ts: each 64-byte reply is one 130-byte frame through tbf
// at 8000 bytes/s with a one-frame bucket, which adds up to 130 / 8000 s = 16.25 ms to each round
// trip; the median must lie within half to one and a half times that.
const ROUNDS = 300;
const FRAME_BYTES = 130;
const RATE_BYTES_PER_S = 8000;
const EXPECTED_RTT_S = FRAME_BYTES / RATE_BYTES_PER_S;
const RTT_SCALE = 3;

const RTT = 'system.network.tcp.rtt.duration';

interface ExponentialPoint {
  readonly count: number;
  readonly scale: number;
  readonly offset: number;
  readonly bucketCounts: readonly number[];
}

/** The RTT points of `cgroupAttribute` in the file exporter's output, one per export, in order. */
function rttPointsInFile(path: string, cgroupAttribute: string): ExponentialPoint[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const points: ExponentialPoint[] = [];
  for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean)) {
    const request = JSON.parse(line) as {
      resourceMetrics?: { scopeMetrics: { metrics: { name: string; exponentialHistogram?: { dataPoints: Record<string, unknown>[] } }[] }[] }[];
    };
    for (const rm of request.resourceMetrics ?? []) {
      for (const sm of rm.scopeMetrics) {
        for (const metric of sm.metrics) {
          if (metric.name !== RTT || !metric.exponentialHistogram) continue;
          for (const p of metric.exponentialHistogram.dataPoints) {
            const attributes = p.attributes as { key: string; value: { stringValue?: string } }[];
            if (!attributes.some((a) => a.key === 'process.linux.cgroup' && a.value.stringValue === cgroupAttribute)) continue;
            const positive = p.positive as { offset?: number; bucketCounts?: string[] } | undefined;
            points.push({
              count: Number(p.count),
              scale: Number(p.scale),
              offset: positive?.offset ?? 0,
              bucketCounts: (positive?.bucketCounts ?? []).map(Number),
            });
          }
        }
      }
    }
  }
  return points;
}

/** The OpenTelemetry bucket index holding the median: the first whose cumulative count reaches count / 2 (what histogram_quantile picks). */
function medianIndex(p: ExponentialPoint): number {
  let seen = 0;
  for (const [j, n] of p.bucketCounts.entries()) {
    seen += n;
    if (seen >= p.count / 2) return p.offset + j;
  }
  return NaN;
}

const only = (result: PromSample[], what: string): number => {
  assert.equal(result.length, 1, `${what}: one series, got ${JSON.stringify(result)}`);
  return Number(result[0].value?.[1]);
};

test('Prometheus scraping the agent: counts, bytes and refused connects equal the truth; the RTT median is in the kernel\'s median bucket', async (t) => {
  if (!requireKernel(t)) return;
  const missing = prometheusMissing();
  if (missing) {
    if (isCi(process.env.CI)) assert.fail(missing);
    t.skip(missing);
    return;
  }
  const suffix = randomBytes(3).toString('hex');
  const base = testCgroupBase('e2e-prom');
  const children: RunningChild[] = [];
  let apps: TestCgroup | undefined;
  let rtt: TestCgroup | undefined;
  let link: ReturnType<typeof createTestLink> | undefined;
  t.after(() => {
    for (const c of children) c.kill();
    link?.cleanup();
    apps?.remove();
    rtt?.remove(base);
  });
  apps = TestCgroup.create(`${base}/apps`);
  rtt = TestCgroup.create(`${base}/rtt`);
  link = createTestLink(`pm${suffix}`, 15);
  link.run(link.peer, ['tc', 'qdisc', 'add', 'dev', link.peerDevice, 'root', 'tbf', 'rate', `${(RATE_BYTES_PER_S * 8) / 1000}kbit`, 'burst', String(FRAME_BYTES), 'latency', '1s']);

  const dir = testDir(t, 'tcpscope-e2e-prom');
  const out = join(dir, 'metrics.jsonl');
  const config = writeAgentConfig(dir, {
    receivers: {
      tcp_lifecycle: { collection_interval: '500ms' },
      tcp_handshake: { collection_interval: '500ms' },
      // every segment a sample, as in the shaped tcp_rtt test whose band this test reuses
      tcp_rtt: { collection_interval: '500ms', scale: RTT_SCALE, sample_interval: '0' },
    },
    exporters: { prometheus: { endpoint: '127.0.0.1:0' }, file: { path: out, flush_interval: '100ms' } },
    pipelines: { metrics: { receivers: ['tcp_lifecycle', 'tcp_handshake', 'tcp_rtt'], exporters: ['prometheus', 'file'] } },
  });
  // Port 0: the agent binds a free port itself and logs it, so no port can be taken in between.
  const serving = /serving GET \/metrics on 127\.0\.0\.1:(\d+)/;
  const agent = await startAgent(children, agentArgv(config), {
    ready: (stderr) => serving.test(stderr) && (stderr.match(/attached /g) ?? []).length >= 3,
    what: 'the agent to attach its three receivers and serve /metrics',
  });
  const target = `127.0.0.1:${serving.exec(agent.stderr())![1]}`;
  const prom = await startPrometheusForTest(t, { scrapeTargets: [target] });
  await prom.waitFor('up{job="tcpscope"} == 1', (r) => r.length === 1, 'a successful scrape of the agent');

  // The truth: connections with known bytes, refused connects, a shaped ping-pong.
  const { client } = await startTcpPeers(apps, children, { connections: CONNECTIONS, replyBytes: REPLY, sendBytes: SEND, holdMs: 10 });
  assert.deepEqual(await client.nextJson(), { done: CONNECTIONS });
  const refused = startChild(apps.wrap(['ip', 'netns', 'exec', link.isolated, process.execPath, CONNECT_ATTEMPTS, '127.0.0.1', String(CLOSED_PORT), String(REFUSED)]));
  children.push(refused);
  assert.deepEqual(await refused.nextJson(), { ECONNREFUSED: REFUSED });
  const pongServer = startChild(['ip', 'netns', 'exec', link.peer, process.execPath, PINGPONG, 'server', link.peerV4]);
  children.push(pongServer);
  const { port } = await pongServer.nextJson<{ port: number }>();
  const pingClient = startChild(rtt.wrap(['ip', 'netns', 'exec', link.client, process.execPath, PINGPONG, 'client', link.peerV4, String(port), String(ROUNDS)]));
  children.push(pingClient);
  await pingClient.nextJson(60_000); // keeps its connection open, idle, until killed

  const apps_ = `process_linux_cgroup="${apps.attribute}"`;
  const wait = (promql: string, expected: number, what: string) =>
    prom.waitFor(promql, (r) => r.length === 1 && Number(r[0].value?.[1]) === expected, `${what} = ${expected}`, 2 * DEADLINE_MS);
  const results: string[] = [];
  const check = async (promql: string, expected: number, what: string) => {
    const value = only(await wait(promql, expected, what), what);
    assert.equal(value, expected, what);
    results.push(`${what}: PromQL ${value}, truth ${expected}  [${promql}]`);
  };
  for (const role of ['client', 'server']) {
    const series = `${apps_},network_tcp_handshake_role="${role}"`;
    await check(`sum(system_network_tcp_connection_duration_seconds_count{${series}})`, CONNECTIONS, `${role}: connections closed`);
    await check(`sum(system_network_tcp_io_bytes_total{${series},network_io_direction="transmit"})`, CONNECTIONS * (role === 'client' ? SEND : REPLY), `${role}: bytes sent`);
    await check(`sum(system_network_tcp_io_bytes_total{${series},network_io_direction="receive"})`, CONNECTIONS * (role === 'client' ? REPLY : SEND), `${role}: bytes received`);
  }
  await check(`sum(system_network_tcp_handshake_duration_seconds_count{${apps_},network_tcp_handshake_role="client",error_type=""})`, CONNECTIONS, 'successful connects');
  await check(`sum(system_network_tcp_handshake_duration_seconds_count{${apps_},error_type="ECONNREFUSED"})`, REFUSED, 'refused connects');
  await check(`sum by (error_type) (system_network_tcp_handshake_duration_seconds_count{${apps_},error_type!=""})`, REFUSED, 'failures of every error_type');

  // RTT: the native histogram's median against the kernel histogram of the same read. The
  // ping-pong is over and its connection idle, so the count stops changing; wait until
  // Prometheus has the count of the file exporter's latest export of that series.
  const rttSeries = `system_network_tcp_rtt_duration_seconds{process_linux_cgroup="${rtt.attribute}"}`;
  let truth: ExponentialPoint | undefined;
  await prom.waitFor(
    `histogram_count(${rttSeries})`,
    (r) => {
      truth = rttPointsInFile(out, rtt!.attribute).at(-1);
      return truth !== undefined && truth.count >= ROUNDS / 2 && r.length === 1 && Number(r[0].value?.[1]) === truth.count;
    },
    'the RTT sample count in Prometheus equal to the kernel histogram\'s',
    2 * DEADLINE_MS,
  );
  assert.ok(truth);
  assert.equal(truth.scale, RTT_SCALE);
  const [native] = await prom.query(rttSeries);
  assert.ok(native?.histogram, `the RTT arrives as a native histogram: ${JSON.stringify(native)}`);
  assert.equal(Number(native.histogram[1].count), truth.count);
  const median = only(await prom.query(`histogram_quantile(0.5, ${rttSeries})`), 'RTT median');
  const index = medianIndex(truth);
  const lower = 2 ** (index / 2 ** RTT_SCALE);
  const upper = 2 ** ((index + 1) / 2 ** RTT_SCALE);
  results.push(`RTT median: PromQL ${median} s, kernel median bucket (${lower}, ${upper}] s, ${truth.count} samples, shaping ${EXPECTED_RTT_S} s`);
  assert.ok(median > lower && median <= upper, `histogram_quantile ${median} s in the kernel's median bucket (${lower}, ${upper}]`);
  assert.ok(median >= EXPECTED_RTT_S * 0.5 && median <= EXPECTED_RTT_S * 1.5, `RTT median ${median} s within half to 1.5 times the shaping delay ${EXPECTED_RTT_S} s`);

  // Names: every tcpscope metric Prometheus has is one docs/prometheus.md lists, with only the
  // labels it lists (plus job, instance and the scope labels).
  const documented = new Map(metricRows().map((row) => [row.prometheusName, new Set(row.labels)]));
  const names = (await prom.query('count by (__name__) ({job="tcpscope"})')).map((s) => s.metric.__name__);
  const scraped = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added', 'target_info']);
  for (const name of names) {
    if (scraped.has(name)) continue;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(documented.has(name) || documented.has(family), `${name} is documented in docs/prometheus.md`);
  }
  const exercised = new Set<string>([METRICS.io.name, METRICS.handshakeDuration.name, METRICS.rttDuration.name, METRICS.connectionDuration.name]);
  for (const row of metricRows().filter((r) => exercised.has(r.otlpName))) {
    const series = await prom.query(`{__name__=~"${row.prometheusName}(_count)?", job="tcpscope"}`);
    assert.ok(series.length > 0, `${row.prometheusName} is in Prometheus`);
    const allowed = new Set([...row.labels, '__name__', 'job', 'instance', 'otel_scope_name', 'otel_scope_version']);
    for (const s of series) for (const label of Object.keys(s.metric)) assert.ok(allowed.has(label), `${row.prometheusName}: label ${label} is documented`);
  }
  assert.equal(prometheusLabelName('error.type'), 'error_type');
  const info = await prom.query('target_info{job="tcpscope"}');
  assert.equal(info.length, 1);
  assert.equal(info[0].metric.service_name, 'tcpscope');
  assert.ok(info[0].metric.service_instance_id, 'target_info has service_instance_id');

  // A removed cgroup's series leave: the receivers drop them from the kernel maps after the export
  // with their final values, the exporter serves those once more, and Prometheus marks them stale.
  const removed = apps;
  apps = undefined;
  removed.remove();
  const clientSent = `system_network_tcp_io_bytes_total{${apps_},network_tcp_handshake_role="client",network_io_direction="transmit"}`;
  await prom.waitFor(`{${apps_}}`, (r) => r.length === 0, 'every series of the removed cgroup gone from instant queries', 2 * DEADLINE_MS);
  await check(`sum(last_over_time(${clientSent}[1h]))`, CONNECTIONS * SEND, 'client bytes sent, last value before the cgroup was removed');
  assert.deepEqual(await prom.query(clientSent), [], 'stale, not served again');

  for (const line of results) t.diagnostic(line);
  await stopAgent(agent);
});
