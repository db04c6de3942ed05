// SPDX-License-Identifier: GPL-2.0
/* tcp_handshake: every terminal outcome of every TCP handshake, from stable tracepoints only.
 *
 * Client: SYN_SENT -> ESTABLISHED (success) or SYN_SENT -> CLOSE (failure, errno from sk_err,
 * which the kernel set before closing: RST -> ECONNREFUSED, SYN retries exhausted -> ETIMEDOUT,
 * ICMP -> EHOSTUNREACH/ENETUNREACH...). connect() failing before any SYN (no route, no
 * local address, policy) is seen at sys_exit_connect. Server: SYN_RECV -> ESTABLISHED, timed
 * from the SYN-ACK by the kernel's own SYN-ACK RTT sample.
 * Every outcome is counted in the kernel histogram; filters only thin the event stream. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "tcp_handshake.h"
#include "receiver_common.h"
#include "socket_common.h"
#include "connection_sampling.h"

#define AF_INET 2
#define AF_INET6 10
#define EINTR 4
#define EINPROGRESS 115
#define EALREADY 114
#define EISCONN 106
#define ECONNABORTED 103

/* Settings written before load; names map one-to-one to config keys. */
const volatile __u32 cfg_events_enabled = 1;
/* Successful connects / accepts as events: off when tcp_lifecycle reports them already. */
const volatile __u32 cfg_established_connects = 1;
const volatile __u32 cfg_established_accepts = 1;
const volatile __u32 cfg_connect_only = 0;
const volatile __u32 cfg_failed_only = 0;
const volatile __u32 cfg_port_count = 0;
const volatile __u16 cfg_ports[TCP_HANDSHAKE_MAX_PORTS] = {};
const volatile __u32 cfg_cgroup_filter = 0; /* only sockets whose cgroup is in tcp_handshake_cgroups */
const volatile __u32 cfg_wakeup_min_bytes = 65536;
/* The sampling processor's predicate when every logs pipeline of this receiver starts with the
 * same one (written by the agent from the pipeline, not from a receiver key; zero: disabled). */
const volatile struct tcpscope_sampling_settings cfg_sampling = {};
/* Events carry connection_hash (connection_sampling.h): on when a logs pipeline of the receiver
 * samples, as in tcp_lifecycle.bpf.c. */
const volatile __u32 cfg_connection_hash = 1;

_Static_assert(sizeof(struct tcp_handshake_event) == 104, "event layout changed: update the TS decoder");
_Static_assert(sizeof(struct tcp_handshake_stats_key) == 16, "stats key layout changed");
_Static_assert(sizeof(struct tcpscope_sampling_settings) == 208, "sampling settings layout changed");
TCPSCOPE_ASSERT_ZERO_FITS(struct tcp_handshake_stats);

/* A socket's tuple as an event reports it, read before deciding whether there is an event. */
struct socket_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 netns_inode;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 _pad;
};

/* A client handshake in progress (in tcp_handshake_attempts). */
struct attempt {
	__u64 syn_ns;
	__u64 cgroup_id;
	__u32 pid;
	__s32 fd;
	__u32 reported_error; /* last error reported on the socket during the handshake */
	__u16 sport;          /* local port once connect() returned EINPROGRESS (gone at CLOSE) */
	__u16 _pad;
	char comm[TCP_HANDSHAKE_COMM_LEN];
};
/* The locked memory per max_attempts entry (src/receivers/tcp_handshake/config.ts) was measured
 * with this 48-byte value: re-measure when it grows. */
_Static_assert(sizeof(struct attempt) == 48, "attempt size changed: re-measure ATTEMPT_ENTRY_BYTES");

/* connect() in progress on a thread: what sys_exit_connect needs to report a sync failure. */
struct connect_call {
	__u64 start_ns;
	__u8 addr[28]; /* struct sockaddr_in / sockaddr_in6 as the caller passed it */
	__s32 fd;
};

