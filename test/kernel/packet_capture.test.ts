// packet_capture on the real kernel: an HTTP exchange between two namespaces made here
// (198.18.0.0/15) captured by the agent and by tcpdump on the same interface at the same time;
// the agent's pcapng read by tcpdump, tshark and capinfos; selection, bounds and skipped counts
// asserted exactly against a full capture of the same packets.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureRequest, CaptureStatus } from '../../src/receivers/packet_capture/capture_api';
import { captureServices } from '../../src/receivers/packet_capture/capture_api';
import { packetCaptureSchema, type PacketCaptureConfig } from '../../src/receivers/packet_capture/config';
import { PacketCaptureReceiver } from '../../src/receivers/packet_capture/receiver';
import { EVENTS, METRICS } from '../../src/telemetry/signals';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, startChild, waitUntil, type RunningChild } from '../support/child';
import { requireKernel } from '../support/kernel';
import { createTestLink, type TestLink } from '../support/netns';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { testSettings } from '../support/settings';

const HTTP_SERVER = `
import http.server, json, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'tcpscope' * int(sys.argv[2])
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer((sys.argv[1], 0), Handler)
print(json.dumps({'port': server.server_address[1]}), flush=True)
server.serve_forever()
`;

function defaults(directory: string, overrides: Partial<PacketCaptureConfig> = {}): PacketCaptureConfig {
  const defaultsOf = (schema: object): unknown =>
    Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, 'default' in (v as object) ? (v as { default: unknown }).default : defaultsOf(v as object)]));
  const config = defaultsOf(packetCaptureSchema) as PacketCaptureConfig;
  return { ...config, directory, collection_interval: '1h', ...overrides };
}

/** Runs a Wireshark/tcpdump tool; stderr without tshark's notice that it runs as root (about the user, not the file). */
function run(command: string, args: readonly string[]): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  const stderr = result.stderr
    .split('\n')
    .filter((line) => line !== '' && !/^Running as user "root" and group "root"\. This could be dangerous\.$/.test(line))
    .join('\n');
  return { stdout: result.stdout, stderr, status: result.status };
}

/** `tcpdump -r` without timestamps or link headers: one header line and its hex lines per packet. */
function tcpdumpPackets(file: string): string[] {
  const out = run('tcpdump', ['-r', file, '-t', '-nn', '-x']);
  assert.equal(out.status, 0, `tcpdump -r ${file} failed: ${out.stderr}`);
  const packets: string[] = [];
  for (const line of out.stdout.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('\t')) packets[packets.length - 1] += '\n' + line.trim();
    else packets.push(line);
  }
  return packets;
}

interface SharkPacket {
  src: string;
  dst: string;
  flags: number;
  /** epb_flags direction: 1 inbound, 2 outbound. */
  direction: number;
  ipLength: number;
  capLength: number;
  payload: number;
}

/** tshark's view of a capture; asserts that tshark had nothing to say on stderr. */
function tsharkPackets(file: string): SharkPacket[] {
  const out = run('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.flags', '-e', 'frame.packet_flags_direction', '-e', 'ip.len', '-e', 'frame.cap_len', '-e', 'tcp.len']);
  assert.equal(out.status, 0, `tshark -r ${file} failed: ${out.stderr}`);
  assert.equal(out.stderr, '', `tshark warned reading ${file}`);
  return out.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [src, dst, flags, direction, ipLength, capLength, payload] = line.split('|');
      return { src, dst, flags: Number(flags), direction: Number(direction), ipLength: Number(ipLength), capLength: Number(capLength), payload: Number(payload) };
    });
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

interface Fixture {
  link: TestLink;
  client: TestCgroup;
  server: TestCgroup;
  dir: string;
  receiver: PacketCaptureReceiver;
  logs: RecordingLogsConsumer;
  metrics: RecordingMetricsConsumer;
  children: RunningChild[];
  serverPort: number;
  /** One HTTP GET from the client namespace (curl, in the client cgroup); resolves when curl exits 0. */
  exchange(): Promise<void>;
}

/**
 * A test link with a client and a server cgroup, the receiver (config: overrides of the defaults,
 * or made from the client cgroup and the defaults) and a server in the peer namespace: by default
 * an HTTP server answering `requests` requests on the link's IPv4 address; `server`: a python3
 * script and its arguments instead (printing {"port": N} once listening), or false for none
 * (serverPort 0); all removed after the test.
 */
