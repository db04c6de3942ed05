/* Structs shared between bpf/tcp_lifecycle.bpf.c and src/receivers/tcp_lifecycle/.
 * Fixed-width fields only, largest first, explicit padding; the TypeScript decoder is checked
 * against the compiled layout by test/layout (offsets from the compiler's BTF, not by eye). */
#ifndef TCPSCOPE_TCP_LIFECYCLE_H
#define TCPSCOPE_TCP_LIFECYCLE_H

#define TCP_LIFECYCLE_COMM_LEN 16

/* tcp_lifecycle_event.kind */
#define TCP_LIFECYCLE_EVENT_CONNECT 1
#define TCP_LIFECYCLE_EVENT_ACCEPT 2
#define TCP_LIFECYCLE_EVENT_CLOSE 3

/* tcp_lifecycle_event.end and tcp_lifecycle_stats_key.end: how a connection ended, decided in the
 * kernel per socket at its CLOSE transition (rules in tcp_lifecycle.bpf.c, classify_end). 0 on
 * connect/accept events; never in a stats key. */
#define TCP_LIFECYCLE_END_NONE 0
#define TCP_LIFECYCLE_END_FIN 1            /* orderly: both FINs exchanged, ours acknowledged */
#define TCP_LIFECYCLE_END_RESET_SENT 2     /* this side sent a RST (abort on close, zero linger...) */
#define TCP_LIFECYCLE_END_RESET_RECEIVED 3 /* the peer's RST closed it */
#define TCP_LIFECYCLE_END_TIMEOUT 4        /* retransmission, user or keepalive timeout (socket error) */
#define TCP_LIFECYCLE_END_ABORT 5          /* closed by this side without FIN and without a RST */
#define TCP_LIFECYCLE_ENDS 6

/* role: which side of the handshake this socket was on */
#define TCP_LIFECYCLE_ROLE_CLIENT 1
#define TCP_LIFECYCLE_ROLE_SERVER 2

#include "duration_histogram.h"

/* Lifetime histogram: see duration_histogram.h. */
#define TCP_LIFECYCLE_DURATION_BUCKETS TCPSCOPE_DURATION_BUCKETS

/* Index of the dropped-events counters (percpu array `tcp_lifecycle_drops`). */
#define TCP_LIFECYCLE_DROP_RINGBUF 0   /* ring buffer full: event lost, metrics still counted */
#define TCP_LIFECYCLE_DROP_STATS_FULL 1 /* stats map full: aggregated into the overflow key */
#define TCP_LIFECYCLE_DROP_UNTRACKED 2 /* a socket not followed: max_connections were followed at
                                        * once; its events and its connection metrics are missing */
#define TCP_LIFECYCLE_DROP_KINDS 3

/* Stats key for data that did not fit in the stats map (exported with otel.metric.overflow=true). */
#define TCP_LIFECYCLE_OVERFLOW_CGROUP 0xffffffffffffffffULL

struct tcp_lifecycle_event {
	__u64 timestamp_ns;      /* CLOCK_MONOTONIC (bpf_ktime_get_ns) of the transition reported */
	__u64 duration_ns;       /* close: ESTABLISHED -> CLOSE; connect: SYN sent -> ESTABLISHED */
	__u64 cgroup_id;         /* cgroup v2 id of the socket (inode of its cgroup directory) */
	__u64 bytes_sent;        /* close: payload bytes acknowledged by the peer (SYN/FIN excluded) */
	__u64 bytes_received;    /* close: payload bytes received (SYN/FIN excluded) */
	__u8 saddr[16];          /* local address: IPv4 in the first 4 bytes, or IPv6 */
	__u8 daddr[16];          /* peer address, same encoding */
	__u32 pid;               /* tgid of the process that connected or accepted; 0 if unknown */
	__u32 netns_inode;
	__u32 segments_sent;     /* close: tcp_sock.segs_out */
	__u32 segments_received; /* close: tcp_sock.segs_in */
	__u32 retransmits;       /* close: tcp_sock.total_retrans */
	__u32 srtt_us;           /* close: smoothed RTT (tcp_sock.srtt_us >> 3) */
	__u16 sport;             /* local port, host order */
	__u16 dport;             /* peer port, host order */
	__u16 family;            /* AF_INET or AF_INET6 */
	__u8 kind;               /* TCP_LIFECYCLE_EVENT_* */
	__u8 role;               /* TCP_LIFECYCLE_ROLE_* */
	char comm[TCP_LIFECYCLE_COMM_LEN];
	/* Appended (the fields above keep their offsets): the sampling hash of the tuple above, hashed
	 * once per socket at ESTABLISHED when a logs pipeline samples (else 0: absent); see
	 * TCPSCOPE_CONNECTION_HASH_* in connection_sampling.h (bit 63: present, bits 0..52: hash >> 11). */
	__u64 connection_hash;
	/* Appended: close only, TCP_LIFECYCLE_END_* (0 on connect and accept). */
	__u8 end;
	__u8 _pad[7];
};

/* A series per (cgroup, role, end): a close counts in the series of its end (established -1
 * there, closed, duration, bytes), an open in the fin series (established +1), so that one lookup
 * per transition suffices and a (cgroup, role) whose connections all end orderly takes one series.
 * User space sums established over the ends of a (cgroup, role). */
struct tcp_lifecycle_stats_key {
	__u64 cgroup_id;
	__u32 role;
	__u32 end; /* TCP_LIFECYCLE_END_* */
};

/* Per-CPU aggregates; user space sums the CPUs. `established` may be negative on one CPU
 * (open on one, close on another) and in every series of an end other than 0; only the sum over
 * the CPUs and the ends of a (cgroup, role) means something. */
struct tcp_lifecycle_stats {
	__s64 established;       /* connections currently established */
	__u64 closed;            /* closed connections (= histogram count) */
	__u64 duration_sum_ns;
	__u64 bytes_sent;
	__u64 bytes_received;
	__u64 duration_buckets[TCP_LIFECYCLE_DURATION_BUCKETS];
};

#endif
