// SPDX-License-Identifier: GPL-2.0
/* tcp_anomalies: retransmissions, resets (sent with the kernel's reason, received), TCP packet
 * drops with the kernel's drop reason, and socket buffer pressure, from stable tracepoints only.
 *
 * Every occurrence is counted in the per-cgroup aggregate first (metrics are complete); filters,
 * the per-connection rate limit of retransmission events and sampling only thin the events.
 * All hooks but kfree_skb fire only when something goes wrong; kfree_skb fires for every freed
 * packet that was dropped (any protocol), so it returns after one table lookup on the reason
 * unless the reason is one user space marked as TCP-related (cfg_drop_reasons). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "tcp_anomalies.h"
#include "receiver_common.h"
#include "socket_common.h"
#include "connection_sampling.h"
#include "kernel_features.h"

#define AF_INET 2
#define AF_INET6 10
/* include/net/inet_connection_sock.h (a define: not in BTF); 3 is ICSK_TIME_PROBE0 */
#define ICSK_TIME_LOSS_PROBE 5

/* The degraded build (make tcp_anomalies_noreason, used by a kernel test): behaves as on a kernel
 * whose tcp_send_reset has no reason (before 6.10). */
#ifdef TCP_ANOMALIES_NO_RESET_REASON
#define RESET_REASON_EXISTS(ctx) 0
#else
#define RESET_REASON_EXISTS(ctx) bpf_core_field_exists((ctx)->reason)
#endif

/* Settings written before load; names map one-to-one to config keys. */
const volatile __u32 cfg_events_enabled = 1;
const volatile __u32 cfg_reset_events = 1;
const volatile __u32 cfg_retransmit_events = 1;
const volatile __u32 cfg_drop_events = 0;
const volatile __u64 cfg_event_interval_ns = 1000000000ULL;
const volatile __u32 cfg_port_count = 0;
const volatile __u16 cfg_ports[TCP_ANOMALIES_MAX_PORTS] = {};
const volatile __u32 cfg_cgroup_filter = 0;
const volatile __u32 cfg_wakeup_min_bytes = 4096;
const volatile __u32 cfg_stack_traces = 0;
/* Written by the agent from the kernel's BTF: which drop reasons are TCP's (TCP_ANOMALIES_DROP_*),
 * and whether skb:kfree_skb has its rx_sk argument (6.11+). */
const volatile __u8 cfg_drop_reasons[TCP_ANOMALIES_DROP_REASON_SLOTS] = {};
const volatile __u32 cfg_kfree_skb_rx_sk = 0;
/* As in tcp_handshake.bpf.c: the sampling predicate pushed down, and the connection hash switch. */
const volatile struct tcpscope_sampling_settings cfg_sampling = {};
const volatile __u32 cfg_connection_hash = 1;

_Static_assert(sizeof(struct tcp_anomalies_event) == 112, "event layout changed: update the TS decoder");
_Static_assert(sizeof(struct tcp_anomalies_stats_key) == 16, "stats key layout changed");
TCPSCOPE_ASSERT_ZERO_FITS(struct tcp_anomalies_stats);

/* What a connection's retransmission events need: the count so far and when the last event went. */
struct retransmit_state {
	__u64 segments;
	__u64 last_event_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct retransmit_state);
} tcp_anomalies_retransmits SEC(".maps");

/* tcp_anomalies_retransmits on kernels before 5.11 (kernel_features.h). */
TCPSCOPE_SOCKET_STATE_BY_ADDRESS(tcp_anomalies_retransmits_by_address, struct retransmit_state);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tcp_anomalies_stats_key);
	__type(value, struct tcp_anomalies_stats);
} tcp_anomalies_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* cgroup id */
	__type(value, __u8);
} tcp_anomalies_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} tcp_anomalies_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_ANOMALIES_LOSS_KINDS);
	__type(key, __u32);
	__type(value, __u64);
} tcp_anomalies_losses SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tcp_anomalies_sampled_out SEC(".maps");