async function setUp(
  t: TestContext,
  tag: string,
  subnet: number,
  config: Partial<PacketCaptureConfig> | ((client: TestCgroup, base: PacketCaptureConfig) => Partial<PacketCaptureConfig>) = {},
  { requests = 100, server: serverScript }: { requests?: number; server?: ((link: TestLink) => string[]) | false } = {},
): Promise<Fixture> {
  const link = createTestLink(tag, subnet);
  const base = testCgroupBase(tag);
  const client = TestCgroup.create(`${base}/client`);
  const server = TestCgroup.create(`${base}/server`);
  const dir = mkdtempSync(join(tmpdir(), 'tcpscope-capture-'));
  const logs = new RecordingLogsConsumer();
  const metrics = new RecordingMetricsConsumer();
  const overrides = typeof config === 'function' ? config(client, defaults(dir)) : config;
  const receiver = new PacketCaptureReceiver(testSettings('packet_capture', tag), defaults(dir, overrides), { logs, metrics }, { pollMs: 20 });
  const children: RunningChild[] = [];
  t.after(async () => {
    for (const c of children) c.kill();
    try {
      await receiver.shutdown();
    } finally {
      link.cleanup();
      client.remove();
      server.remove(base);
      rmSync(dir, { recursive: true, force: true });
    }
  });
  await receiver.start({ reportFatal: (e) => assert.fail(e) });
  let port = 0;
  if (serverScript !== false) {
    const script = serverScript?.(link) ?? ['-c', HTTP_SERVER, link.peerV4, String(requests)];
    const serverChild = startChild(server.wrap(['ip', 'netns', 'exec', link.peer, 'python3', ...script]));
    children.push(serverChild);
    ({ port } = await serverChild.nextJson<{ port: number }>());
  }
  return {
    link,
    client,
    server,
    dir,
    receiver,
    logs,
    metrics,
    children,
    serverPort: port,
    async exchange() {
      const curl = startChild(client.wrap(['ip', 'netns', 'exec', link.client, 'curl', '-sS', '-o', '/dev/null', '--max-time', '20', `http://${link.peerV4}:${port}/`]));
      children.push(curl);
      assert.equal(await curl.exited(), 0, `curl failed: ${curl.stderr()}`);
    },
  };
}

/** Whether a capture holds a whole exchange's teardown: both FINs, then the ACK of the second. */
function tornDown(packets: readonly SharkPacket[]): boolean {
  const fins = packets.map((p, i) => ((p.flags & FIN) !== 0 ? i : -1)).filter((i) => i >= 0);
  return fins.length >= 2 && packets.slice(fins[fins.length - 1] + 1).some((p) => p.flags === ACK);
}

/** Waits until a full exchange (handshake to the last ACK after both FINs) is in `count()` packets. */
async function waitForTeardown(status: () => CaptureStatus | undefined, minimum: number): Promise<void> {
  await waitUntil(() => (status()?.captured.packets ?? 0) >= minimum, DEADLINE_MS, `${minimum} packets captured`, () => JSON.stringify(status()));
}

function randomSubnet(): number {
  return 100 + Math.floor(Math.random() * 150);
}

/**
 * cgroup_skb programs (BPF_PROG_TYPE_CGROUP_SKB = 8) this process holds loaded: packet_capture's
 * are the only ones in this test, and other processes' programs (another test run) do not count.
 */
function capturePrograms(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (/^prog_type:\s+8$/m.test(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))) count++;
    } catch {
      // closed meanwhile (the directory listing's own fd)
    }
  }
  return count;
}

