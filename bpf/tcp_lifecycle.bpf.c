// SPDX-License-Identifier: GPL-2.0
/* tcp_lifecycle: connect/accept/close of every TCP socket, from stable tracepoints only.
 *
 * Per socket we keep a small state record in a hash keyed by the socket's address from the moment we
 * first see it (SYN_SENT for clients, ESTABLISHED for servers) until CLOSE. Every transition updates per-cgroup kernel
 * aggregates (complete, never sampled); events go to a ring buffer that user space drains in
 * batches. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "tcp_lifecycle.h"
#include "receiver_common.h"
#include "socket_common.h"
#include "connection_sampling.h"

#define AF_INET 2
#define AF_INET6 10

/* errno values the kernel leaves in sk_err when it closes a socket itself (uapi asm-generic). */
#define TCPSCOPE_EPIPE 32
#define TCPSCOPE_ECONNABORTED 103
#define TCPSCOPE_ECONNRESET 104
#define TCPSCOPE_ETIMEDOUT 110

/* Settings written by user space before load; names map one-to-one to config keys. */
const volatile __u32 cfg_events_enabled = 1;       /* events: false when only metrics pipelines use it */
/* The event kinds written (bit 1 << TCP_LIFECYCLE_EVENT_*), the receiver's `events` key: a kind
 * left out is never reserved in the ring. */
const volatile __u32 cfg_event_kinds = (1u << TCP_LIFECYCLE_EVENT_CONNECT) | (1u << TCP_LIFECYCLE_EVENT_ACCEPT) |
				       (1u << TCP_LIFECYCLE_EVENT_CLOSE);
const volatile __u32 cfg_wakeup_min_bytes = 65536;  /* wake user space once this much is pending */
/* The sampling processor's predicate when every logs pipeline of this receiver starts with the
 * same one (written by the agent from the pipeline, not from a receiver key; zero: disabled). */
const volatile struct tcpscope_sampling_settings cfg_sampling = {};
/* Events carry connection_hash (connection_sampling.h): on when a logs pipeline of the receiver
 * samples (CreateSettings.logsSampled). Off otherwise: nothing would read it, and hashing at each
 * ESTABLISHED was measurable here (bench/record_hash_cost.ts compares both, attached at once). */
const volatile __u32 cfg_connection_hash = 1;

_Static_assert(sizeof(struct tcp_lifecycle_event) == 136, "event layout changed: update the TS decoder");
_Static_assert(sizeof(struct tcp_lifecycle_stats_key) == 16, "stats key layout changed");
_Static_assert(sizeof(struct tcpscope_sampling_settings) == 208, "sampling settings layout changed");
TCPSCOPE_ASSERT_ZERO_FITS(struct tcp_lifecycle_stats);


/* What we remember about one connection between its transitions (in tcp_lifecycle_sockets). */
struct sock_state {
	/* One slot, two lives, so that the entry keeps its measured size: until ESTABLISHED, when the
	 * SYN was sent (read once, for the handshake duration); from ESTABLISHED on, the connection
	 * hash every event of the socket carries (hashed once per socket, not once per event). */
	union {
		__u64 syn_ns;
		__u64 connection_hash;
	};
	__u64 established_ns;
	__u64 cgroup_id;
	__u64 bytes_acked_at_established;
	__u64 bytes_received_at_established;
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 pid;
	__u32 netns_inode;
	__u16 sport;
	__u16 dport;
	__u8 family;   /* AF_INET or AF_INET6 */
	__u8 role;
	__u8 _unused;
	__u8 accepted; /* accept() named the owner: written by the accept hooks only */
	char comm[TCP_LIFECYCLE_COMM_LEN];
};
_Static_assert(sizeof(struct sock_state) == 104, "sock_state size changed: re-measure SOCKET_ENTRY_BYTES");

