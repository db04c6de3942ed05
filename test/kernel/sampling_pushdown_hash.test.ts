// The connection hash the kernel writes into every tcp_lifecycle and tcp_handshake event record
// (bpf/connection_sampling.h, TCPSCOPE_CONNECTION_HASH_*) is the sampling processor's own hash of
// the record's tuple, exactly: on real IPv4, IPv6 and v4-mapped connections over loopback and over
// a veth pair between namespaces the test creates (198.18.0.0/15, fd00::/8), for connect, accept,
// close, refused connects and connects that fail before any SYN. And the processor, which uses
// that hash instead of hashing the attributes, decides exactly as it does without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { SamplingConfig } from '../../src/processors/sampling/config';
import { knownConnectionHash } from '../../src/processors/sampling/known_connection_hash';
import { SamplingProcessor } from '../../src/processors/sampling/processor';
import { attributeConnectionUnit, decide } from '../../src/processors/sampling/sampler';
import { TcpHandshakeReceiver } from '../../src/receivers/tcp_handshake/receiver';
import { HandshakeRawLogRecord } from '../../src/receivers/tcp_handshake/raw_log_record';
import { EVENT_FIELDS as HF } from '../../src/receivers/tcp_handshake/layout';
import type { TcpLifecycleConfig } from '../../src/receivers/tcp_lifecycle/config';
import { EVENT_FIELDS as LF } from '../../src/receivers/tcp_lifecycle/layout';
import { LifecycleRawLogRecord } from '../../src/receivers/tcp_lifecycle/raw_log_record';
import { TcpLifecycleReceiver } from '../../src/receivers/tcp_lifecycle/receiver';
import { TestCgroup, testCgroupBase } from '../support/cgroup';
import { DEADLINE_MS, DIST_ROOT, startChild, TCP_PEER, waitUntil, type RunningChild } from '../support/child';
import { HANDSHAKE_TEST_CONFIG } from '../support/handshake';
import { requireKernel } from '../support/kernel';
import { createTestLink } from '../support/netns';
import { RecordingLogsConsumer, RecordingMetricsConsumer } from '../support/recording_consumer';
import { connectionOf, eventIdentity, identities, pushdownSettings, ReceiverOutput } from '../support/sampling_twins';

const CONNECT_ATTEMPTS = join(DIST_ROOT, 'test', 'support', 'connect_attempts.js');
const host = { reportFatal: (e: Error) => assert.fail(e) };
const AF_INET = 2;
const AF_INET6 = 10;

const LIFECYCLE_CONFIG: TcpLifecycleConfig = {
  collection_interval: '1h',
  drain_interval: '20ms',
  ring_buffer_size: 1 << 21,
  max_connections: 65536,
  max_cgroups: 1024,
  wakeup_min_bytes: 65536,
  sampling_pushdown: true,
  events: ['tcp.connect', 'tcp.accept', 'tcp.close'],
};

/** Predicates whose decisions read the hash: alone, under any with a threshold, under all. */
const PREDICATES: readonly SamplingConfig[] = [
  { keep_errors: false, combine: 'any', policies: [{ hash: { ratio: 0.5 } }] },
  { keep_errors: true, combine: 'any', policies: [{ hash: { ratio: 0.1 } }, { threshold: { field: 'tcp.handshake.duration', min: 3600 } }] },
  { keep_errors: false, combine: 'all', policies: [{ hash: { ratio: 0.3 } }, { threshold: { field: 'tcp.handshake.duration', max: 10 } }] },
];

/** What the record's tuple is, from its raw bytes: the three kinds the hash must agree on. */
function tupleKind(bytes: Buffer, offset: number, family: { offset: number }, saddr: { offset: number }, daddr: { offset: number }): string {
  const f = bytes.readUInt16LE(offset + family.offset);
  if (f === AF_INET) return 'ipv4';
  if (f !== AF_INET6) return `family ${f}`;
  const mapped = (at: number) => bytes.readUInt32BE(at) === 0 && bytes.readUInt32BE(at + 4) === 0 && bytes.readUInt32BE(at + 8) === 0xffff;
  return mapped(offset + daddr.offset) || mapped(offset + saddr.offset) ? 'v4-mapped' : 'ipv6';
}

function kindOf(r: ReadableLogRecord): string {
  if (r instanceof LifecycleRawLogRecord) return tupleKind(r.batch.bytes, r.offset, LF.family, LF.saddr, LF.daddr);
  if (r instanceof HandshakeRawLogRecord) return tupleKind(r.batch.bytes, r.offset, HF.family, HF.saddr, HF.daddr);
  return 'not a raw kernel record';
}