test('packet_capture: an HTTP exchange captured by the agent equals tcpdump\'s capture of the same interface, both directions, handshake to teardown; tshark and capinfos read it without warnings', async (t) => {
  if (!requireKernel(t)) return;
  const before = capturePrograms();
  const f = await setUp(t, 'pcap', randomSubnet());
  // Started, with no capture running: nothing of it is loaded, so it costs nothing.
  assert.equal(capturePrograms(), before, 'no program loaded while no capture runs');
  const dumpFile = join(f.dir, 'tcpdump.pcap');
  const dump = startChild(['ip', 'netns', 'exec', f.link.client, 'tcpdump', '-i', f.link.clientDevice, '-U', '-nn', '-s', '0', '-w', dumpFile, 'tcp']);
  f.children.push(dump);
  await waitUntil(() => dump.stderr().includes('listening on'), DEADLINE_MS, 'tcpdump listening', () => dump.stderr());

  const request: CaptureRequest = { selection: { cgroupPaths: [f.client.path], destinationAddress: f.link.peerV4, destinationPort: f.serverPort }, bounds: { snaplen: 4096 }, name: 'http' };
  const started = await f.receiver.engine.start(request);
  assert.equal(started.state, 'running');
  assert.equal(captureServices.find(`packet_capture/pcap`), f.receiver.engine, 'the running receiver is found by its component id');
  await f.exchange();

  // The exchange is over when both FINs and the ACK of the second one were seen by tcpdump; then
  // wait until the agent holds as many packets.
  let reference: string[] = [];
  await waitUntil(
    () => {
      if (!tornDown(tsharkPackets(dumpFile))) return false;
      reference = tcpdumpPackets(dumpFile);
      return (f.receiver.engine.get(started.id)?.captured.packets ?? 0) >= reference.length;
    },
    DEADLINE_MS,
    'the teardown in both captures',
    () => JSON.stringify(f.receiver.engine.get(started.id)),
  );
  assert.equal(capturePrograms(), before + 2, 'a running capture: its ingress and egress programs');
  const status = await f.receiver.engine.stop(started.id);
  assert.equal(capturePrograms(), before, 'unloaded when it ends');
  dump.process.kill('SIGINT');
  await dump.exited();
  reference = tcpdumpPackets(dumpFile);

  assert.equal(status.state, 'stopped');
  assert.equal(status.end, 'stopped');
  assert.equal(status.files.length, 1);
  const file = status.files[0];
  const ours = tcpdumpPackets(file);
  // Within a direction the order is the wire's; the two directions interleave as each hook saw them.
  const from = (packets: string[], address: string) => packets.filter((p) => p.startsWith(`IP ${address}.`));
  assert.deepEqual(from(ours, f.link.clientV4), from(reference, f.link.clientV4), 'client -> server: same packets, same bytes');
  assert.deepEqual(from(ours, f.link.peerV4), from(reference, f.link.peerV4), 'server -> client: same packets, same bytes');
  assert.equal(ours.length, reference.length);
  assert.equal(status.captured.packets, ours.length);
  assert.deepEqual(status.skipped, { total: 0, sampling: 0, rateLimit: 0, lost: 0 });

  const shark = tsharkPackets(file);
  assert.equal(shark[0].flags, SYN, 'starts with the SYN');
  assert.equal(shark[1].flags, SYN | ACK, 'then the SYN-ACK');
  assert.equal(shark.filter((p) => (p.flags & FIN) !== 0).length, 2, 'both FINs');
  assert.equal(shark.filter((p) => (p.flags & RST) !== 0).length, 0);
  assert.ok(shark.some((p) => p.src === f.link.peerV4 && p.payload >= 800), 'the response payload (snaplen 4096)');
  for (const p of shark) {
    // epb_flags: outbound for what the client's sockets sent, inbound for what they received.
    assert.equal(p.direction, p.src === f.link.clientV4 ? 2 : 1, `direction of ${JSON.stringify(p)}`);
    assert.equal(p.capLength, p.ipLength, 'whole packets: snaplen 4096 covers them');
  }
  assert.equal(status.captured.bytes, shark.reduce((sum, p) => sum + p.capLength, 0));

  const info = run('capinfos', ['-M', file]);
  assert.equal(info.status, 0, `capinfos failed: ${info.stderr}`);
  assert.equal(info.stderr, '', 'capinfos warned');
  assert.match(info.stdout, /^File type:\s+pcapng$/m);
  assert.match(info.stdout, /^File encapsulation:\s+rawip$/m);
  assert.match(info.stdout, new RegExp(`Number of packets:\\s+${ours.length}\\b`));
  assert.match(info.stdout, /^File timestamp precision:\s+nanoseconds \(9\)$/m);
  assert.match(info.stdout, /^Strict time order:\s+True$/m);
  // The section comments name the capture, its selection (tuple and cgroup) and bounds.
  const cgroupId = statSync(f.client.directory).ino;
  assert.ok(info.stdout.includes(`Capture comment:     capture ${started.id} (http), reason on_demand`), info.stdout);
  assert.ok(info.stdout.includes(`Capture comment:     selection *:* <-> ${f.link.peerV4}:${f.serverPort}, cgroups ${cgroupId}`), info.stdout);
  assert.ok(info.stdout.includes(`Description = packets of sockets in cgroup ${f.client.path} (cgroup_skb ingress/egress)`), info.stdout);
  const names = run('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.interface_name', '-c', '1']);
  assert.equal(names.stdout.trim(), `cgroup:${cgroupId}`, 'the interface names the cgroup');

  // One log event for the finished capture.
  await waitUntil(() => f.logs.records.some((r) => r.eventName === EVENTS.captureFinished.name), DEADLINE_MS, 'the tcp.capture.finished event');
  const event = f.logs.records.find((r) => r.eventName === EVENTS.captureFinished.name)!;
  assert.deepEqual(event.attributes['tcpscope.capture.files'], [file]);
  assert.equal(event.attributes['tcpscope.capture.packets'], ours.length);
  assert.equal(event.attributes['tcpscope.capture.reason'], 'on_demand');
  assert.equal(event.attributes['tcpscope.capture.name'], 'http');
  const points = f.receiver.engine.collect().scopeMetrics[0].metrics.find((m) => m.descriptor.name === METRICS.capturePackets.name)!.dataPoints;
  assert.deepEqual(
    points.map((p) => [p.attributes.outcome, p.value]),
    [
      ['captured', ours.length],
      ['skipped_sampling', 0],
      ['skipped_rate_limit', 0],
      ['skipped_lost', 0],
    ],
  );
});

