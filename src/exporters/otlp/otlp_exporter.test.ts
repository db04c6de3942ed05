// The otlp exporter against a real OTLP/gRPC receiver on loopback (test/support/otlp-grpc-server).
import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Exporter, Host } from '../../component';
import { validateComponentSettings } from '../../config/component_settings';
import { ConfigError, ExportError } from '../../errors';
import { reportsReadiness, type ReportsReadiness } from '../../health/readiness';
import { countsDroppedItems, type DropCounting } from '../dropped_items';
import { reportsQueueSize, type ReportsQueueSize } from '../queue_size';
import {
  attributesOf,
  absentBackend,
  type AbsentBackend,
  startOtlpGrpcServer,
  type OtlpGrpcServer,
} from '../../../test/support/otlp-grpc-server';
import { recordingSettings as testSettings, type RecordedSettings } from '../../../test/support/recording-settings';
import { sampleLogs, sampleMetrics } from '../../../test/support/telemetry-fixtures';
import { resolveOtlpExporterConfig } from './config';
import { otlpExporterFactory, type OtlpExporterConfig } from './factory';

const host: Host = { reportFatal: (e) => assert.fail(`unexpected fatal: ${e.message}`) };

type Overrides = Partial<Omit<OtlpExporterConfig, 'retry_on_failure' | 'sending_queue'>> & {
  queue_size?: number;
  retry?: Partial<OtlpExporterConfig['retry_on_failure']>;
};