/*
 * Client handshakes in progress, from SYN_SENT to their outcome (ESTABLISHED or CLOSE), keyed by
 * the socket's address. A preallocated hash sized by config `max_attempts`: when that many connects
 * are pending at once, a new one is not followed, counted in TCP_HANDSHAKE_DROP_UNTRACKED (its
 * outcome is missing from the histogram and the events); nothing followed is ever evicted. The
 * outcome deletes the entry; tcp_handshake_destroy deletes one a skipped run left behind. Why not
 * an LRU with a mark in socket local storage to count its evictions (the design before): creating
 * socket storage costs two allocations with memory-cgroup accounting per connecting socket, and
 * freeing it two RCU-deferred frees, outside the program's own run time (perf record -a under
 * connection churn: src/receivers/tcp_handshake/README.md, "Cost", has the figures).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* struct sock * */
	__type(value, struct attempt);
} tcp_handshake_attempts SEC(".maps");

/* Sockets whose attempt already ended: a later connect() on them returns the stored error
 * (EALREADY path), which must not be reported as a second, synchronous failure. The value is
 * the socket's identity (socket_identity): a new socket allocated at the same address is a different socket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} tcp_handshake_ended SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* thread id */
	__type(value, struct connect_call);
} tcp_handshake_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tcp_handshake_stats_key);
	__type(value, struct tcp_handshake_stats);
} tcp_handshake_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* cgroup id */
	__type(value, __u8);
} tcp_handshake_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} tcp_handshake_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_HANDSHAKE_DROP_KINDS);
	__type(key, __u32);
	__type(value, __u64);
} tcp_handshake_drops SEC(".maps");

/* Events the sampling predicate dropped here: intended, not lost (exported apart from drops). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tcp_handshake_sampled_out SEC(".maps");

/* bpf_get_socket_cookie() from tracing programs: Linux 5.12. Before it, the socket's inode number
 * tells sockets at the same address apart (set by the agent, src/host/kernel_features.ts). */
const volatile __u32 cfg_socket_cookie = 1;

/* What tells this socket from a later one allocated at the same address: its cookie (created
 * here if it has none yet), or its inode number. Read back by socket_identity_read. */
static __always_inline __u64 socket_identity(const struct sock *sk)
{
	if (cfg_socket_cookie)
		return bpf_get_socket_cookie((void *)sk);
	return BPF_CORE_READ((struct socket_alloc *)sk->sk_socket, vfs_inode.i_ino);
}

/* The same through probe reads (classic tracepoints); 0 when not known. */
static __always_inline __u64 socket_identity_read(const struct sock *sk)
{
	if (cfg_socket_cookie)
		return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	struct socket *sock = BPF_CORE_READ(sk, sk_socket);
	return sock ? BPF_CORE_READ((struct socket_alloc *)sock, vfs_inode.i_ino) : 0;
}

/* Written by set_state (softirq or process context) and by sys_exit_connect (process context,
 * which set_state can interrupt): updated with atomic adds (see receiver_common.h). */
static __always_inline void record_outcome(__u64 cgroup_id, __u8 role, __u32 error, __u64 duration_ns)
{
	struct tcp_handshake_stats_key key = { .cgroup_id = cgroup_id, .role = role, .error = error };
	/* Map full: the one overflow series, created by user space before attaching. */
	struct tcp_handshake_stats_key overflow = { .cgroup_id = TCP_HANDSHAKE_OVERFLOW_CGROUP };
	struct tcp_handshake_stats *stats = tcpscope_lookup_or_overflow(&tcp_handshake_stats, &key, &overflow, &tcp_handshake_drops,
									TCP_HANDSHAKE_DROP_STATS_FULL);
	if (!stats)
		return;
	tcpscope_add(&stats->count, 1);
	tcpscope_add(&stats->duration_sum_ns, duration_ns);
	__u32 bucket = tcpscope_duration_bucket(duration_ns);
	if (bucket < TCPSCOPE_DURATION_BUCKETS)
		tcpscope_add(&stats->duration_buckets[bucket], 1);
}

static __always_inline bool port_selected(__u16 port)
{
	if (cfg_port_count == 0)
		return true;
	for (int i = 0; i < TCP_HANDSHAKE_MAX_PORTS; i++) {
		if (i >= cfg_port_count)
			break;
		if (cfg_ports[i] == port)
			return true;
	}
	return false;
}

