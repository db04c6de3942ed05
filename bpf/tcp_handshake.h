/* Structs shared between bpf/tcp_handshake.bpf.c and src/receivers/tcp_handshake/.
 * Fixed-width fields only, largest first, explicit padding; checked by layout.test.ts. */
#ifndef TCPSCOPE_TCP_HANDSHAKE_H
#define TCPSCOPE_TCP_HANDSHAKE_H

#include "duration_histogram.h"

#define TCP_HANDSHAKE_COMM_LEN 16
#define TCP_HANDSHAKE_MAX_PORTS 16

/* tcp_handshake_event.kind */
#define TCP_HANDSHAKE_OUTCOME 1     /* the handshake ended: ESTABLISHED, or CLOSE from SYN_SENT */
#define TCP_HANDSHAKE_SYNC_FAILURE 2 /* connect() failed before any SYN was sent */

#define TCP_HANDSHAKE_ROLE_CLIENT 1
#define TCP_HANDSHAKE_ROLE_SERVER 2

#define TCP_HANDSHAKE_DROP_RINGBUF 0
#define TCP_HANDSHAKE_DROP_STATS_FULL 1
#define TCP_HANDSHAKE_DROP_UNTRACKED 2 /* a connect not followed (max_attempts pending at once): outcome missing */
#define TCP_HANDSHAKE_DROP_KINDS 3

#define TCP_HANDSHAKE_OVERFLOW_CGROUP 0xffffffffffffffffULL

struct tcp_handshake_event {
	__u64 timestamp_ns;  /* CLOCK_MONOTONIC of the outcome */
	__u64 duration_ns;   /* client: SYN sent -> outcome (sync failure: connect() entry -> return);
	                        server: SYN-ACK sent -> ESTABLISHED */
	__u64 cgroup_id;     /* cgroup v2 id of the socket */
	__u8 saddr[16];      /* local address (IPv4 in the first 4 bytes); zero for sync failures */
	__u8 daddr[16];      /* peer address */
	__u32 pid;           /* tgid that called connect(); 0 for server handshakes */
	__s32 fd;            /* the socket's fd in that process, -1 when unknown */
	__u32 netns_inode;
	__u32 error;         /* errno (positive) of a failure, 0 on success */
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 kind;           /* TCP_HANDSHAKE_OUTCOME or TCP_HANDSHAKE_SYNC_FAILURE */
	__u8 role;
	char comm[TCP_HANDSHAKE_COMM_LEN];
	/* Appended (the fields above keep their offsets): the sampling hash of the tuple above (for
	 * sync failures: no local address, 18 zero bytes) when a logs pipeline samples (else 0: absent);
	 * see TCPSCOPE_CONNECTION_HASH_* in connection_sampling.h (bit 63: present, bits 0..52: hash >> 11). */
	__u64 connection_hash;
};

struct tcp_handshake_stats_key {
	__u64 cgroup_id;
	__u32 role;
	__u32 error;         /* 0 = success */
};

struct tcp_handshake_stats {
	__u64 count;
	__u64 duration_sum_ns;
	__u64 duration_buckets[TCPSCOPE_DURATION_BUCKETS];
};

#endif