/** Plaintext, short deadlines and fast, exact backoff: every test stays well under 10 s. */
function config(endpoint: string, o: Overrides = {}): OtlpExporterConfig {
  return {
    endpoint,
    tls: { insecure: true },
    headers: {},
    compression: 'gzip',
    timeout: '2s',
    ...o,
    // flush_timeout 0: these tests follow each batch to its own request; the wait for more to join
    // a lone logs batch is tested in delivery_queue.test.ts and logs_grpc_sender.test.ts.
    sending_queue: { queue_size: o.queue_size ?? 100, flush_timeout: 0 },
    retry_on_failure: {
      enabled: true,
      initial_interval: '50ms',
      max_interval: '200ms',
      max_elapsed_time: 0,
      multiplier: 2,
      randomization_factor: 0,
      ...o.retry,
    },
  };
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A test backend; given an AbsentBackend, it comes up where the exporter has been failing to reach. */
async function server(at?: AbsentBackend): Promise<OtlpGrpcServer> {
  const srv = await startOtlpGrpcServer(at ? { host: at.host, port: at.port } : {});
  cleanups.push(() => srv.close());
  return srv;
}

async function exporter(endpoint: string, o: Overrides = {}): Promise<{ exporter: Exporter & DropCounting & ReportsReadiness & ReportsQueueSize; settings: RecordedSettings }> {
  const settings = testSettings('otlp');
  const created = otlpExporterFactory.create(settings, config(endpoint, o), ['metrics', 'logs']);
  assert.ok(countsDroppedItems(created) && reportsReadiness(created) && reportsQueueSize(created));
  cleanups.push(() => created.shutdown());
  await created.start(host);
  return { exporter: created, settings };
}

/** Generous: a loaded machine is slow, and waiting costs nothing when the condition comes early. */
const DEADLINE_MS = 30_000;
/** Longer than any shutdown that ends by itself, shorter than the test runner's timeout. */
const SHUTDOWN_BOUND_MS = 20_000;

async function until(predicate: () => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** sampleMetrics() whose first data point carries `tag`, to tell batches apart on the server. */
function tagged(tag: number): ResourceMetrics {
  const data = sampleMetrics();
  const sum = data.scopeMetrics[0].metrics[0];
  data.scopeMetrics[0].metrics[0] = { ...sum, dataPoints: [{ ...sum.dataPoints[0], value: tag }, sum.dataPoints[1]] } as typeof sum;
  return data;
}

function tagOf(srv: OtlpGrpcServer, i: number): number {
  return Number(srv.metricsRequests[i].resourceMetrics?.[0].scopeMetrics?.[0].metrics?.[0].sum?.dataPoints?.[0].asInt);
}

describe('otlp exporter over gRPC', () => {
  it('delivers metrics and logs with their values, attributes and headers', async () => {
    const srv = await server();
    const { exporter: e } = await exporter(srv.endpoint, { headers: { authorization: 'Bearer t0ken', 'X-Tenant': 'acme' } });
    await e.consumers.metrics!.consume(sampleMetrics());
    await e.consumers.logs!.consume(sampleLogs());
    await srv.waitFor(() => srv.metricsRequests.length === 1 && srv.logsRequests.length === 1);

    const rm = srv.metricsRequests[0].resourceMetrics![0];
    assert.deepStrictEqual(attributesOf(rm.resource?.attributes), { 'service.name': 'tcpscope', 'host.name': 'node-1' });
    const scopeMetrics = rm.scopeMetrics![0];
    assert.deepStrictEqual(scopeMetrics.scope, { name: 'tcpscope', version: '0.1.0' });
    const [sum, gauge, histogram, exponential] = scopeMetrics.metrics!;
    assert.deepStrictEqual(
      scopeMetrics.metrics!.map((m) => [m.name, m.unit, m.data]),
      [
        ['system.network.tcp.io', 'By', 'sum'],
        ['tcpscope.test.ratio', '1', 'gauge'],
        ['system.network.tcp.handshake.duration', 's', 'histogram'],
        ['system.network.tcp.rtt.duration', 's', 'exponentialHistogram'],
      ],
    );
    assert.equal(sum.sum?.isMonotonic, true);
    assert.equal(sum.sum?.aggregationTemporality, 2);
    assert.deepStrictEqual(
      sum.sum?.dataPoints?.map((p) => [attributesOf(p.attributes), p.asInt, p.startTimeUnixNano, p.timeUnixNano]),
      [
        [{ 'network.io.direction': 'transmit' }, '5', '1700000000000000000', '1700000010000000500'],
        [{ 'network.io.direction': 'receive' }, '7', '1700000000000000000', '1700000010000000500'],
      ],
    );
    assert.equal(gauge.gauge?.dataPoints?.[0].asDouble, 0.25);
    const h = histogram.histogram!.dataPoints![0];
    assert.deepStrictEqual(
      [h.count, h.sum, h.min, h.max, h.bucketCounts, h.explicitBounds, attributesOf(h.attributes)],
      ['4', 0.25, 0.0005, 0.2, ['1', '2', '0', '1'], [0.001, 0.01, 0.1], { 'network.tcp.handshake.role': 'client', 'error.type': 'ECONNREFUSED' }],
    );
    const x = exponential.exponentialHistogram!.dataPoints![0];
    // proto3 leaves zero values off the wire: scale 0 decodes as absent.
    assert.deepStrictEqual(
      [x.count, x.sum, x.scale ?? 0, x.zeroCount, x.positive, x.min ?? 0, x.max],
      ['4', 0.9, 0, '1', { offset: -3, bucketCounts: ['2', '1'] }, 0, 0.5],
    );

    const records = srv.logsRequests[0].resourceLogs![0].scopeLogs![0].logRecords!;
    assert.deepStrictEqual(
      records.map((r) => [r.eventName, r.timeUnixNano, r.observedTimeUnixNano, attributesOf(r.attributes)]),
      [
        ['tcp.connect', '1700000005250000000', '1700000010000000500', { 'network.peer.address': '10.0.0.2', 'network.peer.port': 443, 'network.type': 'ipv4', 'process.pid': 1234 }],
        ['tcp.close', '1700000009000000000', '1700000010000000500', { 'network.peer.address': '10.0.0.2', 'tcp.bytes.sent': 1000, 'tcp.duration': 3.75, 'process.executable.name': 'curl' }],
      ],
    );
    for (const { metadata } of srv.received) {
      assert.equal(metadata.authorization, 'Bearer t0ken');
      assert.equal(metadata['x-tenant'], 'acme');
    }
    await e.forceFlush();
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 0 });
  });

  it('keeps a batch while the backend is down and delivers it once it comes up', async () => {
    const backend = await absentBackend();
    const { exporter: e, settings } = await exporter(backend.endpoint);
    // consume() returns while the backend is down: the backend only starts after it returned.
    await e.consumers.logs!.consume(sampleLogs());
    await until(() => settings.lines.some((l) => l.includes('cannot deliver')), 'the outage warning');
    // The outage lasts at least this long (retries every 50-200 ms fail meanwhile). A minimum, not
    // a wait for something: however long it lasts on a slow machine, the log must be the same.
    await new Promise((r) => setTimeout(r, 300));

    const srv = await server(backend);
    await srv.waitFor(() => srv.logsRequests.length === 1, DEADLINE_MS);
    await until(() => settings.lines.some((l) => l.includes('again after')), 'the recovery line');
    assert.deepStrictEqual(
      srv.logsRequests[0].resourceLogs![0].scopeLogs![0].logRecords!.map((r) => r.eventName),
      ['tcp.connect', 'tcp.close'],
    );
    const outage = settings.lines.filter((l) => l.startsWith('WARN') || l.startsWith('INFO'));
    assert.equal(outage.length, 2, `one line down, one line up, not one per retry: ${outage.join(' | ')}`);
    assert.equal(outage[0].replace(/ \(UNAVAILABLE: .*\);/, ' (UNAVAILABLE: …);'), `WARN  otlp: logs: cannot deliver to ${backend.endpoint} (UNAVAILABLE: …); keeping up to 100 batches and retrying with backoff`);
    assert.equal(outage[1].replace(/after \d+\.\ds;/, 'after …s;'), `INFO  otlp: logs: delivering to ${backend.endpoint} again after …s; 0 log records were dropped since the last successful delivery`);
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 0 });
  });

  it('retries a batch answered with UNAVAILABLE', async () => {
    const srv = await server();
    const { exporter: e, settings } = await exporter(srv.endpoint);
    srv.failWith(status.UNAVAILABLE, 'collector overloaded');
    await e.consumers.metrics!.consume(tagged(42));
    await srv.waitFor(() => srv.rejected >= 3);
    srv.failWith(undefined);
    await srv.waitFor(() => srv.metricsRequests.length === 1);
    assert.equal(tagOf(srv, 0), 42);
    assert.ok(settings.lines.some((l) => l.includes('(UNAVAILABLE: collector overloaded)')));
  });

  it('drops a batch the backend refuses for good, without retrying', async () => {
    const srv = await server();
    const { exporter: e, settings } = await exporter(srv.endpoint);
    srv.failWith(status.INVALID_ARGUMENT, 'bad data');
    await e.consumers.logs!.consume(sampleLogs());
    await until(() => e.droppedItems().logs === 2, 'the rejected records to be counted');
    assert.ok(settings.lines.some((l) => l.startsWith('WARN  otlp: logs: ') && l.includes('rejected a batch (INVALID_ARGUMENT: bad data)')));
    // /readyz names the exporter while the backend refuses for good, and recovers with it.
    assert.deepStrictEqual(e.readiness(), {
      ready: false,
      reason: `${srv.endpoint} rejects batches permanently (logs: INVALID_ARGUMENT: bad data); fix the exporter's endpoint, headers or credentials`,
    });
    srv.failWith(undefined);
    await e.consumers.logs!.consume(sampleLogs().slice(1));
    await srv.waitFor(() => srv.logsRequests.length === 1);
    // Batches go out one at a time, in order: a retry of the refused batch would have come before
    // this one (and, accepted now, would be the request received).
    assert.equal(srv.rejected, 1, 'not retried');
    assert.deepStrictEqual(srv.logsRequests[0].resourceLogs![0].scopeLogs![0].logRecords!.map((r) => r.eventName), ['tcp.close'], 'the next batch, not the refused one');
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 2 });
    await until(() => e.readiness().ready, 'readiness after a delivery succeeded');
  });

  it('bounds the queue while the backend is down and counts exactly what overflowed', async () => {
    const backend = await absentBackend();
    const { exporter: e, settings } = await exporter(backend.endpoint, { queue_size: 3 });
    // Metrics: batch 0 is being retried, 1..5 wait in a queue of 3: 1 and 2 (5 data points each) go.
    for (let tag = 0; tag < 6; tag++) await e.consumers.metrics!.consume(tagged(tag));
    // Logs: 5 batches of 2 records: one being retried; the 4 others wait joined as one request
    // (encoded log batches waiting behind a send are joined up to 2048 records), nothing dropped.
    for (let i = 0; i < 5; i++) await e.consumers.logs!.consume(sampleLogs());
    assert.deepStrictEqual(e.droppedItems(), { metrics: 10, logs: 0 });
    // tcpscope.exporter.queue_size: the batch being retried plus those waiting, per signal.
    assert.deepStrictEqual(e.queueSizes(), { metrics: 4, logs: 2 });
    // An unreachable backend may come back: retried, not a permanent failure, so still ready.
    assert.deepStrictEqual(e.readiness(), { ready: true });
    assert.equal(settings.lines.filter((l) => l.includes('sending queue full')).length, 1, 'one warning, for metrics');

    const srv = await server(backend);
    await srv.waitFor(() => srv.metricsRequests.length === 4 && srv.logsRequests.length === 2, DEADLINE_MS);
    const recordsPerRequest = srv.logsRequests.map((r) => r.resourceLogs!.reduce((n, rl) => n + rl.scopeLogs![0].logRecords!.length, 0));
    assert.deepStrictEqual(recordsPerRequest, [2, 8]);
    // One more batch: in order, it comes right after the four, so nothing else was sent twice.
    await e.consumers.metrics!.consume(tagged(99));
    await srv.waitFor(() => srv.metricsRequests.length === 5, DEADLINE_MS);
    assert.deepStrictEqual([0, 1, 2, 3, 4].map((i) => tagOf(srv, i)), [0, 3, 4, 5, 99], 'the oldest waiting batches were dropped');
    assert.deepStrictEqual(e.droppedItems(), { metrics: 10, logs: 0 });
    await until(() => e.queueSizes().metrics === 0 && e.queueSizes().logs === 0, 'the queues to empty');
  });

  it('shutdown delivers what is queued when the backend is up', async () => {
    const srv = await server();
    const { exporter: e } = await exporter(srv.endpoint);
    for (let tag = 0; tag < 3; tag++) await e.consumers.metrics!.consume(tagged(tag));
    await e.shutdown();
    assert.deepStrictEqual([0, 1, 2].map((i) => tagOf(srv, i)), [0, 1, 2]);
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 0 });
  });

  it('shutdown stops retrying within the timeout when the backend is down, counting what it drops', async () => {
    const backend = await absentBackend();
    const { exporter: e, settings } = await exporter(backend.endpoint, { timeout: '1s' });
    await e.consumers.logs!.consume(sampleLogs());
    await e.consumers.logs!.consume(sampleLogs());
    await e.consumers.metrics!.consume(sampleMetrics());
    // Retries never end here (max_elapsed_time 0): that shutdown returns at all shows it stopped
    // them. The bound only keeps a regression from hanging until the test's own timeout.
    const started = Date.now();
    await e.shutdown();
    assert.ok(Date.now() - started < SHUTDOWN_BOUND_MS, `shutdown took ${Date.now() - started}ms`);
    assert.deepStrictEqual(e.droppedItems(), { metrics: 5, logs: 4 });
    assert.ok(settings.lines.includes(`WARN  otlp: logs: 4 log records still queued for ${backend.endpoint} were dropped at shutdown`));
    await assert.rejects(e.consumers.logs!.consume(sampleLogs()), ExportError);
    assert.deepStrictEqual(e.droppedItems(), { metrics: 5, logs: 6 }, 'late batches are counted too');
  });

  it('shutdown takes at most about the timeout when the backend hangs', async () => {
    const srv = await server();
    const { exporter: e } = await exporter(srv.endpoint, { timeout: '400ms' });
    srv.stall(true);
    await e.consumers.logs!.consume(sampleLogs());
    await srv.waitFor(() => srv.stalled === 1);
    // The stalled request is never answered: that shutdown returns at all shows the timeout cut it.
    const started = Date.now();
    await e.shutdown();
    const took = Date.now() - started;
    assert.ok(took < SHUTDOWN_BOUND_MS, `shutdown took ${took}ms`);
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 2 });
    assert.equal(srv.logsRequests.length, 0);
  });

  it('forceFlush resolves once delivered and rejects at once while the backend is down', async () => {
    const backend = await absentBackend();
    const { exporter: e } = await exporter(backend.endpoint);
    await e.consumers.logs!.consume(sampleLogs());
    // Rejects while the backend is still down (it comes up only after): it did not wait for it.
    await assert.rejects(e.forceFlush(), (error: unknown) => {
      assert.ok(error instanceof ExportError);
      assert.ok(error.message.includes(`could not deliver to ${backend.endpoint} now; 1 logs batches stay queued for retry`), error.message);
      return true;
    });
    const srv = await server(backend);
    await srv.waitFor(() => srv.logsRequests.length === 1, DEADLINE_MS);
    await e.forceFlush();
  });

  it('shutdown is idempotent and safe without start', async () => {
    const e = otlpExporterFactory.create(testSettings('otlp'), config('127.0.0.1:1'), ['metrics', 'logs']);
    await e.shutdown();
    await e.shutdown();
    await e.forceFlush();
    assert.ok(countsDroppedItems(e));
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 0 });
  });

  it('has a consumer only for the signals it was created for', () => {
    const e = otlpExporterFactory.create(testSettings('otlp'), config('127.0.0.1:1'), ['logs']);
    assert.ok(e.consumers.logs);
    assert.equal(e.consumers.metrics, undefined);
  });
});

