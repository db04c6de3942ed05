// SPDX-License-Identifier: GPL-2.0
/* The alternative to tcp_rtt's tp_btf/tcp_probe hook, kept only to measure it side by side
 * (bench/rtt_hooks.ts, variants `sockops:*`): a sockops program on the cgroup v2 root that turns on
 * RTT callbacks for each new connection and, at every BPF_SOCK_OPS_RTT_CB, does what tcp_rtt's
 * program does: the same per-socket sample_interval gate (socket-local storage, the tick, the clock),
 * then the same per-cgroup histogram update. Unlike tcp_probe it sees only connections
 * established after it was attached, and its srtt already includes the ACK's own measurement. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tcp_rtt.h"
#include "receiver_common.h"

const volatile __u64 cfg_sample_interval_ns = 0;
const volatile __u64 cfg_bucket_upper_us[TCP_RTT_BUCKETS] = {};

/* Per cgroup, like tcp_rtt's map; test/kernel/bridge_cgroup_attach.test.ts reads it by this name
 * (one cgroup there, so one entry). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tcp_rtt_key);
	__type(value, struct tcp_rtt_histogram);
} rtt_sockops_histogram SEC(".maps");

struct rtt_sockops_socket {
	__u64 last_sample_ns;
	__u64 not_due_jiffies;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct rtt_sockops_socket);
} rtt_sockops_sockets SEC(".maps");

SEC("sockops")
int rtt_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_RTT_CB_FLAG);
		break;
	case BPF_SOCK_OPS_RTT_CB: {
		struct bpf_sock *bsk = skops->sk;
		if (!bsk)
			break;
		struct rtt_sockops_socket *state = 0;
		__u64 now = 0;
		if (cfg_sample_interval_ns) {
			state = bpf_sk_storage_get(&rtt_sockops_sockets, bsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (state) {
				__u64 tick = bpf_jiffies64();
				if (state->not_due_jiffies == tick)
					break;
				now = bpf_ktime_get_ns();
				if (state->last_sample_ns && now - state->last_sample_ns < cfg_sample_interval_ns) {
					state->not_due_jiffies = tick;
					break;
				}
			}
		}
		__u64 srtt_us = skops->srtt_us >> 3;
		if (srtt_us == 0)
			break;
		if (state)
			state->last_sample_ns = now;
		struct tcp_sock *tp = bpf_skc_to_tcp_sock(bsk);
		if (!tp)
			break;
		struct tcp_rtt_key key = {};
		key.cgroup_id = tp->inet_conn.icsk_inet.sk.sk_cgrp_data.cgroup->kn->id;
		struct tcp_rtt_histogram *h = tcpscope_lookup_or_init(&rtt_sockops_histogram, &key);
		if (!h)
			break;
		tcpscope_add(&h->count, 1);
		tcpscope_add(&h->sum_us, srtt_us);
		if (h->min_us == 0 || srtt_us < h->min_us)
			h->min_us = srtt_us;
		if (srtt_us > h->max_us)
			h->max_us = srtt_us;
		__u32 bucket = tcp_rtt_bucket(srtt_us, cfg_bucket_upper_us);
		tcpscope_add(&h->buckets[bucket & (TCP_RTT_BUCKETS - 1)], 1);
		break;
	}
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
