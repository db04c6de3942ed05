// The sampling processor's config as the kernel settings of bpf/connection_sampling.h (the
// `cfg_sampling` global), so that a receiver drops in the kernel exactly the events the processor
// would drop after it. Everything here is about exactness: the hash cutoff and every threshold
// bound are integers in the kernel's own units, derived from the same functions that build the
// attributes the processor reads.
import type { SamplingPredicate, SamplingPolicy, ThresholdField } from '../../telemetry/sampling_predicate';
import { hashCutoff } from '../../processors/sampling/connection_hash';
import { secondsFromNs, secondsFromUs } from './event_fields';
import { CONSTANTS as C, MAX_POLICIES, POLICY_FIELDS as P, POLICY_SIZE, SETTINGS_FIELDS as S, SETTINGS_SIZE } from './sampling_layout';

const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = (1n << 32n) - 1n;

/** A threshold field as the kernel has it: its id, its raw range, and the attribute made from it. */
export interface KernelField {
  readonly id: number;
  readonly maxRaw: bigint;
  readonly attribute: (raw: bigint) => number;
}

export const KERNEL_FIELDS: Readonly<Record<ThresholdField, KernelField>> = {
  'tcp.duration': { id: C.TCPSCOPE_SAMPLING_FIELD_DURATION_NS, maxRaw: U64_MAX, attribute: secondsFromNs },
  'tcp.handshake.duration': { id: C.TCPSCOPE_SAMPLING_FIELD_HANDSHAKE_DURATION_NS, maxRaw: U64_MAX, attribute: secondsFromNs },
  'tcp.rtt': { id: C.TCPSCOPE_SAMPLING_FIELD_RTT_US, maxRaw: U32_MAX, attribute: (raw) => secondsFromUs(Number(raw)) },
  'tcp.retransmits': { id: C.TCPSCOPE_SAMPLING_FIELD_RETRANSMITS, maxRaw: U32_MAX, attribute: (raw) => Number(raw) },
};

/** The first raw value in [0, maxRaw] for which `holds` is true; `holds` must go false -> true. */
function firstRaw(maxRaw: bigint, holds: (raw: bigint) => boolean): bigint | undefined {
  if (!holds(maxRaw)) return undefined;
  let low = 0n;
  let high = maxRaw; // holds(high) stays true
  while (low < high) {
    const mid = (low + high) >> 1n;
    if (holds(mid)) high = mid;
    else low = mid + 1n;
  }
  return low;
}

export interface RawBounds {
  /** Inclusive; low > high matches nothing. */
  readonly low: bigint;
  readonly high: bigint;
}

/**
 * The raw values whose attribute the processor's threshold accepts: `raw` is within [low, high]
 * exactly when `(min === undefined || attribute(raw) >= min) && (max === undefined ||
 * attribute(raw) <= max)`. The attribute functions are monotone (a BigInt-to-double conversion and
 * a correctly rounded division), so both predicates flip once and a binary search finds where.
 * The comparisons are written as the processor writes them, so NaN bounds match nothing here too.
 */
export function rawBounds(field: KernelField, min: number | undefined, max: number | undefined): RawBounds {
  const low = min === undefined ? 0n : firstRaw(field.maxRaw, (raw) => field.attribute(raw) >= min);
  const aboveMax = max === undefined ? undefined : firstRaw(field.maxRaw, (raw) => !(field.attribute(raw) <= max));
  const high = max === undefined ? field.maxRaw : aboveMax === undefined ? field.maxRaw : aboveMax - 1n;
  if (low === undefined || high < 0n || low > high) return { low: 1n, high: 0n };
  return { low, high };
}

export interface KernelSampling {
  /** The bytes of `struct tcpscope_sampling_settings`. */
  readonly settings: Buffer;
  /** For the log line: what the kernel evaluates, or why nothing. */
  readonly description: string;
  readonly enabled: boolean;
}

const DISABLED = (why: string): KernelSampling => ({ settings: Buffer.alloc(SETTINGS_SIZE), description: why, enabled: false });

function writePolicy(out: Buffer, index: number, policy: SamplingPolicy): string {
  const at = S.policies.offset + index * POLICY_SIZE;
  if ('hash' in policy) {
    const cutoff = hashCutoff(policy.hash.ratio);
    out.writeBigUInt64LE(cutoff, at + P.low.offset);
    out.writeUInt32LE(C.TCPSCOPE_SAMPLING_POLICY_HASH, at + P.kind.offset);
    return `hash ratio ${policy.hash.ratio} (hash >> 11 < ${cutoff})`;
  }
  const { field, min, max } = policy.threshold;
  const kernelField = KERNEL_FIELDS[field];
  const bounds = rawBounds(kernelField, min, max);
  out.writeBigUInt64LE(bounds.low, at + P.low.offset);
  out.writeBigUInt64LE(bounds.high, at + P.high.offset);
  out.writeUInt32LE(C.TCPSCOPE_SAMPLING_POLICY_THRESHOLD, at + P.kind.offset);
  out.writeUInt32LE(kernelField.id, at + P.field.offset);
  return bounds.low > bounds.high ? `${field} never matches` : `${field} raw [${bounds.low}, ${bounds.high}]`;
}

/** The kernel settings for `config`; disabled (every event crosses) when there is nothing to push down. */
export function kernelSampling(config: SamplingPredicate | undefined): KernelSampling {
  if (!config) return DISABLED('no sampling processor to push down');
  if (config.policies.length === 0) return DISABLED('no policies');
  let policies = config.policies;
  if (policies.length > MAX_POLICIES) {
    // Left out, a policy abstains. Under `all` that can only keep more; under `any` an absent
    // policy might have kept an event, so the kernel could drop nothing safely.
    if (config.combine === 'any') return DISABLED(`more than ${MAX_POLICIES} policies with combine any`);
    policies = policies.slice(0, MAX_POLICIES);
  }
  const out = Buffer.alloc(SETTINGS_SIZE);
  const described = policies.map((policy, i) => writePolicy(out, i, policy));
  out.writeUInt32LE(1, S.enabled.offset);
  out.writeUInt32LE(config.combine === 'any' ? C.TCPSCOPE_SAMPLING_COMBINE_ANY : C.TCPSCOPE_SAMPLING_COMBINE_ALL, S.combine.offset);
  out.writeUInt32LE(config.keep_errors ? 1 : 0, S.keep_errors.offset);
  out.writeUInt32LE(policies.length, S.policy_count.offset);
  const omitted = config.policies.length - policies.length;
  const description =
    `${config.combine} of ${described.join('; ')}` +
    (config.keep_errors ? '; errors always kept' : '') +
    (omitted > 0 ? `; ${omitted} more polic${omitted === 1 ? 'y' : 'ies'} left to user space` : '');
  return { settings: out, description, enabled: true };
}
