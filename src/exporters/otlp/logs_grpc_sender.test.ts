// The otlp exporter's log path (records encoded on accept, bytes queued, sent as they are) against
// a real OTLP/gRPC receiver on loopback: every record arrives, counted, and decodes to the message
// the SDK exporter would have sent; UNAVAILABLE is retried, INVALID_ARGUMENT is not; a partial
// success is logged and its rejected records counted; gzip; the queue bounded by bytes.
import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { join } from 'node:path';
import type { Host } from '../../component';
import { PACKAGE_ROOT } from '../../paths';
import { absentBackend, startOtlpGrpcServer, type OtlpGrpcServer } from '../../../test/support/otlp-grpc-server';
import { recordingSettings } from '../../../test/support/recording-settings';
import { countsDroppedItems, type DropCounting } from '../dropped_items';
import { reportsQueueSize, type ReportsQueueSize } from '../queue_size';
import type { Exporter } from '../../component';
import { otlpExporterFactory, type OtlpExporterConfig } from './factory';
import { decodePartialSuccess, encodeLogsBatch, logsEncoder, MAX_MERGED_BYTES, mergeEncodedLogs, releaseEncodedLogs } from './logs_grpc_sender';
import { MAX_RECORDS_PER_REQUEST } from './otlp_exporter';

const host: Host = { reportFatal: (e) => assert.fail(`unexpected fatal: ${e.message}`) };
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const resource = resourceFromAttributes({ 'service.name': 'tcpscope', 'host.name': 'node-1' });
const scope = { name: 'tcpscope/tcp_lifecycle', version: '0.1.0' };

/** `n` records like tcp_lifecycle's, each with its index as local port to tell them apart. */
function records(n: number, from = 0): ReadableLogRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    hrTime: [1_700_000_000 + i, 123_456_789] as [number, number],
    hrTimeObserved: [1_700_000_100 + i, 5] as [number, number],
    eventName: i % 3 === 0 ? 'tcp.connect' : i % 3 === 1 ? 'tcp.accept' : 'tcp.close',
    attributes: {
      'network.transport': 'tcp',
      'network.type': 'ipv4',
      'network.local.address': '127.0.0.1',
      'network.local.port': from + i,
      'network.peer.address': '127.0.0.1',
      'network.peer.port': 443,
      'process.pid': 4242,
      'process.executable.name': 'grüße',
      'tcp.duration': 0.001 * i,
    },
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
  }));
}

function config(endpoint: string, o: { compression?: 'gzip' | 'none'; queue_size?: number; queue_bytes?: number; flush_timeout?: string; headers?: Record<string, string> } = {}): OtlpExporterConfig {
  return {
    endpoint,
    tls: { insecure: true },
    headers: o.headers ?? {},
    compression: o.compression ?? 'gzip',
    timeout: '2s',
    // flush_timeout 0 unless a test sets it: most follow each batch to its own request.
    sending_queue: { queue_size: o.queue_size ?? 100, flush_timeout: o.flush_timeout ?? 0, ...(o.queue_bytes ? { queue_bytes: o.queue_bytes } : {}) },
    retry_on_failure: { enabled: true, initial_interval: '50ms', max_interval: '200ms', max_elapsed_time: 0, multiplier: 2, randomization_factor: 0 },
  };
}

async function server(at?: { host: string; port: number }): Promise<OtlpGrpcServer> {
  const srv = await startOtlpGrpcServer(at ?? {});
  cleanups.push(() => srv.close());
  return srv;
}

async function exporter(endpoint: string, o: Parameters<typeof config>[1] = {}) {
  const settings = recordingSettings('otlp');
  const e = otlpExporterFactory.create(settings, config(endpoint, o), ['logs']) as Exporter & DropCounting & ReportsQueueSize;
  assert.ok(countsDroppedItems(e) && reportsQueueSize(e));
  cleanups.push(() => e.shutdown());
  await e.start(host);
  return { e, settings };
}

// The server's own decoding (proto-loader, the official protos) of the SDK serializer's bytes.
const LOGS_SERVICE = 'opentelemetry/proto/collector/logs/v1/logs_service.proto';
const definitions = protoLoader.loadSync(LOGS_SERVICE, { includeDirs: [join(PACKAGE_ROOT, 'test', 'support', 'proto')], keepCase: false, longs: String, enums: Number, defaults: false, oneofs: true });
const exportMethod = (definitions['opentelemetry.proto.collector.logs.v1.LogsService'] as Record<string, protoLoader.MethodDefinition<object, object>>).Export;
const sdkDecoded = (rs: ReadableLogRecord[]) => exportMethod.requestDeserialize(Buffer.from(ProtobufLogsSerializer.serializeRequest(rs)!));

