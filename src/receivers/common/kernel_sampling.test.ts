// The kernel push-down of the sampling predicate must decide exactly as the sampling processor:
// bpf/connection_sampling.h is compiled for the host and run on events built the way the kernel
// programs build them, and its decisions are compared with the processor's on the log records the
// receivers' own decoders make of the same events.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { HostSamplingPredicate, type KernelSubject } from '../../../test/support/c_sampling';
import { CgroupResolver } from '../../host/cgroup_resolver';
import { MonotonicClock } from '../../host/monotonic_clock';
import { agentResource } from '../../resource';
import type { SamplingConfig, SamplingPolicy, ThresholdField } from '../../processors/sampling/config';
import { connectionHash, hashCutoff } from '../../processors/sampling/connection_hash';
import { decide } from '../../processors/sampling/sampler';
import { decodeHandshakeEvent } from '../tcp_handshake/decoder';
import { CONSTANTS as HS, EVENT_FIELDS as HF, EVENT_SIZE as HS_SIZE } from '../tcp_handshake/layout';
import { handshakeLogRecord } from '../tcp_handshake/log_records';
import { decodeLifecycleEvent } from '../tcp_lifecycle/decoder';
import { CONSTANTS as LC, EVENT_FIELDS as LF, EVENT_SIZE as LC_SIZE } from '../tcp_lifecycle/layout';
import { lifecycleLogRecord } from '../tcp_lifecycle/log_records';
import type { LogRecordContext } from './log_record_context';
import { KERNEL_FIELDS, kernelSampling, rawBounds } from './kernel_sampling';
import { CONSTANTS as C, POLICY_FIELDS, POLICY_SIZE, SETTINGS_FIELDS, SETTINGS_SIZE } from './sampling_layout';
import { OVERFLOW_CGROUP_ID } from './workload_attributes';

const AF_INET = 2;
const AF_INET6 = 10;
const ECONNREFUSED = 111;
const ENETUNREACH = 101;

