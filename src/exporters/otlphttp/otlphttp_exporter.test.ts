// The otlphttp exporter against a real OTLP/HTTP receiver on loopback (test/support/otlp_http_server):
// bodies decoded with the official OTLP protos, for both encodings; the OTLP/HTTP failure rules;
// TLS with a test CA and a client certificate. The queue and retry mechanics themselves are the
// shared helper's, tested once in ../exporterhelper/.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ProtobufLogsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import * as protobuf from 'protobufjs';
import type { Exporter, Host, Signal } from '../../component';
import { validateComponentSettings } from '../../config/component_settings';
import { ConfigError } from '../../errors';
import { ExporterDropsAppender } from '../../pipeline/exporter_drops';
import { PACKAGE_ROOT } from '../../paths';
import { ATTR } from '../../telemetry/attributes';
import { METRICS } from '../../telemetry/signals';
import { countsDroppedItems, type DropCounting } from '../dropped_items';
import { reportsQueueSize, type ReportsQueueSize } from '../queue_size';
import { absentBackend } from '../../../test/support/otlp-grpc-server';
import { OTLP_TO_OBJECT, partialSuccessBody, startOtlpHttpServer, type OtlpHttpServer, type OtlpHttpServerOptions } from '../../../test/support/otlp_http_server';
import { bothPaths, EVENTS } from '../../../test/support/raw_lifecycle_events';
import { recordingSettings, type RecordedSettings } from '../../../test/support/recording-settings';
import { sampleLogs, sampleMetrics } from '../../../test/support/telemetry-fixtures';
import { resolveOtlpHttpExporterConfig, signalUrl, type OtlpHttpExporterConfig } from './config';
import { logsEncoder } from './encoded_request';
import { otlpHttpExporterFactory } from './factory';

const host: Host = { reportFatal: (e) => assert.fail(`unexpected fatal: ${e.message}`) };

type Overrides = Partial<Omit<OtlpHttpExporterConfig, 'retry_on_failure' | 'sending_queue' | 'tls'>> & {
  tls?: Partial<OtlpHttpExporterConfig['tls']>;
  sending_queue?: Partial<OtlpHttpExporterConfig['sending_queue']>;
  retry?: Partial<OtlpHttpExporterConfig['retry_on_failure']>;
};

