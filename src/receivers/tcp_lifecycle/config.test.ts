// max_connections is sized against the locked memory it takes: the default from the measured
// bytes per entry, absurd sizes refused at validation with the memory they would take.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateComponentSettings } from '../../config/component_settings';
import { ConfigError } from '../../errors';
import { DEFAULT_MAX_CONNECTIONS, MAX_MAX_CONNECTIONS, SOCKET_ENTRY_BYTES, tcpLifecycleSchema, type TcpLifecycleConfig } from './config';

const validate = (settings: Record<string, unknown>) =>
  validateComponentSettings(tcpLifecycleSchema, settings, ['receivers', 'tcp_lifecycle']) as TcpLifecycleConfig;

test('the default max_connections takes 23 MiB of locked memory at the measured 184 bytes per entry', () => {
  assert.equal(validate({}).max_connections, DEFAULT_MAX_CONNECTIONS);
  assert.equal(DEFAULT_MAX_CONNECTIONS * SOCKET_ENTRY_BYTES, 23 * 2 ** 20);
  assert.equal(validate({ max_connections: MAX_MAX_CONNECTIONS }).max_connections, MAX_MAX_CONNECTIONS);
});

const REFUSED: readonly [unknown, RegExp][] = [
  [
    16777216,
    /^receivers\.tcp_lifecycle\.max_connections: would take 2944 MiB of locked kernel memory \(184 bytes each, preallocated at start\); at most 2097152 \(368 MiB\): size it to the peak number of open TCP sockets/,
  ],
  [MAX_MAX_CONNECTIONS + 1, /max_connections: would take 368 MiB of locked kernel memory.*, got 2097153 /],
  [1023, /max_connections: must be an integer from 1024 to 2097152, got 1023 /],
  ['many', /max_connections: must be a number, got "many"/],
];

for (const [value, message] of REFUSED) {
  test(`max_connections ${JSON.stringify(value)} is refused at validation`, () => {
    assert.throws(() => validate({ max_connections: value }), (e: unknown) => e instanceof ConfigError && message.test(e.message));
  });
}

test('events: all three by default, any non-empty subset accepted in the order given', () => {
  assert.deepStrictEqual(validate({}).events, ['tcp.connect', 'tcp.accept', 'tcp.close']);
  assert.deepStrictEqual(validate({ events: ['tcp.close'] }).events, ['tcp.close']);
  assert.deepStrictEqual(validate({ events: ['tcp.close', 'tcp.connect'] }).events, ['tcp.close', 'tcp.connect']);
});

const REFUSED_EVENTS: readonly [unknown, RegExp][] = [
  [[], /^receivers\.tcp_lifecycle\.events: must be a non-empty list of tcp\.connect, tcp\.accept, tcp\.close, each at most once \(tcp\.close alone: one record per socket\), got \[\]/],
  [['close'], /events: must be a non-empty list of .*; not an event of this receiver: "close", got \["close"\]/],
  [['tcp.close', 'tcp.close'], /events: must be a non-empty list of .*; listed twice: "tcp\.close"/],
  ['tcp.close', /^receivers\.tcp_lifecycle\.events: must be a list, got "tcp\.close"/],
];

for (const [value, message] of REFUSED_EVENTS) {
  test(`events ${JSON.stringify(value)} is refused at validation, naming the key`, () => {
    assert.throws(() => validate({ events: value }), (e: unknown) => e instanceof ConfigError && message.test(e.message));
  });
}
