import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { defaultRegistry } from '../../components';
import { parseConfigText, validateConfig } from '../../config';
import { validateComponentSettings } from '../../config/component_settings';
import { connectionUnit } from './connection_hash';
import type { SamplingConfig } from './config';
import { samplingProcessorFactory } from './factory';
import { SamplingProcessor } from './processor';
import { decide } from './sampler';

const side = (local: [string, number], peer: [string, number], extra: Record<string, unknown> = {}) => ({
  'network.local.address': local[0],
  'network.local.port': local[1],
  'network.peer.address': peer[0],
  'network.peer.port': peer[1],
  ...extra,
});
const config = (c: Partial<SamplingConfig>): SamplingConfig => ({ keep_errors: true, combine: 'any', policies: [], ...c });

describe('sampling decisions', () => {
  it('hash decisions are symmetric: client and server records of a connection agree', () => {
    const c = config({ policies: [{ hash: { ratio: 0.5 } }] });
    for (let i = 0; i < 500; i++) {
      const client = side(['198.18.0.1', 30000 + i], ['198.18.0.2', 443]);
      const server = side(['198.18.0.2', 443], ['198.18.0.1', 30000 + i]);
      assert.deepEqual(decide(c, client), decide(c, server));
    }
  });

  it('an independent process makes the same decisions', () => {
    const tuples = Array.from({ length: 50 }, (_, i) => [`198.18.1.${i}`, 1000 + i, 'fd00::2', 80] as const);
    const here = tuples.map(([a, p, b, q]) => connectionUnit({ address: a, port: p }, { address: b, port: q }));
    const script = `const {connectionUnit}=require(${JSON.stringify(require.resolve('./connection_hash'))});
      const t=${JSON.stringify(tuples)};process.stdout.write(JSON.stringify(t.map(([a,p,b,q])=>connectionUnit({address:b,port:q},{address:a,port:p}))));`;
    const there = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as number[];
    assert.deepEqual(there, here);
  });

  it('keeps a fraction within 4 standard deviations of the ratio', () => {
    const n = 20000;
    for (const ratio of [0.1, 0.25, 0.5]) {
      const c = config({ policies: [{ hash: { ratio } }] });
      let kept = 0;
      for (let i = 0; i < n; i++) if (decide(c, side([`198.18.${i >> 8}.${i & 255}`, 40000 + (i % 20000)], ['198.19.0.1', 8080])).keep) kept++;
      const sigma = Math.sqrt(n * ratio * (1 - ratio));
      assert.ok(Math.abs(kept - n * ratio) < 4 * sigma, `ratio ${ratio}: kept ${kept} of ${n}`);
    }
  });

  it('thresholds are exact at their boundaries (min and max inclusive)', () => {
    const c = config({ policies: [{ threshold: { field: 'tcp.duration', min: 1.0, max: 2.0 } }] });
    const at = (d: number) => decide(c, side(['a', 1], ['b', 2], { 'tcp.duration': d })).keep;
    assert.deepEqual([at(0.999999), at(1.0), at(1.5), at(2.0), at(2.000001)], [false, true, true, true, false]);
    assert.equal(decide(c, side(['a', 1], ['b', 2])).keep, false, 'an event without the field does not match');
  });

  it('keep_errors keeps failures whatever the policies; probabilities say how to re-weight', () => {
    const c = config({ policies: [{ hash: { ratio: 0 } }] });
    assert.deepEqual(decide(c, side(['a', 1], ['b', 2], { 'error.type': 'ECONNREFUSED' })), { keep: true, probability: 1 });
    assert.equal(decide({ ...c, keep_errors: false }, side(['a', 1], ['b', 2], { 'error.type': 'ECONNREFUSED' })).keep, false);
    const both = config({ policies: [{ hash: { ratio: 1 } }, { threshold: { field: 'tcp.retransmits', min: 1 } }] });
    assert.deepEqual(decide(both, side(['a', 1], ['b', 2], { 'tcp.retransmits': 0 })), { keep: true, probability: 1 });
  });

  it('combine: all needs every policy', () => {
    const c = config({ combine: 'all', policies: [{ hash: { ratio: 1 } }, { threshold: { field: 'tcp.rtt', min: 0.01 } }] });
    assert.equal(decide(c, side(['a', 1], ['b', 2], { 'tcp.rtt': 0.005 })).keep, false);
    assert.deepEqual(decide(c, side(['a', 1], ['b', 2], { 'tcp.rtt': 0.02 })), { keep: true, probability: 1 });
  });
});

