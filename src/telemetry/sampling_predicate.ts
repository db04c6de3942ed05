// The sampling predicate over events, as a contract: the sampling processor applies it, the
// pipeline pushes it down to receivers, and a receiver may evaluate it where events are born (the
// kernel). It lives here, beside the attributes it reads, so that the core contract
// (src/component.ts) and the receivers depend on no processor's module.

/** Event attributes a threshold policy can test (seconds, or a count for tcp.retransmits). */
export const THRESHOLD_FIELDS = ['tcp.duration', 'tcp.handshake.duration', 'tcp.rtt', 'tcp.retransmits'] as const;
export type ThresholdField = (typeof THRESHOLD_FIELDS)[number];

export interface HashPolicy {
  readonly hash: { readonly ratio: number };
}
export interface ThresholdPolicy {
  readonly threshold: { readonly field: ThresholdField; readonly min?: number; readonly max?: number };
}
export type SamplingPolicy = HashPolicy | ThresholdPolicy;

/** Which events are kept: errors (when keep_errors), then the policies combined with any/all. */
export interface SamplingPredicate {
  keep_errors: boolean;
  combine: 'any' | 'all';
  policies: SamplingPolicy[];
}
