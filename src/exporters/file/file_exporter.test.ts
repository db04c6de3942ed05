import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ValueType } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Host } from '../../component';
import { ConfigError, ExportError } from '../../errors';
import { validateComponentSettings } from '../../config/component_settings';
import { recordingSettings as testSettings } from '../../../test/support/recording-settings';
import { END, START, resource, sampleLogs, sampleMetrics, scope } from '../../../test/support/telemetry-fixtures';
import { countsDroppedItems } from '../dropped_items';
import { resolveFileExporterConfig } from './config';
import { fileExporterFactory, type FileExporterConfig } from './factory';
import { MAX_BUFFERED_BYTES } from './file_exporter';
import { encodeLogsRequestGeneric, encodeMetricsRequest } from './otlp_json';

const host: Host = { reportFatal: (e) => assert.fail(`unexpected fatal: ${e.message}`) };

const RESOURCE = {
  attributes: [
    { key: 'service.name', value: { stringValue: 'tcpscope' } },
    { key: 'host.name', value: { stringValue: 'node-1' } },
  ],
  droppedAttributesCount: 0,
};
const SCOPE = { name: 'tcpscope', version: '0.1.0' };
const T0 = '1700000000000000000';
const T1 = '1700000010000000500';

// The OTLP/JSON the Collector's file exporter would write for sampleMetrics(): 64-bit integers
// as strings, doubles as numbers, enums (aggregationTemporality) as numbers.
const EXPECTED_METRICS = {
  resourceMetrics: [
    {
      resource: RESOURCE,
      scopeMetrics: [
        {
          scope: SCOPE,
          metrics: [
            {
              name: 'system.network.tcp.io',
              description: 'Bytes moved over TCP',
              unit: 'By',
              sum: {
                aggregationTemporality: 2,
                isMonotonic: true,
                dataPoints: [
                  { attributes: [{ key: 'network.io.direction', value: { stringValue: 'transmit' } }], startTimeUnixNano: T0, timeUnixNano: T1, asInt: '5' },
                  { attributes: [{ key: 'network.io.direction', value: { stringValue: 'receive' } }], startTimeUnixNano: T0, timeUnixNano: T1, asInt: '7' },
                ],
              },
            },
            {
              name: 'tcpscope.test.ratio',
              description: '',
              unit: '1',
              gauge: { dataPoints: [{ attributes: [], startTimeUnixNano: T0, timeUnixNano: T1, asDouble: 0.25 }] },
            },
            {
              name: 'system.network.tcp.handshake.duration',
              description: 'TCP handshake time',
              unit: 's',
              histogram: {
                aggregationTemporality: 1,
                dataPoints: [
                  {
                    attributes: [
                      { key: 'network.tcp.handshake.role', value: { stringValue: 'client' } },
                      { key: 'error.type', value: { stringValue: 'ECONNREFUSED' } },
                    ],
                    bucketCounts: ['1', '2', '0', '1'],
                    explicitBounds: [0.001, 0.01, 0.1],
                    count: '4',
                    sum: 0.25,
                    min: 0.0005,
                    max: 0.2,
                    startTimeUnixNano: T0,
                    timeUnixNano: T1,
                  },
                ],
              },
            },
            {
              name: 'system.network.tcp.rtt.duration',
              description: 'Smoothed RTT',
              unit: 's',
              exponentialHistogram: {
                aggregationTemporality: 1,
                dataPoints: [
                  {
                    attributes: [],
                    count: '4',
                    min: 0,
                    max: 0.5,
                    sum: 0.9,
                    positive: { offset: -3, bucketCounts: ['2', '1'] },
                    negative: { offset: 0, bucketCounts: [] },
                    scale: 0,
                    zeroCount: '1',
                    startTimeUnixNano: T0,
                    timeUnixNano: T1,
                  },
                ],
              },
            },
          ],
        },
      ],
    },
  ],
};