describe('sampling processor', () => {
  it('forwards kept records with tcpscope.sampling.probability, leaving the originals untouched', async () => {
    const got: ReadableLogRecord[] = [];
    const p = new SamplingProcessor(config({ policies: [{ threshold: { field: 'tcp.duration', min: 1 } }] }), { consume: async (r) => void got.push(...r) });
    const records = [1.5, 0.5].map((d) => ({ attributes: side(['a', 1], ['b', 2], { 'tcp.duration': d }) }) as unknown as ReadableLogRecord);
    await p.consume(records);
    assert.equal(got.length, 1);
    assert.equal(got[0].attributes['tcpscope.sampling.probability'], 1);
    assert.equal(records[0].attributes['tcpscope.sampling.probability'], undefined);
    assert.deepEqual(p.counts(), { kept: 1, dropped: 1 });
  });

  it('decides by a record\'s own connection hash when it has one, else by hashing its attributes', async () => {
    class Hashed {
      constructor(
        readonly attributes: Record<string, unknown>,
        private readonly hash: number | undefined,
      ) {}
      connectionHash(): number | undefined {
        return this.hash;
      }
    }
    const c = config({ keep_errors: false, policies: [{ hash: { ratio: 0.5 } }] });
    // Tuples on either side of the ratio by their attributes' hash.
    const tuples = Array.from({ length: 40 }, (_, i) => side(['198.18.0.1', 20000 + i], ['198.18.0.2', 443]));
    const unit = (a: Record<string, unknown>) => connectionUnit({ address: String(a['network.local.address']), port: Number(a['network.local.port']) }, { address: String(a['network.peer.address']), port: Number(a['network.peer.port']) });
    assert.ok(tuples.some((a) => unit(a) < 0.5) && tuples.some((a) => unit(a) >= 0.5));
    const run = async (records: unknown[]) => {
      const got: ReadableLogRecord[] = [];
      await new SamplingProcessor(c, { consume: async (r) => void got.push(...r) }).consume(records as ReadableLogRecord[]);
      return got.map((r) => r.attributes['network.local.port']);
    };
    const byAttributes = tuples.filter((a) => unit(a) < 0.5).map((a) => a['network.local.port']);
    // The record's hash is what decides (the processor does not hash again): the complement here.
    assert.deepEqual(await run(tuples.map((a) => new Hashed(a, unit(a) < 0.5 ? 0.75 : 0.25))), tuples.filter((a) => unit(a) >= 0.5).map((a) => a['network.local.port']));
    // The true hash decides as hashing the attributes does.
    assert.deepEqual(await run(tuples.map((a) => new Hashed(a, unit(a)))), byAttributes);
    // Fallbacks: a record whose hash is absent, and a plain record without the capability.
    assert.deepEqual(await run(tuples.map((a) => new Hashed(a, undefined))), byAttributes);
    assert.deepEqual(await run(tuples.map((a) => ({ attributes: a }))), byAttributes);
    assert.deepEqual(decide(c, tuples[0], 0.49), { keep: true, probability: 0.5 });
    assert.deepEqual(decide(c, tuples[0], 0.5), { keep: false, probability: 0 });
  });

  it('is refused in a metrics pipeline, with a message naming the processor', () => {
    const yaml = `receivers: {tcp_lifecycle: }
processors: {sampling: {policies: [{hash: {ratio: 0.5}}]}}
exporters: {debug: }
service:
  pipelines:
    metrics: {receivers: [tcp_lifecycle], processors: [sampling], exporters: [debug]}
`;
    assert.throws(() => validateConfig(parseConfigText(yaml, 'test.yaml', {}), defaultRegistry()), /sampling/);
  });

  it('rejects malformed policies with the key and the expectation', () => {
    const validate = (policies: unknown) => () => validateComponentSettings(samplingProcessorFactory.schema, { policies }, ['processors', 'sampling']);
    assert.throws(validate([{ hash: { ratio: 1.5 } }]), /processors\.sampling\.policies: .*policies\[0\]\.hash\.ratio must be a number from 0 to 1/);
    assert.throws(validate([{ threshold: { field: 'tcp.bytes', min: 1 } }]), /threshold\.field must be one of tcp\.duration/);
    assert.throws(validate([]), /must be a non-empty list of policies/);
  });
});

