import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { TraceFlags, ValueType } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Host } from '../../component';
import { validateComponentSettings } from '../../config/component_settings';
import { ConfigError, ExportError } from '../../errors';
import { recordingSettings as testSettings } from '../../../test/support/recording-settings';
import { END, resource, sampleLogs, sampleMetrics } from '../../../test/support/telemetry-fixtures';
import { DebugExporter, debugExporterFactory, type Verbosity } from './factory';

const host: Host = { reportFatal: (e) => assert.fail(`unexpected fatal: ${e.message}`) };

/** A stdout stand-in that keeps what was written. */
class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function printed(verbosity: Verbosity, run: (e: DebugExporter) => Promise<void>): Promise<string> {
  const out = new Capture();
  const exporter = new DebugExporter(testSettings('debug'), { verbosity }, ['metrics', 'logs'], out);
  await exporter.start(host);
  await run(exporter);
  await exporter.shutdown();
  return out.text;
}

const both = async (e: DebugExporter) => {
  await e.consumers.metrics!.consume(sampleMetrics());
  await e.consumers.logs!.consume(sampleLogs());
};

const lines = (...l: string[]) => l.map((x) => x + '\n').join('');

describe('debug exporter output', () => {
  it('basic: one summary line per export', async () => {
    assert.equal(await printed('basic', both), lines('Metrics: 4 metrics, 5 data points', 'Logs: 2 log records'));
  });

  it('basic: singular counts', async () => {
    const one = sampleMetrics();
    one.scopeMetrics[0].metrics = one.scopeMetrics[0].metrics.slice(1, 2);
    const text = await printed('basic', async (e) => {
      await e.consumers.metrics!.consume(one);
      await e.consumers.logs!.consume(sampleLogs().slice(0, 1));
    });
    assert.equal(text, lines('Metrics: 1 metric, 1 data point', 'Logs: 1 log record'));
  });

  it('normal: a line per data point and per log record', async () => {
    assert.equal(
      await printed('normal', both),
      lines(
        'Metrics: 4 metrics, 5 data points',
        'system.network.tcp.io{network.io.direction=transmit} 5',
        'system.network.tcp.io{network.io.direction=receive} 7',
        'tcpscope.test.ratio{} 0.25',
        'system.network.tcp.handshake.duration{network.tcp.handshake.role=client,error.type=ECONNREFUSED} count=4 sum=0.25 min=0.0005 max=0.2 le0.001=1 le0.01=2 le0.1=0 le+Inf=1',
        'system.network.tcp.rtt.duration{} count=4 sum=0.9 min=0 max=0.5 scale=0 [0,0]=1 (0.125,0.25]=2 (0.25,0.5]=1',
        'Logs: 2 log records',
        '2023-11-14T22:13:25.250000000Z tcp.connect network.peer.address=10.0.0.2 network.peer.port=443 network.type=ipv4 process.pid=1234',
        '2023-11-14T22:13:29.000000000Z tcp.close network.peer.address=10.0.0.2 tcp.bytes.sent=1000 tcp.duration=3.75 process.executable.name=curl',
      ),
    );
  });

  it('detailed: the Collector debug exporter layout', async () => {
    const header = [
      'Resource SchemaURL: ',
      'Resource attributes:',
      '     -> service.name: Str(tcpscope)',
      '     -> host.name: Str(node-1)',
    ];
    const T0 = 'StartTimestamp: 2023-11-14 22:13:20 +0000 UTC';
    const T1 = 'Timestamp: 2023-11-14 22:13:30.0000005 +0000 UTC';
    const expected = lines(
      'Metrics: 4 metrics, 5 data points',
      'ResourceMetrics #0',
      ...header,
      'ScopeMetrics #0',
      'ScopeMetrics SchemaURL: ',
      'InstrumentationScope tcpscope 0.1.0',
      'Metric #0',
      'Descriptor:',
      '     -> Name: system.network.tcp.io',
      '     -> Description: Bytes moved over TCP',
      '     -> Unit: By',
      '     -> DataType: Sum',
      '     -> IsMonotonic: true',
      '     -> AggregationTemporality: Cumulative',
      'NumberDataPoints #0',
      'Data point attributes:',
      '     -> network.io.direction: Str(transmit)',
      T0,
      T1,
      'Value: 5',
      'NumberDataPoints #1',
      'Data point attributes:',
      '     -> network.io.direction: Str(receive)',
      T0,
      T1,
      'Value: 7',
      'Metric #1',
      'Descriptor:',
      '     -> Name: tcpscope.test.ratio',
      '     -> Description: ',
      '     -> Unit: 1',
      '     -> DataType: Gauge',
      'NumberDataPoints #0',
      T0,
      T1,
      'Value: 0.250000',
      'Metric #2',
      'Descriptor:',
      '     -> Name: system.network.tcp.handshake.duration',
      '     -> Description: TCP handshake time',
      '     -> Unit: s',
      '     -> DataType: Histogram',
      '     -> AggregationTemporality: Delta',
      'HistogramDataPoints #0',
      'Data point attributes:',
      '     -> network.tcp.handshake.role: Str(client)',
      '     -> error.type: Str(ECONNREFUSED)',
      T0,
      T1,
      'Count: 4',
      'Sum: 0.250000',
      'Min: 0.000500',
      'Max: 0.200000',
      'ExplicitBounds #0: 0.001000',
      'ExplicitBounds #1: 0.010000',
      'ExplicitBounds #2: 0.100000',
      'Buckets #0, Count: 1',
      'Buckets #1, Count: 2',
      'Buckets #2, Count: 0',
      'Buckets #3, Count: 1',
      'Metric #3',
      'Descriptor:',
      '     -> Name: system.network.tcp.rtt.duration',
      '     -> Description: Smoothed RTT',
      '     -> Unit: s',
      '     -> DataType: ExponentialHistogram',
      '     -> AggregationTemporality: Delta',
      'ExponentialHistogramDataPoints #0',
      T0,
      T1,
      'Count: 4',
      'Sum: 0.900000',
      'Min: 0.000000',
      'Max: 0.500000',
      'Bucket [0, 0], Count: 1',
      'Bucket (0.125000, 0.250000], Count: 2',
      'Bucket (0.250000, 0.500000], Count: 1',
      'Logs: 2 log records',
      'ResourceLog #0',
      ...header,
      'ScopeLogs #0',
      'ScopeLogs SchemaURL: ',
      'InstrumentationScope tcpscope 0.1.0',
      'LogRecord #0',
      'ObservedTimestamp: 2023-11-14 22:13:30.0000005 +0000 UTC',
      'Timestamp: 2023-11-14 22:13:25.25 +0000 UTC',
      'SeverityText: ',
      'SeverityNumber: Unspecified(0)',
      'EventName: tcp.connect',
      'Body: Empty()',
      'Attributes:',
      '     -> network.peer.address: Str(10.0.0.2)',
      '     -> network.peer.port: Int(443)',
      '     -> network.type: Str(ipv4)',
      '     -> process.pid: Int(1234)',
      'Trace ID: ',
      'Span ID: ',
      'Flags: 0',
      'LogRecord #1',
      'ObservedTimestamp: 2023-11-14 22:13:30.0000005 +0000 UTC',
      'Timestamp: 2023-11-14 22:13:29 +0000 UTC',
      'SeverityText: ',
      'SeverityNumber: Unspecified(0)',
      'EventName: tcp.close',
      'Body: Empty()',
      'Attributes:',
      '     -> network.peer.address: Str(10.0.0.2)',
      '     -> tcp.bytes.sent: Int(1000)',
      '     -> tcp.duration: Double(3.75)',
      '     -> process.executable.name: Str(curl)',
      'Trace ID: ',
      'Span ID: ',
      'Flags: 0',
    );
    assert.equal(await printed('detailed', both), expected);
  });

  // A record that is not an event: severity, a body, trace context, nested values, two scopes.
  const otherScope = { name: 'other', version: undefined, attributes: { 'scope.kind': 'x' } };
  const plainLog: ReadableLogRecord = {
    resource,
    instrumentationScope: otherScope,
    hrTime: [0, 0],
    hrTimeObserved: END,
    severityNumber: SeverityNumber.WARN2,
    severityText: 'warning',
    body: 'peer reset the connection',
    spanContext: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED },
    attributes: { note: 'has space', ratio: 0.5, tags: ['a', 1], nested: { z: 1, a: new Uint8Array([255]) }, empty: '' },
    droppedAttributesCount: 0,
  };

  it('normal: falls back to the observed time, shows the body, quotes ambiguous values', async () => {
    const text = await printed('normal', (e) => e.consumers.logs!.consume([plainLog]));
    assert.equal(
      text,
      lines(
        'Logs: 1 log record',
        '2023-11-14T22:13:30.000000500Z - "peer reset the connection" note="has space" ratio=0.5 tags=["a",1] nested={"a":"/w==","z":1} empty=""',
      ),
    );
  });

  it('detailed: severity, body, trace context, scope attributes and grouping by scope', async () => {
    const text = await printed('detailed', (e) => e.consumers.logs!.consume([sampleLogs()[0], plainLog]));
    const afterFirst = text.slice(text.indexOf('ScopeLogs #1'));
    assert.equal(
      afterFirst,
      lines(
        'ScopeLogs #1',
        'ScopeLogs SchemaURL: ',
        'InstrumentationScope other ',
        'InstrumentationScope attributes:',
        '     -> scope.kind: Str(x)',
        'LogRecord #0',
        'ObservedTimestamp: 2023-11-14 22:13:30.0000005 +0000 UTC',
        'Timestamp: 1970-01-01 00:00:00 +0000 UTC',
        'SeverityText: warning',
        'SeverityNumber: Warn2(14)',
        'Body: Str(peer reset the connection)',
        'Attributes:',
        '     -> note: Str(has space)',
        '     -> ratio: Double(0.5)',
        '     -> tags: Slice(["a",1])',
        '     -> nested: Map({"a":"/w==","z":1})',
        '     -> empty: Str()',
        'Trace ID: 0af7651916cd43dd8448eb211c80319c',
        'Span ID: b7ad6b7169203331',
        'Flags: 1',
      ),
    );
    assert.ok(text.startsWith(lines('Logs: 2 log records', 'ResourceLog #0')));
    assert.equal(text.split('ResourceLog #').length - 1, 1, 'one resource');
  });

  it('detailed: exponential histogram with negative buckets, most negative first', async () => {
    const m = sampleMetrics();
    m.scopeMetrics[0].metrics = [
      {
        descriptor: { name: 'x', description: '', unit: 's', valueType: ValueType.DOUBLE },
        aggregationTemporality: AggregationTemporality.DELTA,
        dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
        dataPoints: [
          {
            startTime: END,
            endTime: END,
            attributes: {},
            value: {
              count: 3,
              scale: 1,
              zeroCount: 0,
              positive: { offset: -14, bucketCounts: [1] },
              negative: { offset: 0, bucketCounts: [1, 1] },
            },
          },
        ],
      },
    ];
    const text = await printed('detailed', (e) => e.consumers.metrics!.consume(m));
    assert.ok(
      text.endsWith(
        lines(
          'Count: 3',
          'Bucket [-2.000000, -1.414214), Count: 1',
          'Bucket [-1.414214, -1.000000), Count: 1',
          // exp(-14 * ln2 / 2) lands a hair above 2^-7 (the Collector's formula has the same error).
          'Bucket (0.007813, 0.011049], Count: 1',
        ),
      ),
      text,
    );
  });
});

