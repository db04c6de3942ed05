// Config of the sampling processor (logs only): policies combined with any/all.
import type { Schema } from 'convict';
import type { SettingProblem } from '../../component';

import { THRESHOLD_FIELDS, type SamplingPolicy, type SamplingPredicate, type ThresholdField } from '../../telemetry/sampling_predicate';

export { THRESHOLD_FIELDS };
export type { HashPolicy, SamplingPolicy, ThresholdField, ThresholdPolicy } from '../../telemetry/sampling_predicate';

/** The processor's config is exactly the predicate it applies (and pushes down). */
export type SamplingConfig = SamplingPredicate;

function policyProblem(policy: unknown, index: number): string | undefined {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) return `policies[${index}] must be a map with hash or threshold`;
  const keys = Object.keys(policy);
  if (keys.length !== 1 || (keys[0] !== 'hash' && keys[0] !== 'threshold')) return `policies[${index}] must have exactly one of hash, threshold (got ${keys.join(', ') || 'nothing'})`;
  const body = (policy as Record<string, unknown>)[keys[0]];
  if (typeof body !== 'object' || body === null) return `policies[${index}].${keys[0]} must be a map`;
  const b = body as Record<string, unknown>;
  if (keys[0] === 'hash') {
    if (Object.keys(b).some((k) => k !== 'ratio')) return `policies[${index}].hash takes only ratio`;
    if (typeof b.ratio !== 'number' || !(b.ratio >= 0 && b.ratio <= 1)) return `policies[${index}].hash.ratio must be a number from 0 to 1 (got ${JSON.stringify(b.ratio)})`;
    return undefined;
  }
  if (Object.keys(b).some((k) => !['field', 'min', 'max'].includes(k))) return `policies[${index}].threshold takes field, min, max`;
  if (!THRESHOLD_FIELDS.includes(b.field as ThresholdField)) return `policies[${index}].threshold.field must be one of ${THRESHOLD_FIELDS.join(', ')} (got ${JSON.stringify(b.field)})`;
  for (const bound of ['min', 'max']) {
    if (b[bound] !== undefined && !Number.isFinite(b[bound])) return `policies[${index}].threshold.${bound} must be a finite number (got ${String(b[bound])})`;
  }
  if (b.min === undefined && b.max === undefined) return `policies[${index}].threshold needs min and/or max`;
  return undefined;
}

export const samplingSchema: Schema<SamplingConfig> = {
  keep_errors: {
    doc: 'Always keep events that carry error.type (failed connects), whatever the policies say.',
    format: Boolean,
    default: true,
  },
  combine: {
    doc: 'any: an event is kept when one policy keeps it; all: only when every policy does.',
    format: ['any', 'all'],
    default: 'any',
  },
  policies: {
    doc: 'List of {hash: {ratio}} and {threshold: {field, min, max}} policies.',
    format: (value: unknown) => {
      if (!Array.isArray(value) || value.length === 0) throw new Error('must be a non-empty list of policies');
      const problem = value.map(policyProblem).find((p) => p !== undefined);
      if (problem) throw new Error(problem);
    },
    default: [] as SamplingPolicy[],
  },
};

/** The sampling factory's validate(): what one policy's shape cannot say. */
export function validateSamplingConfig(config: SamplingConfig): SettingProblem | undefined {
  for (const [index, policy] of config.policies.entries()) {
    if (!('threshold' in policy)) continue;
    const { min, max } = policy.threshold;
    if (min !== undefined && max !== undefined && min > max) {
      // Accepted, it would silently keep no event of this field at all.
      return {
        key: `policies[${index}].threshold.min`,
        message: `must be at most max (${max}), got ${min}: no value lies between them, so the policy would keep nothing`,
      };
    }
  }
  return undefined;
}