/* Filters decide only what crosses the ring buffer; metrics are recorded before them. */
static __always_inline bool event_wanted(__u8 role, __u32 error, __u64 cgroup_id, __u16 service_port)
{
	if (!cfg_events_enabled)
		return false;
	if (error == 0 && !(role == TCP_HANDSHAKE_ROLE_CLIENT ? cfg_established_connects : cfg_established_accepts))
		return false;
	if (cfg_connect_only && role != TCP_HANDSHAKE_ROLE_CLIENT)
		return false;
	if (cfg_failed_only && error == 0)
		return false;
	if (!port_selected(service_port))
		return false;
	if (cfg_cgroup_filter && !bpf_map_lookup_elem(&tcp_handshake_cgroups, &cgroup_id))
		return false;
	return true;
}

/* Whether the sampling processor after this receiver could keep the event. Every event of this
 * receiver carries tcp.handshake.duration, and error.type when `error` is set; the subject's tuple
 * is the one the event reports. Counted when the processor would drop it. */
static __always_inline bool sampled_in(struct tcpscope_sampling_subject *subject, __u64 duration, __u32 error)
{
	/* The event's connection_hash, hashed here once: the predicate reads it instead of hashing. */
	subject->record_hash = cfg_connection_hash ? tcpscope_record_hash(subject) : 0;
	subject->values[TCPSCOPE_SAMPLING_FIELD_HANDSHAKE_DURATION_NS] = duration;
	subject->present = 1u << TCPSCOPE_SAMPLING_FIELD_HANDSHAKE_DURATION_NS;
	subject->error = error;
	if (tcpscope_sampling_keeps(&cfg_sampling, subject))
		return true;
	tcpscope_count(&tcp_handshake_sampled_out, 0);
	return false;
}

static __always_inline void subject_of_tuple(struct tcpscope_sampling_subject *subject, const struct socket_tuple *t)
{
	subject->saddr = t->saddr;
	subject->daddr = t->daddr;
	subject->family = t->family;
	subject->sport = t->sport;
	subject->dport = t->dport;
}

static __always_inline void copy_tuple(struct tcp_handshake_event *e, const struct socket_tuple *t)
{
	__builtin_memcpy(e->saddr, t->saddr, 16);
	__builtin_memcpy(e->daddr, t->daddr, 16);
	e->netns_inode = t->netns_inode;
	e->sport = t->sport;
	e->dport = t->dport;
	e->family = t->family;
}

static __always_inline struct tcp_handshake_event *reserve_event(void)
{
	return tcpscope_reserve(&tcp_handshake_events, sizeof(struct tcp_handshake_event), &tcp_handshake_drops,
				TCP_HANDSHAKE_DROP_RINGBUF);
}

/* Wake user space only when pending bytes cross the threshold; its drain timer does the rest. */
static __always_inline void submit(struct tcp_handshake_event *e)
{
	tcpscope_submit(&tcp_handshake_events, e, sizeof(*e), cfg_wakeup_min_bytes);
}

static __always_inline void on_syn_sent(const struct sock *sk, __u64 key)
{
	/* tcp_v4/v6_connect() runs this inside connect(): current is the caller. */
	struct attempt a = {};
	a.syn_ns = bpf_ktime_get_ns();
	a.cgroup_id = tcpscope_socket_cgroup_id(sk);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	a.pid = pid_tgid >> 32;
	a.fd = -1;
	__u32 tid = (__u32)pid_tgid;
	struct connect_call *call = bpf_map_lookup_elem(&tcp_handshake_calls, &tid);
	if (call)
		a.fd = call->fd;
	bpf_get_current_comm(a.comm, sizeof(a.comm));
	/* One table operation. BPF_ANY: an entry already there is one a skipped run left behind for
	 * this socket (a socket leaves SYN_SENT before it can enter it again), replaced. */
	if (tcpscope_insert_or_count(&tcp_handshake_attempts, &key, &a, BPF_ANY, &tcp_handshake_drops,
				     TCP_HANDSHAKE_DROP_UNTRACKED) == -TCPSCOPE_E2BIG) {
		/* max_attempts connects pending at once: this one is not followed, counted. Its error,
		 * should connect() return one, is this attempt's outcome, not a failure before any SYN:
		 * marked as ended so that sys_exit_connect does not report it. */
		__u64 identity = socket_identity(sk);
		bpf_map_update_elem(&tcp_handshake_ended, &key, &identity, BPF_ANY);
		return;
	}
	/* Looked up first: it is almost never there, and a lookup takes no lock where a delete
	 * takes the bucket's (perf record -a under churn: ~0.4 us per connection for the delete). */
	if (bpf_map_lookup_elem(&tcp_handshake_ended, &key))
		bpf_map_delete_elem(&tcp_handshake_ended, &key);
}