const EXPECTED_LOGS = {
  resourceLogs: [
    {
      resource: RESOURCE,
      scopeLogs: [
        {
          scope: SCOPE,
          logRecords: [
            {
              timeUnixNano: '1700000005250000000',
              observedTimeUnixNano: T1,
              body: {},
              eventName: 'tcp.connect',
              attributes: [
                { key: 'network.peer.address', value: { stringValue: '10.0.0.2' } },
                { key: 'network.peer.port', value: { intValue: '443' } },
                { key: 'network.type', value: { stringValue: 'ipv4' } },
                { key: 'process.pid', value: { intValue: '1234' } },
              ],
              droppedAttributesCount: 0,
            },
            {
              timeUnixNano: '1700000009000000000',
              observedTimeUnixNano: T1,
              body: {},
              eventName: 'tcp.close',
              attributes: [
                { key: 'network.peer.address', value: { stringValue: '10.0.0.2' } },
                { key: 'tcp.bytes.sent', value: { intValue: '1000' } },
                { key: 'tcp.duration', value: { doubleValue: 3.75 } },
                { key: 'process.executable.name', value: { stringValue: 'curl' } },
              ],
              droppedAttributesCount: 0,
            },
          ],
        },
      ],
    },
  ],
};

function config(path: string, flush_interval: number | string = 3_600_000): FileExporterConfig {
  return { path, flush_interval };
}

async function readLines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  assert.ok(text.endsWith('\n'), 'every line ends with a newline');
  return text.slice(0, -1).split('\n');
}