/* Kernel stacks of resets and drops (stack_traces: true; one entry when off). */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__uint(value_size, 32 * sizeof(__u64));
} tcp_anomalies_stacks SEC(".maps");

/* A tuple as an event reports it (local first). */
struct tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 netns_inode;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 _pad;
};

static __always_inline void count(__u64 cgroup_id, __u32 kind, __u32 reason, __u64 amount)
{
	struct tcp_anomalies_stats_key key = { .cgroup_id = cgroup_id, .kind = kind, .reason = reason };
	/* Map full: the overflow series of this kind (user space creates one per kind before attaching). */
	struct tcp_anomalies_stats_key overflow = { .cgroup_id = TCP_ANOMALIES_OVERFLOW_CGROUP, .kind = kind };
	struct tcp_anomalies_stats *stats = tcpscope_lookup_or_overflow(&tcp_anomalies_stats, &key, &overflow, &tcp_anomalies_losses,
									TCP_ANOMALIES_LOSS_STATS_FULL);
	if (stats)
		tcpscope_add(&stats->count, amount);
}

/* Only full sockets have a cgroup (request and time-wait sockets share only sock_common). */
static __always_inline bool full_socket(const struct sock *sk)
{
	__u8 state = sk->__sk_common.skc_state;
	return state != TCP_TIME_WAIT && state != TCP_NEW_SYN_RECV;
}

static __always_inline __u64 cgroup_of(const struct sock *sk)
{
	if (!sk || !full_socket(sk))
		return TCP_ANOMALIES_HOST_CGROUP;
	return tcpscope_socket_cgroup_id(sk);
}

static __always_inline bool port_selected(__u16 local, __u16 peer)
{
	if (cfg_port_count == 0)
		return true;
	for (int i = 0; i < TCP_ANOMALIES_MAX_PORTS; i++) {
		if (i >= cfg_port_count)
			break;
		if (cfg_ports[i] == local || cfg_ports[i] == peer)
			return true;
	}
	return false;
}

static __always_inline bool event_wanted(__u64 cgroup_id, const struct tuple *t)
{
	if (!port_selected(t->sport, t->dport))
		return false;
	if (cfg_cgroup_filter && !bpf_map_lookup_elem(&tcp_anomalies_cgroups, &cgroup_id))
		return false;
	return true;
}

/* Whether the sampling processor after this receiver could keep the event; sets its hash. */
static __always_inline bool sampled_in(const struct tuple *t, __u64 retransmits, bool has_retransmits, __u64 *hash)
{
	struct tcpscope_sampling_subject subject = {};
	subject.saddr = t->saddr;
	subject.daddr = t->daddr;
	subject.family = t->family;
	subject.sport = t->sport;
	subject.dport = t->dport;
	*hash = 0;
	if (t->family == 0)
		return true; /* no tuple: nothing to decide on here, the processor decides */
	subject.record_hash = cfg_connection_hash ? tcpscope_record_hash(&subject) : 0;
	*hash = subject.record_hash;
	if (has_retransmits) {
		subject.values[TCPSCOPE_SAMPLING_FIELD_RETRANSMITS] = retransmits;
		subject.present = 1u << TCPSCOPE_SAMPLING_FIELD_RETRANSMITS;
	}
	if (tcpscope_sampling_keeps(&cfg_sampling, &subject))
		return true;
	tcpscope_count(&tcp_anomalies_sampled_out, 0);
	return false;
}

static __always_inline __s32 stack_of(void *ctx)
{
	if (!cfg_stack_traces)
		return TCP_ANOMALIES_NO_STACK;
	long id = bpf_get_stackid(ctx, &tcp_anomalies_stacks, 0);
	return id < 0 ? TCP_ANOMALIES_NO_STACK : (__s32)id;
}

