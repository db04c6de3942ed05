// Byte layout of the sampling settings in bpf/connection_sampling.h, written before load as the
// `cfg_sampling` global of each receiver with events. Checked against the compiler by
// sampling_layout.test.ts.
import type { FieldLayout } from '../tcp_lifecycle/layout';

export const SETTINGS_STRUCT = 'tcpscope_sampling_settings';
export const POLICY_STRUCT = 'tcpscope_sampling_policy';
export const MAX_POLICIES = 8;
export const POLICY_SIZE = 24;
export const POLICY_FIELDS = {
  low: { offset: 0, size: 8 },
  high: { offset: 8, size: 8 },
  kind: { offset: 16, size: 4 },
  field: { offset: 20, size: 4 },
} as const satisfies Record<string, FieldLayout>;

export const SETTINGS_SIZE = MAX_POLICIES * POLICY_SIZE + 16;
export const SETTINGS_FIELDS = {
  policies: { offset: 0, size: MAX_POLICIES * POLICY_SIZE },
  enabled: { offset: 192, size: 4 },
  combine: { offset: 196, size: 4 },
  keep_errors: { offset: 200, size: 4 },
  policy_count: { offset: 204, size: 4 },
} as const satisfies Record<string, FieldLayout>;

/** #defines of connection_sampling.h that user space depends on. */
export const CONSTANTS = {
  TCPSCOPE_SAMPLING_MAX_POLICIES: MAX_POLICIES,
  TCPSCOPE_SAMPLING_POLICY_UNKNOWN: 0,
  TCPSCOPE_SAMPLING_POLICY_HASH: 1,
  TCPSCOPE_SAMPLING_POLICY_THRESHOLD: 2,
  TCPSCOPE_SAMPLING_COMBINE_ANY: 0,
  TCPSCOPE_SAMPLING_COMBINE_ALL: 1,
  TCPSCOPE_SAMPLING_FIELD_DURATION_NS: 0,
  TCPSCOPE_SAMPLING_FIELD_HANDSHAKE_DURATION_NS: 1,
  TCPSCOPE_SAMPLING_FIELD_RTT_US: 2,
  TCPSCOPE_SAMPLING_FIELD_RETRANSMITS: 3,
  TCPSCOPE_SAMPLING_FIELDS: 4,
  TCPSCOPE_SAMPLING_HASH_SHIFT: 11,
  TCPSCOPE_CONNECTION_HASH_UNIT_BITS: 53,
  TCPSCOPE_CONNECTION_HASH_PRESENT_BIT: 63,
} as const;
