// `tcpscope capture start` flags: what each turns into, and the exact message and exit code for
// each wrong one (checked before any agent is asked, so no agent runs here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { captureCommand, CAPTURE_EXIT_USAGE } from './capture_cli';
import { parseCaptureInput } from './capture_input';

async function runCapture(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  let code = -1;
  const program = new Command().exitOverride();
  program.addCommand(captureCommand(async (c) => void (code = c), { out: (t) => (out += t), err: (t) => (err += t) }));
  // A socket nobody listens on: a flag check that passed would end in "no agent" (exit 1).
  await program.parseAsync(['node', 'tcpscope', 'capture', ...args, '--socket', '/nonexistent/tcpscope-test.sock']);
  return { code, out, err };
}

const BAD_FLAGS: readonly (readonly [readonly string[], string])[] = [
  [['start'], 'nothing selected: give at least one of --pod, --selector, --namespace, --cgroup, --host, --port or --tuple (a capture of the whole host is refused)'],
  [['start', '--no-bidirectional'], 'nothing selected: give at least one of --pod, --selector, --namespace, --cgroup, --host, --port or --tuple (a capture of the whole host is refused)'],
  [['start', '--port', '0'], '--port: must be a TCP port 1-65535, got "0"'],
  [['start', '--port', '65536'], '--port: must be a TCP port 1-65535, got "65536"'],
  [['start', '--port', 'http'], '--port: must be a TCP port 1-65535, got "http"'],
  [['start', '--host', 'example.com'], '--host: must be an IPv4 or IPv6 address (no host names), got "example.com"'],
  [['start', '--pod', 'checkout'], '--pod: must be namespace/name of a pod, e.g. shop/checkout-7d4b9c-x2x9z, got "checkout"'],
  [['start', '--pod', 'Shop/x'], '--pod: must be namespace/name of a pod, e.g. shop/checkout-7d4b9c-x2x9z, got "Shop/x"'],
  [['start', '--pod', 'shop/a', '--selector', 'app=web'], '--selector: cannot be combined with --pod (--pod names one pod; a selector picks pods by labels)'],
  [['start', '--pod', 'shop/a', '--namespace', 'ops'], '--namespace: is "ops" but --pod names namespace "shop"; give the namespace once, in --pod'],
  [['start', '--selector', 'app'], '--selector: must be label=value pairs separated by commas, e.g. app=web,tier=front (only equality is supported), got "app"'],
  [['start', '--selector', 'app!=web'], '--selector: must be label=value pairs separated by commas, e.g. app=web,tier=front (only equality is supported), got "app!=web"'],
  [['start', '--selector', 'app=web,app=db'], '--selector: label app is given twice, as "web" and "db"'],
  [['start', '--selector', 'app=a b'], '--selector: label app has "a b", which is not a Kubernetes label value (at most 63 of A-Z a-z 0-9 - _ .)'],
  [['start', '--namespace', 'Shop'], '--namespace: must be a Kubernetes namespace name (lower-case letters, digits, -), got "Shop"'],
  [['start', '--selector', 'app=web', '--cgroup', 'system.slice'], '--cgroup: cannot be combined with --pod, --selector or --namespace: pods are selected by their own cgroups; give one or the other'],
  [['start', '--cgroup', '../etc'], '--cgroup: must be a cgroup v2 directory, absolute (/sys/fs/cgroup/...) or relative to the cgroup2 root (system.slice/x.service), got "../etc"'],
  [['start', '--tuple', '198.18.0.1:1,198.18.0.2'], '--tuple: must be SOURCE:PORT,DESTINATION:PORT, e.g. 198.18.0.1:40000,198.18.0.2:80 or [fd00::1]:40000,[fd00::2]:80, got "198.18.0.1:1,198.18.0.2"'],
  [['start', '--tuple', '198.18.0.1:1,[fd00::2]:80'], '--tuple: mixes IPv4 and IPv6 ("198.18.0.1:1,[fd00::2]:80"); both ends of a connection have the same family'],
  [['start', '--tuple', '198.18.0.1:1,198.18.0.2:80', '--port', '80'], '--port: cannot be combined with --tuple (the tuple names both ends)'],
  [['start', '--port', '80', '--packets', '0'], '--packets: must be a number of packets, at least 1, got "0"'],
  [['start', '--port', '80', '--bytes', '10MB'], '--bytes: must be a number of bytes, at least 1, optionally with a unit: 1000, 64KiB, 10MiB, 1GiB, got "10MB"'],
  [['start', '--port', '80', '--snaplen', '70000'], '--snaplen: must be bytes kept of each packet from its IP header, 0 (headers only) to 65535, got "70000"'],
  [['start', '--port', '80', '--duration', 'soon'], '--duration: must be a duration such as "30s", "5m" or "1h30m" (a bare number is milliseconds), got "soon"'],
  [['start', '--port', '80', '--sample', '0'], '--sample: must be N of "one packet in N", at least 1 (1: every packet), got "0"'],
  [['start', '--port', '80', '--rate', '-1'], '--rate: must be packets per second, at least 0 (0: no limit), got "-1"'],
  [['start', '--port', '80', '--name', 'my capture'], '--name: must be 1-64 characters of A-Z a-z 0-9 _ . -, got "my capture"'],
  [['start', '--port', '80', '--receiver', 'tcp_rtt'], '--receiver: must be a packet_capture receiver id, e.g. packet_capture or packet_capture/web, got "tcp_rtt"'],
];