/* Every socket we follow, keyed by its address. */
struct socket_record {
	struct sock_state st;
	/* One byte per writer: the record is shared by all CPUs, and the reset tracepoints and
	 * set_state can update it at once on two CPUs; a read-modify-write of one shared flags byte
	 * could lose the other's bit, a plain byte store cannot. How the connection is ending: the
	 * reset tracepoints mark them, the CLOSE transition reads them (classify_end). */
	__u8 reset_sent;     /* tcp:tcp_send_reset named this socket */
	__u8 reset_received; /* tcp:tcp_receive_reset named this socket */
	__u8 close_pending;  /* its tcp.close waits in tcp_lifecycle_closing for a RST that may follow */
	__u8 _unused;
};
/* 192 bytes of locked memory per max_connections entry were measured with this 112-byte value
 * (src/receivers/tcp_lifecycle/config.ts): re-measure when it grows. */
_Static_assert(sizeof(struct socket_record) == 112, "socket_record size changed: re-measure SOCKET_ENTRY_BYTES");

/*
 * The sockets we follow, from their first transition to CLOSE (or, for a close waiting for its
 * RST, to the RST or the socket's destruction). A preallocated hash, sized by config
 * `max_connections`: when that many are followed at once, a new socket is not followed, counted in
 * TCP_LIFECYCLE_DROP_UNTRACKED; nothing is ever evicted. Why not socket local storage, which needs
 * no table: creating it costs two allocations with memory-cgroup accounting per socket, and
 * freeing it two RCU-deferred frees, outside the program's own run time. Sampled with
 * `perf record -a` under connection churn, the receiver's whole kernel cost was 4.0-4.6 us per
 * connection with socket storage and 2.8-2.9 us with this hash. A hash also lets the accept hooks,
 * syscall tracepoints that cannot reach socket storage, name a server connection's owner in its
 * record directly.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, __u64); /* struct sock * */
	__type(value, struct socket_record);
} tcp_lifecycle_sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tcp_lifecycle_stats_key);
	__type(value, struct tcp_lifecycle_stats);
} tcp_lifecycle_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} tcp_lifecycle_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_LIFECYCLE_DROP_KINDS);
	__type(key, __u32);
	__type(value, __u64);
} tcp_lifecycle_drops SEC(".maps");

/* Events the sampling predicate dropped here: intended, not lost (exported apart from drops). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tcp_lifecycle_sampled_out SEC(".maps");

/* A close the kernel may still follow with a RST in the same call (it sets CLOSE first, then
 * sends the RST: tcp_close() with unread data, tcp_disconnect() for a zero linger): its event and
 * its metrics wait here, keyed by socket, until tcp:tcp_send_reset names the socket (reset_sent)
 * or the socket is destroyed or reused without one (see finish_pending). Entries live for the
 * rest of that call: the map only needs room for the closes in progress at one moment. */
struct pending_close {
	struct tcp_lifecycle_event event; /* complete but for `end` */
	__u32 keep_event;                 /* the event passed cfg_events_enabled and the sampling predicate */
	__u8 fin_acked;                   /* our FIN was sent and acknowledged (see finish_pending) */
	__u8 _pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* struct sock * */
	__type(value, struct pending_close);
} tcp_lifecycle_closing SEC(".maps");

/* The record of the socket at `key`, or 0. */
static __always_inline struct socket_record *record_of(__u64 key)
{
	return bpf_map_lookup_elem(&tcp_lifecycle_sockets, &key);
}

/* Starts following the socket at `key` with `fresh`, built whole on the stack (one table
 * operation instead of create-then-find): 0 when followed; -E2BIG, counted, when max_connections
 * sockets are followed already; -EEXIST when the socket has a record already. */
static __always_inline long follow(__u64 key, const struct socket_record *fresh)
{
	return tcpscope_insert_or_count(&tcp_lifecycle_sockets, &key, fresh, BPF_NOEXIST, &tcp_lifecycle_drops,
					TCP_LIFECYCLE_DROP_UNTRACKED);
}

static __always_inline void forget(__u64 key)
{
	bpf_map_delete_elem(&tcp_lifecycle_sockets, &key);
}

