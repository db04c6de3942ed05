// The layout of bpf/packet_capture.h, checked against the compiled object's BTF by layout.test.ts.

export const CONSTANTS = {
  PACKET_CAPTURE_MAX_SNAP: 4096,
  PACKET_CAPTURE_INBOUND: 1,
  PACKET_CAPTURE_OUTBOUND: 2,
  PACKET_CAPTURE_KIND_PACKET: 0,
  PACKET_CAPTURE_RECORD_HEADER: 32,
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
  orig_len: 16,
  cap_len: 20,
  direction: 24,
  kind: 25,
  family: 26,
  data: 32,
} as const;
