// runAgent with fake components: SIGHUP's flush, the shutdown limit derived from the exporters'
// own bounds, the final drop line, and the Resource's service.instance.id.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Resource } from '@opentelemetry/resources';
import { onHangup, runAgent, SHUTDOWN_ALLOWANCE_MS, SHUTDOWN_TIMEOUT_MS, shutdownLimitMs } from './agent';
import type { Exporter, ExporterFactory, ReceiverFactory } from './component';
import { ExportError } from './errors';
import { FactoryRegistry } from './pipeline';
import { agentResource } from './resource';

const dir = mkdtempSync(join(tmpdir(), 'tcpscope-agent-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface SinkBehaviour {
  flushes: number;
  failFlush: boolean;
  budgetMs?: number;
  dropped: { metrics: number; logs: number };
  resource?: Resource;
}

function registry(sink: SinkBehaviour): FactoryRegistry {
  const source: ReceiverFactory = {
    kind: 'receiver',
    type: 'source',
    signals: ['logs'],
    schema: {},
    create: (settings) => {
      sink.resource = settings.resource;
      return { start: async () => undefined, shutdown: async () => undefined };
    },
  };
  const exporter: ExporterFactory = {
    kind: 'exporter',
    type: 'sink',
    signals: ['logs'],
    schema: {},
    create: () => {
      const e: Exporter & { droppedItems(): { metrics: number; logs: number }; shutdownBudgetMs?: () => number } = {
        consumers: { logs: { consume: async () => undefined } },
        forceFlush: async () => {
          sink.flushes++;
          if (sink.failFlush) throw new ExportError('disk on fire');
        },
        start: async () => undefined,
        shutdown: async () => undefined,
        droppedItems: () => sink.dropped,
      };
      if (sink.budgetMs !== undefined) e.shutdownBudgetMs = () => sink.budgetMs!;
      return e;
    },
  };
  return new FactoryRegistry([source, exporter]);
}

function config(extra = ''): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `receivers: {source: }
exporters: {sink: , sink/two: }
service:
  pipelines:
    logs: {receivers: [source], exporters: [sink, sink/two]}
${extra}`,
  );
  return file;
}

const messages = (log: string[]) => log.map((l) => l.slice(l.indexOf(' ') + 1));

describe('runAgent', () => {
  it('flush() flushes every exporter, logs failures, and the agent keeps running', async () => {
    const sink: SinkBehaviour = { flushes: 0, failFlush: true, dropped: { metrics: 0, logs: 0 } };
    const log: string[] = [];
    const agent = await runAgent({ configPath: config(), registry: registry(sink), env: {}, writeLog: (l) => log.push(l) });
    onHangup(agent, 'SIGHUP');
    await agent.flush('received SIGHUP');
    assert.equal(sink.flushes, 2, 'two flushes shared by the two calls, one per exporter');
    assert.deepEqual(messages(log).slice(-4), [
      'INFO  received SIGHUP: flushing exporters and continuing (the config is not reloaded; restart tcpscope to apply a changed config)',
      'WARN  exporter "sink" could not flush: EXPORT_FAILED: disk on fire',
      'WARN  exporter "sink/two" could not flush: EXPORT_FAILED: disk on fire',
      'INFO  flushed 0 of 2 exporter(s)',
    ]);
    assert.equal(await agent.stop('test over'), 0);
    await agent.flush('late');
    assert.equal(sink.flushes, 2, 'no flush after stop');
  });

  it('logs what every exporter dropped when it stops', async () => {
    const sink: SinkBehaviour = { flushes: 0, failFlush: false, dropped: { metrics: 3, logs: 40 } };
    const log: string[] = [];
    const agent = await runAgent({ configPath: config(), registry: registry(sink), env: {}, writeLog: (l) => log.push(l) });
    assert.equal(await agent.stop('received SIGTERM'), 0);
    assert.equal(
      messages(log).at(-1),
      'WARN  dropped since start: exporter "sink" 3 data points, 40 log records; exporter "sink/two" 3 data points, 40 log records',
    );
  });

  it('sizes the shutdown limit above the sum of the exporters own bounds', async () => {
    const sink: SinkBehaviour = { flushes: 0, failFlush: false, budgetMs: 11_000, dropped: { metrics: 0, logs: 0 } };
    const agent = await runAgent({ configPath: config(), registry: registry(sink), env: {}, writeLog: () => undefined });
    assert.equal(agent.shutdownLimitMs, SHUTDOWN_ALLOWANCE_MS + 2 * 11_000);
    await agent.stop('test over');
    assert.equal(shutdownLimitMs([]), SHUTDOWN_TIMEOUT_MS);
  });

  it('gives the Resource a service.instance.id per run, overridable by service.telemetry.resource', async () => {
    const sink: SinkBehaviour = { flushes: 0, failFlush: false, dropped: { metrics: 0, logs: 0 } };
    const ids: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const agent = await runAgent({ configPath: config(), registry: registry(sink), env: {}, writeLog: () => undefined });
      ids.push(sink.resource!.attributes['service.instance.id']);
      await agent.stop('test over');
    }
    assert.match(String(ids[0]), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(ids[0], ids[1], 'two runs, two ids');

    const overridden = config(`  telemetry:\n    resource:\n      service.instance.id: node-7-agent\n      host.name: null\n      deployment.environment.name: prod\n`);
    const agent = await runAgent({ configPath: overridden, registry: registry(sink), env: {}, writeLog: () => undefined });
    await agent.stop('test over');
    const attributes = sink.resource!.attributes;
    assert.equal(attributes['service.instance.id'], 'node-7-agent');
    assert.equal(attributes['deployment.environment.name'], 'prod');
    assert.equal('host.name' in attributes, false, 'null removes an attribute');
    assert.equal(attributes['service.name'], 'tcpscope');
  });

  it('refuses a resource attribute that is not a string', async () => {
    const bad = config(`  telemetry:\n    resource:\n      service.instance.id: 7\n`);
    await assert.rejects(runAgent({ configPath: bad, registry: registry({ flushes: 0, failFlush: false, dropped: { metrics: 0, logs: 0 } }), env: {} }), {
      message: /^service\.telemetry\.resource: attribute "service\.instance\.id" must have a string value or null/,
    });
  });
});

describe('agentResource', () => {
  it('describes the agent, with the node name from K8S_NODE_NAME', () => {
    const resource = agentResource({ K8S_NODE_NAME: 'node-1' }, {}, () => 'fixed-id');
    assert.equal(resource.attributes['service.instance.id'], 'fixed-id');
    assert.equal(resource.attributes['k8s.node.name'], 'node-1');
    // Not the pod's hostname: the node the agent watches.
    assert.equal(resource.attributes['host.name'], 'node-1');
  });

  it('names the host by its hostname outside Kubernetes, and lets the config override it', () => {
    assert.equal(agentResource({}, {}, () => 'id').attributes['host.name'], hostname());
    assert.equal(agentResource({ K8S_NODE_NAME: 'node-1' }, { 'host.name': 'edge-7' }, () => 'id').attributes['host.name'], 'edge-7');
  });
});