/** Short deadlines and exact (unjittered) backoff; each batch its own request unless a test says otherwise. */
function config(endpoint: string, o: Overrides = {}): OtlpHttpExporterConfig {
  return {
    endpoint,
    metrics_endpoint: '',
    logs_endpoint: '',
    encoding: 'proto',
    headers: {},
    compression: 'gzip',
    timeout: '5s',
    ...o,
    tls: { ca_file: '', cert_file: '', key_file: '', insecure_skip_verify: false, ...o.tls },
    sending_queue: { queue_size: 100, queue_bytes: 16 * 1024 * 1024, flush_timeout: 0, ...o.sending_queue },
    retry_on_failure: { enabled: true, initial_interval: '50ms', max_interval: '200ms', max_elapsed_time: 0, multiplier: 2, randomization_factor: 0, ...o.retry },
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function server(options: OtlpHttpServerOptions = {}): Promise<OtlpHttpServer> {
  const srv = await startOtlpHttpServer(options);
  cleanups.push(() => srv.close());
  return srv;
}

type TestExporter = Exporter & DropCounting & ReportsQueueSize;

async function exporter(c: OtlpHttpExporterConfig, signals: Signal[] = ['metrics', 'logs']): Promise<{ e: TestExporter; settings: RecordedSettings }> {
  const settings = recordingSettings('otlphttp');
  const created = otlpHttpExporterFactory.create(settings, c, signals);
  assert.ok(countsDroppedItems(created) && reportsQueueSize(created));
  cleanups.push(() => created.shutdown());
  await created.start(host);
  return { e: created, settings };
}

// ---- The truth: what the SDK's own protobuf serializer makes of the same data, decoded with the
// official protos exactly as the server decodes what it receives. ----
function loadType(file: string, name: string): protobuf.Type {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PACKAGE_ROOT, 'test', 'support', 'proto', target);
  root.loadSync(file);
  return root.lookupType(name);
}
const LogsRequest = loadType('opentelemetry/proto/collector/logs/v1/logs_service.proto', 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const MetricsRequest = loadType('opentelemetry/proto/collector/metrics/v1/metrics_service.proto', 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');

function expectedLogs(records: readonly ReadableLogRecord[]): Record<string, unknown> {
  return LogsRequest.toObject(LogsRequest.decode(ProtobufLogsSerializer.serializeRequest(records as ReadableLogRecord[]) ?? new Uint8Array(0)), OTLP_TO_OBJECT);
}
function expectedMetrics(data = sampleMetrics()): Record<string, unknown> {
  return MetricsRequest.toObject(MetricsRequest.decode(ProtobufMetricsSerializer.serializeRequest(data) ?? new Uint8Array(0)), OTLP_TO_OBJECT);
}

interface DecodedLogs {
  resourceLogs?: { scopeLogs?: { logRecords?: { eventName?: string; timeUnixNano?: string; attributes?: { key: string; value: Record<string, unknown> }[] }[] }[] }[];
}
function logRecordsOf(decoded: Record<string, unknown>): NonNullable<NonNullable<NonNullable<DecodedLogs['resourceLogs']>[number]['scopeLogs']>[number]['logRecords']> {
  return ((decoded as DecodedLogs).resourceLogs ?? []).flatMap((r) => (r.scopeLogs ?? []).flatMap((s) => s.logRecords ?? []));
}

/** sampleLogs() with their times moved by `tag` × 100 s: the same encoded size, told apart on the server. */
function taggedLogs(tag: number): ReadableLogRecord[] {
  return sampleLogs().map((r) => ({ ...r, hrTime: [r.hrTime[0] + 100 * tag, r.hrTime[1]] }));
}
/** The tag of each record (sampleLogs() times are 1700000005 and 1700000009 s). */
const tagsOf = (decoded: Record<string, unknown>) => logRecordsOf(decoded).map((r) => Math.floor((Number(BigInt(r.timeUnixNano ?? '0') / 1_000_000_000n) - 1700000005) / 100));

/**
 * A JSON request decoded, with `"body":{}` taken as no body: the OTLP/JSON writer (the file
 * exporter's, the same bytes as the SDK's JSON serializer) writes an empty AnyValue for a record
 * without a body, which OTLP reads as no value, and protobuf leaves off the wire.
 */
function withoutEmptyBodies(decoded: Record<string, unknown>): Record<string, unknown> {
  for (const record of logRecordsOf(decoded) as Record<string, unknown>[]) {
    if (record.body !== null && typeof record.body === 'object' && Object.keys(record.body).length === 0) record.body = null;
  }
  return decoded;
}

/** Arrival gaps between consecutive requests, ms. */
const gaps = (srv: OtlpHttpServer) => srv.requests.slice(1).map((r, i) => r.at - srv.requests[i].at);
/** Node may fire a timer up to 1 ms before its delay has passed (ms rounding). */
const TIMER_SLACK_MS = 2;

describe('otlphttp exporter', () => {
  it('protobuf: delivers metrics and kernel event records exactly, gzip-compressed, to /v1/metrics and /v1/logs with the headers', async () => {
    const srv = await server();
    const { e } = await exporter(config(srv.url, { headers: { Authorization: 'Bearer t0ken', 'X-Tenant': 'acme' } }));
    const { raw, decoded } = bothPaths(EVENTS);
    await e.consumers.metrics!.consume(sampleMetrics());
    await e.consumers.logs!.consume(raw);
    await e.forceFlush();

    assert.deepStrictEqual(srv.requests.map((r) => r.path).sort(), ['/v1/logs', '/v1/metrics']);
    for (const r of srv.requests) {
      assert.equal(r.headers['content-type'], 'application/x-protobuf');
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.ok(r.wireBytes < r.body.length, `compressed: ${r.wireBytes} < ${r.body.length}`);
      assert.equal(r.headers.authorization, 'Bearer t0ken');
      assert.equal(r.headers['x-tenant'], 'acme');
      assert.equal(r.headers['user-agent'], 'tcpscope');
    }
    // Records backed by kernel bytes, encoded by themselves: the same message as the SDK's
    // serializer makes of the decoded reference records.
    const [logs] = srv.accepted('logs');
    assert.deepStrictEqual(logs, expectedLogs(decoded));
    const records = logRecordsOf(logs);
    assert.equal(records.length, EVENTS.length);
    assert.deepStrictEqual(
      records.map((r) => r.eventName),
      decoded.map((r) => r.eventName),
    );
    const first = Object.fromEntries((records[0].attributes ?? []).map((kv) => [kv.key, kv.value]));
    assert.deepStrictEqual(first['network.transport'], { stringValue: 'tcp' });

    const [metrics] = srv.accepted('metrics');
    assert.deepStrictEqual(metrics, expectedMetrics());
    const sum = (metrics as { resourceMetrics: { scopeMetrics: { metrics: { name: string; sum: { dataPoints: { asInt: string }[] } }[] }[] }[] }).resourceMetrics[0].scopeMetrics[0].metrics[0];
    assert.equal(sum.name, 'system.network.tcp.io');
    assert.deepStrictEqual(sum.sum.dataPoints.map((p) => p.asInt), ['5', '7']);
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 0 });
  });

  it('json: the same messages as protobuf (decoded with the official protos through the JSON mapping), uncompressed with compression: none', async () => {
    const srv = await server();
    const { e } = await exporter(config(srv.url, { encoding: 'json', compression: 'none' }));
    // Not the fixture event with 2^63 + 12345 bytes received: the OTLP/JSON writer, like the SDK's
    // JSON serializer it matches, writes an integer at or beyond 2^63 as an intValue that int64
    // cannot hold, where protobuf writes a doubleValue (no real connection moves 8 EiB).
    const { raw, decoded } = bothPaths(EVENTS.filter((event) => (event.bytesReceived ?? 0n) < 2n ** 63n));
    await e.consumers.metrics!.consume(sampleMetrics());
    await e.consumers.logs!.consume(raw);
    await e.consumers.logs!.consume(sampleLogs());
    await e.forceFlush();
    for (const r of srv.requests) {
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['content-encoding'], undefined);
      assert.equal(r.wireBytes, r.body.length);
      assert.doesNotThrow(() => JSON.parse(r.body.toString('utf8')));
    }
    assert.deepStrictEqual(srv.accepted('logs').map(withoutEmptyBodies), [expectedLogs(decoded), expectedLogs(sampleLogs())]);
    assert.deepStrictEqual(srv.accepted('metrics'), [expectedMetrics()]);
  });

  for (const encoding of ['proto', 'json'] as const) {
    it(`${encoding}: log batches waiting together (flush_timeout) go as one valid request`, async () => {
      const srv = await server();
      const { e } = await exporter(config(srv.url, { encoding, sending_queue: { flush_timeout: '10s' } }), ['logs']);
      for (const tag of [1, 2, 3]) await e.consumers.logs!.consume(taggedLogs(tag));
      await e.forceFlush();
      assert.equal(srv.requests.length, 1);
      assert.deepStrictEqual(tagsOf(srv.accepted('logs')[0]), [1, 1, 2, 2, 3, 3]);
      // Joined requests keep each one's ResourceLogs (protobuf: concatenated messages; JSON: joined arrays).
      const resourceLogsOf = (decoded: Record<string, unknown>) => (decoded as { resourceLogs: unknown[] }).resourceLogs;
      assert.deepStrictEqual(resourceLogsOf(withoutEmptyBodies(srv.accepted('logs')[0])), [1, 2, 3].flatMap((tag) => resourceLogsOf(expectedLogs(taggedLogs(tag)))));
    });
  }

  it('posts to metrics_endpoint and logs_endpoint as they are, and appends /v1/<signal> to a base path', async () => {
    const srv = await server();
    const { e } = await exporter(config(`${srv.url}/ignored`, { metrics_endpoint: `${srv.url}/custom/metrics`, logs_endpoint: `${srv.url}/custom/logs/` }));
    await e.consumers.metrics!.consume(sampleMetrics());
    await e.consumers.logs!.consume(sampleLogs());
    await e.forceFlush();
    assert.deepStrictEqual(srv.requests.map((r) => r.path).sort(), ['/custom/logs/', '/custom/metrics']);
    assert.equal(signalUrl('https://gw.example:4318/otlp/', 'logs'), 'https://gw.example:4318/otlp/v1/logs');
    assert.equal(signalUrl('http://[fd00::1]:4318', 'metrics'), 'http://[fd00::1]:4318/v1/metrics');
  });

  it('503 is retried with exponential backoff until delivered', async () => {
    const srv = await server();
    srv.script = [503, 503, 503].map((status) => ({ status }));
    const { e, settings } = await exporter(config(srv.url, { retry: { initial_interval: '200ms', max_interval: '800ms', multiplier: 2 } }), ['logs']);
    await e.consumers.logs!.consume(sampleLogs());
    // The server has the request before the exporter has the answer and logs the recovery.
    await srv.waitFor(() => srv.accepted('logs').length === 1 && settings.lines.some((l) => l.includes('again after')), 'delivery after three 503s, and its log line');
    assert.equal(srv.requests.length, 4, 'three failed attempts, then the one that succeeded');
    const waited = gaps(srv);
    // Each retry waited at least its backoff interval: 200, 400, 800 ms.
    [200, 400, 800].forEach((interval, i) => assert.ok(waited[i] >= interval - TIMER_SLACK_MS, `retry ${i + 1} came ${waited[i]}ms after the previous attempt, before ${interval}ms`));
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 0 });
    const outage = settings.lines.filter((l) => l.includes('cannot deliver') || l.includes('again after'));
    assert.equal(outage.length, 2, outage.join(' | '));
    assert.equal(outage[0], `WARN  otlphttp: logs: cannot deliver to ${srv.url}/v1/logs (HTTP 503 Service Unavailable); keeping up to 100 batches and retrying with backoff`);
  });

  it('headers from OTEL_EXPORTER_OTLP_HEADERS and the per-signal variable fill in names the config does not set', async (t) => {
    const saved = { all: process.env.OTEL_EXPORTER_OTLP_HEADERS, logs: process.env.OTEL_EXPORTER_OTLP_LOGS_HEADERS };
    t.after(() => {
      for (const [name, value] of [['OTEL_EXPORTER_OTLP_HEADERS', saved.all], ['OTEL_EXPORTER_OTLP_LOGS_HEADERS', saved.logs]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-tenant=from-env,x-all=1';
    process.env.OTEL_EXPORTER_OTLP_LOGS_HEADERS = 'x-logs=2';
    const srv = await server();
    const { e } = await exporter(config(srv.url, { headers: { 'X-Tenant': 'configured' } }));
    await e.consumers.metrics!.consume(sampleMetrics());
    await e.consumers.logs!.consume(sampleLogs());
    await e.forceFlush();
    const byPath = Object.fromEntries(srv.requests.map((r) => [r.path, r.headers]));
    assert.deepStrictEqual(
      [byPath['/v1/metrics']['x-tenant'], byPath['/v1/metrics']['x-all'], byPath['/v1/metrics']['x-logs']],
      ['configured', '1', undefined],
    );
    assert.deepStrictEqual([byPath['/v1/logs']['x-tenant'], byPath['/v1/logs']['x-all'], byPath['/v1/logs']['x-logs']], ['configured', '1', '2']);
  });

  // The OTLP/HTTP specification: 429, 502, 503, 504 are retryable; every other status is not.
  const statuses: [number, 'retried' | 'dropped'][] = [
    [429, 'retried'],
    [502, 'retried'],
    [503, 'retried'],
    [504, 'retried'],
    [400, 'dropped'],
    [401, 'dropped'],
    [403, 'dropped'],
    [404, 'dropped'],
    [413, 'dropped'],
    [500, 'dropped'],
    [501, 'dropped'],
  ];
  for (const [status, fate] of statuses) {
    it(`HTTP ${status}: ${fate}`, async () => {
      const srv = await server();
      srv.script = [{ status, headers: { 'content-type': 'text/plain' }, body: 'no' }];
      const { e } = await exporter(config(srv.url, { retry: { initial_interval: '10ms', max_interval: '10ms' } }), ['logs']);
      await e.consumers.logs!.consume(sampleLogs());
      await srv.waitFor(() => srv.accepted('logs').length === 1 || e.droppedItems().logs > 0, 'delivery or a drop');
      if (fate === 'retried') {
        assert.equal(srv.requests.length, 2);
        assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 0 });
      } else {
        assert.equal(srv.requests.length, 1);
        assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 2 });
        assert.deepStrictEqual(e.queueSizes(), { logs: 0 });
      }
    });
  }

  it('an attempt without an answer within timeout is given up and retried', async () => {
    const srv = await server();
    srv.script = [{ hang: true, status: 0 }];
    const { e, settings } = await exporter(config(srv.url, { timeout: '300ms', retry: { initial_interval: '10ms' } }), ['logs']);
    await e.consumers.logs!.consume(sampleLogs());
    await srv.waitFor(() => srv.accepted('logs').length === 1, 'delivery after the timeout');
    assert.equal(srv.requests.length, 2);
    assert.ok(settings.lines.some((l) => l.includes('(no response within 300ms (timeout))')), settings.lines.join('\n'));
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 0 });
  });

  it('429 with Retry-After waits at least that long, though the backoff asks for less', async () => {
    const srv = await server();
    srv.script = [{ status: 429, headers: { 'retry-after': '1' } }];
    const { e, settings } = await exporter(config(srv.url, { retry: { initial_interval: '10ms' } }), ['logs']);
    await e.consumers.logs!.consume(sampleLogs());
    await srv.waitFor(() => srv.accepted('logs').length === 1, 'delivery after the 429');
    assert.equal(srv.requests.length, 2);
    assert.ok(gaps(srv)[0] >= 1000 - TIMER_SLACK_MS, `retried ${gaps(srv)[0]}ms after a Retry-After of 1 s`);
    assert.ok(settings.lines.some((l) => l.includes('(HTTP 429 Too Many Requests; Retry-After 1000ms)')), settings.lines.join('\n'));
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 0 });
  });

  it('400 drops the batch without retrying and counts it, in the exporter drop metric too', async () => {
    const srv = await server();
    const message = Buffer.from('bad data');
    // google.rpc.Status { code: 3, message: "bad data" }, as the specification says a receiver answers.
    srv.script = [{ status: 400, headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.concat([Buffer.from([0x08, 0x03, 0x12, message.length]), message]) }];
    const { e, settings } = await exporter(config(srv.url));
    await e.consumers.logs!.consume(sampleLogs());
    await srv.waitFor(() => e.droppedItems().logs === 2, 'the drop');
    assert.deepStrictEqual(e.queueSizes(), { metrics: 0, logs: 0 });
    assert.equal(srv.requests.length, 1, 'not retried');
    assert.ok(
      settings.lines.includes(
        `WARN  otlphttp: logs: ${srv.url}/v1/logs rejected a batch (HTTP 400 Bad Request: bad data); dropped its 2 log records without retrying, as retrying cannot help; further rejections are counted, not logged`,
      ),
      settings.lines.join('\n'),
    );
    // The pipeline appends the exporters' drop counts to every metrics export (src/pipeline/exporter_drops.ts).
    await new ExporterDropsAppender(new Map([['otlphttp', e]]), e.consumers.metrics!).consume(sampleMetrics());
    await e.forceFlush();
    const exported = srv.accepted('metrics')[0] as { resourceMetrics: { scopeMetrics: { metrics: { name: string; sum?: { dataPoints: { asInt?: string; attributes: { key: string; value: { stringValue: string } }[] }[] } }[] }[] }[] };
    const drops = exported.resourceMetrics[0].scopeMetrics.flatMap((s) => s.metrics).find((m) => m.name === METRICS.exporterDroppedItems.name);
    assert.ok(drops?.sum, 'the drop metric was exported');
    assert.deepStrictEqual(
      drops.sum.dataPoints.map((p) => [Object.fromEntries(p.attributes.map((a) => [a.key, a.value.stringValue])), p.asInt ?? '0']),
      [
        [{ [ATTR.exporter.key]: 'otlphttp', [ATTR.signal.key]: 'metrics' }, '0'],
        [{ [ATTR.exporter.key]: 'otlphttp', [ATTR.signal.key]: 'logs' }, '2'],
      ],
    );
  });

  it('backend down, then up: delivery resumes, the overflow is dropped and counted exactly, the queue stays within queue_bytes', async () => {
    const at = await absentBackend();
    // Every tagged batch encodes to the same size; 2.5 of them may wait besides the one in flight.
    const size = logsEncoder('proto')(taggedLogs(1)).size;
    const { e, settings } = await exporter(config(`http://${at.host}:${at.port}`, { sending_queue: { queue_bytes: Math.floor(2.5 * size) }, retry: { initial_interval: '100ms', max_interval: '100ms' } }), ['logs']);
    for (const tag of [1, 2, 3, 4, 5]) await e.consumers.logs!.consume(taggedLogs(tag));
    // 1 in flight; 2 waits, 3 joins it (2 sizes); 4 cannot join (3 sizes > 2.5): 2+3 is dropped; 5 joins 4.
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 4 });
    assert.deepStrictEqual(e.queueSizes(), { logs: 2 });
    await new Promise<void>((resolve, reject) => {
      const deadline = performance.now() + 30_000;
      const poll = () => (settings.lines.some((l) => l.includes('cannot deliver')) ? resolve() : performance.now() > deadline ? reject(new Error('no outage line')) : setTimeout(poll, 10));
      poll();
    });
    assert.match(settings.lines.find((l) => l.includes('cannot deliver')) ?? '', /\(ECONNREFUSED: connect ECONNREFUSED /);
    const srv = await server({ host: at.host, port: at.port });
    await srv.waitFor(() => srv.accepted('logs').length === 2, 'delivery after the backend came up');
    assert.deepStrictEqual(srv.accepted('logs').map(tagsOf), [
      [1, 1],
      [4, 4, 5, 5],
    ]);
    await e.forceFlush();
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 4 });
    assert.ok(settings.lines.some((l) => l.includes(`delivering to ${srv.url}/v1/logs again after`) && l.endsWith('; 4 log records were dropped since the last successful delivery')), settings.lines.join('\n'));
  });

  for (const encoding of ['proto', 'json'] as const) {
    it(`${encoding}: a partial success is logged once and its rejected records counted, not retried`, async () => {
      const srv = await server();
      srv.script = [partialSuccessBody('logs', encoding, 1, 'record too old'), partialSuccessBody('logs', encoding, 1, 'record too old')];
      const { e, settings } = await exporter(config(srv.url, { encoding }), ['logs']);
      await e.consumers.logs!.consume(sampleLogs());
      await e.forceFlush();
      await e.consumers.logs!.consume(sampleLogs());
      await e.forceFlush();
      assert.equal(srv.requests.length, 2, 'each batch sent once');
      assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 2 });
      assert.deepStrictEqual(
        settings.lines.filter((l) => l.includes('only in part')),
        [
          `WARN  otlphttp: logs: ${srv.url}/v1/logs accepted a batch only in part: it rejected 1 log records (record too old); rejected log records are counted as dropped, not retried; further partial successes with the same message are not logged`,
        ],
      );
    });
  }

  it('shutdown is idempotent and safe without start; a consumer only for the signals it was created for', async () => {
    const e = otlpHttpExporterFactory.create(recordingSettings('otlphttp'), config('http://127.0.0.1:1'), ['logs']);
    assert.ok(e.consumers.logs);
    assert.equal(e.consumers.metrics, undefined);
    await e.shutdown();
    await e.shutdown();
    await e.forceFlush();
  });
});

