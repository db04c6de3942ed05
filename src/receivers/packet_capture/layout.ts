// The layout of bpf/packet_capture.h, checked against the compiled object's BTF by layout.test.ts.

export const CONSTANTS = {
  PACKET_CAPTURE_MAX_SNAP: 4096,
  PACKET_CAPTURE_HEADERS_SNAP: 128,
  PACKET_CAPTURE_INBOUND: 1,
  PACKET_CAPTURE_OUTBOUND: 2,
  PACKET_CAPTURE_KIND_PACKET: 0,
  PACKET_CAPTURE_KIND_BEFORE: 1,
  PACKET_CAPTURE_KIND_TRIGGER: 2,
  PACKET_CAPTURE_KIND_AFTER: 3,
  PACKET_CAPTURE_REASON_FAILED_CONNECT: 1,
  PACKET_CAPTURE_REASON_RESET: 2,
  PACKET_CAPTURE_REASON_RETRANSMIT_BURST: 3,
  PACKET_CAPTURE_MAX_BEFORE: 8,
  PACKET_CAPTURE_WATCH_SNAP: 120,
  PACKET_CAPTURE_TRIGGER_COUNTERS: 8,
  PACKET_CAPTURE_COUNTER_LOST: 0,
  PACKET_CAPTURE_COUNTER_NO_ENTRY: 1,
  PACKET_CAPTURE_RECORD_HEADER: 40,
  /** Smallest snaplen other than 0: an IPv6 header (40) and a minimal TCP header (20). */
  MIN_SNAPLEN: 60,
} as const;

/** struct packet_capture_settings (the cfg_capture global). */
export const SETTINGS = {
  size: 80,
  source_address: 0,
  destination_address: 16,
  max_packets: 32,
  max_bytes: 40,
  sample_one_in: 48,
  packets_per_second: 56,
  snaplen: 64,
  source_port: 68,
  destination_port: 70,
  has_source_address: 72,
  has_destination_address: 73,
  bidirectional: 74,
} as const;

/** struct packet_capture_state (the one capture_state entry). */
export const STATE = {
  size: 72,
  done: 4,
  matched: 8,
  packets: 16,
  bytes: 24,
  skipped_sampling: 32,
  skipped_rate: 40,
  skipped_lost: 48,
  window_start_ns: 56,
  window_packets: 64,
} as const;

/** struct packet_capture_record's header. */
export const RECORD = {
  timestamp_ns: 0,
  cgroup_id: 8,
  trigger_id: 16,
  orig_len: 24,
  cap_len: 28,
  direction: 32,
  kind: 33,
  family: 34,
  reason: 35,
  data: 40,
} as const;

/** struct packet_capture_trigger_settings (the cfg_trigger global). */
export const TRIGGER_SETTINGS = {
  size: 40,
  cooldown_ns: 0,
  retransmit_window_ns: 8,
  before_packets: 16,
  after_packets: 20,
  retransmit_burst: 24,
  after_snaplen: 28,
  on_failed_connect: 32,
  on_reset: 33,
  on_retransmit_burst: 34,
} as const;

/** Sizes of the trigger watch's map entries (checked like the offsets). */
export const TUPLE_KEY_SIZE = 48;
export const SLOT_SIZE = 144;
export const TUPLE_SIZE = 56 + 8 * 144;