describe('otlp exporter: logs as pre-encoded protobuf over gRPC', () => {
  for (const compression of ['gzip', 'none'] as const) {
    it(`delivers every record of many batches, equal to what the SDK encodes of each (${compression})`, async () => {
      const srv = await server();
      const { e } = await exporter(srv.endpoint, { compression });
      const batches = Array.from({ length: 20 }, (_, b) => records(250, b * 250));
      for (const batch of batches) await e.consumers.logs!.consume(batch);
      const resourceLogs = () => srv.logsRequests.flatMap((r) => r.resourceLogs ?? []);
      const count = () => resourceLogs().reduce((n, r) => n + (r.scopeLogs?.[0].logRecords?.length ?? 0), 0);
      await srv.waitFor(() => count() === 5000);
      // Batches that waited behind a send were joined into one request (at most 2048 records), each
      // keeping its own ResourceLogs: in order, every batch's ResourceLogs is the SDK's, field for field.
      assert.ok(srv.logsRequests.length >= 3 && srv.logsRequests.length <= 20, `${srv.logsRequests.length} requests`);
      for (const r of srv.logsRequests) assert.ok(r.resourceLogs!.reduce((n, rl) => n + rl.scopeLogs![0].logRecords!.length, 0) <= MAX_RECORDS_PER_REQUEST);
      assert.deepStrictEqual(resourceLogs(), batches.flatMap((batch) => (sdkDecoded(batch) as { resourceLogs: unknown[] }).resourceLogs));
      const ports = resourceLogs().flatMap((r) => r.scopeLogs![0].logRecords!.map((l) => Number(l.attributes!.find((a) => a.key === 'network.local.port')!.value!.intValue)));
      assert.deepStrictEqual(ports, Array.from({ length: 5000 }, (_, i) => i));
      assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 0 });
    });
  }

  it('sends a batch of more records than MAX_RECORDS_PER_REQUEST as several requests, in order', async () => {
    const srv = await server();
    const { e } = await exporter(srv.endpoint);
    const batch = records(2 * MAX_RECORDS_PER_REQUEST + 904);
    await e.consumers.logs!.consume(batch);
    await srv.waitFor(() => srv.logsRequests.length === 3);
    assert.deepStrictEqual(srv.logsRequests.map((r) => r.resourceLogs![0].scopeLogs![0].logRecords!.length), [MAX_RECORDS_PER_REQUEST, MAX_RECORDS_PER_REQUEST, 904]);
    srv.logsRequests.forEach((r, i) => assert.deepStrictEqual(r, sdkDecoded(batch.slice(i * MAX_RECORDS_PER_REQUEST, (i + 1) * MAX_RECORDS_PER_REQUEST))));
    await e.shutdown();
    await assert.rejects(e.consumers.logs!.consume(batch), /is shut down/);
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: batch.length }, 'every record of a split batch consumed after shutdown is counted');
  });

  it('sends configured headers, and OTEL_EXPORTER_OTLP_HEADERS for names not configured', async (t) => {
    const saved = process.env.OTEL_EXPORTER_OTLP_HEADERS;
    t.after(() => (saved === undefined ? delete process.env.OTEL_EXPORTER_OTLP_HEADERS : (process.env.OTEL_EXPORTER_OTLP_HEADERS = saved)));
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-from-env=env,authorization=from-env';
    const srv = await server();
    const { e } = await exporter(srv.endpoint, { headers: { authorization: 'Bearer t0ken' } });
    await e.consumers.logs!.consume(records(2));
    await srv.waitFor(() => srv.logsRequests.length === 1);
    assert.equal(srv.received[0].metadata.authorization, 'Bearer t0ken');
    assert.equal(srv.received[0].metadata['x-from-env'], 'env');
  });

  it('retries a logs batch answered with UNAVAILABLE, then delivers it whole', async () => {
    const srv = await server();
    const { e, settings } = await exporter(srv.endpoint);
    srv.failWith(status.UNAVAILABLE, 'collector overloaded');
    await e.consumers.logs!.consume(records(7));
    await srv.waitFor(() => srv.rejected >= 3);
    srv.failWith(undefined);
    await srv.waitFor(() => srv.logsRequests.length === 1);
    assert.equal(srv.logsRequests[0].resourceLogs![0].scopeLogs![0].logRecords!.length, 7);
    assert.ok(settings.lines.some((l) => l.startsWith('WARN  otlp: logs: cannot deliver') && l.includes('(UNAVAILABLE: collector overloaded)')));
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 0 });
  });

  it('drops a logs batch answered with INVALID_ARGUMENT without retrying, counting its records', async () => {
    const srv = await server();
    const { e, settings } = await exporter(srv.endpoint);
    srv.failWith(status.INVALID_ARGUMENT, 'bad data');
    await e.consumers.logs!.consume(records(5));
    await srv.waitFor(() => e.droppedItems().logs === 5);
    assert.equal(srv.rejected, 1, 'one attempt, no retry');
    assert.ok(settings.lines.some((l) => l.includes('rejected a batch (INVALID_ARGUMENT: bad data); dropped its 5 log records')));
  });

  it('logs a partial success once per message and counts the records it rejected', async () => {
    const srv = await server();
    const { e, settings } = await exporter(srv.endpoint);
    srv.answerLogsWith({ partialSuccess: { rejectedLogRecords: 2, errorMessage: 'attribute too long' } });
    await e.consumers.logs!.consume(records(5));
    await e.consumers.logs!.consume(records(5));
    await srv.waitFor(() => srv.logsRequests.length === 2 && e.droppedItems().logs === 4);
    const warnings = settings.lines.filter((l) => l.includes('accepted a batch only in part'));
    assert.deepStrictEqual(warnings, [
      `WARN  otlp: logs: ${srv.endpoint} accepted a batch only in part: it rejected 2 log records (attribute too long); rejected records are counted as dropped, further partial successes with the same message are not logged`,
    ]);
    srv.answerLogsWith(undefined);
    await e.consumers.logs!.consume(records(5));
    await srv.waitFor(() => srv.logsRequests.length === 3);
    assert.equal(e.droppedItems().logs, 4);
  });

  it('with flush_timeout, batches that arrive together go out as one request, at once on a flush', async () => {
    const srv = await server();
    // Long enough that only the flush can have sent them: the timeout itself is tested with a
    // fake clock in delivery_queue.test.ts.
    const { e } = await exporter(srv.endpoint, { flush_timeout: '60s' });
    for (let i = 0; i < 5; i++) await e.consumers.logs!.consume(records(5));
    assert.deepStrictEqual(e.queueSizes(), { logs: 1 }, 'joined into one batch, waiting for more');
    assert.equal(srv.logsRequests.length, 0);
    await e.forceFlush();
    await srv.waitFor(() => srv.logsRequests.length === 1);
    const recordsPerRequest = srv.logsRequests.map((r) => r.resourceLogs!.reduce((n, rl) => n + rl.scopeLogs!.reduce((m, sl) => m + sl.logRecords!.length, 0), 0));
    assert.deepStrictEqual(recordsPerRequest, [25]);
    assert.deepStrictEqual(e.queueSizes(), { logs: 0 });
  });

  it('bounds the waiting batches by bytes while the backend is down, counting exactly what it drops', async () => {
    const backend = await absentBackend();
    // Batches of 1100 records: two do not fit one request (2048 at most), so they wait apart.
    const N = 1100;
    const batchBytes = encodeLogsBatch(records(N), (rs) => Buffer.from(ProtobufLogsSerializer.serializeRequest(rs as ReadableLogRecord[])!)).size;
    // Room for 3 batches by bytes, 100 by count: bytes decide.
    const { e, settings } = await exporter(backend.endpoint, { queue_bytes: batchBytes * 3 + batchBytes / 2 });
    await e.consumers.logs!.consume(records(N));
    // The first batch leaves the queue to be sent (and retried), so 3 wait behind it.
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 30_000;
      const poll = () => (e.queueSizes().logs === 1 ? resolve() : Date.now() > deadline ? reject(new Error('first batch never in flight')) : setTimeout(poll, 10));
      poll();
    });
    for (let i = 0; i < 6; i++) await e.consumers.logs!.consume(records(N));
    assert.deepStrictEqual(e.queueSizes(), { logs: 4 });
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 3 * N });
    assert.ok(settings.lines.some((l) => l.includes(`sending queue full (100 batches or ${batchBytes * 3 + batchBytes / 2} bytes)`)));
    const srv = await server(backend);
    await srv.waitFor(() => srv.logsRequests.length === 4, 30_000);
    assert.deepStrictEqual(e.droppedItems(), { metrics: 0, logs: 3 * N });
  });
});