/* Reserves, fills and submits an event; `pid` nonzero: the current task sent it (comm too). */
static __always_inline void emit(void *ctx, __u8 kind, __u64 cgroup_id, const struct tuple *t, __u32 reason, __u8 state, __u64 amount,
				 bool has_count, bool with_stack, bool with_owner)
{
	__u64 hash = 0;
	if (!sampled_in(t, amount, has_count, &hash))
		return;
	struct tcp_anomalies_event *e = tcpscope_reserve(&tcp_anomalies_events, sizeof(*e), &tcp_anomalies_losses, TCP_ANOMALIES_LOSS_RINGBUF);
	if (!e)
		return;
	e->timestamp_ns = bpf_ktime_get_ns();
	e->cgroup_id = cgroup_id;
	e->count = amount;
	e->connection_hash = hash;
	__builtin_memcpy(e->saddr, t->saddr, 16);
	__builtin_memcpy(e->daddr, t->daddr, 16);
	e->netns_inode = t->netns_inode;
	e->sport = t->sport;
	e->dport = t->dport;
	e->family = t->family;
	e->reason = reason;
	e->kind = kind;
	e->state = state;
	e->_pad = 0;
	e->stack_id = with_stack ? stack_of(ctx) : TCP_ANOMALIES_NO_STACK;
	if (with_owner) {
		e->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	} else {
		e->pid = 0;
		__builtin_memset(e->comm, 0, sizeof(e->comm));
	}
	tcpscope_submit(&tcp_anomalies_events, e, sizeof(*e), cfg_wakeup_min_bytes);
}

/* ---- retransmissions ---- */

static __always_inline __u32 retransmit_trigger(const struct sock *sk)
{
	/* The verifier types `sk` as struct sock: the icsk view comes through the helper. */
	const struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
	if (!tp)
		return TCP_ANOMALIES_TRIGGER_OTHER;
	const struct inet_connection_sock *icsk = &tp->inet_conn;
	__u8 ca_state = BPF_CORE_READ_BITFIELD(icsk, icsk_ca_state);
	if (ca_state == TCP_CA_Loss)
		return TCP_ANOMALIES_TRIGGER_RTO;
	if (ca_state == TCP_CA_Recovery)
		return TCP_ANOMALIES_TRIGGER_RECOVERY;
	/* tcp_write_timer_handler runs tcp_send_loss_probe with icsk_pending still LOSS_PROBE (it
	 * clears it only for the retransmission timer); no other retransmission happens in Open. */
	if (icsk->icsk_pending == ICSK_TIME_LOSS_PROBE)
		return TCP_ANOMALIES_TRIGGER_TLP;
	return TCP_ANOMALIES_TRIGGER_OTHER;
}

/* tcp:tcp_retransmit_skb fires once per retransmitted skb (since 6.13 with its error, also when the
 * transmission failed: as tcp_sock.total_retrans, which counts every attempt). An skb can hold
 * several segments (TSO): total_retrans adds tcp_skb_pcount(skb), and so does this. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_anomalies_retransmit, const struct sock *sk, const struct sk_buff *skb)
{
	struct tcp_skb_cb *cb = (struct tcp_skb_cb *)&skb->cb[0];
	__u64 segments = cb->tcp_gso_segs;
	if (segments == 0)
		segments = 1;
	__u8 state = sk->__sk_common.skc_state;
	__u32 what = state == TCP_SYN_SENT ? TCP_ANOMALIES_RETRANSMIT_SYN : TCP_ANOMALIES_RETRANSMIT_DATA;
	__u32 reason = (what << 8) | retransmit_trigger(sk);
	__u64 cgroup_id = tcpscope_socket_cgroup_id(sk);
	count(cgroup_id, TCP_ANOMALIES_RETRANSMIT, reason, segments);
	if (!cfg_events_enabled || !cfg_retransmit_events)
		return 0;
	struct retransmit_state *rs = tcpscope_socket_state(&tcp_anomalies_retransmits, &tcp_anomalies_retransmits_by_address, sk, true);
	if (!rs)
		return 0;
	__u64 so_far = rs->segments + segments;
	rs->segments = so_far;
	__u64 now = bpf_ktime_get_ns();
	/* The first retransmission of a connection, then at most one event per event_interval. */
	if (rs->last_event_ns != 0 && now - rs->last_event_ns < cfg_event_interval_ns)
		return 0;
	struct tuple t = {};
	TCPSCOPE_READ_TUPLE(sk, &t);
	if (!event_wanted(cgroup_id, &t))
		return 0;
	rs->last_event_ns = now;
	emit(ctx, TCP_ANOMALIES_RETRANSMIT, cgroup_id, &t, reason, state, so_far, true, false, false);
	return 0;
}