test('packet_capture: bidirectional off takes one direction; packet, byte, sampling and rate bounds are exact and every skipped packet is counted', async (t) => {
  if (!requireKernel(t)) return;
  const f = await setUp(t, 'pcapb', randomSubnet());
  const engine = f.receiver.engine;
  const cg = [f.client.path];
  const tuple = { destinationAddress: f.link.peerV4, destinationPort: f.serverPort };
  // A full headers-only capture of the same packets: the reference the bounded ones are held to.
  const all = await engine.start({ selection: { cgroupPaths: cg, ...tuple } });
  const oneWay = await engine.start({ selection: { cgroupPaths: cg, ...tuple, bidirectional: false } });
  const sampled = await engine.start({ selection: { cgroupPaths: cg, ...tuple }, bounds: { sampleOneIn: 3 } });
  const limited = await engine.start({ selection: { cgroupPaths: cg, ...tuple }, bounds: { packets: 5 } });
  await f.exchange();
  await waitForTeardown(() => engine.get(limited.id), 5);
  const limitedDone = await engine.finished(limited.id);
  assert.equal(limitedDone.state, 'finished');
  assert.equal(limitedDone.end, 'packets');
  assert.equal(limitedDone.captured.packets, 5);

  // Wait for the whole exchange in the full capture (both FINs and the last ACK).
  await waitUntil(
    () => {
      const s = engine.get(all.id);
      if (!s || s.files.length === 0) return false;
      return tornDown(tsharkPackets(s.files[0]));
    },
    DEADLINE_MS,
    'the teardown in the full capture',
  );
  const allDone = await engine.stop(all.id);
  const oneWayDone = await engine.stop(oneWay.id);
  const sampledDone = await engine.stop(sampled.id);
  const reference = tsharkPackets(allDone.files[0]);
  const n = reference.length;
  assert.equal(allDone.captured.packets, n);
  for (const p of reference) assert.ok(p.capLength <= 120 && p.capLength === p.ipLength - p.payload, `headers only by default: ${JSON.stringify(p)}`);

  const oneWayPackets = tsharkPackets(oneWayDone.files[0]);
  assert.ok(oneWayPackets.length > 0);
  assert.deepEqual(oneWayPackets, reference.filter((p) => p.src === f.link.clientV4), 'only client -> server');

  assert.equal(sampledDone.captured.packets, Math.ceil(n / 3));
  assert.equal(sampledDone.skipped.sampling, n - Math.ceil(n / 3));
  assert.equal(sampledDone.skipped.total, sampledDone.skipped.sampling);

  assert.deepEqual(tsharkPackets(limitedDone.files[0]), reference.slice(0, 5), 'the first 5 packets');

  // Bytes: a bound one byte short of the first four packets' headers ends the capture after three.
  const threeBytes = reference.slice(0, 3).reduce((s, p) => s + p.capLength, 0);
  const fourBytes = threeBytes + reference[3].capLength;
  const bytes = await engine.start({ selection: { cgroupPaths: cg, ...tuple }, bounds: { bytes: fourBytes - 1 } });
  // Rate: 2 packets per second, so most of an exchange within a second is skipped and counted.
  const rate = await engine.start({ selection: { cgroupPaths: cg, ...tuple }, bounds: { packetsPerSecond: 2 } });
  const again = await engine.start({ selection: { cgroupPaths: cg, ...tuple } });
  await f.exchange();
  const bytesDone = await engine.finished(bytes.id);
  assert.equal(bytesDone.end, 'bytes');
  assert.equal(bytesDone.captured.packets, 3);
  assert.equal(bytesDone.captured.bytes, threeBytes);
  // Its own count: an exchange's packet count varies (delayed ACKs, a response and its FIN in one segment or two).
  await waitUntil(() => tornDown(tsharkPackets(engine.get(again.id)!.files[0])), DEADLINE_MS, 'the second exchange in full', () => JSON.stringify(engine.get(again.id)));
  const againDone = await engine.stop(again.id);
  const rateDone = await engine.stop(rate.id);
  assert.equal(rateDone.captured.packets + rateDone.skipped.rateLimit, againDone.captured.packets, 'every packet written or counted as skipped by the rate limit');
  assert.ok(rateDone.captured.packets >= 2 && rateDone.skipped.rateLimit > 0, JSON.stringify(rateDone));

  // Duration: a capture of nothing ends on time with a readable, empty file.
  const idle = await engine.start({ selection: { cgroupPaths: cg, destinationPort: 1 }, bounds: { durationMs: 200 } });
  const idleDone = await engine.finished(idle.id);
  assert.equal(idleDone.end, 'duration');
  assert.equal(idleDone.captured.packets, 0);
  assert.deepEqual(tsharkPackets(idleDone.files[0]), []);

  const points = engine.collect().scopeMetrics[0].metrics[0].dataPoints;
  const finished = [allDone, oneWayDone, sampledDone, limitedDone, bytesDone, againDone, rateDone, idleDone];
  const sum = (f: (s: CaptureStatus) => number) => finished.reduce((acc, s) => acc + f(s), 0);
  assert.deepEqual(
    points.map((p) => [p.attributes.outcome, p.value]),
    [
      ['captured', sum((s) => s.captured.packets)],
      ['skipped_sampling', sum((s) => s.skipped.sampling)],
      ['skipped_rate_limit', sum((s) => s.skipped.rateLimit)],
      ['skipped_lost', 0],
    ],
  );
});

