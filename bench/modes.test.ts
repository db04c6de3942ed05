// Every agent mode of the benchmark runs a config the agent accepts, and the close-only mode
// expects the records its config asks the kernel for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRegistry } from '../src/components';
import { parseConfigText, validateConfig } from '../src/config/index';
import { agentConfig, eventsPerConnection, hasEvents, parseMode, type AgentMode } from './modes';

const AGENT_MODES: readonly AgentMode[] = ['metrics', 'events', 'close-events', 'rtt', 'otlp', 'otlp-gzip', 'anomalies', 'capture', 'capture-watch', 'sampled:0.5', 'userspace-sampled:0.1'];

for (const mode of AGENT_MODES) {
  test(`bench mode ${mode}: its agent config validates`, () => {
    const validated = validateConfig(parseConfigText(agentConfig(mode, '/tmp/x'), `${mode}.yaml`, {}), defaultRegistry());
    assert.ok(validated.pipelines.length > 0);
  });
}

test('close-events asks tcp_lifecycle for tcp.close alone and expects two records per connection', () => {
  assert.equal(parseMode('close-events'), 'close-events');
  assert.ok(hasEvents('close-events'));
  assert.match(agentConfig('close-events', '/tmp/x'), /\n {2}tcp_lifecycle:\n {4}collection_interval: 10s\n {4}events: \[tcp\.close\]\n/);
  assert.doesNotMatch(agentConfig('events', '/tmp/x'), /events: \[/);
  assert.equal(eventsPerConnection('close-events'), 2);
  assert.equal(eventsPerConnection('events'), 4);
  assert.equal(eventsPerConnection('otlp'), 4);
});
