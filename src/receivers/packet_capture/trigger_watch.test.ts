// The trigger watch's user-space side: the cfg_trigger bytes, and a triggered capture's
// connection read from its packets (local side first, whichever way the packet went).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CaptureRecord } from './capture_writer';
import { TRIGGER_SETTINGS } from './layout';
import { connectionOf, triggerSettings } from './trigger_watch';
import type { TriggersConfig } from './config';

function record(data: Buffer, direction: CaptureRecord['direction']): CaptureRecord {
  return { timestampNs: 1n, cgroupId: 42n, triggerId: 1n, originalLength: data.length, direction, kind: 2, reason: 1, data };
}

function ipv4Tcp(source: number[], destination: number[], sourcePort: number, destinationPort: number): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x45;
  b.set(source, 12);
  b.set(destination, 16);
  b.writeUInt16BE(sourcePort, 20);
  b.writeUInt16BE(destinationPort, 22);
  return b;
}

test('the connection of an outbound and of an inbound IPv4 packet, local side first', () => {
  const out = ipv4Tcp([198, 18, 0, 1], [198, 18, 0, 2], 40000, 80);
  const expected = { cgroupIds: [42], sourceAddress: '198.18.0.1', sourcePort: 40000, destinationAddress: '198.18.0.2', destinationPort: 80, bidirectional: true };
  assert.deepEqual(connectionOf(record(out, 'outbound')), expected);
  const back = ipv4Tcp([198, 18, 0, 2], [198, 18, 0, 1], 80, 40000);
  assert.deepEqual(connectionOf(record(back, 'inbound')), expected);
});

test('the connection of an IPv6 packet, addresses in RFC 5952 text', () => {
  const b = Buffer.alloc(60);
  b[0] = 0x60;
  Buffer.from('fd000007000000000000000000000002', 'hex').copy(b, 8);
  Buffer.from('fd000007000000000000000000000001', 'hex').copy(b, 24);
  b.writeUInt16BE(443, 40);
  b.writeUInt16BE(50000, 42);
  assert.deepEqual(connectionOf(record(b, 'inbound')), { cgroupIds: [42], sourceAddress: 'fd00:7::1', sourcePort: 50000, destinationAddress: 'fd00:7::2', destinationPort: 443, bidirectional: true });
});

test('a packet too short to name its connection is known by its cgroup only', () => {
  assert.deepEqual(connectionOf(record(Buffer.alloc(8), 'outbound')), { cgroupIds: [42], bidirectional: true });
});

test('cfg_trigger: durations in nanoseconds, counts, the reasons switched on', () => {
  const config: TriggersConfig = {
    enabled: true,
    cgroups: [],
    on: ['failed_connect', 'retransmit_burst'],
    before_packets: 4,
    after_packets: 32,
    after_snaplen: 0,
    after_timeout: '5s',
    cooldown: '60s',
    retransmit_burst: 3,
    retransmit_window: '1s',
    max_connections: 4096,
    max_captures: 16,
    ring_buffer_size: 1 << 20,
  };
  const b = triggerSettings(config);
  assert.equal(b.length, TRIGGER_SETTINGS.size);
  assert.equal(b.readBigUInt64LE(TRIGGER_SETTINGS.cooldown_ns), 60_000_000_000n);
  assert.equal(b.readBigUInt64LE(TRIGGER_SETTINGS.retransmit_window_ns), 1_000_000_000n);
  assert.deepEqual(
    [TRIGGER_SETTINGS.before_packets, TRIGGER_SETTINGS.after_packets, TRIGGER_SETTINGS.retransmit_burst, TRIGGER_SETTINGS.after_snaplen].map((o) => b.readUInt32LE(o)),
    [4, 32, 3, 0],
  );
  assert.deepEqual([b[TRIGGER_SETTINGS.on_failed_connect], b[TRIGGER_SETTINGS.on_reset], b[TRIGGER_SETTINGS.on_retransmit_burst]], [1, 0, 1]);
});