static __always_inline void report_client_outcome(const struct sock *sk, __u64 key, struct attempt *a, __u32 error, __u64 now)
{
	__u64 duration = now - a->syn_ns;
	record_outcome(a->cgroup_id, TCP_HANDSHAKE_ROLE_CLIENT, error, duration);
	__u16 dport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (event_wanted(TCP_HANDSHAKE_ROLE_CLIENT, error, a->cgroup_id, dport)) {
		struct socket_tuple tuple = {};
		TCPSCOPE_READ_TUPLE(sk, &tuple);
		if (tuple.sport == 0)
			tuple.sport = a->sport; /* a failed attempt's port is released before CLOSE is traced */
		struct tcpscope_sampling_subject subject = {};
		subject_of_tuple(&subject, &tuple);
		struct tcp_handshake_event *e = sampled_in(&subject, duration, error) ? reserve_event() : 0;
		if (e) {
			e->timestamp_ns = now;
			e->duration_ns = duration;
			e->cgroup_id = a->cgroup_id;
			copy_tuple(e, &tuple);
			e->pid = a->pid;
			e->fd = a->fd;
			e->error = error;
			e->kind = TCP_HANDSHAKE_OUTCOME;
			e->role = TCP_HANDSHAKE_ROLE_CLIENT;
			__builtin_memcpy(e->comm, a->comm, TCP_HANDSHAKE_COMM_LEN);
			e->connection_hash = subject.record_hash;
			submit(e);
		}
	}
	bpf_map_delete_elem(&tcp_handshake_attempts, &key);
	if (error) {
		__u64 identity = socket_identity(sk);
		bpf_map_update_elem(&tcp_handshake_ended, &key, &identity, BPF_ANY);
	}
}

static __always_inline void on_client_close(const struct sock *sk, __u64 key)
{
	struct attempt *a = bpf_map_lookup_elem(&tcp_handshake_attempts, &key);
	if (!a)
		return; /* not followed (counted at SYN_SENT), or SYN sent before the agent started */
	/* RST and exhausted SYN retries set sk_err before closing. An ICMP unreachable during
	 * SYN_SENT is a soft error here (sk_err_soft, error report, SYNs go on): an application that
	 * gives up on it reads it with SO_ERROR (which clears it) and closes, so the error the
	 * report saw is what ended the attempt. A socket closed with no error at all: ECONNABORTED. */
	__u32 error = sk->sk_err;
	if (error == 0)
		error = sk->sk_err_soft;
	if (error == 0)
		error = a->reported_error;
	if (error == 0)
		error = ECONNABORTED;
	report_client_outcome(sk, key, a, error, bpf_ktime_get_ns());
}

SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(tcp_handshake_error_report, const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct attempt *a = bpf_map_lookup_elem(&tcp_handshake_attempts, &key);
	if (!a)
		return 0;
	__u32 error = sk->sk_err;
	if (error == 0)
		error = sk->sk_err_soft;
	if (error)
		a->reported_error = error;
	return 0;
}