describe('otlphttp exporter over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-otlphttp-tls-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  // A test CA, a server certificate for 127.0.0.1 and a client certificate, both signed by it.
  const ecKey = (name: string) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(name));
  ecKey('ca.key');
  openssl('req', '-x509', '-new', '-key', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=tcpscope test CA');
  for (const [name, subject, ext] of [
    ['server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
    ['client', '/CN=tcpscope-agent', 'extendedKeyUsage=clientAuth'],
  ]) {
    ecKey(`${name}.key`);
    openssl('req', '-new', '-key', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
    execFileSync('sh', ['-c', `printf '%b' "$EXT" > ${file(`${name}.ext`)}`], { env: { ...process.env, EXT: ext } });
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file(`${name}.pem`), '-days', '1', '-extfile', file(`${name}.ext`));
  }
  const serverTls = (clientCa: boolean) => ({ key: readFileSync(file('server.key')), cert: readFileSync(file('server.pem')), ...(clientCa ? { clientCa: readFileSync(file('ca.pem')) } : {}) });

  it('verifies the server against ca_file and presents the client certificate the server requires', async () => {
    const srv = await server({ tls: serverTls(true) });
    assert.ok(srv.url.startsWith('https://'));
    const { e } = await exporter(config(srv.url, { tls: { ca_file: file('ca.pem'), cert_file: file('client.pem'), key_file: file('client.key') } }), ['logs']);
    await e.consumers.logs!.consume(sampleLogs());
    await e.forceFlush();
    assert.equal(srv.requests.length, 1);
    assert.equal(srv.requests[0].clientAuthorized, true);
    assert.deepStrictEqual(srv.accepted('logs'), [expectedLogs(sampleLogs())]);
  });

  it('without the client certificate, the server refuses the handshake: retried, not delivered', async () => {
    const srv = await server({ tls: serverTls(true) });
    const { e, settings } = await exporter(config(srv.url, { tls: { ca_file: file('ca.pem') }, retry: { initial_interval: '20ms', max_interval: '20ms' } }), ['logs']);
    await e.consumers.logs!.consume(sampleLogs());
    await srv.waitFor(() => settings.lines.some((l) => l.includes('cannot deliver')), 'the outage line');
    assert.equal(srv.accepted('logs').length, 0);
    assert.deepStrictEqual(e.queueSizes(), { logs: 1 }, 'kept for retry');
  });

  it('refuses a server its CAs do not vouch for, unless insecure_skip_verify', async () => {
    const srv = await server({ tls: serverTls(false) });
    const strict = await exporter(config(srv.url, { retry: { initial_interval: '20ms', max_interval: '20ms' } }), ['logs']);
    await strict.e.consumers.logs!.consume(sampleLogs());
    await srv.waitFor(() => strict.settings.lines.some((l) => l.includes('cannot deliver')), 'the outage line');
    assert.match(strict.settings.lines.find((l) => l.includes('cannot deliver')) ?? '', /\(UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate\)/);
    assert.equal(srv.requests.length, 0);
    const lax = await exporter(config(srv.url, { tls: { insecure_skip_verify: true } }), ['logs']);
    await lax.e.consumers.logs!.consume(sampleLogs());
    await lax.e.forceFlush();
    assert.deepStrictEqual(srv.accepted('logs'), [expectedLogs(sampleLogs())]);
  });
});