/** Deterministic pseudo-random numbers (mulberry32): failures reproduce. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const THRESHOLD_FIELDS = Object.keys(KERNEL_FIELDS) as ThresholdField[];
const matches = (value: number, min: number | undefined, max: number | undefined) => (min === undefined || value >= min) && (max === undefined || value <= max);

describe('hash cutoff', () => {
  it('keeps nothing at ratio 0 and everything at ratio 1', () => {
    assert.equal(hashCutoff(0), 0n);
    assert.equal(hashCutoff(1), 1n << 53n);
    assert.equal(hashCutoff(Number.MIN_VALUE), 1n, 'the smallest ratio still keeps the units below 2^-53');
  });

  it('(hash >> 11) < cutoff exactly when the processor\'s unit number is below the ratio', () => {
    const next = random(1);
    const ratios = [0.25, 0.5, 0.1, 1 / 3, 1e-9, 0.999999999, 1 - 2 ** -53, 2 ** -60, ...Array.from({ length: 200 }, next)];
    for (const ratio of ratios) {
      const cutoff = hashCutoff(ratio);
      for (const k of [cutoff - 2n, cutoff - 1n, cutoff, cutoff + 1n]) {
        if (k < 0n || k >= 1n << 53n) continue;
        assert.equal(k < cutoff, Number(k) / 2 ** 53 < ratio, `ratio ${ratio}, k ${k}`);
      }
    }
  });
});

describe('threshold bounds in kernel units', () => {
  const interesting = [0, 1, 1.0, 2.5, 0.1 + 0.2, 1e-9, 0.5e-9, 1.5e-9, 3e-9, 1e-6, 0.5e-6, 0.000042, 7, 7.5, -1, 1e20, 2 ** 64 / 1e9, NaN, Infinity, -Infinity];

  it('a raw value is within [low, high] exactly when its attribute passes min and max', () => {
    const next = random(2);
    const bounds = [undefined, ...interesting, ...Array.from({ length: 50 }, () => next() * 10)];
    for (const name of THRESHOLD_FIELDS) {
      const field = KERNEL_FIELDS[name];
      for (let i = 0; i < 400; i++) {
        const min = bounds[Math.floor(next() * bounds.length)];
        const max = bounds[Math.floor(next() * bounds.length)];
        if (min === undefined && max === undefined) continue;
        const { low, high } = rawBounds(field, min, max);
        const probes = [0n, 1n, field.maxRaw, field.maxRaw - 1n, low - 1n, low, low + 1n, high - 1n, high, high + 1n];
        for (const raw of probes) {
          if (raw < 0n || raw > field.maxRaw) continue;
          const inKernel = raw >= low && raw <= high;
          assert.equal(inKernel, matches(field.attribute(raw), min, max), `${name} [${min}, ${max}] raw ${raw}: kernel [${low}, ${high}]`);
        }
      }
    }
  });

  it('finds the exact nanosecond where a duration bound flips', () => {
    const duration = KERNEL_FIELDS['tcp.duration'];
    assert.deepEqual(rawBounds(duration, 1.0, 2.0), { low: 1_000_000_000n, high: 2_000_000_000n });
    // 0.1 + 0.2 is 0.30000000000000004: 300000000 ns gives 0.3, which is below it
    assert.equal(rawBounds(duration, 0.1 + 0.2, undefined).low, 300_000_001n);
    assert.deepEqual(rawBounds(KERNEL_FIELDS['tcp.retransmits'], 0.5, 2.5), { low: 1n, high: 2n });
    assert.deepEqual(rawBounds(KERNEL_FIELDS['tcp.retransmits'], 3, 2), { low: 1n, high: 0n }, 'an empty range matches nothing');
    assert.deepEqual(rawBounds(KERNEL_FIELDS['tcp.rtt'], NaN, undefined), { low: 1n, high: 0n }, 'NaN compares false, as in the processor');
  });
});

describe('settings bytes', () => {
  it('writes combine, keep_errors and one entry per policy', () => {
    const pushed = kernelSampling({ keep_errors: true, combine: 'all', policies: [{ hash: { ratio: 0.5 } }, { threshold: { field: 'tcp.retransmits', min: 1 } }] });
    const b = pushed.settings;
    assert.equal(b.length, SETTINGS_SIZE);
    assert.equal(b.readUInt32LE(SETTINGS_FIELDS.enabled.offset), 1);
    assert.equal(b.readUInt32LE(SETTINGS_FIELDS.combine.offset), C.TCPSCOPE_SAMPLING_COMBINE_ALL);
    assert.equal(b.readUInt32LE(SETTINGS_FIELDS.keep_errors.offset), 1);
    assert.equal(b.readUInt32LE(SETTINGS_FIELDS.policy_count.offset), 2);
    assert.equal(b.readUInt32LE(POLICY_FIELDS.kind.offset), C.TCPSCOPE_SAMPLING_POLICY_HASH);
    assert.equal(b.readBigUInt64LE(POLICY_FIELDS.low.offset), 1n << 52n);
    assert.equal(b.readUInt32LE(POLICY_SIZE + POLICY_FIELDS.kind.offset), C.TCPSCOPE_SAMPLING_POLICY_THRESHOLD);
    assert.equal(b.readUInt32LE(POLICY_SIZE + POLICY_FIELDS.field.offset), C.TCPSCOPE_SAMPLING_FIELD_RETRANSMITS);
    assert.equal(b.readBigUInt64LE(POLICY_SIZE + POLICY_FIELDS.low.offset), 1n);
    assert.equal(b.readBigUInt64LE(POLICY_SIZE + POLICY_FIELDS.high.offset), 0xffffffffn);
    assert.match(pushed.description, /^all of hash ratio 0.5 .*; tcp.retransmits raw \[1, 4294967295\]; errors always kept$/);
  });

  it('pushes nothing down without a config, or with more policies than fit under combine any', () => {
    assert.equal(kernelSampling(undefined).enabled, false);
    const many = Array.from({ length: 9 }, (): SamplingPolicy => ({ hash: { ratio: 0.1 } }));
    const any = kernelSampling({ keep_errors: true, combine: 'any', policies: many });
    assert.equal(any.enabled, false);
    assert.ok(any.settings.equals(Buffer.alloc(SETTINGS_SIZE)));
    const all = kernelSampling({ keep_errors: true, combine: 'all', policies: many });
    assert.equal(all.settings.readUInt32LE(SETTINGS_FIELDS.policy_count.offset), 8, 'under all, a left-out policy only abstains');
    assert.match(all.description, /1 more policy left to user space/);
  });
});

// ---- The C predicate against the processor, on events as the receivers decode them ----------

type EventShape = 'lifecycle connect' | 'lifecycle accept' | 'lifecycle close' | 'handshake outcome' | 'handshake sync failure';
const SHAPES: readonly EventShape[] = ['lifecycle connect', 'lifecycle accept', 'lifecycle close', 'handshake outcome', 'handshake sync failure'];

interface RawEvent {
  readonly shape: EventShape;
  readonly family: number;
  readonly saddr: Buffer;
  readonly daddr: Buffer;
  readonly sport: number;
  readonly dport: number;
  readonly error: number;
  readonly durationNs: bigint;
  readonly retransmits: number;
  readonly srttUs: number;
}

const context: LogRecordContext = {
  resource: agentResource(),
  scope: { name: 'test' },
  clock: new MonotonicClock(),
  cgroups: new CgroupResolver(),
};

/** The log record the receiver would hand to the pipeline for this event (real decoder, real builder). */
function logRecordOf(e: RawEvent): ReadableLogRecord {
  if (e.shape.startsWith('lifecycle')) {
    const b = Buffer.alloc(LC_SIZE);
    b.writeBigUInt64LE(e.durationNs, LF.duration_ns.offset);
    b.writeBigUInt64LE(OVERFLOW_CGROUP_ID, LF.cgroup_id.offset); // no cgroup lookup in a unit test
    e.saddr.copy(b, LF.saddr.offset);
    e.daddr.copy(b, LF.daddr.offset);
    b.writeUInt32LE(e.retransmits, LF.retransmits.offset);
    b.writeUInt32LE(e.srttUs, LF.srtt_us.offset);
    b.writeUInt16LE(e.sport, LF.sport.offset);
    b.writeUInt16LE(e.dport, LF.dport.offset);
    b.writeUInt16LE(e.family, LF.family.offset);
    const kind = { 'lifecycle connect': LC.TCP_LIFECYCLE_EVENT_CONNECT, 'lifecycle accept': LC.TCP_LIFECYCLE_EVENT_ACCEPT, 'lifecycle close': LC.TCP_LIFECYCLE_EVENT_CLOSE }[
      e.shape as 'lifecycle connect'
    ];
    b[LF.kind.offset] = kind;
    b[LF.role.offset] = kind === LC.TCP_LIFECYCLE_EVENT_CONNECT ? LC.TCP_LIFECYCLE_ROLE_CLIENT : LC.TCP_LIFECYCLE_ROLE_SERVER;
    if (e.shape === 'lifecycle close') b[LF.end.offset] = LC.TCP_LIFECYCLE_END_FIN; // every close has an end
    return lifecycleLogRecord(decodeLifecycleEvent(b, 0, b.length), context);
  }
  const b = Buffer.alloc(HS_SIZE);
  b.writeBigUInt64LE(e.durationNs, HF.duration_ns.offset);
  b.writeBigUInt64LE(OVERFLOW_CGROUP_ID, HF.cgroup_id.offset);
  if (e.shape === 'handshake outcome') e.saddr.copy(b, HF.saddr.offset);
  e.daddr.copy(b, HF.daddr.offset);
  b.writeInt32LE(-1, HF.fd.offset);
  b.writeUInt32LE(e.error, HF.error.offset);
  b.writeUInt16LE(e.shape === 'handshake outcome' ? e.sport : 0, HF.sport.offset);
  b.writeUInt16LE(e.dport, HF.dport.offset);
  b.writeUInt16LE(e.family, HF.family.offset);
  b[HF.kind.offset] = e.shape === 'handshake outcome' ? HS.TCP_HANDSHAKE_OUTCOME : HS.TCP_HANDSHAKE_SYNC_FAILURE;
  b[HF.role.offset] = HS.TCP_HANDSHAKE_ROLE_CLIENT;
  return handshakeLogRecord(decodeHandshakeEvent(b, 0, b.length), context);
}