describe('file exporter', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tcpscope-file-exporter-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one OTLP/JSON request per line, buffered until shutdown, creating the directory', async () => {
    const path = join(dir, 'nested', 'deeper', 'out.jsonl');
    const exporter = fileExporterFactory.create(testSettings('file'), config(path), ['metrics', 'logs']);
    await exporter.start(host);
    await exporter.consumers.metrics!.consume(sampleMetrics());
    await exporter.consumers.logs!.consume(sampleLogs());

    // Nothing written yet: the flush interval (1h) has not passed.
    assert.equal((await stat(path)).size, 0);

    await exporter.shutdown();
    const lines = await readLines(path);
    assert.equal(lines.length, 2);
    const [metricsLine, logsLine] = lines.map((line) => JSON.parse(line) as unknown);
    assert.deepStrictEqual(metricsLine, EXPECTED_METRICS);
    assert.deepStrictEqual(logsLine, EXPECTED_LOGS);

    // Spot checks of the OTLP/JSON rules, for a reader of this test.
    const m = metricsLine as typeof EXPECTED_METRICS;
    assert.equal(m.resourceMetrics[0].scopeMetrics[0].metrics[0].sum?.dataPoints[0].asInt, '5');
    const l = logsLine as typeof EXPECTED_LOGS;
    assert.equal(l.resourceLogs[0].scopeLogs[0].logRecords[0].eventName, 'tcp.connect');
  });

  it('appends to an existing file and flushes on forceFlush and on the interval', async () => {
    const path = join(dir, 'append.jsonl');
    await writeFile(path, '{"existing":true}\n');
    const exporter = fileExporterFactory.create(testSettings('file'), config(path), ['logs']);
    assert.equal(exporter.consumers.metrics, undefined, 'only the configured signals get a consumer');
    await exporter.start(host);
    await exporter.consumers.logs!.consume(sampleLogs());
    await exporter.forceFlush();
    assert.equal((await readLines(path)).length, 2);

    const ticking = fileExporterFactory.create(testSettings('file'), config(path, 20), ['logs']);
    await ticking.start(host);
    await ticking.consumers.logs!.consume(sampleLogs().slice(0, 1));
    // Waited for with a generous deadline: on a loaded machine a 20 ms tick can come late.
    const deadline = Date.now() + 30_000;
    while ((await readLines(path)).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const lines = await readLines(path);
    assert.equal(lines.length, 3, 'the interval flush wrote the third line');
    assert.deepStrictEqual(JSON.parse(lines[0]), { existing: true });
    assert.equal(
      (JSON.parse(lines[2]) as typeof EXPECTED_LOGS).resourceLogs[0].scopeLogs[0].logRecords.length,
      1,
    );
    await ticking.shutdown();
    await exporter.shutdown();
  });

  it('encodes NaN and infinities the proto3 JSON way and skips empty batches', async () => {
    const path = join(dir, 'special.jsonl');
    const exporter = fileExporterFactory.create(testSettings('file'), config(path), ['metrics', 'logs']);
    await exporter.start(host);
    const special: ResourceMetrics = {
      resource,
      scopeMetrics: [
        {
          scope,
          metrics: [
            {
              descriptor: { name: 'g', description: '', unit: '1', valueType: ValueType.DOUBLE },
              aggregationTemporality: AggregationTemporality.CUMULATIVE,
              dataPointType: DataPointType.GAUGE,
              dataPoints: [
                { startTime: START, endTime: END, attributes: { big: 2 ** 60 }, value: NaN },
                { startTime: START, endTime: END, attributes: {}, value: -Infinity },
              ],
            },
          ],
        },
      ],
    };
    await exporter.consumers.metrics!.consume(special);
    await exporter.consumers.metrics!.consume({ resource, scopeMetrics: [] });
    await exporter.consumers.logs!.consume([]);
    await exporter.shutdown();
    const lines = await readLines(path);
    assert.equal(lines.length, 1, 'empty batches write nothing');
    const points = (JSON.parse(lines[0]) as { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ gauge: { dataPoints: Record<string, unknown>[] } }] }] }] })
      .resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints;
    assert.equal(points[0].asDouble, 'NaN');
    assert.deepStrictEqual(points[0].attributes, [{ key: 'big', value: { intValue: '1152921504606846976' } }]);
    assert.equal(points[1].asDouble, '-Infinity');
  });

  it('writes exactly the generic lines across flush boundaries, for a request larger than the buffer and non-ASCII text', async () => {
    const path = join(dir, 'boundaries.jsonl');
    const exporter = fileExporterFactory.create(testSettings('file'), config(path), ['metrics', 'logs']);
    await exporter.start(host);
    const batches: ReadableLogRecord[][] = [];
    for (let b = 0; b < 150; b++) {
      // ~25 kB per request: 150 of them cross MAX_BUFFERED_BYTES (256 KiB) many times
      batches.push(
        sampleLogs().flatMap((r, i) =>
          Array.from({ length: 20 }, (_, k) => ({
            ...r,
            attributes: { ...r.attributes, 'process.linux.cgroup': `/user.slice/café-☃-😀-${b}-${i}-${k}`, pad: 'x'.repeat(500), 'process.executable.name': 'caf\xe9\x01"' },
          })),
        ),
      );
    }
    // one request alone larger than the flush threshold (and than any buffer so far)
    batches.splice(30, 0, sampleLogs().map((r) => ({ ...r, attributes: { ...r.attributes, huge: 'é'.repeat(1_200_000) } })));
    const expected: string[] = [];
    // half of them without waiting: lines keep being encoded while a write is in flight
    const inFlight: Promise<void>[] = [];
    for (const [i, batch] of batches.entries()) {
      if (i % 2 === 0) inFlight.push(exporter.consumers.logs!.consume(batch));
      else await exporter.consumers.logs!.consume(batch);
      expected.push(encodeLogsRequestGeneric(batch));
      if (i === 10) {
        await exporter.consumers.metrics!.consume(sampleMetrics());
        expected.push(encodeMetricsRequest(sampleMetrics()));
      }
    }
    await Promise.all(inFlight);
    await exporter.shutdown();
    const written = await readFile(path);
    assert.ok(written.length > 3 * MAX_BUFFERED_BYTES, `${written.length} bytes: several flushes`);
    assert.deepEqual(written, Buffer.from(expected.join('\n') + '\n', 'utf8'));
  });

  it('shutdown is idempotent and safe without start; consume after shutdown fails', async () => {
    const path = join(dir, 'never', 'opened.jsonl');
    const exporter = fileExporterFactory.create(testSettings('file'), config(path), ['metrics', 'logs']);
    await exporter.shutdown();
    await exporter.shutdown();
    await assert.rejects(stat(path), { code: 'ENOENT' }, 'no file is created without start');
    await assert.rejects(exporter.consumers.logs!.consume(sampleLogs()), ExportError);
  });

  it('fails start with an actionable error when the file cannot be opened', async () => {
    const blocked = join(dir, 'blocked');
    await writeFile(blocked, 'a file where a directory is expected');
    const exporter = fileExporterFactory.create(testSettings('file'), config(join(blocked, 'out.jsonl')), ['logs']);
    await assert.rejects(exporter.start(host), (error: unknown) => {
      assert.ok(error instanceof ExportError);
      assert.equal(error.code, 'EXPORT_FAILED');
      assert.match(error.message, /cannot open .*blocked\/out\.jsonl for appending/);
      return true;
    });
    await exporter.shutdown();
  });

  it('counts the items of lines it could not write, and logs the failure once', { skip: !existsSync('/dev/full') && 'needs /dev/full' }, async () => {
    // Every write to /dev/full fails with ENOSPC: a disk that is full.
    const settings = testSettings('file');
    const exporter = fileExporterFactory.create(settings, config('/dev/full', 20), ['metrics', 'logs']);
    await exporter.start(host);
    await exporter.consumers.metrics!.consume(sampleMetrics());
    await exporter.consumers.logs!.consume(sampleLogs());
    await assert.rejects(exporter.forceFlush(), /^ExportError: cannot append 2 lines to \/dev\/full: ENOSPC.*; they were dropped$/);
    assert.ok(countsDroppedItems(exporter));
    assert.deepStrictEqual(exporter.droppedItems(), { metrics: 5, logs: 2 });

    // Interval flushes keep failing; the log says so once, not once per tick.
    // Each batch waits for the tick that fails to write it (counted), however late it comes.
    for (let i = 1; i <= 3; i++) {
      await exporter.consumers.logs!.consume(sampleLogs());
      const deadline = Date.now() + 30_000;
      while (exporter.droppedItems().logs < 2 + 2 * i && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepStrictEqual(exporter.droppedItems(), { metrics: 5, logs: 8 });
    const errors = settings.lines.filter((l) => l.startsWith('ERROR'));
    assert.equal(errors.length, 1, errors.join(' | '));
    assert.match(errors[0], /^ERROR file: cannot append 1 lines to \/dev\/full: ENOSPC.*they were dropped; will keep trying every 20ms$/);
    await exporter.shutdown();
  });
});