static __always_inline struct tcp_lifecycle_stats *stats_for(__u64 cgroup_id, __u8 role, __u8 end)
{
	struct tcp_lifecycle_stats_key key = { .cgroup_id = cgroup_id, .role = role, .end = end };
	struct tcp_lifecycle_stats_key overflow = { .cgroup_id = TCP_LIFECYCLE_OVERFLOW_CGROUP, .role = role, .end = end };
	return tcpscope_lookup_or_overflow(&tcp_lifecycle_stats, &key, &overflow, &tcp_lifecycle_drops,
					   TCP_LIFECYCLE_DROP_STATS_FULL);
}

static __always_inline void submit(struct tcp_lifecycle_event *event)
{
	tcpscope_submit(&tcp_lifecycle_events, event, sizeof(*event), cfg_wakeup_min_bytes);
}

/* Whether the sampling processor after this receiver could keep the event; `subject` holds the
 * fields the event will carry. The tuple is the one the event reports (kept from ESTABLISHED). */
static __always_inline bool sampled_in(const struct sock_state *st, struct tcpscope_sampling_subject *subject)
{
	subject->saddr = st->saddr;
	subject->daddr = st->daddr;
	subject->family = st->family;
	subject->sport = st->sport;
	subject->dport = st->dport;
	subject->record_hash = st->connection_hash;
	if (tcpscope_sampling_keeps(&cfg_sampling, subject))
		return true;
	tcpscope_count(&tcp_lifecycle_sampled_out, 0);
	return false;
}

/* The fields every event of the socket carries; `e` is ring buffer or pending_close memory. */
static __always_inline void fill_event(struct tcp_lifecycle_event *e, const struct sock_state *st, __u8 kind, __u64 now)
{
	e->timestamp_ns = now;
	e->duration_ns = 0;
	e->cgroup_id = st->cgroup_id;
	e->bytes_sent = 0;
	e->bytes_received = 0;
	__builtin_memcpy(e->saddr, st->saddr, 16);
	__builtin_memcpy(e->daddr, st->daddr, 16);
	e->pid = st->pid;
	e->netns_inode = st->netns_inode;
	e->segments_sent = 0;
	e->segments_received = 0;
	e->retransmits = 0;
	e->srtt_us = 0;
	e->sport = st->sport;
	e->dport = st->dport;
	e->family = st->family;
	e->kind = kind;
	e->role = st->role;
	__builtin_memcpy(e->comm, st->comm, TCP_LIFECYCLE_COMM_LEN);
	e->connection_hash = st->connection_hash;
	e->end = TCP_LIFECYCLE_END_NONE;
	__builtin_memset(e->_pad, 0, sizeof(e->_pad)); /* ring memory is not zeroed */
}

/* Whether the logs pipelines get events of this kind at all (before sampling). */
static __always_inline bool writes_kind(__u8 kind)
{
	return cfg_events_enabled && (cfg_event_kinds & (1u << kind));
}

static __always_inline struct tcp_lifecycle_event *reserve_event(const struct sock_state *st, __u8 kind, __u64 now,
								  struct tcpscope_sampling_subject *subject)
{
	if (!writes_kind(kind))
		return 0;
	if (!sampled_in(st, subject))
		return 0;
	struct tcp_lifecycle_event *e = tcpscope_reserve(&tcp_lifecycle_events, sizeof(*e), &tcp_lifecycle_drops,
							 TCP_LIFECYCLE_DROP_RINGBUF);
	if (e)
		fill_event(e, st, kind, now);
	return e;
}

static __always_inline void finish_pending(__u64 key, __u8 reset_sent);

/* A record for a new connection. A socket reused for another one (connect() after a disconnect)
 * still holds its last connection's: that close is over, without a RST, and nothing of it is the
 * new connection's. A record just created is zeroed already, which the writes here keep. */
static __always_inline void start_afresh(struct socket_record *r, __u64 key)
{
	if (r->close_pending)
		finish_pending(key, 0);
	__builtin_memset(r, 0, sizeof(*r));
}

/* A client's record from its SYN: when and by whom. connect() runs tcp_set_state(SYN_SENT) in
 * the caller's context: current is the owner. */