/** Every record carries the kernel's hash and it equals the processor's hash of its attributes. */
function assertKernelHashes(records: readonly ReadableLogRecord[]): void {
  const missing = records.filter((r) => knownConnectionHash(r) === undefined).map(eventIdentity);
  assert.deepEqual(missing, [], 'every record carries the kernel hash');
  const differing = records
    .filter((r) => knownConnectionHash(r) !== attributeConnectionUnit((key) => r.attributes[key]))
    .map((r) => `${eventIdentity(r)}: kernel ${knownConnectionHash(r)}, processor ${attributeConnectionUnit((key) => r.attributes[key])}`);
  assert.deepEqual(differing, [], 'the kernel hash equals the processor\'s hash of the tuple, bit for bit');
}

/** The processor with the kernel hash decides exactly as it does hashing the attributes itself. */
async function assertSameDecisions(records: readonly ReadableLogRecord[]): Promise<void> {
  // A plain copy has no prototype, so no connectionHash(): the processor hashes its attributes.
  const plain = records.map((r): ReadableLogRecord => ({ ...r, attributes: r.attributes }));
  assert.equal(plain.filter((r) => knownConnectionHash(r) !== undefined).length, 0);
  for (const predicate of PREDICATES) {
    const name = JSON.stringify(predicate);
    for (const r of records) {
      assert.deepEqual(decide(predicate, r.attributes, knownConnectionHash(r)), decide(predicate, r.attributes), `${name}: ${eventIdentity(r)}`);
    }
    const withKernelHash = new RecordingLogsConsumer();
    const processor = new SamplingProcessor(predicate, withKernelHash);
    await processor.consume(records);
    const withoutIt = new RecordingLogsConsumer();
    await new SamplingProcessor(predicate, withoutIt).consume(plain);
    assert.deepEqual(identities(withKernelHash.records, true), identities(withoutIt.records, true), `${name}: the same records kept, with the same probability`);
    const { kept, dropped } = processor.counts();
    assert.ok(kept > 0 && dropped > 0, `${name}: some kept (${kept}), some sampled out (${dropped})`);
  }
}

/**
 * A receiver told that no logs pipeline samples (logsSampled: false) writes no hash; a sampling
 * processor given its records anyway hashes their attributes and keeps exactly what it keeps of
 * the hashed twin's records of the same transitions.
 */
async function assertUnhashedTwin(hashed: readonly ReadableLogRecord[], unhashed: readonly ReadableLogRecord[]): Promise<void> {
  assert.deepEqual(identities(unhashed), identities(hashed), 'both receivers saw the same events');
  assert.deepEqual(unhashed.filter((r) => knownConnectionHash(r) !== undefined).map(eventIdentity), [], 'no record of the unhashed twin carries a hash');
  for (const predicate of PREDICATES) {
    const kept = async (records: readonly ReadableLogRecord[]) => {
      const out = new RecordingLogsConsumer();
      await new SamplingProcessor(predicate, out).consume(records);
      return identities(out.records, true);
    };
    assert.deepEqual(await kept(unhashed), await kept(hashed), `${JSON.stringify(predicate)}: the same records kept without the kernel hash`);
  }
}