describe('logs batch encoding', () => {
  it('joins waiting batches up to MAX_RECORDS_PER_REQUEST records and MAX_MERGED_BYTES, never a failed one', () => {
    const a = encodeLogsBatch(records(1000), logsEncoder());
    const b = encodeLogsBatch(records(1048), logsEncoder());
    const joined = mergeEncodedLogs(a, b, MAX_RECORDS_PER_REQUEST);
    assert.ok(joined);
    assert.deepStrictEqual([joined.records, joined.size, joined.parts.length], [2048, a.size + b.size, 2]);
    assert.equal(mergeEncodedLogs(joined, encodeLogsBatch(records(1), logsEncoder()), MAX_RECORDS_PER_REQUEST), undefined, 'past 2048 records');
    const big = { parts: [Buffer.alloc(MAX_MERGED_BYTES)], size: MAX_MERGED_BYTES, records: 1 };
    assert.equal(mergeEncodedLogs(big, encodeLogsBatch(records(1), logsEncoder()), MAX_RECORDS_PER_REQUEST), undefined, 'past MAX_MERGED_BYTES');
    const failed = { parts: [], size: 0, records: 1, error: 'x' };
    assert.equal(mergeEncodedLogs(a, failed, MAX_RECORDS_PER_REQUEST), undefined);
    assert.equal(mergeEncodedLogs(failed, a, MAX_RECORDS_PER_REQUEST), undefined);
  });

  it('joins requests that are adjacent in one slab into one part, with the bytes of both and both leases', () => {
    const encode = logsEncoder();
    const a = encodeLogsBatch(records(100), encode);
    const b = encodeLogsBatch(records(50, 100), encode);
    const expected = Buffer.concat([...a.parts, ...b.parts]).toString('hex');
    const joined = mergeEncodedLogs(a, b, MAX_RECORDS_PER_REQUEST);
    assert.ok(joined);
    assert.deepStrictEqual([joined.records, joined.size, joined.parts.length, joined.leases?.length], [150, a.size + b.size, 1, 2]);
    assert.equal(joined.parts[0].toString('hex'), expected);
    releaseEncodedLogs(joined);
  });

  it('falls back to the SDK serializer when the direct encoder throws, with the same bytes', () => {
    const rs = records(3);
    const batch = encodeLogsBatch(rs, () => {
      throw new Error('not encodable');
    });
    assert.equal(batch.error, undefined);
    assert.equal(batch.records, 3);
    assert.equal(Buffer.concat(batch.parts).toString('hex'), Buffer.from(ProtobufLogsSerializer.serializeRequest(rs)!).toString('hex'));
  });

  it('keeps a batch neither encoder can encode as a permanent failure, counted when sent', async () => {
    // No hrTime: neither encoder can write time_unix_nano (the SDK exporter failed such a batch too).
    const bad = { ...records(1)[0], hrTime: undefined } as unknown as ReadableLogRecord;
    const batch = encodeLogsBatch([bad], () => {
      throw new Error('direct failed');
    });
    assert.match(batch.error ?? '', /^the batch cannot be encoded: /);
    const srv = await server();
    const { e, settings } = await exporter(srv.endpoint);
    await e.consumers.logs!.consume([bad]);
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 30_000;
      const poll = () => (e.droppedItems().logs === 1 ? resolve() : Date.now() > deadline ? reject(new Error('not counted')) : setTimeout(poll, 10));
      poll();
    });
    assert.ok(settings.lines.some((l) => l.includes('rejected a batch (the batch cannot be encoded: ')));
    assert.equal(srv.logsRequests.length, 0);
  });

  it('reads partial_success from an ExportLogsServiceResponse', () => {
    assert.equal(decodePartialSuccess(Buffer.alloc(0)), undefined);
    // partial_success { rejected_log_records: 300, error_message: "é" }
    const msg = Buffer.from([0x08, 0xac, 0x02, 0x12, 0x02, 0xc3, 0xa9]);
    assert.deepStrictEqual(decodePartialSuccess(Buffer.concat([Buffer.from([0x0a, msg.length]), msg])), { rejectedLogRecords: 300, errorMessage: 'é' });
    assert.equal(decodePartialSuccess(Buffer.from([0x0a, 0x00])), undefined, 'an empty partial_success is full success');
  });
});