/** What the kernel program tells tcpscope_sampling_keeps() about the same event (as in the .bpf.c files). */
function subjectOf(e: RawEvent): KernelSubject {
  const F = C;
  const base = { family: e.family, saddr: e.saddr, daddr: e.daddr, sport: e.sport, dport: e.dport, localAbsent: false, error: 0 };
  switch (e.shape) {
    case 'lifecycle connect':
      return { ...base, values: { [F.TCPSCOPE_SAMPLING_FIELD_HANDSHAKE_DURATION_NS]: e.durationNs } };
    case 'lifecycle accept':
      return { ...base, values: {} };
    case 'lifecycle close':
      return {
        ...base,
        values: {
          [F.TCPSCOPE_SAMPLING_FIELD_DURATION_NS]: e.durationNs,
          [F.TCPSCOPE_SAMPLING_FIELD_RETRANSMITS]: BigInt(e.retransmits),
          [F.TCPSCOPE_SAMPLING_FIELD_RTT_US]: BigInt(e.srttUs),
        },
      };
    case 'handshake outcome':
      return { ...base, error: e.error, values: { [F.TCPSCOPE_SAMPLING_FIELD_HANDSHAKE_DURATION_NS]: e.durationNs } };
    case 'handshake sync failure':
      return { ...base, saddr: Buffer.alloc(16), sport: 0, localAbsent: true, error: e.error, values: { [F.TCPSCOPE_SAMPLING_FIELD_HANDSHAKE_DURATION_NS]: e.durationNs } };
  }
}