static __always_inline void fill_syn_sent(struct sock_state *st, __u64 now)
{
	st->syn_ns = now;
	st->role = TCP_LIFECYCLE_ROLE_CLIENT;
	st->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(st->comm, sizeof(st->comm));
}

static __always_inline void on_syn_sent(const struct sock *sk, __u64 key, __u64 now)
{
	struct socket_record *r = record_of(key);
	if (r) {
		start_afresh(r, key);
		fill_syn_sent(&r->st, now);
		return;
	}
	struct socket_record fresh = {};
	fill_syn_sent(&fresh.st, now);
	follow(key, &fresh); /* or, max_connections followed already, the connection goes unseen, counted */
}

static __always_inline void fill_established(const struct sock *sk, struct sock_state *st, __u64 now)
{
	const struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
	st->established_ns = now;
	st->cgroup_id = tcpscope_socket_cgroup_id(sk);
	st->bytes_acked_at_established = tp ? tp->bytes_acked : 0;
	st->bytes_received_at_established = tp ? tp->bytes_received : 0;
	/* Only events and their sampling read the tuple: metrics are per cgroup, role and end. The
	 * record is zeroed (created or start_afresh) before this, so metrics-only records keep zeros. */
	if (cfg_events_enabled)
		TCPSCOPE_READ_TUPLE(sk, st);
	/* The tuple every event of the socket reports is final here (the local port can be gone by
	 * CLOSE): hash it now, once. Not when nothing would read it (metrics only, or no logs
	 * pipeline samples: cfg_connection_hash). */
	st->connection_hash = 0;
	if (cfg_events_enabled && cfg_connection_hash) {
		struct tcpscope_sampling_subject subject = {};
		subject.saddr = st->saddr;
		subject.daddr = st->daddr;
		subject.family = st->family;
		subject.sport = st->sport;
		subject.dport = st->dport;
		st->connection_hash = tcpscope_record_hash(&subject);
	}
}

static __always_inline void count_established(const struct sock_state *st)
{
	/* Opens count in the fin series, where most closes go (see tcp_lifecycle_stats_key). */
	struct tcp_lifecycle_stats *stats = stats_for(st->cgroup_id, st->role, TCP_LIFECYCLE_END_FIN);
	if (stats)
		tcpscope_add_signed(&stats->established, 1);
}

static __always_inline void on_established(const struct sock *sk, __u64 key, int oldstate, __u64 now)
{
	__u8 role = oldstate == TCP_SYN_SENT ? TCP_LIFECYCLE_ROLE_CLIENT : TCP_LIFECYCLE_ROLE_SERVER;
	/* A socket new to the table: every server socket and, without events, every client (only
	 * events follow a client from SYN_SENT). Its record is inserted whole without a lookup first,
	 * one table operation per socket fewer; one there already (left by a CLOSE run that was
	 * missed) is taken over below. */
	if (role == TCP_LIFECYCLE_ROLE_SERVER || !cfg_events_enabled) {
		struct socket_record fresh = {};
		fresh.st.role = role;
		fill_established(sk, &fresh.st, now);
		long err = follow(key, &fresh);
		if (err == 0)
			count_established(&fresh.st);
		if (err != -TCPSCOPE_EEXIST)
			return; /* followed now, or max_connections followed already (counted) */
	}
	struct socket_record *r = record_of(key);
	/* With events a client's record is made at SYN_SENT: none here means it was not followed
	 * (counted then) or its SYN predates the agent (whose connect we cannot report). */
	if (!r)
		return;
	struct sock_state *st = &r->st;
	if (oldstate == TCP_SYN_SENT && st->syn_ns) {
		__u64 handshake_ns = now - st->syn_ns; /* read before fill_established reuses its slot */
		fill_established(sk, st, now);
		count_established(st);
		/* tcp.connect carries tcp.handshake.duration: SYN sent -> ESTABLISHED */
		struct tcpscope_sampling_subject subject = {};
		subject.values[TCPSCOPE_SAMPLING_FIELD_HANDSHAKE_DURATION_NS] = handshake_ns;
		subject.present = 1u << TCPSCOPE_SAMPLING_FIELD_HANDSHAKE_DURATION_NS;
		struct tcp_lifecycle_event *e = reserve_event(st, TCP_LIFECYCLE_EVENT_CONNECT, now, &subject);
		if (e) {
			e->duration_ns = subject.values[TCPSCOPE_SAMPLING_FIELD_HANDSHAKE_DURATION_NS];
			submit(e);
		}
		return;
	}
	/* Server side (SYN_RECV -> ESTABLISHED runs in softirq, so current is not the owner: the
	 * accept() hook names it in the record, in events mode), any client without events (SYN_SENT
	 * is not followed), or with events a client whose record is its last connection's (the
	 * SYN_SENT run of this one was missed: no event, we cannot tell who connected). */
	start_afresh(r, key);
	st->role = role;
	fill_established(sk, st, now);
	count_established(st);
}

