/* Structs shared between bpf/packet_capture.bpf.c and src/receivers/packet_capture/layout.ts.
 * Fixed-width fields, largest first, explicit padding (checked by layout.test.ts). */
#ifndef TCPSCOPE_PACKET_CAPTURE_H
#define TCPSCOPE_PACKET_CAPTURE_H

#ifndef __VMLINUX_H__
#include <linux/bpf.h> /* struct bpf_spin_lock, for the layout test's user-space compile */
#endif

/* Bytes of one packet the kernel copies at most (the largest snaplen). A ring record is reserved
 * at its full size, so this also sets how many records a ring of ring_buffer_size holds. */
#define PACKET_CAPTURE_MAX_SNAP 4096

/* pcapng epb_flags direction values, written as is into records. */
#define PACKET_CAPTURE_INBOUND 1
#define PACKET_CAPTURE_OUTBOUND 2

/* Record kinds. */
#define PACKET_CAPTURE_KIND_PACKET 0

/* What a capture selects and how it is bounded: the cfg_capture global, written before load. */
struct packet_capture_settings {
	__u8 source_address[16];      /* IPv4 as ::ffff:a.b.c.d */
	__u8 destination_address[16];
	__u64 max_packets;            /* 0: no limit */
	__u64 max_bytes;              /* 0: no limit */
	__u64 sample_one_in;          /* 0 or 1: every packet */
	__u64 packets_per_second;     /* 0: no limit */
	__u32 snaplen;                /* 0: headers only (through the end of the TCP header) */
	__u16 source_port;            /* host order; 0: any */
	__u16 destination_port;       /* host order; 0: any */
	__u8 has_source_address;
	__u8 has_destination_address;
	__u8 bidirectional;
	__u8 pad[5];
};
_Static_assert(sizeof(struct packet_capture_settings) == 80, "packet_capture_settings layout");

/* The one capture_state entry: the exact bounds, taken under its lock. */
struct packet_capture_state {
	struct bpf_spin_lock lock;
	__u32 done;                   /* 1 once a packet or byte bound is reached */
	__u64 matched;                /* packets that matched the selection while not done */
	__u64 packets;                /* written */
	__u64 bytes;                  /* written (captured bytes) */
	__u64 skipped_sampling;
	__u64 skipped_rate;
	__u64 skipped_lost;           /* ring buffer full */
	__u64 window_start_ns;        /* rate limit: current one-second window */
	__u64 window_packets;
};
_Static_assert(sizeof(struct packet_capture_state) == 72, "packet_capture_state layout");

/* Ring record header; cap_len bytes of the packet follow (from its IP header). */
struct packet_capture_record {
	__u64 timestamp_ns;           /* bpf_ktime_get_ns() */
	__u64 cgroup_id;              /* the socket's cgroup v2 id */
	__u32 orig_len;               /* the packet's length */
	__u32 cap_len;
	__u8 direction;               /* PACKET_CAPTURE_INBOUND / OUTBOUND */
	__u8 kind;
	__u8 family;                  /* 4 or 6 */
	__u8 pad[5];
	__u8 data[PACKET_CAPTURE_MAX_SNAP];
};
#define PACKET_CAPTURE_RECORD_HEADER 32
_Static_assert(sizeof(struct packet_capture_record) == PACKET_CAPTURE_RECORD_HEADER + PACKET_CAPTURE_MAX_SNAP, "packet_capture_record layout");

#endif