describe('otlp exporter config', () => {
  const validate = (input: unknown) => validateComponentSettings(otlpExporterFactory.schema, input, ['exporters', 'otlp']);

  it('has the Collector-like defaults', () => {
    assert.deepStrictEqual(validate(null), {
      endpoint: 'localhost:4317',
      tls: { insecure: false },
      headers: {},
      compression: 'gzip',
      timeout: '10s',
      sending_queue: { queue_size: 100, queue_bytes: 16 * 1024 * 1024, flush_timeout: '20ms' },
      retry_on_failure: {
        enabled: true,
        initial_interval: '5s',
        max_interval: '30s',
        max_elapsed_time: '300s',
        multiplier: 1.5,
        randomization_factor: 0.5,
      },
    });
  });

  it('resolves durations and lowercases header names', () => {
    const resolved = resolveOtlpExporterConfig(
      validate({ endpoint: '[fd00::1]:4317', headers: { 'X-Scope-OrgID': 'a' }, timeout: 2500, retry_on_failure: { max_elapsed_time: 0 } }) as OtlpExporterConfig,
    );
    assert.deepStrictEqual(resolved, {
      endpoint: '[fd00::1]:4317',
      insecure: false,
      headers: { 'x-scope-orgid': 'a' },
      compression: 'gzip',
      timeoutMs: 2500,
      queueSize: 100,
      queueBytes: 16 * 1024 * 1024,
      flushTimeoutMs: 20,
      retry: { enabled: true, initialIntervalMs: 5000, maxIntervalMs: 30000, maxElapsedTimeMs: 0, multiplier: 1.5, randomizationFactor: 0.5 },
    });
  });

  const bad: [string, unknown, RegExp][] = [
    ['a URL as endpoint', { endpoint: 'http://collector:4317' }, /^exporters\.otlp\.endpoint: must be host:port, e\.g\. otel-collector:4317 or \[fd00::1\]:4317, without a scheme; plaintext or TLS is chosen with tls\.insecure, got "http:\/\/collector:4317"/],
    ['no port', { endpoint: 'collector' }, /^exporters\.otlp\.endpoint: must be host:port/],
    ['port out of range', { endpoint: 'collector:70000' }, /^exporters\.otlp\.endpoint: must be host:port/],
    ['a negative flush_timeout', { sending_queue: { flush_timeout: -1 } }, /^exporters\.otlp\.sending_queue\.flush_timeout: must be a duration: milliseconds as a number, or a string like "500ms", "5s" or "1m30s", got -1/],
    ['insecure as a string', { tls: { insecure: 'yes' } }, /^exporters\.otlp\.tls\.insecure: must be true or false, got "yes"/],
    ['unknown tls key', { tls: { ca_file: '/x' } }, /^exporters\.otlp\.tls\.ca_file: unknown key; expected one of: insecure/],
    ['numeric header value', { headers: { 'x-id': 7 } }, /^exporters\.otlp\.headers: header "x-id" must have a printable ASCII string value \(quote numbers in YAML\)/],
    ['bad header name', { headers: { 'x id': 'a' } }, /^exporters\.otlp\.headers: header name "x id" must be letters/],
    ['binary header', { headers: { 'trace-bin': 'a' } }, /^exporters\.otlp\.headers: header name "trace-bin" .*not end in -bin/],
    ['headers as a list', { headers: ['a'] }, /^exporters\.otlp\.headers: must be a map of header name to string value/],
    ['unknown compression', { compression: 'zstd' }, /^exporters\.otlp\.compression: must be one of "gzip", "none", got "zstd"/],
    ['zero timeout', { timeout: 0 }, /^exporters\.otlp\.timeout: must be a duration of at least 1ms, got 0/],
    ['bad timeout', { timeout: 'ten seconds' }, /^exporters\.otlp\.timeout: must be a duration/],
    ['zero queue', { sending_queue: { queue_size: 0 } }, /^exporters\.otlp\.sending_queue\.queue_size: must be an integer of at least 1, got 0/],
    ['fractional queue', { sending_queue: { queue_size: 2.5 } }, /^exporters\.otlp\.sending_queue\.queue_size: must be an integer of at least 1/],
    ['queue size as a string', { sending_queue: { queue_size: '10' } }, /^exporters\.otlp\.sending_queue\.queue_size: must be a number, got "10"/],
    ['multiplier below 1', { retry_on_failure: { multiplier: 0.5 } }, /^exporters\.otlp\.retry_on_failure\.multiplier: must be a number of at least 1, got 0\.5/],
    ['jitter above 1', { retry_on_failure: { randomization_factor: 2 } }, /^exporters\.otlp\.retry_on_failure\.randomization_factor: must be a number from 0 to 1, got 2/],
    ['unknown retry key', { retry_on_failure: { max_retries: 3 } }, /^exporters\.otlp\.retry_on_failure\.max_retries: unknown key/],
  ];
  for (const [name, input, error] of bad) {
    it(`rejects ${name}`, () =>
      assert.throws(() => validate(input), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, error);
        return true;
      }));
  }

  it('validate() refuses max_interval below initial_interval (config validation reports it with the key path)', () => {
    const c = validate({ retry_on_failure: { initial_interval: '10s', max_interval: '1s' } }) as OtlpExporterConfig;
    assert.deepStrictEqual(otlpExporterFactory.validate?.(c), {
      key: 'retry_on_failure.max_interval',
      message: 'must be at least initial_interval ("10s"), got "1s"',
    });
    assert.equal(otlpExporterFactory.validate?.(validate({}) as OtlpExporterConfig), undefined);
  });

  it('documents every key with a format and a default', () => {
    const walk = (node: Record<string, unknown>, path: string): void => {
      for (const [key, item] of Object.entries(node)) {
        const leaf = item as Record<string, unknown>;
        if (!('default' in leaf)) {
          walk(leaf, `${path}${key}.`);
          continue;
        }
        assert.ok(typeof leaf.doc === 'string' && leaf.doc.length > 0, `${path}${key} has a doc`);
        assert.ok('format' in leaf, `${path}${key} has a format`);
      }
    };
    walk(otlpExporterFactory.schema as Record<string, unknown>, '');
  });
});
