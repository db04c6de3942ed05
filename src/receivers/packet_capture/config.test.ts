// packet_capture settings: defaults (headers only, nothing attached, triggers off) and invalid
// values refused at validation with the key named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateComponentSettings } from '../../config/component_settings';
import { ConfigError } from '../../errors';
import { captureDefaults, packetCaptureSchema, validatePacketCaptureConfig, type PacketCaptureConfig } from './config';

const validate = (settings: Record<string, unknown>) =>
  validateComponentSettings(packetCaptureSchema, settings, ['receivers', 'packet_capture']) as PacketCaptureConfig;

test('defaults: headers only, bounded, rate limited, triggers off', () => {
  const c = validate({});
  assert.deepEqual(captureDefaults(c), { packets: 10_000, bytes: 64 * 1024 * 1024, snaplen: 0, durationMs: 60_000, sampleOneIn: 1, packetsPerSecond: 10_000 });
  assert.equal(c.triggers.enabled, false);
  assert.deepEqual(c.triggers.on, ['failed_connect', 'reset', 'retransmit_burst']);
  assert.deepEqual([c.triggers.before_packets, c.triggers.after_packets, c.triggers.after_snaplen, c.triggers.cooldown], [4, 32, 0, '60s']);
  assert.equal(validatePacketCaptureConfig(c, () => '/sys/fs/cgroup'), undefined);
});

const REFUSED: readonly [Record<string, unknown>, RegExp][] = [
  [{ snaplen: 20 }, /^receivers\.packet_capture\.snaplen: must be 0 \(headers only\) or at least 60/],
  [{ snaplen: 5000 }, /snaplen: must be an integer from 0 to 4096/],
  [{ max_file_size: 1000 }, /max_file_size: must be an integer from 65536/],
  [{ max_captures: 0 }, /max_captures: must be an integer from 1 to 64/],
  [{ sample_one_in: 0 }, /sample_one_in: must be an integer from 1/],
  [{ ring_buffer_size: 12288 }, /ring_buffer_size: must be a power of two/],
  [{ duration: '0ms' }, /duration: must be a duration of at least 1ms/],
  [{ triggers: { before_packets: 9 } }, /triggers\.before_packets: must be an integer from 0 to 8/],
  [{ triggers: { on: ['timeout'] } }, /triggers\.on: must be a list of failed_connect, reset, retransmit_burst/],
  [{ triggers: { cgroups: [''] } }, /triggers\.cgroups: must be a list of cgroup paths/],
  [{ triggers: { after_snaplen: 10 } }, /triggers\.after_snaplen: must be 0 \(headers only\) or at least 60/],
];

for (const [settings, message] of REFUSED) {
  test(`${JSON.stringify(settings)} is refused at validation`, () => {
    assert.throws(() => validate(settings), (e: unknown) => e instanceof ConfigError && message.test(e.message), JSON.stringify(settings));
  });
}

test('validate(): an empty directory, no trigger reason, a watched cgroup that does not exist', () => {
  const c = validate({});
  assert.deepEqual(validatePacketCaptureConfig({ ...c, directory: ' ' }, () => '/sys/fs/cgroup'), { key: 'directory', message: 'must name a directory, got ""' });
  const triggers = { ...c.triggers, enabled: true };
  assert.deepEqual(validatePacketCaptureConfig({ ...c, triggers: { ...triggers, on: [] } }, () => '/sys/fs/cgroup'), { key: 'triggers.on', message: 'must name at least one trigger when triggers.enabled is true' });
  assert.deepEqual(validatePacketCaptureConfig({ ...c, triggers: { ...triggers, cgroups: ['/no-such-cgroup-here'] } }, () => '/sys/fs/cgroup'), {
    key: 'triggers.cgroups[0]',
    message: 'no cgroup v2 directory /sys/fs/cgroup/no-such-cgroup-here',
  });
  assert.deepEqual(validatePacketCaptureConfig({ ...c, triggers }, () => undefined), { key: 'triggers.enabled', message: 'the trigger watch attaches to cgroup v2, and this host has none mounted' });
});
