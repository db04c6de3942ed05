// The sampling decision for one event record, pure and deterministic.
import { ATTR } from '../../telemetry/attributes';
import { connectionUnit } from './connection_hash';
import type { SamplingConfig, SamplingPolicy } from './config';

export interface Decision {
  readonly keep: boolean;
  /** Probability with which an event like this one is kept: 1 for deterministic keeps. */
  readonly probability: number;
}

type Attrs = Readonly<Record<string, unknown>>;
/** One attribute of the event (a record's attribute lookup spares building its map). */
export type AttributeLookup = (key: string) => unknown;

/** The event's connection hash from its address and port attributes (absent: '' and 0). */
export function attributeConnectionUnit(a: AttributeLookup): number {
  return connectionUnit(
    { address: String(a(ATTR.localAddress.key) ?? ''), port: Number(a(ATTR.localPort.key) ?? 0) },
    { address: String(a(ATTR.peerAddress.key) ?? ''), port: Number(a(ATTR.peerPort.key) ?? 0) },
  );
}

/** Whether `policy` keeps the event, and with what probability if it does. */
function evaluate(policy: SamplingPolicy, a: AttributeLookup, unit: () => number): Decision {
  if ('hash' in policy) {
    const ratio = policy.hash.ratio;
    return { keep: unit() < ratio, probability: ratio };
  }
  const { field, min, max } = policy.threshold;
  const value = a(field);
  if (typeof value !== 'number') return { keep: false, probability: 1 };
  const keep = (min === undefined || value >= min) && (max === undefined || value <= max);
  return { keep, probability: 1 };
}

/**
 * `knownUnit`: the event's connection hash when its record already has it (the kernel's, see
 * known_connection_hash.ts), which must equal what hashing its address and port attributes gives.
 */
export function decide(config: SamplingConfig, attributes: Attrs, knownUnit?: number): Decision {
  return decideBy(config, (key) => attributes[key], knownUnit);
}

/** decide() over an attribute lookup. */
export function decideBy(config: SamplingConfig, attribute: AttributeLookup, knownUnit?: number): Decision {
  if (config.keep_errors && attribute(ATTR.errorType.key) !== undefined) return { keep: true, probability: 1 };
  let cached = knownUnit;
  const unit = () => (cached ??= attributeConnectionUnit(attribute));
  const results = config.policies.map((p) => evaluate(p, attribute, unit));
  if (config.combine === 'any') {
    const kept = results.filter((r) => r.keep);
    if (kept.length === 0) return { keep: false, probability: 0 };
    // A deterministic keep (threshold) outranks a hash keep: the event would always be kept.
    return { keep: true, probability: Math.max(...kept.map((r) => r.probability)) };
  }
  if (results.some((r) => !r.keep)) return { keep: false, probability: 0 };
  return { keep: true, probability: results.reduce((p, r) => p * r.probability, 1) };
}
