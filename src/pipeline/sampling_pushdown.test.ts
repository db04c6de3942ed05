// Which sampling predicate each receiver is told it may push down, from the config graph.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CreateSettings, ExporterFactory, ProcessorFactory, ReceiverFactory } from '../component';
import { FACTORIES } from '../components';
import { parseConfigText, validateConfig } from '../config';
import { createLogger } from '../logger';
import type { SamplingConfig } from '../processors/sampling/config';
import { agentResource } from '../resource';
import { FactoryRegistry } from './registry';
import { buildService } from './service';
import { logsPipelinesSample, samplingPushdownFor, type SamplingPushdown } from './sampling_pushdown';

// A processor that declares nothing about its effect on events: nothing after it may move ahead.
const opaque: ProcessorFactory = {
  kind: 'processor',
  type: 'opaque',
  signals: ['logs'],
  schema: {},
  create: (_settings, _config, _signal, next) => ({ start: async () => undefined, shutdown: async () => undefined, consume: (data) => next.consume(data) }),
};
const registry = new FactoryRegistry([...FACTORIES, opaque]);

const sampling = (ratio: number, extra: Partial<SamplingConfig> = {}): SamplingConfig => ({ keep_errors: true, combine: 'any', policies: [{ hash: { ratio } }], ...extra });

function pushdownOf(yaml: string, receiver = 'tcp_lifecycle'): SamplingPushdown {
  return samplingPushdownFor(receiver, validateConfig(parseConfigText(yaml, 'test.yaml', {}), registry), registry);
}

const PROCESSORS = `
processors:
  sampling: {policies: [{hash: {ratio: 0.25}}]}
  sampling/same: {policies: [{hash: {ratio: 0.25}}]}
  sampling/other: {policies: [{hash: {ratio: 0.5}}]}
  sampling/errors: {keep_errors: false, policies: [{hash: {ratio: 0.25}}]}
  k8s_attributes:
  opaque:
`;

/** A config with tcp_lifecycle and tcp_handshake feeding the given logs pipelines (processor lists). */
function config(pipelines: Record<string, { receivers?: string[]; processors: string[] }>): string {
  const used = new Set(Object.values(pipelines).flatMap((p) => p.processors));
  const processors = PROCESSORS.split('\n').filter((line) => !line.startsWith('  ') || used.has(line.trim().split(':')[0]));
  const lines = ['receivers: {tcp_lifecycle: , tcp_handshake: }', ...processors, 'exporters: {debug: }', 'service:', '  pipelines:'];
  for (const [id, p] of Object.entries(pipelines)) {
    lines.push(`    ${id}: {receivers: [${(p.receivers ?? ['tcp_lifecycle']).join(', ')}], processors: [${p.processors.join(', ')}], exporters: [debug]}`);
  }
  if (!Object.values(pipelines).some((p) => (p.receivers ?? ['tcp_lifecycle']).includes('tcp_handshake'))) {
    lines.push('    metrics: {receivers: [tcp_handshake], exporters: [debug]}');
  }
  return lines.join('\n') + '\n';
}