describe('canonical tuple bytes (the contract a kernel push-down must match)', () => {
  it('writes addresses as IPv6, IPv4 mapped, ports big-endian, lower endpoint first, then TCP', async () => {
    const { canonicalTuple, addressBytes } = await import('./connection_hash');
    assert.equal(addressBytes('198.18.0.1').toString('hex'), '00000000000000000000ffffc6120001');
    assert.equal(addressBytes('::ffff:198.18.0.1').toString('hex'), '00000000000000000000ffffc6120001');
    assert.equal(addressBytes('fd00:7::2').toString('hex'), 'fd000007000000000000000000000002');
    assert.equal(addressBytes('::1').toString('hex'), '00000000000000000000000000000001');
    const bytes = canonicalTuple({ address: '198.18.0.2', port: 443 }, { address: '198.18.0.1', port: 40000 });
    assert.equal(bytes.toString('hex'), '00000000000000000000ffffc6120001' + '9c40' + '00000000000000000000ffffc6120002' + '01bb' + '06');
  });

  it('FNV-1a 64 in 32-bit halves is the 64-bit definition: published vectors and a BigInt reference', async () => {
    const { fnv1a64 } = await import('./connection_hash');
    assert.equal(fnv1a64(Buffer.from('')), 0xcbf29ce484222325n);
    assert.equal(fnv1a64(Buffer.from('a')), 0xaf63dc4c8601ec8cn);
    assert.equal(fnv1a64(Buffer.from('foobar')), 0x85944171f73967e8n);
    const reference = (bytes: Uint8Array) => {
      let hash = 0xcbf29ce484222325n;
      for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
      return hash;
    };
    let seed = 1;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from({ length: i % 64 }, () => (i % 7 === 0 ? 0xff : next()));
      assert.equal(fnv1a64(bytes), reference(bytes), `input ${Buffer.from(bytes).toString('hex')}`);
    }
  });

  it('fmix64 in 32-bit halves is MurmurHash3\'s finaliser: a BigInt reference', async () => {
    const { fmix64 } = await import('./connection_hash');
    const mask = 0xffffffffffffffffn;
    const reference = (h: bigint) => {
      h ^= h >> 33n;
      h = (h * 0xff51afd7ed558ccdn) & mask;
      h ^= h >> 33n;
      h = (h * 0xc4ceb9fe1a85ec53n) & mask;
      return h ^ (h >> 33n);
    };
    assert.equal(fmix64(0n), 0n);
    let x = 0x9e3779b97f4a7c15n;
    for (let i = 0; i < 5000; i++) {
      x = (x * 6364136223846793005n + 1442695040888963407n) & mask;
      const input = i % 50 === 0 ? mask - BigInt(i) : x;
      assert.equal(fmix64(input), reference(input), input.toString(16));
    }
  });

  it('sequential ephemeral ports of one client are sampled independently (runs of 200 within 5 sigma of the ratio)', async () => {
    const { connectionUnit } = await import('./connection_hash');
    const ratio = 0.25;
    const sigma = Math.sqrt(200 * ratio * (1 - ratio));
    for (const [client, server] of [
      ['10.0.0.7', '10.0.1.9'],
      ['10.0.1.9', '10.0.0.7'], // the client's port is then the last bytes hashed before the protocol
      ['127.0.0.1', '127.0.0.1'],
      ['fd00:7::1', 'fd00:7::2'],
    ]) {
      for (let start = 32768; start < 60999 - 200; start += 997) {
        let kept = 0;
        for (let port = start; port < start + 200; port++) if (connectionUnit({ address: client, port }, { address: server, port: 8080 }) < ratio) kept++;
        assert.ok(Math.abs(kept - 200 * ratio) <= 5 * sigma, `${client} ports ${start}..${start + 199}: ${kept} of 200 kept at ratio ${ratio}`);
      }
    }
  });

  it('a v4-mapped socket and a plain IPv4 one make the same decision', () => {
    const c = config({ policies: [{ hash: { ratio: 0.5 } }] });
    for (let i = 0; i < 100; i++) {
      assert.deepEqual(decide(c, side(['::ffff:127.0.0.1', 50000 + i], ['::ffff:127.0.0.1', 80])), decide(c, side(['127.0.0.1', 80], ['127.0.0.1', 50000 + i])));
    }
  });
});
