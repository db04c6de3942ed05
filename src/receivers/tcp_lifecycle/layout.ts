// Byte layout of the structs in bpf/tcp_lifecycle.h. Every offset here is checked against the
// compiler's offsetof/sizeof by layout.test.ts, so a change on the C side cannot go unnoticed.

export interface FieldLayout {
  readonly offset: number;
  readonly size: number;
}

export const EVENT_STRUCT = 'tcp_lifecycle_event';
export const EVENT_SIZE = 136;
export const EVENT_FIELDS = {
  timestamp_ns: { offset: 0, size: 8 },
  duration_ns: { offset: 8, size: 8 },
  cgroup_id: { offset: 16, size: 8 },
  bytes_sent: { offset: 24, size: 8 },
  bytes_received: { offset: 32, size: 8 },
  saddr: { offset: 40, size: 16 },
  daddr: { offset: 56, size: 16 },
  pid: { offset: 72, size: 4 },
  netns_inode: { offset: 76, size: 4 },
  segments_sent: { offset: 80, size: 4 },
  segments_received: { offset: 84, size: 4 },
  retransmits: { offset: 88, size: 4 },
  srtt_us: { offset: 92, size: 4 },
  sport: { offset: 96, size: 2 },
  dport: { offset: 98, size: 2 },
  family: { offset: 100, size: 2 },
  kind: { offset: 102, size: 1 },
  role: { offset: 103, size: 1 },
  comm: { offset: 104, size: 16 },
  /** Appended: see src/receivers/common/record_connection_hash.ts. */
  connection_hash: { offset: 120, size: 8 },
  /** Appended: how a closed connection ended (TCP_LIFECYCLE_END_*), 0 on connect and accept. */
  end: { offset: 128, size: 1 },
  _pad: { offset: 129, size: 7 },
} as const satisfies Record<string, FieldLayout>;

export const STATS_KEY_STRUCT = 'tcp_lifecycle_stats_key';
export const STATS_KEY_SIZE = 16;
export const STATS_KEY_FIELDS = {
  cgroup_id: { offset: 0, size: 8 },
  role: { offset: 8, size: 4 },
  end: { offset: 12, size: 4 },
} as const satisfies Record<string, FieldLayout>;

import { DURATION_BUCKETS as BUCKETS } from '../common/duration_buckets';
import { OVERFLOW_CGROUP_ID as OVERFLOW } from '../common/workload_attributes';

// Re-exported as constants, not with `export { X } from`: compiled to CommonJS those become getters
// on the exports object, which puts it in dictionary mode, and every `layout.X` read on the event
// path (EVENT_FIELDS, CONSTANTS) then takes V8's slow generic lookup.
export const DURATION_BUCKETS = BUCKETS;
export const STATS_STRUCT = 'tcp_lifecycle_stats';
export const STATS_SIZE = 40 + 8 * BUCKETS;
export const STATS_FIELDS = {
  established: { offset: 0, size: 8 },
  closed: { offset: 8, size: 8 },
  duration_sum_ns: { offset: 16, size: 8 },
  bytes_sent: { offset: 24, size: 8 },
  bytes_received: { offset: 32, size: 8 },
  duration_buckets: { offset: 40, size: 8 * DURATION_BUCKETS },
} as const satisfies Record<string, FieldLayout>;

/** #defines of tcp_lifecycle.h that user space depends on, checked by the layout test too. */
export const CONSTANTS = {
  TCP_LIFECYCLE_EVENT_CONNECT: 1,
  TCP_LIFECYCLE_EVENT_ACCEPT: 2,
  TCP_LIFECYCLE_EVENT_CLOSE: 3,
  TCP_LIFECYCLE_ROLE_CLIENT: 1,
  TCP_LIFECYCLE_ROLE_SERVER: 2,
  TCP_LIFECYCLE_END_NONE: 0,
  TCP_LIFECYCLE_END_FIN: 1,
  TCP_LIFECYCLE_END_RESET_SENT: 2,
  TCP_LIFECYCLE_END_RESET_RECEIVED: 3,
  TCP_LIFECYCLE_END_TIMEOUT: 4,
  TCP_LIFECYCLE_END_ABORT: 5,
  TCP_LIFECYCLE_ENDS: 6,
  TCP_LIFECYCLE_DURATION_BUCKETS: DURATION_BUCKETS,
  TCP_LIFECYCLE_DROP_RINGBUF: 0,
  TCP_LIFECYCLE_DROP_STATS_FULL: 1,
  TCP_LIFECYCLE_DROP_UNTRACKED: 2,
  TCP_LIFECYCLE_DROP_KINDS: 3,
  TCP_LIFECYCLE_COMM_LEN: 16,
} as const;

export const OVERFLOW_CGROUP_ID = OVERFLOW;