describe('otlphttp exporter config', () => {
  const validate = (input: unknown) => validateComponentSettings(otlpHttpExporterFactory.schema, input, ['exporters', 'otlphttp']) as OtlpHttpExporterConfig;

  it('has the Collector-like defaults, resolved to URLs per signal', () => {
    const defaults = validate(null);
    assert.deepStrictEqual(defaults, {
      endpoint: 'http://localhost:4318',
      metrics_endpoint: '',
      logs_endpoint: '',
      encoding: 'proto',
      headers: {},
      compression: 'gzip',
      tls: { ca_file: '', cert_file: '', key_file: '', insecure_skip_verify: false },
      timeout: '10s',
      sending_queue: { queue_size: 100, queue_bytes: 16 * 1024 * 1024, flush_timeout: '20ms' },
      retry_on_failure: { enabled: true, initial_interval: '5s', max_interval: '30s', max_elapsed_time: '300s', multiplier: 1.5, randomization_factor: 0.5 },
    });
    const resolved = resolveOtlpHttpExporterConfig(validate({ endpoint: 'https://gw.example/otlp', headers: { 'X-Scope-OrgID': 'a' } }));
    assert.equal(resolved.metricsUrl, 'https://gw.example/otlp/v1/metrics');
    assert.equal(resolved.logsUrl, 'https://gw.example/otlp/v1/logs');
    assert.deepStrictEqual(resolved.headers, { 'x-scope-orgid': 'a' });
    assert.deepStrictEqual(resolved.tls, { insecureSkipVerify: false });
    assert.equal(resolved.timeoutMs, 10_000);
  });

  const bad: [string, unknown, RegExp][] = [
    ['host:port without a scheme', { endpoint: 'collector:4318' }, /^exporters\.otlphttp\.endpoint: must be an http:\/\/ or https:\/\/ URL, e\.g\. https:\/\/otlp\.example\.com:4318, got "collector:4318"/],
    ['a grpc scheme', { endpoint: 'grpc://collector:4317' }, /^exporters\.otlphttp\.endpoint: must be an http:\/\/ or https:\/\/ URL/],
    ['a query', { endpoint: 'http://c:4318/?a=1' }, /^exporters\.otlphttp\.endpoint: must have no query or fragment/],
    ['credentials in the URL', { endpoint: 'https://u:p@c:4318' }, /^exporters\.otlphttp\.endpoint: must carry no credentials; put them in headers/],
    ['a bad logs_endpoint', { logs_endpoint: 'c:4318/v1/logs' }, /^exporters\.otlphttp\.logs_endpoint: must be an http:\/\/ or https:\/\/ URL.*, or "" to derive it from endpoint/],
    ['an unknown encoding', { encoding: 'protobuf' }, /^exporters\.otlphttp\.encoding: must be one of "proto", "json", got "protobuf"/],
    ['an unknown compression', { compression: 'zstd' }, /^exporters\.otlphttp\.compression: must be one of "gzip", "none"/],
    ['a header the exporter sets', { headers: { 'Content-Type': 'text/plain' } }, /^exporters\.otlphttp\.headers: header "Content-Type" is set by the exporter/],
    ['a header with a space', { headers: { 'x id': 'a' } }, /^exporters\.otlphttp\.headers: header name "x id" must be an HTTP token/],
    ['a header value with a newline', { headers: { 'x-id': 'a\r\nx-evil: 1' } }, /^exporters\.otlphttp\.headers: header "x-id" must have a printable ASCII string value/],
    ['an unknown tls key', { tls: { insecure: true } }, /^exporters\.otlphttp\.tls\.insecure: unknown key/],
    ['zero queue', { sending_queue: { queue_size: 0 } }, /^exporters\.otlphttp\.sending_queue\.queue_size: must be an integer of at least 1, got 0/],
  ];
  for (const [name, input, error] of bad) {
    it(`rejects ${name}`, () =>
      assert.throws(() => validate(input), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, error);
        return true;
      }));
  }

  it('validate() wants cert_file and key_file together, readable TLS files, an https:// URL for TLS settings, and the shared checks', () => {
    const v = (input: unknown) => otlpHttpExporterFactory.validate?.(validate(input));
    const https = 'https://gw.example:4318';
    assert.deepStrictEqual(v({ endpoint: https, tls: { cert_file: '/etc/hostname' } }), { key: 'tls.key_file', message: 'a client certificate needs both cert_file and key_file; give both or neither' });
    assert.deepStrictEqual(v({ endpoint: https, tls: { ca_file: '/nonexistent/ca.pem' } }), { key: 'tls.ca_file', message: 'cannot be read (ENOENT): "/nonexistent/ca.pem"; give a readable PEM file, or "" for none' });
    assert.deepStrictEqual(v({ tls: { insecure_skip_verify: true } }), {
      key: 'tls.insecure_skip_verify',
      message: 'applies to https:// endpoints only, and "http://localhost:4318" and the per-signal endpoints are http://; use an https:// URL, or remove the tls settings',
    });
    assert.equal(v({ endpoint: 'http://c:4318', logs_endpoint: `${https}/v1/logs`, tls: { insecure_skip_verify: true } }), undefined);
    assert.deepStrictEqual(v({ retry_on_failure: { initial_interval: '10s', max_interval: '1s' } }), { key: 'retry_on_failure.max_interval', message: 'must be at least initial_interval ("10s"), got "1s"' });
    assert.equal(v({}), undefined);
  });
});
