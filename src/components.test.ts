// The component contract of src/component.ts, checked over every factory the agent ships
// (FACTORIES): a component created with its default config can be shut down without ever being
// started, and shutting it down again is harmless. The service shuts down a component whose
// start() failed half-way, and a second stop request must not fail. Creating a receiver must not
// touch the kernel: that is start()'s job, so a start-up that fails before the receivers start
// leaves no BPF program behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfObject } from './bridge/bpf_object';
import type { Component, Consumer, Consumers, CreateSettings, Factory, Signal, SignalData } from './component';
import { FACTORIES } from './components';
import { validateComponentSettings } from './config/component_settings';
import { createLogger } from './logger';
import { agentResource } from './resource';

// The few keys that have no usable default (their default fails the schema on purpose, so a
// config must give them). Every other key keeps its default.
function requiredSettings(type: string, dir: string): Record<string, unknown> {
  switch (type) {
    case 'file':
      return { path: join(dir, 'telemetry.jsonl') };
    case 'sampling':
      return { policies: [{ hash: { ratio: 0.5 } }] };
    default:
      return {};
  }
}

class RecordingConsumer<S extends Signal> implements Consumer<S> {
  consumed = 0;
  async consume(_data: SignalData[S]): Promise<void> {
    this.consumed++;
  }
}

function settingsFor(factory: Factory, lines: string[]): CreateSettings {
  return {
    id: { type: factory.type, text: factory.type },
    resource: agentResource({}),
    logger: createLogger('debug', (line) => lines.push(line)).child(factory.type),
  };
}

function create(factory: Factory, config: unknown, settings: CreateSettings, next: Required<Consumers>): Component {
  switch (factory.kind) {
    case 'receiver':
      return factory.create(settings, config, next);
    case 'processor': {
      const signal = factory.signals[0];
      return signal === 'metrics' ? factory.create(settings, config, 'metrics', next.metrics) : factory.create(settings, config, 'logs', next.logs);
    }
    case 'exporter':
      return factory.create(settings, config, factory.signals);
  }
}

/** Counts every attempt to open a BPF object while `body` runs. */
async function countingBpfOpens(body: () => Promise<void>): Promise<number> {
  const open = BpfObject.open;
  const openAndLoad = BpfObject.openAndLoad;
  let opens = 0;
  BpfObject.open = (...args: Parameters<typeof open>) => {
    opens++;
    return open.apply(BpfObject, args);
  };
  BpfObject.openAndLoad = (...args: Parameters<typeof openAndLoad>) => {
    opens++;
    return openAndLoad.apply(BpfObject, args);
  };
  try {
    await body();
  } finally {
    BpfObject.open = open;
    BpfObject.openAndLoad = openAndLoad;
  }
  return opens;
}

test('FACTORIES has one factory per (kind, type)', () => {
  const ids = FACTORIES.map((f) => `${f.kind}/${f.type}`);
  assert.equal(new Set(ids).size, ids.length, ids.join(', '));
});

for (const factory of FACTORIES) {
  test(`${factory.kind} ${factory.type}: created with defaults, shut down without start, then again`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpscope-lifecycle-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const lines: string[] = [];
    const config = validateComponentSettings(factory.schema, requiredSettings(factory.type, dir), [`${factory.kind}s`, factory.type]);
    const next = { metrics: new RecordingConsumer<'metrics'>(), logs: new RecordingConsumer<'logs'>() };

    const opens = await countingBpfOpens(async () => {
      const component = create(factory, config, settingsFor(factory, lines), next);
      await component.shutdown();
      await component.shutdown();
    });

    assert.equal(opens, 0, 'creating and shutting down a component never opens a BPF object');
    assert.equal(next.metrics.consumed + next.logs.consumed, 0, 'a component that never started sends nothing on shutdown');
    assert.deepEqual(lines.filter((l) => / (WARN|ERROR) /.test(l)), [], 'no warnings or errors');
  });
}

test('a component type without a case in requiredSettings() validates with an empty config', () => {
  // Guards the table above: a new factory whose schema has a key without a usable default must
  // add it there, and this test names it.
  for (const factory of FACTORIES) {
    assert.doesNotThrow(
      () => validateComponentSettings(factory.schema, requiredSettings(factory.type, '/nonexistent'), [`${factory.kind}s`, factory.type]),
      `${factory.kind} ${factory.type}`,
    );
  }
});