for (const [args, message] of BAD_FLAGS) {
  test(`tcpscope capture ${args.join(' ')}: exit 2, ${message}`, async () => {
    const result = await runCapture(args);
    assert.equal(result.err, `tcpscope: CAPTURE_INVALID_REQUEST: ${message}\n`);
    assert.equal(result.code, CAPTURE_EXIT_USAGE);
    assert.equal(result.out, '');
  });
}

test('flags that pass are checked no further here: the next step is the agent, and none listens', async () => {
  const result = await runCapture(['start', '--port', '80']);
  assert.equal(result.code, 1);
  assert.match(result.err, /^tcpscope: CAPTURE_AGENT_UNREACHABLE: no tcpscope agent is listening at \/nonexistent\/tcpscope-test\.sock \(ENOENT\)\. Start one whose config has a packet_capture receiver: sudo bin\/tcpscope run --config <file>/);
});

test('what the flags become: selection, pods and bounds of the request', () => {
  const flags = (field: string) => `--${field}`;
  assert.deepEqual(
    parseCaptureInput({ selector: 'app=web,tier=front', namespace: 'shop', port: '443', bidirectional: false, packets: '100', bytes: '64KiB', snaplen: '1500', duration: '1m30s', sample: '10', rate: '0', name: 'web-1' }, flags),
    {
      name: 'web-1',
      selection: { sourcePort: 443, bidirectional: false },
      pods: { namespace: 'shop', labels: { app: 'web', tier: 'front' } },
      bounds: { packets: 100, bytes: 65536, snaplen: 1500, durationMs: 90_000, sampleOneIn: 10, packetsPerSecond: 0 },
    },
  );
  assert.deepEqual(parseCaptureInput({ tuple: '[fd00::1]:40000,[fd00::2]:80' }), {
    selection: { sourceAddress: 'fd00::1', sourcePort: 40000, destinationAddress: 'fd00::2', destinationPort: 80 },
  });
  assert.deepEqual(parseCaptureInput({ pod: 'shop/checkout-7d4b9c-x2x9z' }), { selection: {}, pods: { namespace: 'shop', name: 'checkout-7d4b9c-x2x9z' } });
  assert.deepEqual(parseCaptureInput({ namespace: 'ops' }), { selection: {}, pods: { namespace: 'ops' } });
  assert.deepEqual(parseCaptureInput({ cgroup: ['system.slice/nginx.service', '/sys/fs/cgroup/user.slice'], host: '198.18.0.7' }), {
    selection: { cgroupPaths: ['system.slice/nginx.service', '/sys/fs/cgroup/user.slice'], sourceAddress: '198.18.0.7' },
  });
  // The config writes a selector as a YAML map, and numbers as numbers.
  assert.deepEqual(parseCaptureInput({ selector: { app: 'web' }, packets: 5, duration: '10s' }), { selection: {}, pods: { labels: { app: 'web' } }, bounds: { packets: 5, durationMs: 10_000 } });
});
