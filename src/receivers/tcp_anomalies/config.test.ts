// tcp_anomalies settings: defaults, and invalid values refused at validation with the key named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateComponentSettings } from '../../config/component_settings';
import { ConfigError } from '../../errors';
import { tcpAnomaliesSchema, validateTcpAnomaliesConfig, type TcpAnomaliesConfig } from './config';

const validate = (settings: Record<string, unknown>) =>
  validateComponentSettings(tcpAnomaliesSchema, settings, ['receivers', 'tcp_anomalies']) as TcpAnomaliesConfig;

test('defaults: resets and rate-limited retransmissions as events, drops counted without events, no stacks', () => {
  const c = validate({});
  assert.deepEqual(
    [c.reset_events, c.retransmit_events, c.event_interval, c.drops, c.drop_events, c.stack_traces, c.max_stacks, c.ring_buffer_size],
    [true, true, '1s', true, false, false, 1024, 256 * 1024],
  );
});

const REFUSED: readonly [Record<string, unknown>, RegExp][] = [
  [{ ports: [0] }, /^receivers\.tcp_anomalies\.ports: must be a list of at most 16 ports from 1 to 65535/],
  [{ ports: Array.from({ length: 17 }, (_, i) => i + 1) }, /ports: must be a list of at most 16 ports/],
  [{ cgroup_prefix: 'kubepods' }, /cgroup_prefix: must be empty or a cgroup path starting with \//],
  [{ event_interval: '0ms' }, /event_interval: must be a duration of at least 1ms/],
  [{ max_stacks: 8 }, /max_stacks: must be an integer from 16 to 65536/],
  [{ ring_buffer_size: 12288 }, /ring_buffer_size: must be a power of two/],
];

for (const [settings, message] of REFUSED) {
  test(`${JSON.stringify(settings)} is refused at validation`, () => {
    assert.throws(() => validate(settings), (e: unknown) => e instanceof ConfigError && message.test(e.message));
  });
}

test('a cgroup_prefix that does not exist is a problem of that key', () => {
  const config = { ...validate({}), cgroup_prefix: '/no-such-cgroup-here' };
  assert.deepEqual(validateTcpAnomaliesConfig(config, '/sys/fs/cgroup'), {
    key: 'cgroup_prefix',
    message: 'no cgroup "/no-such-cgroup-here" under the cgroup v2 root /sys/fs/cgroup',
  });
  assert.equal(validateTcpAnomaliesConfig({ ...config, cgroup_prefix: '' }, undefined), undefined);
});