function randomAddress(next: () => number, family: number): Buffer {
  const b = Buffer.alloc(16);
  const pick = next();
  if (family === AF_INET) {
    if (pick < 0.2) b.set([127, 0, 0, 1]);
    else if (pick < 0.3) b.set([0, 0, 0, 0]);
    else for (let i = 0; i < 4; i++) b[i] = Math.floor(next() * 256);
    return b;
  }
  if (pick < 0.3) {
    // v4-mapped: the receivers report these as IPv4, the processor hashes them as ::ffff:a.b.c.d
    b[10] = 0xff;
    b[11] = 0xff;
    for (let i = 12; i < 16; i++) b[i] = next() < 0.3 ? 0 : Math.floor(next() * 256);
  } else if (pick < 0.4) {
    b[15] = 1; // ::1
  } else if (pick < 0.45) {
    // all zeros: ::
  } else if (pick < 0.55) {
    for (let i = 12; i < 16; i++) b[i] = Math.floor(next() * 256); // ::a.b.c.d (v4-compatible)
  } else {
    for (let i = 0; i < 16; i++) b[i] = next() < 0.4 ? 0 : Math.floor(next() * 256); // runs of zero groups
  }
  return b;
}

function randomPort(next: () => number): number {
  const pick = next();
  if (pick < 0.05) return 0;
  if (pick < 0.1) return 65535;
  if (pick < 0.3) return [80, 443, 8080, 256, 1][Math.floor(next() * 5)];
  return Math.floor(next() * 65536);
}

/** A raw value near one of the config's threshold bounds for `field` half of the time. */
function rawNearBounds(next: () => number, config: SamplingConfig, field: ThresholdField, fallback: () => bigint): bigint {
  const kernelField = KERNEL_FIELDS[field];
  const thresholds = config.policies.flatMap((p) => ('threshold' in p && p.threshold.field === field ? [p.threshold] : []));
  if (thresholds.length === 0 || next() < 0.5) return fallback();
  const t = thresholds[Math.floor(next() * thresholds.length)];
  const { low, high } = rawBounds(kernelField, t.min, t.max);
  const candidates = [low - 1n, low, low + 1n, high - 1n, high, high + 1n].filter((r) => r >= 0n && r <= kernelField.maxRaw);
  return candidates.length ? candidates[Math.floor(next() * candidates.length)] : fallback();
}

function randomEvent(next: () => number, config: SamplingConfig): RawEvent {
  const shape = SHAPES[Math.floor(next() * SHAPES.length)];
  const family = next() < 0.5 ? AF_INET : AF_INET6;
  const saddr = randomAddress(next, family);
  // The same address on both ends (loopback) a third of the time: then the ports decide the order.
  const daddr = next() < 0.33 ? Buffer.from(saddr) : randomAddress(next, family);
  const failure = shape === 'handshake sync failure' ? true : shape === 'handshake outcome' ? next() < 0.4 : false;
  const durationField: ThresholdField = shape === 'lifecycle close' ? 'tcp.duration' : 'tcp.handshake.duration';
  return {
    shape,
    family,
    saddr,
    daddr,
    sport: randomPort(next),
    dport: randomPort(next),
    error: failure ? (next() < 0.5 ? ECONNREFUSED : ENETUNREACH) : 0,
    durationNs: rawNearBounds(next, config, durationField, () => BigInt(Math.floor(next() * 3e9))),
    retransmits: Number(rawNearBounds(next, config, 'tcp.retransmits', () => BigInt(Math.floor(next() * 4)))),
    srttUs: Number(rawNearBounds(next, config, 'tcp.rtt', () => BigInt(Math.floor(next() * 100_000)))),
  };
}

