// The prometheus exporter scraped by a real Prometheus (test/support/prometheus_server.ts): known
// pushed points in, PromQL out. Native histograms (protobuf negotiation), classic buckets, names,
// target_info, and a series that leaves the pipeline going stale after its last scrape.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isCi } from '../support/kernel';
import { recordingSettings } from '../support/recording-settings';
import { prometheusMissing, startPrometheusForTest, type PromSample } from '../support/prometheus_server';
import { resolvePrometheusExporterConfig, type PrometheusExporterConfig } from '../../src/exporters/prometheus/config';
import { PrometheusExporter } from '../../src/exporters/prometheus/prometheus_exporter';
import { counter, explicitHistogram, exponentialHistogram, push } from '../support/prometheus_fixtures';

function skipWithoutPrometheus(t: TestContext): boolean {
  const missing = prometheusMissing();
  if (!missing) return false;
  if (isCi(process.env.CI)) assert.fail(missing);
  t.skip(missing);
  return true;
}

async function startExporter(t: TestContext, overrides: Partial<PrometheusExporterConfig> = {}): Promise<{ exporter: PrometheusExporter; target: string }> {
  const config: PrometheusExporterConfig = {
    endpoint: '127.0.0.1:0',
    exponential_histograms: 'both',
    promote_resource_attributes: [],
    scope_labels: true,
    metric_expiration: '5m',
    ...overrides,
  };
  const exporter = new PrometheusExporter(recordingSettings('prometheus'), resolvePrometheusExporterConfig(config), ['metrics']);
  t.after(() => exporter.shutdown());
  await exporter.start({ reportFatal: (error) => assert.fail(error) });
  return { exporter, target: `127.0.0.1:${exporter.address()!.port}` };
}

const value = (result: PromSample[]) => result.map((s) => Number(s.value?.[1]));

test('a real Prometheus scrapes counters, gauges, target_info and the RTT as a native histogram', async (t) => {
  if (skipWithoutPrometheus(t)) return;
  const { exporter, target } = await startExporter(t);
  await exporter.consumers.metrics!.consume(
    push([
      counter('system.network.tcp.io', 'By', [[{ 'network.io.direction': 'transmit' }, 4321]]),
      exponentialHistogram('system.network.tcp.rtt.duration', { 'process.linux.cgroup': '/a' }),
    ]),
  );
  const prom = await startPrometheusForTest(t, { scrapeTargets: [target] });
  await prom.waitFor('up{job="tcpscope"} == 1', (r) => r.length === 1, 'a successful scrape');

  assert.deepEqual(value(await prom.query('system_network_tcp_io_bytes_total{network_io_direction="transmit",otel_scope_name="tcpscope/receiver/tcp_test"}')), [4321]);
  const info = await prom.query('target_info');
  assert.equal(info.length, 1);
  assert.deepEqual(
    { ...info[0].metric },
    { __name__: 'target_info', job: 'tcpscope', instance: target, service_name: 'tcpscope', service_instance_id: 'i-1', host_name: 'node-1' },
  );

  // Native: one series (no _bucket series), its buckets exactly the pushed ones.
  const [rtt] = await prom.query('system_network_tcp_rtt_duration_seconds');
  assert.ok(rtt.histogram, `a native histogram sample, got ${JSON.stringify(rtt)}`);
  assert.equal(rtt.histogram[1].count, '9');
  assert.equal(rtt.histogram[1].sum, '0.05');
  const counts = (rtt.histogram[1].buckets ?? []).map(([, lower, upper, count]) => [Number(lower), Number(upper), Number(count)]);
  // zero bucket, then OTel indexes -80, -78, -66 at scale 3: (2^(i/8), 2^((i+1)/8)]
  const b = (i: number) => [2 ** (i / 8), 2 ** ((i + 1) / 8)];
  const close = (a: number, e: number) => Math.abs(a - e) <= Math.abs(e) * 1e-12;
  const expected = [[...b(-80), 2], [...b(-78), 1], [...b(-66), 5]];
  const positive = counts.filter(([lower]) => lower > 0);
  assert.equal(positive.length, 3, JSON.stringify(counts));
  positive.forEach(([lower, upper, count], i) => {
    assert.ok(close(lower, expected[i][0]) && close(upper, expected[i][1]), `bucket ${i}: ${lower}..${upper}`);
    assert.equal(count, expected[i][2]);
  });
  assert.equal(counts.filter(([lower, upper]) => lower <= 0 && upper >= 0).reduce((n, [, , c]) => n + c, 0), 1, 'the zero bucket');
  assert.deepEqual(value(await prom.query('histogram_count(system_network_tcp_rtt_duration_seconds)')), [9]);
  // median: rank 4.5 of 9; the zero bucket and the buckets at -80 and -78 hold 4, so it lies in -66's
  const [median] = value(await prom.query('histogram_quantile(0.5, system_network_tcp_rtt_duration_seconds)'));
  assert.ok(median > 2 ** (-66 / 8) && median <= 2 ** (-65 / 8), `median ${median} in the bucket of OTel index -66`);
  assert.deepEqual(await prom.query('system_network_tcp_rtt_duration_seconds_bucket'), [], 'native only: Prometheus 2.42 keeps no classic buckets');
});