/* A closed connection's aggregates, in the series of its end. */
static __always_inline void count_close(__u64 cgroup_id, __u8 role, __u8 end, __u64 duration, __u64 acked, __u64 received)
{
	struct tcp_lifecycle_stats *stats = stats_for(cgroup_id, role, end);
	if (!stats)
		return;
	tcpscope_add_signed(&stats->established, -1);
	tcpscope_add(&stats->closed, 1);
	tcpscope_add(&stats->duration_sum_ns, duration);
	tcpscope_add(&stats->bytes_sent, acked);
	tcpscope_add(&stats->bytes_received, received);
	__u32 bucket = tcpscope_duration_bucket(duration);
	if (bucket < TCP_LIFECYCLE_DURATION_BUCKETS)
		tcpscope_add(&stats->duration_buckets[bucket], 1);
}

/* Whether the socket's flag `flag` (enum sock_flags) is set. */
static __always_inline bool sock_flag_set(const struct sock *sk, int flag)
{
	return sk->__sk_common.skc_flags & (1UL << flag);
}

/*
 * How the connection ended, at its CLOSE transition, first rule that holds:
 *  1. sk_err is ETIMEDOUT: timeout. tcp_write_err() sets it before CLOSE for a retransmission
 *     timeout (TCP_USER_TIMEOUT included) and a keepalive timeout; the keepalive timer sends a RST
 *     first (TCP_KEEPALIVE_TIMEOUT), so this rule comes before the reset ones.
 *  2. tcp:tcp_receive_reset named the socket: reset_received (tcp_reset() traces it before CLOSE).
 *  3. tcp:tcp_send_reset named the socket: reset_sent (a RST sent before CLOSE: tcp_abort,
 *     an orphan's FIN_WAIT2 expiry when tcp_fin_timeout is short, out of memory...).
 *  4. sk_err is ECONNRESET or EPIPE: reset_received (tcp_reset's errors, should rule 2 have missed).
 *  5. sk_err is set otherwise and is not ECONNABORTED: timeout (tcp_write_err() reports an ICMP
 *     soft error, e.g. EHOSTUNREACH, instead of ETIMEDOUT when one arrived meanwhile).
 *  6. both FINs exchanged, ours sent and acknowledged (all of write_seq, FIN included, acked) and
 *     the peer's received (tcp_fin() set SOCK_DONE): fin. Every orderly CLOSE from LAST_ACK,
 *     CLOSING and FIN_WAIT2 -> TIME_WAIT has it; no abort can (once both hold the kernel is in
 *     TIME_WAIT or CLOSE already).
 *  7. our FIN acknowledged, the socket orphaned (close() has run: SOCK_DEAD) and TCP_LINGER2 not
 *     negative: fin. The kernel hands an orphan in FIN_WAIT2 to a TIME_WAIT socket (tcp_time_wait)
 *     without waiting for the peer's FIN; the one RST that can follow such a CLOSE is tcp_close()'s
 *     for a negative TCP_LINGER2 (rule 9) or out of memory (a known limit: fin).
 *  8. sk_err is ECONNABORTED: abort (tcp_abort(), e.g. `ss -K`, in a state that needs no RST).
 *  9. otherwise the local side is closing it without FIN, and the kernel sends the RST, if any,
 *     right after CLOSE (tcp_close() with unread data, zero linger through tcp_disconnect()):
 *     TCP_LIFECYCLE_END_NONE here, "decide later" (see finish_pending).
 */