const RATIOS = [0, 1, 0.25, 0.5, 0.1, 0.01, 1e-6, 0.999999, 1 - 2 ** -53];
const BOUNDS = [0, 0.5, 1, 2, 0.000042, 0.001, 0.1 + 0.2, 1.5, 1e-9, 2.5e-9];

function randomPolicy(next: () => number): SamplingPolicy {
  if (next() < 0.4) return { hash: { ratio: next() < 0.7 ? RATIOS[Math.floor(next() * RATIOS.length)] : next() } };
  const field = THRESHOLD_FIELDS[Math.floor(next() * THRESHOLD_FIELDS.length)];
  const bound = () => (next() < 0.8 ? BOUNDS[Math.floor(next() * BOUNDS.length)] : next() * 2);
  const which = next();
  if (which < 0.4) return { threshold: { field, min: bound() } };
  if (which < 0.7) return { threshold: { field, max: bound() } };
  return { threshold: { field, min: bound(), max: bound() } };
}

const endpointsOf = (r: ReadableLogRecord) => {
  const a = r.attributes;
  return [
    { address: String(a['network.local.address'] ?? ''), port: Number(a['network.local.port'] ?? 0) },
    { address: String(a['network.peer.address'] ?? ''), port: Number(a['network.peer.port'] ?? 0) },
  ] as const;
};

