/* Structs shared between bpf/tcp_anomalies.bpf.c and src/receivers/tcp_anomalies/.
 * Fixed-width fields only, largest first, explicit padding; checked by layout.test.ts. */
#ifndef TCPSCOPE_TCP_ANOMALIES_H
#define TCPSCOPE_TCP_ANOMALIES_H

#define TCP_ANOMALIES_COMM_LEN 16
#define TCP_ANOMALIES_MAX_PORTS 16
/* cfg_drop_reasons has one slot per enum skb_drop_reason value below this (6.18: 128 values). */
#define TCP_ANOMALIES_DROP_REASON_SLOTS 256

/* tcp_anomalies_stats_key.kind and tcp_anomalies_event.kind */
#define TCP_ANOMALIES_RETRANSMIT 1
#define TCP_ANOMALIES_RESET_SENT 2
#define TCP_ANOMALIES_RESET_RECEIVED 3
#define TCP_ANOMALIES_DROP 4
#define TCP_ANOMALIES_RCVQUEUE_FULL 5
#define TCP_ANOMALIES_MEMORY_LIMIT 6

/* The reason of a retransmission: (what << 8) | trigger. */
#define TCP_ANOMALIES_RETRANSMIT_DATA 1
#define TCP_ANOMALIES_RETRANSMIT_SYN 2
#define TCP_ANOMALIES_RETRANSMIT_SYNACK 3
#define TCP_ANOMALIES_TRIGGER_OTHER 0
#define TCP_ANOMALIES_TRIGGER_RTO 1      /* icsk_ca_state TCP_CA_Loss: the retransmission timer fired */
#define TCP_ANOMALIES_TRIGGER_TLP 2      /* icsk_pending ICSK_TIME_LOSS_PROBE in TCP_CA_Open: a tail loss probe */
#define TCP_ANOMALIES_TRIGGER_RECOVERY 3 /* TCP_CA_Recovery: fast retransmit (duplicate ACKs, SACK, RACK) */

/* A reset's reason when the kernel gives none (tcp_send_reset before 6.10). */
#define TCP_ANOMALIES_REASON_UNKNOWN 0xffffffffU

/* cfg_drop_reasons values */
#define TCP_ANOMALIES_DROP_IGNORED 0
#define TCP_ANOMALIES_DROP_TCP 1     /* a TCP_* reason: the packet is TCP */
#define TCP_ANOMALIES_DROP_GENERIC 2 /* any protocol: counted when the socket or the IP header says TCP */

/* tcp_anomalies_drops slots (events lost, maps full) */
#define TCP_ANOMALIES_LOSS_RINGBUF 0
#define TCP_ANOMALIES_LOSS_STATS_FULL 1
#define TCP_ANOMALIES_LOSS_KINDS 2

/* The host series: a drop with no socket (or no full socket) to attribute it to. */
#define TCP_ANOMALIES_HOST_CGROUP 0
#define TCP_ANOMALIES_OVERFLOW_CGROUP 0xffffffffffffffffULL

#define TCP_ANOMALIES_NO_STACK (-1)

struct tcp_anomalies_event {
	__u64 timestamp_ns;  /* CLOCK_MONOTONIC */
	__u64 cgroup_id;     /* cgroup v2 id of the socket; 0: no (full) socket */
	__u64 count;         /* retransmissions: segments retransmitted on this connection so far */
	/* the sampling hash of the tuple (bit 63: present), see connection_sampling.h */
	__u64 connection_hash;
	__u8 saddr[16];      /* local address (IPv4 in the first 4 bytes) */
	__u8 daddr[16];      /* peer address */
	__u32 pid;           /* the process whose call sent the reset (0: the kernel on its own) */
	__u32 netns_inode;
	__u32 reason;        /* kernel enum value (sk_rst_reason / skb_drop_reason) or TCP_ANOMALIES_REASON_UNKNOWN;
	                        retransmissions: (what << 8) | trigger */
	__s32 stack_id;      /* tcp_anomalies_stacks id, TCP_ANOMALIES_NO_STACK when none */
	__u16 sport;
	__u16 dport;
	__u16 family;        /* 0: no tuple known */
	__u8 kind;           /* TCP_ANOMALIES_RETRANSMIT, _RESET_SENT, _RESET_RECEIVED, _DROP */
	__u8 state;          /* TCP state of the socket (enum tcp_state), 0 when no socket */
	char comm[TCP_ANOMALIES_COMM_LEN];
	__u32 _pad;
};

struct tcp_anomalies_stats_key {
	__u64 cgroup_id;
	__u32 kind;
	__u32 reason; /* as tcp_anomalies_event.reason; memory limit: 0 send, 1 receive */
};

/* Per-CPU. Retransmissions count segments, everything else occurrences. */
struct tcp_anomalies_stats {
	__u64 count;
};

#endif