const REFUSED_TWICE = `
import json, socket, sys
local, peer = sys.argv[1], sys.argv[2]
errors = []
port = 0
for attempt in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((local, port))
    port = s.getsockname()[1]
    try:
        s.connect((peer, 1))
        errors.append('connected')
    except OSError as e:
        errors.append(e.errno)
    s.close()
print(json.dumps({'port': port, 'errors': errors}), flush=True)
`;

test('packet_capture: a refused connect triggers a capture holding the SYN and the RST; the cooldown holds a second trigger of the same connection back', async (t) => {
  if (!requireKernel(t)) return;
  const { link, client, receiver, logs, children } = await setUp(
    t,
    'pcapt',
    randomSubnet(),
    (cgroup, base) => ({
      triggers: { ...base.triggers, enabled: true, cgroups: [cgroup.path], before_packets: 4, after_packets: 2, cooldown: '1h', after_timeout: '60s' },
    }),
    { server: false },
  );
  const probe = startChild(client.wrap(['ip', 'netns', 'exec', link.client, 'python3', '-c', REFUSED_TWICE, link.clientV4, link.peerV4]));
  children.push(probe);
  const result = await probe.nextJson<{ port: number; errors: unknown[] }>();
  const ECONNREFUSED = 111;
  assert.deepEqual(result.errors, [ECONNREFUSED, ECONNREFUSED], 'both connects refused');

  await waitUntil(() => logs.records.some((r) => r.eventName === EVENTS.captureFinished.name), DEADLINE_MS, 'the triggered capture to finish', () => JSON.stringify(receiver.engine.list()));
  const finished = receiver.engine.list().filter((s) => s.state !== 'running');
  assert.equal(finished.length, 1, JSON.stringify(finished));
  const [status] = finished;
  assert.equal(status.reason, 'failed_connect');
  assert.equal(status.end, 'packets', 'the two packets after the trigger came: the second attempt, same connection');
  assert.deepEqual(status.selection, {
    cgroupIds: [statSync(client.directory).ino],
    sourceAddress: link.clientV4,
    sourcePort: result.port,
    destinationAddress: link.peerV4,
    destinationPort: 1,
    bidirectional: true,
  });
  const packets = tsharkPackets(status.files[0]);
  assert.deepEqual(
    packets.map((p) => [p.src, p.dst, p.flags, p.direction]),
    [
      [link.clientV4, link.peerV4, SYN, 2], // from the connection's ring, before the trigger
      [link.peerV4, link.clientV4, RST | ACK, 1], // the trigger
      [link.clientV4, link.peerV4, SYN, 2], // after it: the second attempt
      [link.peerV4, link.clientV4, RST | ACK, 1],
    ],
  );
  const comments = run('tshark', ['-r', status.files[0], '-T', 'fields', '-e', 'frame.comment']);
  assert.deepEqual(comments.stdout.split('\n').slice(0, 4), ['before the trigger (headers only)', 'trigger: failed_connect', '', '']);
  const event = logs.records.find((r) => r.eventName === EVENTS.captureFinished.name)!;
  assert.equal(event.attributes['tcpscope.capture.reason'], 'failed_connect');
  assert.deepEqual(event.attributes['tcpscope.capture.files'], status.files);

  // The second RST was a trigger of the same connection within the cooldown: counted, not captured.
  const triggers = receiver.engine.collect().scopeMetrics[0].metrics.find((m) => m.descriptor.name === METRICS.captureTriggers.name)!;
  const value = (reason: string, outcome: string) => triggers.dataPoints.find((p) => p.attributes['tcpscope.capture.reason'] === reason && p.attributes.outcome === outcome)?.value;
  assert.equal(value('failed_connect', 'started'), 1);
  assert.equal(value('failed_connect', 'cooldown'), 1);
  assert.equal(value('reset', 'started'), 0);
  assert.equal(value('retransmit_burst', 'started'), 0);
});