static __always_inline __u8 classify_end(const struct sock *sk, const struct tcp_sock *tp, const struct socket_record *r,
					 bool fin_acked)
{
	int err = sk->sk_err;
	if (err == TCPSCOPE_ETIMEDOUT)
		return TCP_LIFECYCLE_END_TIMEOUT;
	if (r->reset_received)
		return TCP_LIFECYCLE_END_RESET_RECEIVED;
	if (r->reset_sent)
		return TCP_LIFECYCLE_END_RESET_SENT;
	if (err == TCPSCOPE_ECONNRESET || err == TCPSCOPE_EPIPE)
		return TCP_LIFECYCLE_END_RESET_RECEIVED;
	if (err != 0 && err != TCPSCOPE_ECONNABORTED)
		return TCP_LIFECYCLE_END_TIMEOUT;
	if (fin_acked && sock_flag_set(sk, SOCK_DONE))
		return TCP_LIFECYCLE_END_FIN;
	if (fin_acked && sock_flag_set(sk, SOCK_DEAD) && tp->linger2 >= 0)
		return TCP_LIFECYCLE_END_FIN;
	if (err == TCPSCOPE_ECONNABORTED)
		return TCP_LIFECYCLE_END_ABORT;
	return TCP_LIFECYCLE_END_NONE;
}

/*
 * The end of a pending close when no RST followed (the socket is destroyed or reused first):
 * fin when our FIN was sent and acknowledged (an orphan in FIN_WAIT2 whose peer never sent its
 * FIN, expired by tcp_fin_timeout), else abort (closed without FIN and without RST: the RST could
 * not be allocated, or tcp_disconnect() in CLOSING / LAST_ACK with nothing left to send).
 */
static __always_inline void finish_pending(__u64 key, __u8 reset_sent)
{
	struct pending_close *p = bpf_map_lookup_elem(&tcp_lifecycle_closing, &key);
	if (!p)
		return;
	__u8 end = reset_sent ? TCP_LIFECYCLE_END_RESET_SENT : (p->fin_acked ? TCP_LIFECYCLE_END_FIN : TCP_LIFECYCLE_END_ABORT);
	__u64 cgroup_id = p->event.cgroup_id;
	__u8 role = p->event.role;
	__u64 duration = p->event.duration_ns;
	__u64 acked = p->event.bytes_sent;
	__u64 received = p->event.bytes_received;
	/* The delete claims the entry: were two programs finishing it at once, one reports it.
	 * The record is tested for NULL once, and every path after that submits or discards it: the
	 * 5.10 verifier takes a second test of a non-NULL record as possibly true, and would then see
	 * the record leak. */
	struct tcp_lifecycle_event *e = 0;
	if (p->keep_event)
		e = tcpscope_reserve(&tcp_lifecycle_events, sizeof(*e), &tcp_lifecycle_drops, TCP_LIFECYCLE_DROP_RINGBUF);
	if (e) {
		__builtin_memcpy(e, &p->event, sizeof(*e));
		e->end = end;
		if (bpf_map_delete_elem(&tcp_lifecycle_closing, &key)) {
			bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
			return;
		}
		count_close(cgroup_id, role, end, duration, acked, received);
		submit(e);
		return;
	}
	if (bpf_map_delete_elem(&tcp_lifecycle_closing, &key))
		return;
	count_close(cgroup_id, role, end, duration, acked, received);
}

