// The service graph with fake components that record what happens to them, in order.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type {
  Component,
  Consumer,
  Consumers,
  ExporterFactory,
  Host,
  ProcessorFactory,
  ReceiverFactory,
  Signal,
  SignalData,
} from '../component';
import { parseConfigText, validateConfig } from '../config';
import { createLogger } from '../logger';
import { agentResource } from '../resource';
import { FanoutConsumer } from './fanout';
import { FactoryRegistry } from './registry';
import { buildService, type Service } from './service';

/** Shared record of everything the fake components saw. */
class Recorder {
  readonly events: string[] = [];
  readonly receivers = new Map<string, Consumers>();
  readonly logsPeerEvents = new Map<string, readonly string[]>();
  readonly exporterSignals = new Map<string, readonly Signal[]>();
  failStart = new Set<string>();
  failShutdown = new Set<string>();
  failConsume = new Set<string>();

  component(name: string): Component {
    return {
      start: async () => {
        this.events.push(`start ${name}`);
        if (this.failStart.has(name)) throw new Error(`${name} cannot start`);
      },
      shutdown: async () => {
        this.events.push(`shutdown ${name}`);
        if (this.failShutdown.has(name)) throw new Error(`${name} cannot stop`);
      },
    };
  }
}

const logRecords = (...bodies: string[]) => bodies.map((body) => ({ body }) as unknown as ReadableLogRecord);
const bodies = (data: readonly ReadableLogRecord[]) => data.map((r) => String(r.body)).join(',');
const METRICS = { resource: agentResource(), scopeMetrics: [] } as ResourceMetrics;

function factories(rec: Recorder) {
  const source: ReceiverFactory = {
    kind: 'receiver',
    type: 'source',
    signals: ['metrics', 'logs'],
    schema: {},
    create: (settings, _config, next) => {
      rec.receivers.set(settings.id.text, next);
      rec.logsPeerEvents.set(settings.id.text, [...(settings.logsPeerEvents ?? [])].sort());
      return rec.component(settings.id.text);
    },
  };
  // A receiver that declares it reports every established connection (as tcp_lifecycle does).
  const reporter: ReceiverFactory = { ...source, type: 'reporter', reportsEvents: () => ['established_connect', 'established_accept'] };
  // Appends its label to every log body, so the order of a chain shows in the output.
  const tag: ProcessorFactory<{ label: string }> = {
    kind: 'processor',
    type: 'tag',
    signals: ['metrics', 'logs'],
    schema: { label: { default: 'tag', format: String } },
    create<S extends Signal>(settings: { id: { text: string } }, config: { label: string }, signal: S, next: Consumer<S>) {
      const name = `${settings.id.text}@${signal}`;
      return {
        ...rec.component(name),
        consume: (data: SignalData[S]) => {
          if (signal !== 'logs') return next.consume(data);
          const tagged = (data as readonly ReadableLogRecord[]).map(
            (r) => ({ ...r, body: `${String(r.body)}|${config.label}` }) as unknown as ReadableLogRecord,
          );
          return next.consume(tagged as unknown as SignalData[S]);
        },
      };
    },
  };
  const sink: ExporterFactory = {
    kind: 'exporter',
    type: 'sink',
    signals: ['metrics', 'logs'],
    schema: {},
    create: (settings, _config, signals) => {
      const name = settings.id.text;
      rec.exporterSignals.set(name, signals);
      const consumerFor = <S extends Signal>(signal: S): Consumer<S> => ({
        consume: async (data) => {
          const shown = signal === 'logs' ? bodies(data as readonly ReadableLogRecord[]) : 'metrics';
          rec.events.push(`${name} got ${signal}: ${shown}`);
          if (rec.failConsume.has(name)) throw new Error(`${name} is down`);
        },
      });
      const consumers: { metrics?: Consumer<'metrics'>; logs?: Consumer<'logs'> } = {};
      if (signals.includes('metrics')) consumers.metrics = consumerFor('metrics');
      if (signals.includes('logs')) consumers.logs = consumerFor('logs');
      return { ...rec.component(name), consumers, forceFlush: async () => undefined };
    },
  };
  return new FactoryRegistry([source, reporter, tag, sink]);
}

function build(yaml: string, rec = new Recorder()): { rec: Recorder; service: Service } {
  const registry = factories(rec);
  const config = validateConfig(parseConfigText(yaml, 'test.yaml', {}), registry);
  const logger = createLogger('error', () => undefined);
  return { rec, service: buildService(config, registry, { resource: agentResource(), logger }) };
}