const RESET_SERVER = `
import json, socket, struct, sys
server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
server.bind((sys.argv[1], 0))
server.listen(1)
print(json.dumps({'port': server.getsockname()[1]}), flush=True)
conn, _ = server.accept()
conn.recv(100)
# SO_LINGER 0: close() sends a RST instead of a FIN.
conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
conn.close()
`;

const RESET_CLIENT = `
import json, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(b'hello')
try:
    data = s.recv(100)
    print(json.dumps({'port': s.getsockname()[1], 'received': len(data)}), flush=True)
except OSError as e:
    print(json.dumps({'port': s.getsockname()[1], 'error': e.errno}), flush=True)
`;

test('packet_capture: a reset of an established IPv6 connection triggers a capture of the packets before it (from the kernel ring) and the RST, equal to a full capture of the same connection', async (t) => {
  if (!requireKernel(t)) return;
  const { link, client, receiver, logs, children, serverPort: port } = await setUp(
    t,
    'pcapr',
    randomSubnet(),
    (cgroup, base) => ({
      triggers: { ...base.triggers, enabled: true, cgroups: [cgroup.path], on: ['reset'], before_packets: 4, after_packets: 2, after_timeout: '300ms' },
    }),
    { server: (l) => ['-c', RESET_SERVER, l.peerV6] },
  );
  // The whole connection, on demand, as the reference.
  const full = await receiver.engine.start({ selection: { cgroupPaths: [client.path], destinationAddress: link.peerV6, destinationPort: port } });
  const clientChild = startChild(client.wrap(['ip', 'netns', 'exec', link.client, 'python3', '-c', RESET_CLIENT, link.peerV6, String(port)]));
  children.push(clientChild);
  const outcome = await clientChild.nextJson<{ port: number; error?: number; received?: number }>();
  const ECONNRESET = 104;
  assert.equal(outcome.error, ECONNRESET, JSON.stringify(outcome));

  await waitUntil(() => logs.records.some((r) => r.eventName === EVENTS.captureFinished.name && r.attributes['tcpscope.capture.reason'] === 'reset'), DEADLINE_MS, 'the triggered capture', () => JSON.stringify(receiver.engine.list()));
  const triggered = receiver.engine.list().find((s) => s.reason === 'reset')!;
  assert.equal(triggered.end, 'duration', 'nothing came after the RST');
  assert.deepEqual(triggered.selection, { cgroupIds: [statSync(client.directory).ino], sourceAddress: link.clientV6, sourcePort: outcome.port, destinationAddress: link.peerV6, destinationPort: port, bidirectional: true });
  const reference = tsharkSix(( await receiver.engine.stop(full.id)).files[0]);
  const rst = reference.findIndex((p) => (p.flags & RST) !== 0);
  assert.ok(rst >= 4, `the RST after the handshake and the data: ${JSON.stringify(reference)}`);
  assert.deepEqual(tsharkSix(triggered.files[0]), reference.slice(rst - 4, rst + 1), 'the 4 packets before the RST and the RST, headers only as in the headers-only reference');
});

