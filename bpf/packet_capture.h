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

/* Headers only (snaplen 0): a packet is cut at the end of its TCP header, at most 60 + 60 bytes.
 * Such records are reserved with this much room instead of PACKET_CAPTURE_MAX_SNAP, so that a
 * ring holds 25 times as many of them. */
#define PACKET_CAPTURE_HEADERS_SNAP 128

/* pcapng epb_flags direction values, written as is into records. */
#define PACKET_CAPTURE_INBOUND 1
#define PACKET_CAPTURE_OUTBOUND 2

/* Record kinds: a packet of an on-demand capture; of a triggered one: from the per-connection ring
 * (before the trigger), the trigger packet itself, a packet after it. */
#define PACKET_CAPTURE_KIND_PACKET 0
#define PACKET_CAPTURE_KIND_BEFORE 1
#define PACKET_CAPTURE_KIND_TRIGGER 2
#define PACKET_CAPTURE_KIND_AFTER 3

/* Trigger reasons (record.reason, the trigger counters' index). */
#define PACKET_CAPTURE_REASON_FAILED_CONNECT 1
#define PACKET_CAPTURE_REASON_RESET 2
#define PACKET_CAPTURE_REASON_RETRANSMIT_BURST 3

/* The per-connection ring of the trigger watch: at most this many packets, headers only. */
#define PACKET_CAPTURE_MAX_BEFORE 8
#define PACKET_CAPTURE_WATCH_SNAP 120

/* trigger_counters slots: [reason * 2] triggers started, [reason * 2 + 1] suppressed by the
 * cooldown; [0] ring records lost (ring buffer full); [1] connections whose ring could not be
 * created (map full: the LRU evicts, so only under a burst of new connections). */
#define PACKET_CAPTURE_TRIGGER_COUNTERS 8
#define PACKET_CAPTURE_COUNTER_LOST 0
#define PACKET_CAPTURE_COUNTER_NO_ENTRY 1

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
	__u64 trigger_id;             /* triggered captures: the trigger's time, the same in all its records */
	__u32 orig_len;               /* the packet's length */
	__u32 cap_len;
	__u8 direction;               /* PACKET_CAPTURE_INBOUND / OUTBOUND */
	__u8 kind;                    /* PACKET_CAPTURE_KIND_* */
	__u8 family;                  /* 4 or 6 */
	__u8 reason;                  /* PACKET_CAPTURE_REASON_* (triggered captures) */
	__u8 pad[4];
	__u8 data[PACKET_CAPTURE_MAX_SNAP];
};
#define PACKET_CAPTURE_RECORD_HEADER 40
_Static_assert(sizeof(struct packet_capture_record) == PACKET_CAPTURE_RECORD_HEADER + PACKET_CAPTURE_MAX_SNAP, "packet_capture_record layout");

/* The trigger watch's settings: the cfg_trigger global. */
struct packet_capture_trigger_settings {
	__u64 cooldown_ns;            /* per connection, between two triggered captures */
	__u64 retransmit_window_ns;
	__u32 before_packets;         /* packets kept per connection, <= PACKET_CAPTURE_MAX_BEFORE */
	__u32 after_packets;          /* packets taken after the trigger */
	__u32 retransmit_burst;       /* retransmissions within retransmit_window_ns that trigger */
	__u32 after_snaplen;          /* 0: headers only */
	__u8 on_failed_connect;
	__u8 on_reset;
	__u8 on_retransmit_burst;
	__u8 pad[5];
};
_Static_assert(sizeof(struct packet_capture_trigger_settings) == 40, "packet_capture_trigger_settings layout");

/* A connection of the trigger watch, as its socket's cgroup sees it. */
struct packet_capture_tuple_key {
	__u64 cgroup_id;
	__u8 local_address[16];
	__u8 remote_address[16];
	__u16 local_port;
	__u16 remote_port;
	__u32 pad;
};
_Static_assert(sizeof(struct packet_capture_tuple_key) == 48, "packet_capture_tuple_key layout");

struct packet_capture_slot {
	__u64 timestamp_ns;
	__u32 orig_len;
	__u32 cap_len;
	__u8 direction;
	__u8 family;
	__u8 pad[6];
	__u8 data[PACKET_CAPTURE_WATCH_SNAP];
};
_Static_assert(sizeof(struct packet_capture_slot) == 144, "packet_capture_slot layout");

/* No lock: the kernel takes no bpf_spin_lock in an LRU map. The fields two CPUs can race on (a
 * connection's ingress and egress) are changed with atomic operations where a lost update would
 * matter (stored, last_trigger_ns, after_remaining); the others are hints. */
struct packet_capture_tuple {
	__u64 last_trigger_ns;        /* 0: never triggered */
	__u64 trigger_id;             /* of the trigger whose after-packets are being taken */
	__u64 retransmit_window_start_ns;
	/* 64-bit: clang's BPF back end (before -mcpu=v3) has no 32-bit atomic exchange or fetch. */
	__u64 stored;                 /* packets stored so far; the next goes to slot stored % before_packets */
	__u64 after_remaining;
	__u64 retransmits;            /* in the current window */
	__u32 snd_nxt;                /* highest sequence end sent (valid when has_snd_nxt) */
	__u8 has_snd_nxt;
	__u8 connecting;              /* a SYN went out and no SYN-ACK came back yet */
	__u8 pad[2];
	struct packet_capture_slot slots[PACKET_CAPTURE_MAX_BEFORE];
};
_Static_assert(sizeof(struct packet_capture_tuple) == 56 + 8 * 144, "packet_capture_tuple layout");

#endif