static __always_inline void on_close(const struct sock *sk, __u64 key, int oldstate, __u64 now)
{
	struct socket_record *r = record_of(key);
	if (!r)
		return; /* established before the agent started, or never seen */
	struct sock_state *st = &r->st;
	const struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
	if (!st->established_ns || !tp) {
		/* A failed connect (tcp_handshake's business), or a CLOSE again while the last one
		 * waits for its RST (which keeps the record for that). */
		if (!r->close_pending)
			forget(key);
		return;
	}
	__u64 duration = now - st->established_ns;

	/* bytes_acked/bytes_received count SYN and FIN sequence space too. The SYN is in the
	 * value taken at ESTABLISHED; our FIN is in bytes_acked once acknowledged (all of write_seq
	 * acked after we sent one); the peer's FIN is in bytes_received once tcp_fin() ran, which
	 * sets SOCK_DONE. */
	__u64 acked = tp->bytes_acked - st->bytes_acked_at_established;
	__u64 received = tp->bytes_received - st->bytes_received_at_established;
	/* Our FIN was sent iff the socket went through FIN_WAIT1 (active close) or LAST_ACK (passive
	 * close); every state after those keeps to FIN_WAIT2, CLOSING and TIME_WAIT until CLOSE, so
	 * the state it leaves for CLOSE tells, and those transitions need no run of their own. */
	bool fin_sent = oldstate == TCP_FIN_WAIT1 || oldstate == TCP_FIN_WAIT2 || oldstate == TCP_CLOSING ||
			oldstate == TCP_LAST_ACK || oldstate == TCP_TIME_WAIT;
	bool fin_acked = fin_sent && tp->snd_una == tp->write_seq;
	if (fin_acked && acked > 0)
		acked -= 1;
	if (sock_flag_set(sk, SOCK_DONE) && received > 0)
		received -= 1;

	__u8 end = classify_end(sk, tp, r, fin_acked);

	/* tcp.close carries tcp.duration, tcp.retransmits and tcp.rtt */
	struct tcpscope_sampling_subject subject = {};
	subject.values[TCPSCOPE_SAMPLING_FIELD_DURATION_NS] = duration;
	subject.values[TCPSCOPE_SAMPLING_FIELD_RETRANSMITS] = tp->total_retrans;
	subject.values[TCPSCOPE_SAMPLING_FIELD_RTT_US] = tp->srtt_us >> 3;
	subject.present = (1u << TCPSCOPE_SAMPLING_FIELD_DURATION_NS) | (1u << TCPSCOPE_SAMPLING_FIELD_RETRANSMITS) |
			  (1u << TCPSCOPE_SAMPLING_FIELD_RTT_US);

	struct pending_close *p = 0;
	if (end == TCP_LIFECYCLE_END_NONE) {
		/* Rule 9: wait for the RST. A full table (more closes in progress at once than it holds)
		 * decides now, as finish_pending would without a RST. */
		p = tcpscope_lookup_or_init(&tcp_lifecycle_closing, &key);
		if (!p)
			end = fin_acked ? TCP_LIFECYCLE_END_FIN : TCP_LIFECYCLE_END_ABORT;
	}
	struct tcp_lifecycle_event *e;
	if (p) {
		p->keep_event = writes_kind(TCP_LIFECYCLE_EVENT_CLOSE) && sampled_in(st, &subject);
		e = &p->event;
		fill_event(e, st, TCP_LIFECYCLE_EVENT_CLOSE, now);
		p->fin_acked = fin_acked;
		/* The record stays, marked, for the RST or the socket's destruction that decides. */
		r->close_pending = 1;
		st->established_ns = 0;
		/* The slot syn_ns shares with connection_hash: a later ESTABLISHED of this socket whose
		 * SYN_SENT run was missed must not take the hash for the time of a SYN. */
		st->syn_ns = 0;
	} else {
		count_close(st->cgroup_id, st->role, end, duration, acked, received);
		e = reserve_event(st, TCP_LIFECYCLE_EVENT_CLOSE, now, &subject);
	}
	if (e) {
		e->duration_ns = duration;
		e->bytes_sent = acked;
		e->bytes_received = received;
		e->segments_sent = tp->segs_out;
		e->segments_received = tp->segs_in;
		e->retransmits = subject.values[TCPSCOPE_SAMPLING_FIELD_RETRANSMITS];
		e->srtt_us = subject.values[TCPSCOPE_SAMPLING_FIELD_RTT_US];
		if (!p) {
			e->end = end;
			submit(e);
		}
	}
	/* The connection is over: the record is done with, unless its close waits for a RST. */
	if (!p)
		forget(key);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp_lifecycle_set_state, const struct sock *sk, int oldstate, int newstate)
{
	/* Ten transitions per connection run this and at most three per socket do work: SYN_SENT
	 * (with events only: the owner and the SYN's time, which only events report), ESTABLISHED
	 * from a handshake, and CLOSE (which tells from the state it leaves whether our FIN was sent).
	 * Leave the others before doing anything. */
	if (newstate == TCP_SYN_SENT) {
		if (!cfg_events_enabled)
			return 0;
	} else if (newstate == TCP_ESTABLISHED) {
		if (oldstate != TCP_SYN_SENT && oldstate != TCP_SYN_RECV)
			return 0;
	} else if (newstate != TCP_CLOSE) {
		return 0;
	}
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	__u64 key = (__u64)sk;

	switch (newstate) {
	case TCP_SYN_SENT:
		on_syn_sent(sk, key, bpf_ktime_get_ns());
		break;
	case TCP_ESTABLISHED:
		on_established(sk, key, oldstate, bpf_ktime_get_ns());
		break;
	case TCP_CLOSE:
		on_close(sk, key, oldstate, bpf_ktime_get_ns());
		break;
	}
	return 0;
}