static __always_inline void on_server_established(const struct sock *sk)
{
	/* The child socket reaches ESTABLISHED right after the kernel took its SYN-ACK RTT sample
	 * (tcp_synack_rtt_meas): that sample is the time from SYN-ACK to the final ACK. */
	const struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
	if (!tp)
		return;
	__u64 duration = (__u64)(tp->srtt_us >> 3) * 1000;
	__u64 cgroup_id = tcpscope_socket_cgroup_id(sk);
	record_outcome(cgroup_id, TCP_HANDSHAKE_ROLE_SERVER, 0, duration);
	__u16 sport = sk->__sk_common.skc_num;
	if (!event_wanted(TCP_HANDSHAKE_ROLE_SERVER, 0, cgroup_id, sport))
		return;
	struct socket_tuple tuple = {};
	TCPSCOPE_READ_TUPLE(sk, &tuple);
	struct tcpscope_sampling_subject subject = {};
	subject_of_tuple(&subject, &tuple);
	if (!sampled_in(&subject, duration, 0))
		return;
	struct tcp_handshake_event *e = reserve_event();
	if (!e)
		return;
	e->timestamp_ns = bpf_ktime_get_ns();
	e->duration_ns = duration;
	e->cgroup_id = cgroup_id;
	copy_tuple(e, &tuple);
	e->pid = 0; /* softirq: no owner yet (tcp_lifecycle's tcp.accept names it) */
	e->fd = -1;
	e->error = 0;
	e->kind = TCP_HANDSHAKE_OUTCOME;
	e->role = TCP_HANDSHAKE_ROLE_SERVER;
	__builtin_memset(e->comm, 0, TCP_HANDSHAKE_COMM_LEN);
	e->connection_hash = subject.record_hash;
	submit(e);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp_handshake_set_state, const struct sock *sk, int oldstate, int newstate)
{
	if (newstate == TCP_SYN_SENT) {
		if (sk->sk_protocol == IPPROTO_TCP)
			on_syn_sent(sk, (__u64)sk);
		return 0;
	}
	if (oldstate == TCP_SYN_SENT && (newstate == TCP_ESTABLISHED || newstate == TCP_CLOSE)) {
		if (sk->sk_protocol != IPPROTO_TCP)
			return 0;
		__u64 key = (__u64)sk;
		if (newstate == TCP_CLOSE) {
			on_client_close(sk, key);
			return 0;
		}
		struct attempt *a = bpf_map_lookup_elem(&tcp_handshake_attempts, &key);
		if (a)
			report_client_outcome(sk, key, a, 0, bpf_ktime_get_ns());
		return 0;
	}
	if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED && sk->sk_protocol == IPPROTO_TCP)
		on_server_established(sk);
	return 0;
}

