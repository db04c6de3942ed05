// SPDX-License-Identifier: GPL-2.0
/* The alternative to tcp_rtt's tp_btf/tcp_probe hook, kept only to measure it side by side
 * (bench/rtt_hooks.ts): a sockops program on the cgroup v2 root that turns on RTT callbacks for
 * each new connection and does the same histogram update at every BPF_SOCK_OPS_RTT_CB. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tcp_rtt.h"

const volatile __u64 cfg_bucket_upper_us[TCP_RTT_BUCKETS] = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcp_rtt_histogram);
} rtt_sockops_histogram SEC(".maps");

SEC("sockops")
int rtt_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_RTT_CB_FLAG);
		break;
	case BPF_SOCK_OPS_RTT_CB: {
		__u64 srtt_us = skops->srtt_us >> 3;
		if (srtt_us == 0)
			break;
		__u32 zero = 0;
		struct tcp_rtt_histogram *h = bpf_map_lookup_elem(&rtt_sockops_histogram, &zero);
		if (!h)
			break;
		__sync_fetch_and_add(&h->count, 1);
		__sync_fetch_and_add(&h->sum_us, srtt_us);
		__u32 bucket = tcp_rtt_bucket(srtt_us, cfg_bucket_upper_us);
		__sync_fetch_and_add(&h->buckets[bucket & (TCP_RTT_BUCKETS - 1)], 1);
		break;
	}
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