/** tshark's view of an IPv6 capture. */
function tsharkSix(file: string): { src: string; flags: number; direction: number; capLength: number; seq: string }[] {
  const out = run('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'ipv6.src', '-e', 'tcp.flags', '-e', 'frame.packet_flags_direction', '-e', 'frame.cap_len', '-e', 'tcp.seq_raw']);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stderr, '');
  return out.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [src, flags, direction, capLength, seq] = line.split('|');
      return { src, flags: Number(flags), direction: Number(direction), capLength: Number(capLength), seq };
    });
}

const SILENT_PEER_CLIENT = `
import json, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print(json.dumps({'port': s.getsockname()[1]}), flush=True)
sys.stdin.readline()  # the peer drops what we send from here on
s.sendall(b'x' * 100)
time.sleep(30)
`;

test('packet_capture: a burst of retransmissions to a peer that drops them triggers a capture of the connection with the retransmitted segment', async (t) => {
  if (!requireKernel(t)) return;
  const { link, client, receiver, logs, serverPort: port } = await setUp(
    t,
    'pcapx',
    randomSubnet(),
    (cgroup, base) => ({
      triggers: { ...base.triggers, enabled: true, cgroups: [cgroup.path], on: ['retransmit_burst'], before_packets: 8, after_packets: 1, retransmit_burst: 2, retransmit_window: '20s', after_timeout: '20s' },
    }),
    { requests: 1 },
  );
  const clientChild = spawn(client.wrap(['ip', 'netns', 'exec', link.client, 'python3', '-c', SILENT_PEER_CLIENT, link.peerV4, String(port)])[0], client.wrap(['ip', 'netns', 'exec', link.client, 'python3', '-c', SILENT_PEER_CLIENT, link.peerV4, String(port)]).slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => clientChild.kill('SIGKILL'));
  const clientPort = await new Promise<number>((resolve, reject) => {
    clientChild.stdout.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
    clientChild.once('exit', () => reject(new Error('client exited')));
  });
  link.run(link.peer, ['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(port), '-j', 'DROP']);
  clientChild.stdin.write('go\n');

  await waitUntil(() => logs.records.some((r) => r.eventName === EVENTS.captureFinished.name), DEADLINE_MS, 'the triggered capture', () => JSON.stringify(receiver.engine.list()));
  const status = receiver.engine.list().find((s) => s.reason === 'retransmit_burst')!;
  assert.equal(status.end, 'packets');
  assert.equal(status.selection.sourcePort, clientPort);
  const out = run('tshark', ['-r', status.files[0], '-T', 'fields', '-E', 'separator=|', '-e', 'ip.src', '-e', 'tcp.flags', '-e', 'tcp.seq_raw', '-e', 'tcp.len', '-e', 'frame.comment']);
  assert.equal(out.stderr, '');
  const packets = out.stdout.split('\n').filter(Boolean).map((l) => l.split('|'));
  const trigger = packets.findIndex((p) => p[4] === 'trigger: retransmit_burst');
  assert.ok(trigger > 0, out.stdout);
  const [src, , seq, len] = packets[trigger];
  assert.equal(src, link.clientV4);
  assert.equal(len, '100', 'the data segment, sent again');
  const sends = packets.slice(0, trigger).filter((p) => p[0] === link.clientV4 && p[2] === seq && p[3] === '100');
  assert.equal(sends.length, 2, `the original and the first retransmission are in the ring before it: ${out.stdout}`);
  assert.equal(Number(packets[0][1]) & SYN, SYN, 'the ring goes back to the handshake');
});