const host: Host = { reportFatal: () => assert.fail('no component reports a fatal error here') };

function emitLogs(rec: Recorder, receiver: string, ...bodyTexts: string[]): Promise<void> {
  const next = rec.receivers.get(receiver)?.logs;
  assert.ok(next, `${receiver} has a logs consumer`);
  return next.consume(logRecords(...bodyTexts));
}

const CHAIN = `
receivers: {source: }
processors:
  tag/one: {label: one}
  tag/two: {label: two}
exporters: {sink: }
service:
  pipelines:
    logs:
      receivers: [source]
      processors: [tag/one, tag/two]
      exporters: [sink]
`;

describe('service graph', () => {
  it('chains processors in the listed order', async () => {
    const { rec } = build(CHAIN);
    await emitLogs(rec, 'source', 'a', 'b');
    assert.deepEqual(rec.events, ['sink got logs: a|one|two,b|one|two']);
  });

  it('shares one receiver between pipelines, with one processor instance per pipeline', async () => {
    const { rec, service } = build(`
receivers: {source: }
processors: {tag: {label: t}}
exporters: {sink/a: , sink/b: , sink/m: }
service:
  pipelines:
    logs:
      receivers: [source]
      processors: [tag]
      exporters: [sink/a]
    logs/raw:
      receivers: [source]
      exporters: [sink/b]
    metrics:
      receivers: [source]
      processors: [tag]
      exporters: [sink/m]
`);
    assert.equal(rec.receivers.size, 1);
    await emitLogs(rec, 'source', 'x');
    assert.deepEqual(rec.events, ['sink/a got logs: x|t', 'sink/b got logs: x']);
    await rec.receivers.get('source')?.metrics?.consume(METRICS);
    assert.deepEqual(rec.events.slice(2), ['sink/m got metrics: metrics']);
    assert.deepEqual(Object.fromEntries(rec.exporterSignals), {
      'sink/a': ['logs'],
      'sink/b': ['logs'],
      'sink/m': ['metrics'],
    });
    await service.start(host);
    assert.deepEqual(rec.events.slice(3), [
      'start sink/a',
      'start sink/b',
      'start sink/m',
      'start tag@logs',
      'start tag@metrics',
      'start source',
    ]);
  });

  it('gives an exporter used by both signals a consumer for each', () => {
    const { rec } = build(`
receivers: {source: }
exporters: {sink: }
service:
  pipelines:
    logs: {receivers: [source], exporters: [sink]}
    metrics: {receivers: [source], exporters: [sink]}
`);
    assert.deepEqual(rec.exporterSignals.get('sink'), ['metrics', 'logs']);
    const next = rec.receivers.get('source');
    assert.ok(next?.logs && next.metrics);
  });

  it('tells each receiver what the receivers sharing a logs pipeline with it declare they report', () => {
    const { rec } = build(`
receivers: {source/a: , source/b: , source/c: , reporter: }
exporters: {sink: }
service:
  pipelines:
    logs: {receivers: [source/a, reporter], exporters: [sink]}
    logs/b: {receivers: [source/b, source/a], exporters: [sink]}
    metrics: {receivers: [source/c, reporter], exporters: [sink]}
    logs/c: {receivers: [source/c], exporters: [sink]}
`);
    assert.deepEqual(Object.fromEntries(rec.logsPeerEvents), {
      'source/a': ['established_accept', 'established_connect'],
      'source/b': [],
      'source/c': [],
      reporter: [],
    });
  });

  it('gives a receiver only the signals its pipelines use', () => {
    const { rec } = build(`
receivers: {source: }
exporters: {sink: }
service:
  pipelines:
    metrics: {receivers: [source], exporters: [sink]}
`);
    assert.deepEqual(Object.keys(rec.receivers.get('source') ?? {}), ['metrics']);
  });

  it('fans out to every exporter and fails only after all have settled', async () => {
    const { rec } = build(`
receivers: {source: }
exporters: {sink/a: , sink/b: , sink/c: }
service:
  pipelines:
    logs:
      receivers: [source]
      exporters: [sink/a, sink/b, sink/c]
`);
    rec.failConsume.add('sink/a');
    rec.failConsume.add('sink/c');
    await assert.rejects(emitLogs(rec, 'source', 'x'), (error: unknown) => {
      assert.ok(error instanceof AggregateError);
      assert.equal(error.message, '2 of 3 consumers failed: sink/a is down');
      assert.deepEqual(
        error.errors.map((e: Error) => e.message),
        ['sink/a is down', 'sink/c is down'],
      );
      return true;
    });
    assert.deepEqual(rec.events, ['sink/a got logs: x', 'sink/b got logs: x', 'sink/c got logs: x']);
  });

  it('starts exporters, processors (downstream first), receivers; shuts down in reverse', async () => {
    const { rec, service } = build(CHAIN);
    await service.start(host);
    await service.shutdown();
    assert.deepEqual(rec.events, [
      'start sink',
      'start tag/two@logs',
      'start tag/one@logs',
      'start source',
      'shutdown source',
      'shutdown tag/one@logs',
      'shutdown tag/two@logs',
      'shutdown sink',
    ]);
  });

  it('rolls back a failed start and throws the failing component\'s error', async () => {
    const { rec, service } = build(CHAIN);
    rec.failStart.add('tag/one@logs');
    await assert.rejects(service.start(host), { message: 'tag/one@logs cannot start' });
    assert.deepEqual(rec.events, [
      'start sink',
      'start tag/two@logs',
      'start tag/one@logs',
      'shutdown tag/one@logs',
      'shutdown tag/two@logs',
      'shutdown sink',
    ]);
    await service.shutdown();
    assert.equal(rec.events.length, 6, 'a later shutdown() does not stop anything twice');
    await assert.rejects(service.start(host), { message: 'the service was already started' });
  });

  it('shutdown is idempotent and safe without start', async () => {
    const { rec, service } = build(CHAIN);
    await Promise.all([service.shutdown(), service.shutdown()]);
    await service.shutdown();
    assert.deepEqual(rec.events, []);
    await assert.rejects(service.start(host), { message: 'the service was shut down before it started' });
  });

  it('shuts every component down even when some fail, then reports them all', async () => {
    const { rec, service } = build(CHAIN);
    rec.failShutdown.add('source');
    rec.failShutdown.add('tag/two@logs');
    await service.start(host);
    rec.events.length = 0;
    const first = service.shutdown();
    assert.equal(service.shutdown(), first, 'later calls share the first shutdown');
    await assert.rejects(first, (error: unknown) => {
      assert.ok(error instanceof AggregateError);
      assert.deepEqual(
        error.errors.map((e: Error) => e.message),
        ['source cannot stop', 'tag/two@logs cannot stop'],
      );
      assert.equal(error.message, '2 component(s) failed to shut down; first: source cannot stop');
      return true;
    });
    assert.deepEqual(rec.events, ['shutdown source', 'shutdown tag/one@logs', 'shutdown tag/two@logs', 'shutdown sink']);
  });

  it('a shutdown during start stops what started and starts nothing more', async () => {
    const { rec, service } = build(CHAIN);
    const starting = service.start(host);
    const stopping = service.shutdown();
    await starting;
    await stopping;
    assert.deepEqual(rec.events, ['start sink', 'shutdown sink']);
  });

  it('describes each pipeline for the banner', () => {
    const { service } = build(`
receivers: {source: , source/b: }
processors: {tag: }
exporters: {sink: , sink/b: }
service:
  pipelines:
    logs/all:
      receivers: [source, source/b]
      processors: [tag]
      exporters: [sink, sink/b]
    metrics: {receivers: [source], exporters: [sink]}
`);
    assert.deepEqual(service.describe(), [
      'logs/all: source, source/b -> tag -> sink, sink/b',
      'metrics: source -> sink',
    ]);
  });

  it('names the component whose factory throws', () => {
    const rec = new Recorder();
    const registry = factories(rec);
    const config = validateConfig(parseConfigText(CHAIN, 'test.yaml', {}), registry);
    const broken = new FactoryRegistry([
      { ...(registry.get('receiver', 'source') as ReceiverFactory), create: () => { throw new Error('no BTF'); } },
      registry.get('processor', 'tag') as ProcessorFactory,
      registry.get('exporter', 'sink') as ExporterFactory,
    ]);
    const logger = createLogger('error', () => undefined);
    assert.throws(() => buildService(config, broken, { resource: agentResource(), logger }), {
      code: 'COMPONENT_CREATE_FAILED',
      message: 'receiver "source" could not be created: no BTF',
    });
  });
});

describe('FanoutConsumer', () => {
  it('runs every consumer even when one throws synchronously', async () => {
    const seen: string[] = [];
    const fan = new FanoutConsumer<'logs'>([
      { consume: () => { throw new Error('sync'); } },
      { consume: async (d) => { seen.push(bodies(d)); } },
    ]);
    await assert.rejects(fan.consume(logRecords('z')), { message: '1 of 2 consumers failed: sync' });
    assert.deepEqual(seen, ['z']);
  });
});