describe('debug exporter', () => {
  it('has consumers only for its signals; shutdown is idempotent and safe without start', async () => {
    const exporter = debugExporterFactory.create(testSettings('debug'), { verbosity: 'basic' }, ['metrics']);
    assert.ok(exporter.consumers.metrics);
    assert.equal(exporter.consumers.logs, undefined);
    await exporter.forceFlush();
    await exporter.shutdown();
    await exporter.shutdown();
    await assert.rejects(exporter.consumers.metrics!.consume(sampleMetrics()), ExportError);
  });

  it('the factory writes to stdout', () => {
    const exporter = debugExporterFactory.create(testSettings('debug'), { verbosity: 'basic' }, ['logs']);
    assert.equal((exporter as unknown as { output: unknown }).output, process.stdout);
  });
});

describe('debug exporter config', () => {
  const validate = (input: unknown) => validateComponentSettings(debugExporterFactory.schema, input, ['exporters', 'debug']);
  it('defaults to basic', () => assert.deepStrictEqual(validate(null), { verbosity: 'basic' }));
  for (const verbosity of ['basic', 'normal', 'detailed']) {
    it(`accepts ${verbosity}`, () => assert.deepStrictEqual(validate({ verbosity }), { verbosity }));
  }
  const bad: [unknown, RegExp][] = [
    [{ verbosity: 'verbose' }, /^exporters\.debug\.verbosity: must be one of "basic", "normal", "detailed", got "verbose"/],
    [{ verbosity: 2 }, /^exporters\.debug\.verbosity: must be one of "basic", "normal", "detailed"/],
    [{ sampling_initial: 2 }, /^exporters\.debug\.sampling_initial: unknown key; expected one of: verbosity/],
  ];
  for (const [input, error] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () =>
      assert.throws(() => validate(input), (e: unknown) => e instanceof ConfigError && error.test(e.message)));
  }
});