/* An attempt whose outcome run the kernel skipped (counted in missed_runs) would hold its entry
 * for good: the socket's end frees it. Runs once per destroyed TCP socket; almost always it finds
 * nothing, with a lookup that takes no lock. */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(tcp_handshake_destroy, const struct sock *sk)
{
	__u64 key = (__u64)sk;
	if (bpf_map_lookup_elem(&tcp_handshake_attempts, &key))
		bpf_map_delete_elem(&tcp_handshake_attempts, &key);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int tcp_handshake_connect_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct connect_call call = {};
	const void *uaddr = (const void *)ctx->args[1];
	if (bpf_probe_read_user(call.addr, sizeof(call.addr), uaddr)) {
		/* shorter sockaddr (sockaddr_in is 16 bytes): read what is there */
		if (bpf_probe_read_user(call.addr, 16, uaddr))
			return 0;
	}
	__u16 family = *(__u16 *)call.addr;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	call.start_ns = bpf_ktime_get_ns();
	call.fd = (__s32)ctx->args[0];
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&tcp_handshake_calls, &tid, &call, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int tcp_handshake_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct connect_call *call = bpf_map_lookup_elem(&tcp_handshake_calls, &tid);
	if (!call)
		return 0;
	long ret = ctx->ret;
	__u32 error = ret < 0 ? (__u32)-ret : 0;
	if (error == EINPROGRESS) {
		/* The SYN is out and the local port bound: keep it for the outcome. */
		const struct sock *pending = tcpscope_socket_of_fd(call->fd);
		__u64 pending_key = (__u64)pending;
		struct attempt *a = pending ? bpf_map_lookup_elem(&tcp_handshake_attempts, &pending_key) : 0;
		if (a)
			a->sport = BPF_CORE_READ(pending, __sk_common.skc_num);
		goto done;
	}
	/* Success, or about an attempt that is (or was) reported on its own. */
	if (error == 0 || error == EALREADY || error == EISCONN || error == EINTR)
		goto done;
	const struct sock *sk = tcpscope_socket_of_fd(call->fd);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP || BPF_CORE_READ(sk, sk_type) != 1 /* SOCK_STREAM */)
		goto done;
	__u64 key = (__u64)sk;
	struct attempt *a = bpf_map_lookup_elem(&tcp_handshake_attempts, &key);
	if (a) {
		/* A SYN is out: the outcome is reported from the state change, with this error if the
		 * socket no longer holds one by then (a soft error the application gave up on). */
		a->reported_error = error;
		goto done;
	}
	__u64 *ended_identity = bpf_map_lookup_elem(&tcp_handshake_ended, &key);
	if (ended_identity) {
		__u64 identity = socket_identity_read(sk);
		bool same_socket = identity != 0 && identity == *ended_identity;
		bpf_map_delete_elem(&tcp_handshake_ended, &key);
		if (same_socket)
			goto done; /* connect() returning the error of an attempt already reported */
	}
	__u64 now = bpf_ktime_get_ns();
	__u64 duration = now - call->start_ns;
	__u64 cgroup_id = tcpscope_socket_cgroup_id_read(sk);
	record_outcome(cgroup_id, TCP_HANDSHAKE_ROLE_CLIENT, error, duration);

	__u16 family = *(__u16 *)call->addr;
	__u16 dport = bpf_ntohs(*(__u16 *)(call->addr + 2));
	if (!event_wanted(TCP_HANDSHAKE_ROLE_CLIENT, error, cgroup_id, dport))
		goto done;
	/* No local address was bound: the event has none, and the processor hashes it as zeros. */
	struct tcpscope_sampling_subject subject = {};
	subject.daddr = family == AF_INET6 ? call->addr + 8 : call->addr + 4; /* sin6_addr / sin_addr */
	subject.family = family;
	subject.dport = dport;
	subject.local_absent = 1;
	subject.saddr = call->addr; /* never read (local_absent), but a valid pointer for the verifier */
	if (!sampled_in(&subject, duration, error))
		goto done;
	struct tcp_handshake_event *e = reserve_event();
	if (!e)
		goto done;
	e->timestamp_ns = now;
	e->duration_ns = duration;
	e->cgroup_id = cgroup_id;
	__builtin_memset(e->saddr, 0, 16);
	__builtin_memset(e->daddr, 0, 16);
	if (family == AF_INET6)
		__builtin_memcpy(e->daddr, call->addr + 8, 16);   /* sin6_addr */
	else
		__builtin_memcpy(e->daddr, call->addr + 4, 4);    /* sin_addr */
	e->netns_inode = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->fd = call->fd;
	e->error = error;
	e->sport = 0;
	e->dport = dport;
	e->family = family;
	e->kind = TCP_HANDSHAKE_SYNC_FAILURE;
	e->role = TCP_HANDSHAKE_ROLE_CLIENT;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->connection_hash = subject.record_hash;
	submit(e);
done:
	bpf_map_delete_elem(&tcp_handshake_calls, &tid);
	return 0;
}

/* getsockopt(SO_ERROR) is how non-blocking connects learn their outcome, and it clears the
 * error it returns: read it first, so a soft error (ICMP unreachable during SYN_SENT) that makes
 * the application give up is still the error of the attempt when the socket closes. */
SEC("tracepoint/syscalls/sys_enter_getsockopt")
int tcp_handshake_getsockopt_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[1] != 1 /* SOL_SOCKET */ || ctx->args[2] != 4 /* SO_ERROR */)
		return 0;
	const struct sock *sk = tcpscope_socket_of_fd((int)ctx->args[0]);
	if (!sk)
		return 0;
	__u64 key = (__u64)sk;
	struct attempt *a = bpf_map_lookup_elem(&tcp_handshake_attempts, &key);
	if (!a)
		return 0;
	__u32 error = BPF_CORE_READ(sk, sk_err);
	if (error == 0)
		error = BPF_CORE_READ(sk, sk_err_soft);
	if (error)
		a->reported_error = error;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