/* A listener retransmitting a SYN-ACK (the handshake's final ACK did not come): metrics only, on
 * the listener's cgroup (the request socket has none). */
SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(tcp_anomalies_retransmit_synack, const struct sock *sk, const struct request_sock *req)
{
	__u32 reason = (TCP_ANOMALIES_RETRANSMIT_SYNACK << 8) | TCP_ANOMALIES_TRIGGER_RTO;
	count(cgroup_of(sk), TCP_ANOMALIES_RETRANSMIT, reason, 1);
	return 0;
}

/* ---- resets ---- */

/* Reasons sent only from a call of the socket's own process: close() with unread data
 * (TCP_ABORT_ON_CLOSE), in FIN_WAIT2 with TCP_LINGER2 < 0 (TCP_ABORT_ON_LINGER), with unsent
 * data on disconnect (TCP_DISCONNECT_WITH_DATA), and tcp_disconnect() of a synchronized socket
 * (TCP_STATE: close() with SO_LINGER 0, connect(AF_UNSPEC); also a socket destroyed through
 * sock_diag, by the process that asked): then the current task is the one that did it. Everything
 * else is sent from softirq or a timer. */
static __always_inline bool sent_by_owner(__u32 reason)
{
	if (reason == TCP_ANOMALIES_REASON_UNKNOWN)
		return false;
	return reason == bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_TCP_ABORT_ON_CLOSE) ||
	       reason == bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_TCP_ABORT_ON_LINGER) ||
	       reason == bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_TCP_DISCONNECT_WITH_DATA) ||
	       reason == bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_TCP_STATE);
}

static __always_inline void tuple_of_sockaddrs(struct tuple *t, const __u8 *local, const __u8 *peer)
{
	__u16 family = *(const __u16 *)local;
	t->family = family;
	t->sport = bpf_ntohs(*(const __u16 *)(local + 2));
	t->dport = bpf_ntohs(*(const __u16 *)(peer + 2));
	if (family == AF_INET6) {
		__builtin_memcpy(t->saddr, local + 8, 16);
		__builtin_memcpy(t->daddr, peer + 8, 16);
	} else if (family == AF_INET) {
		__builtin_memcpy(t->saddr, local + 4, 4);
		__builtin_memcpy(t->daddr, peer + 4, 4);
	} else {
		t->family = 0;
	}
}

/* A classic tracepoint: its record already holds the tuple as sockaddrs (local first: for a reset
 * to a segment no socket wanted, the kernel reversed the segment's tuple) and, since 6.10, the
 * reason (enum sk_rst_reason). tp_btf would give the socket but leave the no-socket tuple to be
 * parsed from the segment's headers. */