describe('file exporter config', () => {
  // Through the agent's own config validation, so the messages are the ones a user sees.
  const validate = (input: unknown) => validateComponentSettings(fileExporterFactory.schema, input, ['exporters', 'file']);
  const cases: { name: string; input: unknown; error?: RegExp; expected?: FileExporterConfig }[] = [
    { name: 'defaults', input: { path: '/tmp/x.jsonl' }, expected: { path: '/tmp/x.jsonl', flush_interval: '1s' } },
    { name: 'duration string', input: { path: 'x', flush_interval: '1m30s' }, expected: { path: 'x', flush_interval: '1m30s' } },
    { name: 'milliseconds', input: { path: 'x', flush_interval: 250 }, expected: { path: 'x', flush_interval: 250 } },
    { name: 'missing path', input: null, error: /^exporters\.file\.path: is required: must be a non-empty file path/ },
    { name: 'empty path', input: { path: '' }, error: /^exporters\.file\.path: must be a non-empty file path, e\.g\. \/var\/lib\/tcpscope\/telemetry\.jsonl, got ""/ },
    { name: 'blank path', input: { path: '  ' }, error: /^exporters\.file\.path: must be a non-empty file path/ },
    { name: 'bad duration', input: { path: 'x', flush_interval: 'soon' }, error: /^exporters\.file\.flush_interval: must be a duration: milliseconds as a number, or a string like "500ms", "5s" or "1m30s", got "soon"/ },
    { name: 'zero interval', input: { path: 'x', flush_interval: 0 }, error: /^exporters\.file\.flush_interval: must be a duration of at least 1ms, got 0/ },
    { name: 'unknown key', input: { path: 'x', rotation: {} }, error: /^exporters\.file\.rotation: unknown key; expected one of: path, flush_interval/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.error) {
        assert.throws(() => validate(c.input), (e: unknown) => e instanceof ConfigError && c.error!.test(e.message));
      } else {
        assert.deepStrictEqual(validate(c.input), c.expected);
      }
    });
  }

  it('resolves durations to milliseconds', () => {
    assert.deepStrictEqual(resolveFileExporterConfig({ path: 'x', flush_interval: '1m30s' }), { path: 'x', flushIntervalMs: 90_000 });
    assert.deepStrictEqual(resolveFileExporterConfig({ path: 'x', flush_interval: 250 }), { path: 'x', flushIntervalMs: 250 });
  });

  it('documents every key with a format and a default', () => {
    for (const [key, item] of Object.entries(fileExporterFactory.schema)) {
      assert.ok(typeof (item as { doc?: string }).doc === 'string', `${key} has a doc`);
      assert.ok('default' in (item as object) && 'format' in (item as object), `${key} has format and default`);
    }
  });
});