function count(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

interface Ports {
  v4: number;
  v6: number;
  dual: number;
}

test('tcp_lifecycle: every connect, accept and close carries the processor\'s hash of its tuple, on loopback and veth, IPv4, IPv6 and v4-mapped', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('khash');
  const cgroup = TestCgroup.create(`${base}/lifecycle`);
  const link = createTestLink('khl', 21);
  const children: RunningChild[] = [];
  const output = new ReceiverOutput(PREDICATES[0]);
  const receiver = new TcpLifecycleReceiver(pushdownSettings('tcp_lifecycle', 'khash'), LIFECYCLE_CONFIG, { logs: output, metrics: new RecordingMetricsConsumer() });
  // A twin on the same transitions whose pipelines would not sample: its records carry no hash.
  const unhashedOutput = new ReceiverOutput(PREDICATES[0]);
  const unhashed = new TcpLifecycleReceiver({ ...pushdownSettings('tcp_lifecycle', 'unhashed'), logsSampled: false }, LIFECYCLE_CONFIG, {
    logs: unhashedOutput,
    metrics: new RecordingMetricsConsumer(),
  });
  t.after(async () => {
    for (const c of children) c.kill();
    await Promise.allSettled([receiver.shutdown(), unhashed.shutdown()]);
    link.cleanup();
    cgroup.remove(base);
  });
  await receiver.start(host);
  await unhashed.start(host);

  const serve = async (namespace: string[]) => {
    const server = startChild(cgroup.wrap([...namespace, process.execPath, TCP_PEER, 'server', '10', 'client-first']));
    children.push(server);
    return server.nextJson<Ports>();
  };
  const local = await serve([]);
  const remote = await serve(['ip', 'netns', 'exec', link.peer]);
  const PER_RUN = 25;
  // [namespace, host, port]: plain IPv4 and IPv6 sockets on both ends; IPv4 clients of a
  // dual-stack listener (the server's socket is IPv6 with v4-mapped addresses); IPv6 clients
  // connecting to a v4-mapped address (both ends v4-mapped).
  const runs: [string[], string, number][] = [
    [[], '127.0.0.1', local.v4],
    [[], '::1', local.v6],
    [[], '127.0.0.1', local.dual],
    [[], '::ffff:127.0.0.1', local.dual],
    [['ip', 'netns', 'exec', link.client], link.peerV4, remote.dual],
    [['ip', 'netns', 'exec', link.client], link.peerV6, remote.dual],
    [['ip', 'netns', 'exec', link.client], `::ffff:${link.peerV4}`, remote.dual],
  ];
  for (const [namespace, hostname, port] of runs) {
    const client = startChild(cgroup.wrap([...namespace, process.execPath, TCP_PEER, 'client', hostname, String(port), String(PER_RUN), '20', '0', 'client-first']));
    children.push(client);
    assert.deepEqual(await client.nextJson(2 * DEADLINE_MS), { done: PER_RUN }, `${hostname} port ${port}`);
  }
  const connections = PER_RUN * runs.length;
  const ours = (r: ReadableLogRecord) => r.attributes['process.linux.cgroup'] === cgroup.attribute;
  await waitUntil(
    () => output.delivered.filter(ours).length >= 4 * connections && unhashedOutput.delivered.filter(ours).length >= 4 * connections,
    DEADLINE_MS,
    'connect, accept and two closes per connection, at both receivers',
  );
  await receiver.shutdown();
  await unhashed.shutdown();
  await assertUnhashedTwin(output.delivered.filter(ours), unhashedOutput.delivered.filter(ours));

  const records = output.delivered.filter(ours);
  assert.deepEqual(count(records.map((r) => r.eventName ?? '-')), { 'tcp.connect': connections, 'tcp.accept': connections, 'tcp.close': 2 * connections });
  // Each run's four events by the socket's tuple as the kernel has it (client: connect and close;
  // server: accept and close): loopback to 127.0.0.1 (4 ipv4), ::1 (4 ipv6), 127.0.0.1 to the
  // dual-stack listener (2 ipv4 + 2 mapped), ::ffff:127.0.0.1 (4 mapped); veth: IPv4 to the
  // dual-stack listener (2 + 2), fd00:: (4 ipv6), ::ffff:198.18.. (4 mapped).
  assert.deepEqual(count(records.map(kindOf)), { ipv4: PER_RUN * 8, ipv6: PER_RUN * 8, 'v4-mapped': PER_RUN * 12 });
  const peers = new Set(records.map((r) => String(r.attributes['network.peer.address'])));
  for (const address of ['127.0.0.1', '::1', link.clientV4, link.peerV4, link.clientV6, link.peerV6]) assert.ok(peers.has(address), `peer ${address} seen`);
  assertKernelHashes(records);

  // One hash per connection: connect, accept and both closes, from either end, agree.
  const hashes = new Map<string, Set<number | undefined>>();
  for (const r of records) hashes.set(connectionOf(r), (hashes.get(connectionOf(r)) ?? new Set()).add(knownConnectionHash(r)));
  assert.equal(hashes.size, connections);
  assert.deepEqual([...hashes].filter(([, set]) => set.size !== 1).map(([c]) => c), []);

  await assertSameDecisions(records);
});