SEC("tracepoint/tcp/tcp_send_reset")
int tcp_anomalies_send_reset(struct trace_event_raw_tcp_send_reset *ctx)
{
	const struct sock *sk = ctx->skaddr;
	__u32 reason = TCP_ANOMALIES_REASON_UNKNOWN;
	if (RESET_REASON_EXISTS(ctx))
		reason = ctx->reason;
	__u64 cgroup_id = TCP_ANOMALIES_HOST_CGROUP;
	__u8 state = 0;
	if (sk) {
		state = BPF_CORE_READ(sk, __sk_common.skc_state);
		if (state != TCP_TIME_WAIT && state != TCP_NEW_SYN_RECV)
			cgroup_id = tcpscope_socket_cgroup_id_read(sk);
	}
	count(cgroup_id, TCP_ANOMALIES_RESET_SENT, reason, 1);
	if (!cfg_events_enabled || !cfg_reset_events)
		return 0;
	struct tuple t = {};
	__u8 local[28], peer[28];
	bpf_core_read(local, sizeof(local), &ctx->saddr);
	bpf_core_read(peer, sizeof(peer), &ctx->daddr);
	tuple_of_sockaddrs(&t, local, peer);
	if (sk) {
		t.netns_inode = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	} else {
		const struct sk_buff *skb = ctx->skbaddr;
		t.netns_inode = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	}
	if (!event_wanted(cgroup_id, &t))
		return 0;
	emit(ctx, TCP_ANOMALIES_RESET_SENT, cgroup_id, &t, reason, state, 0, false, true, sk && sent_by_owner(reason));
	return 0;
}

/* tcp:tcp_send_reset before 6.10 (its record held no sockaddrs and no reason; the agent loads this
 * program instead of the one above when the kernel's BTF has no trace_event_raw_tcp_send_reset):
 * the kernel traced only the resets a socket sent (tcp_send_active_reset, and tcp_v6_send_reset
 * with a socket), so every reset here has a socket, and none has a reason. */
/* "?": not loaded unless the agent asks for it. */
SEC("?tp_btf/tcp_send_reset")
int BPF_PROG(tcp_anomalies_send_reset_socket, const struct sock *sk)
{
	__u64 cgroup_id = sk ? cgroup_of(sk) : TCP_ANOMALIES_HOST_CGROUP;
	count(cgroup_id, TCP_ANOMALIES_RESET_SENT, TCP_ANOMALIES_REASON_UNKNOWN, 1);
	if (!cfg_events_enabled || !cfg_reset_events || !sk)
		return 0;
	struct tuple t = {};
	TCPSCOPE_READ_TUPLE(sk, &t);
	if (!event_wanted(cgroup_id, &t))
		return 0;
	emit(ctx, TCP_ANOMALIES_RESET_SENT, cgroup_id, &t, TCP_ANOMALIES_REASON_UNKNOWN, sk->__sk_common.skc_state, 0, false, true, false);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tcp_anomalies_receive_reset, const struct sock *sk)
{
	__u64 cgroup_id = tcpscope_socket_cgroup_id(sk);
	count(cgroup_id, TCP_ANOMALIES_RESET_RECEIVED, TCP_ANOMALIES_REASON_UNKNOWN, 1);
	if (!cfg_events_enabled || !cfg_reset_events)
		return 0;
	struct tuple t = {};
	TCPSCOPE_READ_TUPLE(sk, &t);
	if (!event_wanted(cgroup_id, &t))
		return 0;
	emit(ctx, TCP_ANOMALIES_RESET_RECEIVED, cgroup_id, &t, TCP_ANOMALIES_REASON_UNKNOWN, sk->__sk_common.skc_state, 0, false, true, false);
	return 0;
}

/* ---- drops ---- */

/* The IP protocol of a packet and its tuple read from its headers, received side first (the
 * packet's destination is local). Returns the L4 protocol, 0 when the headers are not IP. */
static __always_inline __u8 packet_tuple(const struct sk_buff *skb, struct tuple *t)
{
	const unsigned char *head = skb->head;
	__u16 network = skb->network_header;
	if (network == (__u16)~0U)
		return 0;
	const unsigned char *ip = head + network;
	__u8 first = 0;
	if (bpf_probe_read_kernel(&first, 1, ip))
		return 0;
	__u8 protocol = 0;
	const unsigned char *l4;
	if ((first >> 4) == 4) {
		if (bpf_probe_read_kernel(&protocol, 1, ip + 9))
			return 0;
		bpf_probe_read_kernel(t->daddr, 4, ip + 12);
		bpf_probe_read_kernel(t->saddr, 4, ip + 16);
		t->family = AF_INET;
		l4 = ip + (first & 0xf) * 4;
	} else if ((first >> 4) == 6) {
		if (bpf_probe_read_kernel(&protocol, 1, ip + 6))
			return 0;
		bpf_probe_read_kernel(t->daddr, 16, ip + 8);
		bpf_probe_read_kernel(t->saddr, 16, ip + 24);
		t->family = AF_INET6;
		l4 = ip + 40;
	} else {
		return 0;
	}
	if (protocol == IPPROTO_TCP) {
		__u16 ports[2] = {};
		if (!bpf_probe_read_kernel(ports, sizeof(ports), l4)) {
			t->dport = bpf_ntohs(ports[0]);
			t->sport = bpf_ntohs(ports[1]);
		}
	}
	return protocol;
}