describe('sampling push-down from the pipelines', () => {
  const cases: { name: string; pipelines: Record<string, { receivers?: string[]; processors: string[] }>; want: SamplingPushdown }[] = [
    { name: 'one logs pipeline that samples first', pipelines: { logs: { processors: ['sampling'] } }, want: { sampling: sampling(0.25) } },
    { name: 'after a pass-through processor', pipelines: { logs: { processors: ['k8s_attributes', 'sampling'] } }, want: { sampling: sampling(0.25) } },
    { name: 'the first of two samplers', pipelines: { logs: { processors: ['sampling', 'k8s_attributes', 'sampling/other'] } }, want: { sampling: sampling(0.25) } },
    {
      name: 'two pipelines sampling alike (different ids, same config)',
      pipelines: { logs: { processors: ['sampling'] }, 'logs/b': { processors: ['k8s_attributes', 'sampling/same'] } },
      want: { sampling: sampling(0.25) },
    },
    {
      name: 'one pipeline that does not sample',
      pipelines: { logs: { processors: ['sampling'] }, 'logs/raw': { processors: [] } },
      want: { notPushedDown: 'pipeline logs/raw does not sample' },
    },
    {
      name: 'pipelines sampling differently',
      pipelines: { logs: { processors: ['sampling'] }, 'logs/b': { processors: ['sampling/other'] } },
      want: { notPushedDown: 'pipelines logs and logs/b sample differently' },
    },
    {
      name: 'pipelines differing in keep_errors only',
      pipelines: { logs: { processors: ['sampling'] }, 'logs/b': { processors: ['sampling/errors'] } },
      want: { notPushedDown: 'pipelines logs and logs/b sample differently' },
    },
    {
      name: 'an opaque processor first',
      pipelines: { logs: { processors: ['opaque', 'sampling'] } },
      want: { notPushedDown: 'processor "opaque" comes before any sampling in pipeline logs and may change events' },
    },
    { name: 'no sampling at all', pipelines: { logs: { processors: ['k8s_attributes'] } }, want: {} },
    {
      name: 'another receiver\'s pipelines do not matter',
      pipelines: { logs: { processors: ['sampling'] }, 'logs/hs': { receivers: ['tcp_handshake'], processors: [] } },
      want: { sampling: sampling(0.25) },
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(pushdownOf(config(c.pipelines)), c.want));
  }

  it('whether any logs pipeline samples, wherever the processor stands (the kernel hashes only then)', () => {
    const samples = (yaml: string, receiver = 'tcp_lifecycle') => logsPipelinesSample(receiver, validateConfig(parseConfigText(yaml, 'test.yaml', {}), registry), registry);
    assert.equal(samples(config({ logs: { processors: ['sampling'] } })), true);
    assert.equal(samples(config({ logs: { processors: ['opaque', 'sampling'] } })), true, 'after a processor that stops push-down');
    assert.equal(samples(config({ logs: { processors: ['sampling'] }, 'logs/raw': { processors: [] } })), true, 'one of two pipelines');
    assert.equal(samples(config({ logs: { processors: [] } })), false);
    assert.equal(samples(config({ logs: { processors: ['sampling'] } }), 'tcp_handshake'), false, 'metrics pipelines only');
  });

  it('a receiver in metrics pipelines only is told nothing', () => {
    assert.deepEqual(pushdownOf(config({ logs: { processors: ['sampling'] } }), 'tcp_handshake'), {});
  });

  it('the graph hands each receiver its predicate, and says why when there is none', () => {
    const seen = new Map<string, SamplingConfig | undefined>();
    const sampled = new Map<string, boolean | undefined>();
    const source: ReceiverFactory = {
      kind: 'receiver',
      type: 'source',
      signals: ['logs'],
      schema: {},
      create: (settings: CreateSettings) => {
        seen.set(settings.id.text, settings.logsSampling);
        sampled.set(settings.id.text, settings.logsSampled);
        return { start: async () => undefined, shutdown: async () => undefined };
      },
    };
    const sink: ExporterFactory = {
      kind: 'exporter',
      type: 'sink',
      signals: ['logs'],
      schema: {},
      create: () => ({ consumers: { logs: { consume: async () => undefined } }, start: async () => undefined, shutdown: async () => undefined, forceFlush: async () => undefined }),
    };
    const fakes = new FactoryRegistry([source, sink, ...FACTORIES.filter((f) => f.kind === 'processor')]);
    const yaml = `
receivers: {source/a: , source/b: }
processors: {sampling: {policies: [{hash: {ratio: 0.1}}]}}
exporters: {sink: }
service:
  pipelines:
    logs: {receivers: [source/a, source/b], processors: [sampling], exporters: [sink]}
    logs/raw: {receivers: [source/b], exporters: [sink]}
`;
    const lines: string[] = [];
    const logger = createLogger('info', (line) => lines.push(line.replace(/^\S+ /, '')));
    buildService(validateConfig(parseConfigText(yaml, 'test.yaml', {}), fakes), fakes, { resource: agentResource(), logger });
    assert.deepEqual(seen.get('source/a'), sampling(0.1));
    assert.equal(seen.get('source/b'), undefined);
    assert.deepEqual([...sampled], [['source/a', true], ['source/b', true]], 'both feed a pipeline that samples');
    assert.deepEqual(lines, ['INFO  source/b: sampling is not pushed down to the receiver: pipeline logs/raw does not sample']);
  });
});