describe('the kernel predicate (bpf/connection_sampling.h on the host) decides as the processor', () => {
  let host: HostSamplingPredicate;
  before(() => {
    host = HostSamplingPredicate.compile();
  });
  after(() => host?.remove());

  it('hashes the same 37 bytes: IPv4, IPv6, v4-mapped, both orders, no local address', () => {
    const next = random(3);
    const config: SamplingConfig = { keep_errors: false, combine: 'any', policies: [{ hash: { ratio: 0.5 } }] };
    const events = Array.from({ length: 3000 }, () => randomEvent(next, config));
    const decisions = host.decide(kernelSampling(config).settings, events.map(subjectOf));
    events.forEach((e, i) => {
      const [local, peer] = endpointsOf(logRecordOf(e));
      assert.equal(decisions[i].hash, connectionHash(local, peer), `${e.shape} ${JSON.stringify([local, peer])}`);
    });
    // Swapping the ends of an event (the other side of the connection) gives the same hash.
    const swapped = events.filter((e) => e.shape !== 'handshake sync failure').map((e) => ({ ...subjectOf(e), saddr: e.daddr, daddr: e.saddr, sport: e.dport, dport: e.sport }));
    const there = host.decide(kernelSampling(config).settings, swapped);
    const here = host.decide(kernelSampling(config).settings, events.filter((e) => e.shape !== 'handshake sync failure').map(subjectOf));
    assert.deepEqual(there, here);
  });

  it('keeps exactly what the processor keeps, for random configs and events near every bound', () => {
    const next = random(4);
    let kept = 0;
    let total = 0;
    for (let c = 0; c < 120; c++) {
      const config: SamplingConfig = {
        keep_errors: next() < 0.5,
        combine: next() < 0.5 ? 'any' : 'all',
        policies: Array.from({ length: 1 + Math.floor(next() * 3) }, () => randomPolicy(next)),
      };
      const events = Array.from({ length: 250 }, () => randomEvent(next, config));
      const kernel = host.decide(kernelSampling(config).settings, events.map(subjectOf));
      events.forEach((e, i) => {
        const processor = decide(config, logRecordOf(e).attributes).keep;
        assert.equal(kernel[i].keep, processor, `${JSON.stringify(config)} on ${e.shape} ${JSON.stringify(logRecordOf(e).attributes)}`);
        if (processor) kept++;
        total++;
      });
    }
    assert.ok(kept > total * 0.2 && kept < total * 0.8, `both outcomes are exercised (${kept} of ${total} kept)`);
  });

  it('is exact at the hash boundary: a ratio equal to an event\'s unit drops it, the next unit up keeps it', () => {
    const next = random(7);
    const probe: SamplingConfig = { keep_errors: false, combine: 'any', policies: [{ hash: { ratio: 0.5 } }] };
    for (let i = 0; i < 200; i++) {
      const e = randomEvent(next, probe);
      const [local, peer] = endpointsOf(logRecordOf(e));
      const unit = connectionHash(local, peer) >> 11n; // the event's unit is unit / 2^53, exactly
      for (const [ratio, keep] of [
        [Number(unit) / 2 ** 53, false],
        [Number(unit + 1n) / 2 ** 53, true],
      ] as const) {
        const config: SamplingConfig = { ...probe, policies: [{ hash: { ratio } }] };
        assert.equal(decide(config, logRecordOf(e).attributes).keep, keep, 'the processor');
        assert.equal(host.decide(kernelSampling(config).settings, [subjectOf(e)])[0].keep, keep, `the kernel at ratio ${ratio}`);
      }
    }
  });

  it('ratio 0 drops every event and ratio 1 keeps every one; keep_errors keeps failures at ratio 0', () => {
    const next = random(5);
    const none: SamplingConfig = { keep_errors: true, combine: 'any', policies: [{ hash: { ratio: 0 } }] };
    const all: SamplingConfig = { keep_errors: false, combine: 'any', policies: [{ hash: { ratio: 1 } }] };
    const events = Array.from({ length: 500 }, () => randomEvent(next, none));
    const dropped = host.decide(kernelSampling(none).settings, events.map(subjectOf));
    events.forEach((e, i) => assert.equal(dropped[i].keep, e.error !== 0, `${e.shape} error ${e.error}`));
    assert.ok(host.decide(kernelSampling(all).settings, events.map(subjectOf)).every((d) => d.keep));
  });

  it('keeps a superset when it cannot evaluate everything: too many policies, unknown policy kinds', () => {
    const next = random(6);
    const manyAll: SamplingConfig = { keep_errors: false, combine: 'all', policies: Array.from({ length: 10 }, () => randomPolicy(next)) };
    const manyAny: SamplingConfig = { ...manyAll, combine: 'any' };
    for (const config of [manyAll, manyAny]) {
      const events = Array.from({ length: 500 }, () => randomEvent(next, config));
      const kernel = host.decide(kernelSampling(config).settings, events.map(subjectOf));
      events.forEach((e, i) => {
        if (decide(config, logRecordOf(e).attributes).keep) assert.ok(kernel[i].keep, `${config.combine}: the kernel keeps what the processor keeps`);
      });
    }
    // An unknown kind (a policy a future agent could not push down) keeps under any, abstains under all.
    const unknown = (combine: number, second: number) => {
      const b = Buffer.alloc(SETTINGS_SIZE);
      b.writeUInt32LE(C.TCPSCOPE_SAMPLING_POLICY_HASH, POLICY_FIELDS.kind.offset); // cutoff 0: drops all
      b.writeUInt32LE(second, POLICY_SIZE + POLICY_FIELDS.kind.offset);
      b.writeUInt32LE(1, SETTINGS_FIELDS.enabled.offset);
      b.writeUInt32LE(combine, SETTINGS_FIELDS.combine.offset);
      b.writeUInt32LE(2, SETTINGS_FIELDS.policy_count.offset);
      return b;
    };
    const events = Array.from({ length: 50 }, () => subjectOf(randomEvent(next, manyAll)));
    assert.ok(host.decide(unknown(C.TCPSCOPE_SAMPLING_COMBINE_ANY, C.TCPSCOPE_SAMPLING_POLICY_UNKNOWN), events).every((d) => d.keep));
    assert.ok(host.decide(unknown(C.TCPSCOPE_SAMPLING_COMBINE_ALL, C.TCPSCOPE_SAMPLING_POLICY_UNKNOWN), events).every((d) => !d.keep), 'the hash still vetoes');
    assert.ok(host.decide(unknown(C.TCPSCOPE_SAMPLING_COMBINE_ANY, 77), events).every((d) => d.keep), 'a kind it does not know counts as unknown');
  });
});