SEC("tp_btf/kfree_skb")
int tcp_anomalies_kfree_skb(__u64 *ctx)
{
	if (!bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
		return 0; /* before 5.17: no reason to filter on; the agent does not load this program */
	__u32 reason = (__u32)ctx[2];
	if (reason >= TCP_ANOMALIES_DROP_REASON_SLOTS)
		return 0;
	__u8 wanted = cfg_drop_reasons[reason];
	if (wanted == TCP_ANOMALIES_DROP_IGNORED)
		return 0;
	const struct sk_buff *skb = (const struct sk_buff *)ctx[0];
	const struct sock *sk = skb->sk;
	if (!sk && cfg_kfree_skb_rx_sk)
		sk = (const struct sock *)ctx[3];
	struct tuple t = {};
	bool from_socket = sk && sk->__sk_common.skc_family != 0 && full_socket(sk);
	if (from_socket) {
		if (sk->sk_protocol != IPPROTO_TCP)
			return 0;
		TCPSCOPE_READ_TUPLE(sk, &t);
	} else {
		__u8 protocol = packet_tuple(skb, &t);
		if (wanted == TCP_ANOMALIES_DROP_GENERIC && protocol != IPPROTO_TCP)
			return 0;
		if (protocol != IPPROTO_TCP)
			t.family = 0; /* a TCP reason on a packet whose headers were not readable */
		const struct net_device *dev = skb->dev;
		if (dev)
			t.netns_inode = dev->nd_net.net->ns.inum;
	}
	__u64 cgroup_id = from_socket ? tcpscope_socket_cgroup_id(sk) : TCP_ANOMALIES_HOST_CGROUP;
	count(cgroup_id, TCP_ANOMALIES_DROP, reason, 1);
	if (!cfg_events_enabled || !cfg_drop_events)
		return 0;
	if (!event_wanted(cgroup_id, &t))
		return 0;
	emit(ctx, TCP_ANOMALIES_DROP, cgroup_id, &t, reason, from_socket ? sk->__sk_common.skc_state : 0, 0, false, true, false);
	return 0;
}

/* ---- buffer pressure ---- */

/* A socket's receive queue refused a packet (sk_rmem_alloc >= sk_rcvbuf in sock_queue_rcv_skb).
 * TCP queues through its own path (its receive-memory drops are kfree_skb reasons), so for TCP
 * sockets this fires only where a TCP socket uses the generic queue; counted for TCP sockets. */
SEC("tp_btf/sock_rcvqueue_full")
int BPF_PROG(tcp_anomalies_rcvqueue_full, const struct sock *sk, const struct sk_buff *skb)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	count(cgroup_of(sk), TCP_ANOMALIES_RCVQUEUE_FULL, 0, 1);
	return 0;
}

/* The protocol's memory (tcp_mem) is over its limit: a send (kind 0) or receive (kind 1) allocation
 * of this socket was refused or put under pressure. */
SEC("tp_btf/sock_exceed_buf_limit")
int BPF_PROG(tcp_anomalies_exceed_buf_limit, const struct sock *sk, const struct proto *prot, long allocated, int kind)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	count(cgroup_of(sk), TCP_ANOMALIES_MEMORY_LIMIT, kind == 1 ? 1 : 0, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
