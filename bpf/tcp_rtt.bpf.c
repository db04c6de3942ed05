// SPDX-License-Identifier: GPL-2.0
/* tcp_rtt: the smoothed RTT of established sockets at each incoming ACK (tcp:tcp_probe), in
 * per-CPU, per-cgroup (optionally per-peer) exponential histograms kept in the kernel. Nothing
 * crosses to user space per sample; the maps are read once per collection interval. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "tcp_rtt.h"
#include "receiver_common.h"
#include "kernel_features.h"

#define AF_INET6 10

/* Settings written before load; names map one-to-one to config keys. */
const volatile __u64 cfg_sample_interval_ns = 0;
const volatile __u32 cfg_group_peer_address = 0;
const volatile __u32 cfg_group_peer_port = 0;
const volatile __u64 cfg_bucket_upper_us[TCP_RTT_BUCKETS] = {};

_Static_assert(sizeof(struct tcp_rtt_key) == 32, "key layout changed: update the TS decoder");
_Static_assert(sizeof(struct tcp_rtt_histogram) == 32 + 8 * TCP_RTT_BUCKETS, "histogram layout changed");
TCPSCOPE_ASSERT_ZERO_FITS(struct tcp_rtt_histogram);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tcp_rtt_key);
	__type(value, struct tcp_rtt_histogram);
} tcp_rtt_histograms SEC(".maps");

/* Per-socket state, only used with sample_interval > 0, in socket-local storage: the kernel frees
 * it with the socket, so a new socket never inherits a closed one's time (the address of a freed
 * socket is reused at once), nothing is evicted while the socket lives, and the lookup is the
 * socket's own storage instead of a hash of its cookie in an LRU map (measured in
 * docs/benchmarks.md, "tcp_rtt: what a segment costs"). */
struct tcp_rtt_socket {
	__u64 last_sample_ns; /* 0: no sample yet (the storage is created zeroed) */
	/* The jiffy (scheduler tick) in which the clock last said "interval not elapsed": until the
	 * next tick the answer cannot be "elapsed" by more than a tick, so the socket's next segments
	 * in this tick skip the clock read, which costs about as much as the rest of the gate here. */
	__u64 not_due_jiffies;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tcp_rtt_socket);
} tcp_rtt_sockets SEC(".maps");

/* tcp_rtt_sockets on kernels before 5.11 (kernel_features.h). */
TCPSCOPE_SOCKET_STATE_BY_ADDRESS(tcp_rtt_sockets_by_address, struct tcp_rtt_socket);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_RTT_DROP_KINDS);
	__type(key, __u32);
	__type(value, __u64);
} tcp_rtt_drops SEC(".maps");

static __always_inline struct tcp_rtt_histogram *histogram_for(struct tcp_rtt_key *key)
{
	/* Map full: the overflow series (created by user space before attaching), counted. */
	struct tcp_rtt_key overflow = { .cgroup_id = TCP_RTT_OVERFLOW_CGROUP };
	return tcpscope_lookup_or_overflow(&tcp_rtt_histograms, key, &overflow, &tcp_rtt_drops, TCP_RTT_DROP_STATS_FULL);
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(tcp_rtt_probe, struct sock *sk, const struct sk_buff *skb)
{
	/* With an interval, most runs end here: the socket's own storage, and the clock at most
	 * about once per tick (a due sample waits at most one tick, 1-10 ms; samples stay at least
	 * sample_interval apart, by the ns clock). */
	struct tcp_rtt_socket *state = 0;
	__u64 now = 0;
	if (cfg_sample_interval_ns) {
		state = tcpscope_socket_state(&tcp_rtt_sockets, &tcp_rtt_sockets_by_address, sk, true);
		/* No storage (allocation failed under memory pressure): sample, as without an interval;
		 * nothing is lost, the socket only gives more samples. */
		if (state) {
			__u64 tick = bpf_jiffies64();
			if (state->not_due_jiffies == tick)
				return 0;
			now = bpf_ktime_get_ns();
			if (state->last_sample_ns && now - state->last_sample_ns < cfg_sample_interval_ns) {
				state->not_due_jiffies = tick;
				return 0;
			}
		}
	}
	const struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	__u64 srtt_us = tp->srtt_us >> 3;
	if (srtt_us == 0)
		return 0; /* no RTT sample yet: the socket's next segment may give the first */
	if (state)
		state->last_sample_ns = now;
	struct tcp_rtt_key key = {};
	key.cgroup_id = tcpscope_socket_cgroup_id(sk);
	if (cfg_group_peer_address) {
		key.family = sk->__sk_common.skc_family;
		if (key.family == AF_INET6) {
			__builtin_memcpy(key.peer_addr, sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8, 16);
		} else {
			__u32 daddr = sk->__sk_common.skc_daddr;
			__builtin_memcpy(key.peer_addr, &daddr, 4);
		}
	}
	if (cfg_group_peer_port)
		key.peer_port = bpf_ntohs(sk->__sk_common.skc_dport);

	struct tcp_rtt_histogram *h = histogram_for(&key);
	if (!h)
		return 0;
	/* The only program writing this value, and the kernel skips (and counts in recursion_misses)
	 * a run that would nest in a running one on this CPU, e.g. softirq ACK processing during
	 * the process-context backlog run at release_sock: no update is interleaved here. Counters
	 * use tcpscope_add anyway, as every per-CPU counter does (receiver_common.h); min/max are
	 * hints. */
	tcpscope_add(&h->count, 1);
	tcpscope_add(&h->sum_us, srtt_us);
	if (h->min_us == 0 || srtt_us < h->min_us)
		h->min_us = srtt_us;
	if (srtt_us > h->max_us)
		h->max_us = srtt_us;
	__u32 bucket = tcp_rtt_bucket(srtt_us, cfg_bucket_upper_us);
	tcpscope_add(&h->buckets[bucket & (TCP_RTT_BUCKETS - 1)], 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
