// Byte layout of the structs in bpf/tcp_handshake.h, checked against the compiler by layout.test.ts.
import type { FieldLayout } from '../tcp_lifecycle/layout';
import { DURATION_BUCKETS } from '../common/duration_buckets';

export const EVENT_STRUCT = 'tcp_handshake_event';
export const EVENT_SIZE = 104;
export const EVENT_FIELDS = {
  timestamp_ns: { offset: 0, size: 8 },
  duration_ns: { offset: 8, size: 8 },
  cgroup_id: { offset: 16, size: 8 },
  saddr: { offset: 24, size: 16 },
  daddr: { offset: 40, size: 16 },
  pid: { offset: 56, size: 4 },
  fd: { offset: 60, size: 4 },
  netns_inode: { offset: 64, size: 4 },
  error: { offset: 68, size: 4 },
  sport: { offset: 72, size: 2 },
  dport: { offset: 74, size: 2 },
  family: { offset: 76, size: 2 },
  kind: { offset: 78, size: 1 },
  role: { offset: 79, size: 1 },
  comm: { offset: 80, size: 16 },
  /** Appended: see src/receivers/common/record_connection_hash.ts. */
  connection_hash: { offset: 96, size: 8 },
} as const satisfies Record<string, FieldLayout>;

export const STATS_KEY_STRUCT = 'tcp_handshake_stats_key';
export const STATS_KEY_SIZE = 16;
export const STATS_KEY_FIELDS = {
  cgroup_id: { offset: 0, size: 8 },
  role: { offset: 8, size: 4 },
  error: { offset: 12, size: 4 },
} as const satisfies Record<string, FieldLayout>;

export const STATS_STRUCT = 'tcp_handshake_stats';
export const STATS_SIZE = 16 + 8 * DURATION_BUCKETS;
export const STATS_FIELDS = {
  count: { offset: 0, size: 8 },
  duration_sum_ns: { offset: 8, size: 8 },
  duration_buckets: { offset: 16, size: 8 * DURATION_BUCKETS },
} as const satisfies Record<string, FieldLayout>;

export const CONSTANTS = {
  TCP_HANDSHAKE_OUTCOME: 1,
  TCP_HANDSHAKE_SYNC_FAILURE: 2,
  TCP_HANDSHAKE_ROLE_CLIENT: 1,
  TCP_HANDSHAKE_ROLE_SERVER: 2,
  TCP_HANDSHAKE_DROP_RINGBUF: 0,
  TCP_HANDSHAKE_DROP_STATS_FULL: 1,
  TCP_HANDSHAKE_DROP_UNTRACKED: 2,
  TCP_HANDSHAKE_DROP_KINDS: 3,
  TCP_HANDSHAKE_MAX_PORTS: 16,
  TCP_HANDSHAKE_COMM_LEN: 16,
  TCPSCOPE_DURATION_BUCKETS: DURATION_BUCKETS,
} as const;