/* The reset tracepoints fire only when a RST is sent or received: nothing runs for connections
 * that end normally. Both exist since Linux 4.15 (tcp_send_reset gained its reason argument in
 * 6.10; only the socket is read here, so either signature loads). The socket's storage exists
 * only for full sockets this program tracks: bpf_sk_storage_get returns 0 for a NULL socket (a
 * RST answering a segment no socket wanted), a TIME_WAIT or a request socket. */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcp_lifecycle_reset_sent, const struct sock *sk)
{
	if (!sk)
		return 0;
	__u64 key = (__u64)sk;
	struct socket_record *r = record_of(key);
	if (!r)
		return 0;
	r->reset_sent = 1;
	if (r->close_pending) {
		/* The RST the kernel sends right after CLOSE (rule 9 of classify_end): decided. */
		finish_pending(key, 1);
		forget(key);
	}
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tcp_lifecycle_reset_received, const struct sock *sk)
{
	if (!sk)
		return 0;
	struct socket_record *r = record_of((__u64)sk);
	if (r)
		r->reset_received = 1;
	return 0;
}

/* A pending close whose socket is destroyed without a RST (rule 9 of classify_end): decided now.
 * Also any record the socket still has (a CLOSE run missed): its address is free for a new socket.
 * Runs once per destroyed TCP socket; almost always it finds nothing. */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(tcp_lifecycle_destroy, const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct socket_record *r = record_of(key);
	if (!r)
		return 0;
	if (r->close_pending)
		finish_pending(key, 0);
	forget(key);
	return 0;
}

/* accept() returns in the context of the process taking the connection: that is its owner. */
static __always_inline void on_accept_return(long ret)
{
	if (ret < 0)
		return;
	__u64 key = (__u64)tcpscope_socket_of_fd((int)ret);
	if (!key)
		return;
	struct socket_record *r = record_of(key);
	if (!r)
		return;
	struct sock_state *st = &r->st;
	/* Not once the connection is over (a CLOSE before accept(): its close waits for a RST). */
	if (st->role != TCP_LIFECYCLE_ROLE_SERVER || st->accepted || !st->established_ns)
		return;
	st->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(st->comm, sizeof(st->comm));
	st->accepted = 1;
	/* Reported with the time it reached ESTABLISHED, which is what the event describes.
	 * tcp.accept carries none of the fields a threshold compares. */
	struct tcpscope_sampling_subject subject = {};
	struct tcp_lifecycle_event *e = reserve_event(st, TCP_LIFECYCLE_EVENT_ACCEPT, st->established_ns, &subject);
	if (e)
		submit(e);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tcp_lifecycle_accept4_exit(struct trace_event_raw_sys_exit *ctx)
{
	on_accept_return(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tcp_lifecycle_accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	on_accept_return(ctx->ret);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