test('exponential_histograms: classic gives Prometheus classic buckets at powers of two', async (t) => {
  if (skipWithoutPrometheus(t)) return;
  const { exporter, target } = await startExporter(t, { exponential_histograms: 'classic', scope_labels: false });
  await exporter.consumers.metrics!.consume(push([exponentialHistogram('system.network.tcp.rtt.duration', {})]));
  const prom = await startPrometheusForTest(t, { scrapeTargets: [target] });
  const buckets = await prom.waitFor('system_network_tcp_rtt_duration_seconds_bucket', (r) => r.length > 0, 'classic buckets');
  const byLe = Object.fromEntries(buckets.map((s) => [s.metric.le, Number(s.value?.[1])]));
  assert.deepEqual(Object.keys(byLe).map((le) => (le === '+Inf' ? Infinity : Number(le))).sort((a, c) => a - c), [0, 2 ** -9, 2 ** -8, Infinity]);
  assert.deepEqual(Object.values(byLe).sort((a, c) => a - c), [1, 4, 9, 9]);
  assert.equal(buckets[0].metric.otel_scope_name, undefined, 'scope_labels: false');
});

test('without native histograms Prometheus scrapes the text format: the same values, every histogram classic', async (t) => {
  if (skipWithoutPrometheus(t)) return;
  const { exporter, target } = await startExporter(t, { promote_resource_attributes: ['host.name'] });
  await exporter.consumers.metrics!.consume(
    push([
      counter('system.network.tcp.io', 'By', [[{ 'network.io.direction': 'transmit', 'error.type': 'quote" backslash\\ newline\n' }, 4321]]),
      explicitHistogram('system.network.tcp.handshake.duration', { 'error.type': 'ECONNREFUSED' }),
      exponentialHistogram('system.network.tcp.rtt.duration', {}),
    ]),
  );
  const prom = await startPrometheusForTest(t, { scrapeTargets: [target], nativeHistograms: false });
  await prom.waitFor('up{job="tcpscope"} == 1', (r) => r.length === 1, 'a successful scrape');
  const [io] = await prom.query('system_network_tcp_io_bytes_total');
  assert.equal(io.metric.error_type, 'quote" backslash\\ newline\n', 'escaped label values read back as written');
  assert.equal(io.metric.host_name, 'node-1', 'promoted resource attribute');
  assert.equal(Number(io.value?.[1]), 4321);
  const le = (s: PromSample) => (s.metric.le === '+Inf' ? Infinity : Number(s.metric.le));
  const buckets = async (name: string) =>
    (await prom.query(`${name}_bucket`)).map((s) => [le(s), Number(s.value?.[1])]).sort((a, b) => a[0] - b[0]);
  assert.deepEqual(await buckets('system_network_tcp_rtt_duration_seconds'), [[0, 1], [2 ** -9, 4], [2 ** -8, 9], [Infinity, 9]]);
  assert.deepEqual(await buckets('system_network_tcp_handshake_duration_seconds'), [[0.001, 1], [0.01, 3], [Infinity, 6]]);
  assert.deepEqual(value(await prom.query('system_network_tcp_handshake_duration_seconds_sum')), [1.5]);
  assert.deepEqual(value(await prom.query('system_network_tcp_rtt_duration_seconds_count')), [9]);
  assert.deepEqual(await prom.query('histogram_count(system_network_tcp_rtt_duration_seconds)'), [], 'no native histogram over text');
});

test('a series that leaves the pipeline is scraped once more with its final value, then goes stale', async (t) => {
  if (skipWithoutPrometheus(t)) return;
  const { exporter, target } = await startExporter(t);
  const consume = (points: [Record<string, string>, number][]) => exporter.consumers.metrics!.consume(push([counter('c', '{x}', points)]));
  await consume([[{ cgroup: 'stays' }, 1], [{ cgroup: 'gone' }, 1]]);
  const prom = await startPrometheusForTest(t, { scrapeTargets: [target] });
  await prom.waitFor('c_total{cgroup="gone"}', (r) => value(r)[0] === 1, 'the first value of the series that will go');
  // Its final value and its removal arrive before any scrape saw the final value.
  await consume([[{ cgroup: 'stays' }, 2], [{ cgroup: 'gone' }, 7]]);
  await consume([[{ cgroup: 'stays' }, 3]]);
  await prom.waitFor('max_over_time(c_total{cgroup="gone"}[1h])', (r) => value(r)[0] === 7, 'the final value scraped');
  await prom.waitFor('c_total{cgroup="gone"}', (r) => r.length === 0, 'the series marked stale');
  assert.deepEqual(value(await prom.query('c_total{cgroup="stays"}')), [3]);
});
