// Byte layout of the structs in bpf/tcp_anomalies.h, checked against the compiler by layout.test.ts.
import type { FieldLayout } from '../tcp_lifecycle/layout';

export const EVENT_STRUCT = 'tcp_anomalies_event';
export const EVENT_SIZE = 112;
export const EVENT_FIELDS = {
  timestamp_ns: { offset: 0, size: 8 },
  cgroup_id: { offset: 8, size: 8 },
  count: { offset: 16, size: 8 },
  connection_hash: { offset: 24, size: 8 },
  saddr: { offset: 32, size: 16 },
  daddr: { offset: 48, size: 16 },
  pid: { offset: 64, size: 4 },
  netns_inode: { offset: 68, size: 4 },
  reason: { offset: 72, size: 4 },
  stack_id: { offset: 76, size: 4 },
  sport: { offset: 80, size: 2 },
  dport: { offset: 82, size: 2 },
  family: { offset: 84, size: 2 },
  kind: { offset: 86, size: 1 },
  state: { offset: 87, size: 1 },
  comm: { offset: 88, size: 16 },
  _pad: { offset: 104, size: 4 },
} as const satisfies Record<string, FieldLayout>;

export const STATS_KEY_STRUCT = 'tcp_anomalies_stats_key';
export const STATS_KEY_SIZE = 16;
export const STATS_KEY_FIELDS = {
  cgroup_id: { offset: 0, size: 8 },
  kind: { offset: 8, size: 4 },
  reason: { offset: 12, size: 4 },
} as const satisfies Record<string, FieldLayout>;

export const STATS_STRUCT = 'tcp_anomalies_stats';
export const STATS_SIZE = 8;
export const STATS_FIELDS = {
  count: { offset: 0, size: 8 },
} as const satisfies Record<string, FieldLayout>;

export const CONSTANTS = {
  TCP_ANOMALIES_COMM_LEN: 16,
  TCP_ANOMALIES_MAX_PORTS: 16,
  TCP_ANOMALIES_DROP_REASON_SLOTS: 256,
  TCP_ANOMALIES_RETRANSMIT: 1,
  TCP_ANOMALIES_RESET_SENT: 2,
  TCP_ANOMALIES_RESET_RECEIVED: 3,
  TCP_ANOMALIES_DROP: 4,
  TCP_ANOMALIES_RCVQUEUE_FULL: 5,
  TCP_ANOMALIES_MEMORY_LIMIT: 6,
  TCP_ANOMALIES_RETRANSMIT_DATA: 1,
  TCP_ANOMALIES_RETRANSMIT_SYN: 2,
  TCP_ANOMALIES_RETRANSMIT_SYNACK: 3,
  TCP_ANOMALIES_TRIGGER_OTHER: 0,
  TCP_ANOMALIES_TRIGGER_RTO: 1,
  TCP_ANOMALIES_TRIGGER_TLP: 2,
  TCP_ANOMALIES_TRIGGER_RECOVERY: 3,
  TCP_ANOMALIES_REASON_UNKNOWN: 0xffffffff,
  TCP_ANOMALIES_DROP_IGNORED: 0,
  TCP_ANOMALIES_DROP_TCP: 1,
  TCP_ANOMALIES_DROP_GENERIC: 2,
  TCP_ANOMALIES_LOSS_RINGBUF: 0,
  TCP_ANOMALIES_LOSS_STATS_FULL: 1,
  TCP_ANOMALIES_LOSS_KINDS: 2,
  TCP_ANOMALIES_HOST_CGROUP: 0,
  TCP_ANOMALIES_NO_STACK: -1,
} as const;
