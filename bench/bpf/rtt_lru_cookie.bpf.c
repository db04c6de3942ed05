// SPDX-License-Identifier: GPL-2.0
/* tcp_rtt's program as it was before the per-socket state moved to socket-local storage (agent at
 * 5d2513c): the last sample time in an LRU hash keyed by the socket cookie. Kept only to measure
 * it side by side with bpf/tcp_rtt.bpf.c (bench/rtt_hooks.ts, variants `lru:*`); map and program
 * names are those of the receiver, so TcpRttReceiver loads it in place of its own object. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "tcp_rtt.h"
#include "receiver_common.h"

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

/* Last sample time per socket, only used with sample_interval > 0, keyed by the socket cookie:
 * unique for the socket's lifetime, where the socket's address is reused as soon as the socket is
 * freed (a new socket would inherit a closed one's last sample time and give none for the
 * interval). LRU: sockets vanish. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} tcp_rtt_last_sample SEC(".maps");

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
	const struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	__u64 srtt_us = tp->srtt_us >> 3;
	if (srtt_us == 0)
		return 0; /* no RTT sample yet */
	if (cfg_sample_interval_ns) {
		__u64 now = bpf_ktime_get_ns();
		__u64 key = bpf_get_socket_cookie(sk);
		__u64 *last = bpf_map_lookup_elem(&tcp_rtt_last_sample, &key);
		if (last && now - *last < cfg_sample_interval_ns)
			return 0;
		bpf_map_update_elem(&tcp_rtt_last_sample, &key, &now, BPF_ANY);
	}
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
