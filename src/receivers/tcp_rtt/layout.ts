// Byte layout of the structs in bpf/tcp_rtt.h, checked against the compiler by layout.test.ts.
import type { FieldLayout } from '../tcp_lifecycle/layout';
import { KERNEL_BUCKETS } from './buckets';

export const KEY_STRUCT = 'tcp_rtt_key';
export const KEY_SIZE = 32;
export const KEY_FIELDS = {
  cgroup_id: { offset: 0, size: 8 },
  peer_addr: { offset: 8, size: 16 },
  peer_port: { offset: 24, size: 2 },
  family: { offset: 26, size: 2 },
} as const satisfies Record<string, FieldLayout>;

export const HISTOGRAM_STRUCT = 'tcp_rtt_histogram';
export const HISTOGRAM_SIZE = 32 + 8 * KERNEL_BUCKETS;
export const HISTOGRAM_FIELDS = {
  count: { offset: 0, size: 8 },
  sum_us: { offset: 8, size: 8 },
  min_us: { offset: 16, size: 8 },
  max_us: { offset: 24, size: 8 },
  buckets: { offset: 32, size: 8 * KERNEL_BUCKETS },
} as const satisfies Record<string, FieldLayout>;

export const CONSTANTS = {
  TCP_RTT_SCALE: 3,
  TCP_RTT_BUCKETS: KERNEL_BUCKETS,
  TCP_RTT_INDEX_OFFSET: -160,
  TCP_RTT_DROP_STATS_FULL: 0,
  TCP_RTT_DROP_KINDS: 1,
} as const;
