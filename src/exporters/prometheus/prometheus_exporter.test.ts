// The HTTP side: content negotiation, gzip, paths, methods, a port in use, and the lifecycle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ExportError } from '../../errors';
import { recordingSettings } from '../../../test/support/recording-settings';
import { resolvePrometheusExporterConfig } from './config';
import { decodeDelimited } from '../../../test/support/prometheus_proto';
import { acceptsProtobuf, PrometheusExporter } from './prometheus_exporter';
import { PROTOBUF_CONTENT_TYPE } from './protobuf_format';
import { counter, exponentialHistogram, push } from '../../../test/support/prometheus_fixtures';

/** What Prometheus 2.42 sends with --enable-feature=native-histograms. */
const PROMETHEUS_PROTOBUF_ACCEPT =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

function exporter(overrides: Record<string, unknown> = {}) {
  const config = resolvePrometheusExporterConfig({
    endpoint: '127.0.0.1:0',
    exponential_histograms: 'both',
    promote_resource_attributes: [],
    scope_labels: true,
    metric_expiration: '5m',
    ...overrides,
  });
  const settings = recordingSettings('prometheus');
  return new PrometheusExporter(settings, config, ['metrics']);
}

test('Accept negotiation: protobuf only when the delimited MetricFamily stream is named', () => {
  assert.equal(acceptsProtobuf(PROMETHEUS_PROTOBUF_ACCEPT), true);
  assert.equal(acceptsProtobuf(PROTOBUF_CONTENT_TYPE), true);
  assert.equal(acceptsProtobuf('text/plain;version=0.0.4;q=0.5,*/*;q=0.1'), false);
  assert.equal(acceptsProtobuf('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text'), false);
  assert.equal(acceptsProtobuf('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0'), false);
  assert.equal(acceptsProtobuf(undefined), false);
});

test('GET /metrics serves text by default and protobuf when asked, gzip when accepted', async (t) => {
  const e = exporter();
  t.after(() => e.shutdown());
  await e.start({ reportFatal: () => {} });
  await e.consumers.metrics?.consume(push([counter('system.network.tcp.io', 'By', [[{ dir: 'tx' }, 5]]), exponentialHistogram('rtt', {})]));
  const url = `http://127.0.0.1:${e.address()?.port}/metrics`;

  const text = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
  assert.equal(text.status, 200);
  assert.equal(text.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  assert.match(await text.text(), /^system_network_tcp_io_bytes_total\{dir="tx",otel_scope_name="tcpscope\/receiver\/tcp_test",otel_scope_version="0.1.0"\} 5$/m);

  const proto = await fetch(url, { headers: { accept: PROMETHEUS_PROTOBUF_ACCEPT, 'accept-encoding': 'identity' } });
  assert.equal(proto.headers.get('content-type'), PROTOBUF_CONTENT_TYPE);
  const families = decodeDelimited(new Uint8Array(await proto.arrayBuffer()));
  assert.deepEqual(families.map((f) => f.name), ['target_info', 'system_network_tcp_io_bytes_total', 'rtt_seconds']);

  // fetch() would gunzip on its own; a raw request shows the encoding.
  const { request } = await import('node:http');
  const gz = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
    request(url, { headers: { 'accept-encoding': 'gzip' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ encoding: response.headers['content-encoding'], body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
  assert.equal(gz.encoding, 'gzip');
  assert.match(gunzipSync(gz.body).toString(), /^# TYPE rtt_seconds histogram$/m);
});

test('other paths are 404, other methods 405', async (t) => {
  const e = exporter();
  t.after(() => e.shutdown());
  await e.start({ reportFatal: () => {} });
  const base = `http://127.0.0.1:${e.address()?.port}`;
  const notFound = await fetch(`${base}/`);
  assert.equal(notFound.status, 404);
  assert.match(await notFound.text(), /metrics are served at \/metrics/);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
});

test('a port in use fails start() with EXPORT_FAILED naming the address; shutdown is idempotent and safe without start', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const e = exporter({ endpoint: `127.0.0.1:${port}` });
  await assert.rejects(e.start({ reportFatal: () => {} }), (error: unknown) => {
    assert.ok(error instanceof ExportError);
    assert.match(error.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\); choose a free port`));
    return true;
  });
  await e.shutdown();
  await e.shutdown();
  const never = exporter();
  await never.shutdown();
  await assert.rejects(never.consumers.metrics!.consume(push([])), /shut down/);
});