test('tcp_handshake: successes, refused connects and failures before any SYN carry the processor\'s hash of their tuple', async (t) => {
  if (!requireKernel(t)) return;
  const base = testCgroupBase('khash-hs');
  const cgroup = TestCgroup.create(`${base}/handshake`);
  const link = createTestLink('khh', 22);
  const children: RunningChild[] = [];
  const output = new ReceiverOutput(PREDICATES[0]);
  const receiver = new TcpHandshakeReceiver(pushdownSettings('tcp_handshake', 'khash'), HANDSHAKE_TEST_CONFIG, { logs: output, metrics: new RecordingMetricsConsumer() });
  const unhashedOutput = new ReceiverOutput(PREDICATES[0]);
  const unhashed = new TcpHandshakeReceiver({ ...pushdownSettings('tcp_handshake', 'unhashed'), logsSampled: false }, HANDSHAKE_TEST_CONFIG, {
    logs: unhashedOutput,
    metrics: new RecordingMetricsConsumer(),
  });
  t.after(async () => {
    for (const c of children) c.kill();
    await Promise.allSettled([receiver.shutdown(), unhashed.shutdown()]);
    link.cleanup();
    cgroup.remove(base);
  });
  await receiver.start(host);
  await unhashed.start(host);

  const inClientNs = ['ip', 'netns', 'exec', link.client];
  const inIsolatedNs = ['ip', 'netns', 'exec', link.isolated];
  const server = startChild(cgroup.wrap(['ip', 'netns', 'exec', link.peer, process.execPath, TCP_PEER, 'server', '10', 'client-first']));
  children.push(server);
  const remote = await server.nextJson<Ports>();
  const localServer = startChild(cgroup.wrap([process.execPath, TCP_PEER, 'server', '10', 'client-first']));
  children.push(localServer);
  const local = await localServer.nextJson<Ports>();
  const PER_RUN = 20;
  const successes: [string[], string, number][] = [
    [[], '127.0.0.1', local.v4],
    [[], '::1', local.v6],
    [[], '::ffff:127.0.0.1', local.dual],
    [inClientNs, link.peerV4, remote.dual],
    [inClientNs, link.peerV6, remote.dual],
    [inClientNs, `::ffff:${link.peerV4}`, remote.dual],
  ];
  for (const [namespace, hostname, port] of successes) {
    const client = startChild(cgroup.wrap([...namespace, process.execPath, TCP_PEER, 'client', hostname, String(port), String(PER_RUN), '10', '0', 'client-first']));
    children.push(client);
    assert.deepEqual(await client.nextJson(2 * DEADLINE_MS), { done: PER_RUN }, `${hostname} port ${port}`);
  }
  // Port 1: nobody listens, the peer answers the SYN with a RST. Loopback of the isolated
  // namespace, and across the veth pair from the client namespace.
  const failures: [string[], string, string, string][] = [
    [inIsolatedNs, '127.0.0.1', '1', 'ECONNREFUSED'],
    [inIsolatedNs, '::1', '1', 'ECONNREFUSED'],
    [inClientNs, link.peerV4, '1', 'ECONNREFUSED'],
    [inClientNs, link.peerV6, '1', 'ECONNREFUSED'],
    [inClientNs, `::ffff:${link.peerV4}`, '1', 'ECONNREFUSED'],
    // No route at all: connect() fails before any SYN, the record has no local address.
    [inIsolatedNs, link.peerV4, '1000-60000', 'ENETUNREACH'],
    [inIsolatedNs, link.peerV6, '1000-60000', 'ENETUNREACH'],
  ];
  for (const [namespace, hostname, target, error] of failures) {
    const attempts = startChild(cgroup.wrap([...namespace, process.execPath, CONNECT_ATTEMPTS, hostname, target, String(PER_RUN)]));
    children.push(attempts);
    assert.deepEqual(await attempts.nextJson(2 * DEADLINE_MS), { [error]: PER_RUN }, `${hostname} ${target}`);
  }
  const ours = (r: ReadableLogRecord) => r.attributes['process.linux.cgroup'] === cgroup.attribute;
  const total = PER_RUN * (2 * successes.length + failures.length);
  await waitUntil(
    () => output.delivered.filter(ours).length >= total && unhashedOutput.delivered.filter(ours).length >= total,
    DEADLINE_MS,
    'every handshake outcome, at both receivers',
  );
  await receiver.shutdown();
  await unhashed.shutdown();
  await assertUnhashedTwin(output.delivered.filter(ours), unhashedOutput.delivered.filter(ours));

  const records = output.delivered.filter(ours);
  assert.equal(records.length, total);
  assert.deepEqual(count(records.map((r) => String(r.attributes['error.type'] ?? 'ok'))), { ok: PER_RUN * 2 * successes.length, ECONNREFUSED: PER_RUN * 5, ENETUNREACH: PER_RUN * 2 });
  assert.equal(records.filter((r) => r.attributes['network.local.address'] === undefined).length, PER_RUN * 2, 'failures before any SYN have no local address');
  const kinds = count(records.map(kindOf));
  for (const kind of ['ipv4', 'ipv6', 'v4-mapped']) assert.ok((kinds[kind] ?? 0) >= PER_RUN, `${kind} tuples: ${JSON.stringify(kinds)}`);
  assertKernelHashes(records);
  await assertSameDecisions(records);
});
