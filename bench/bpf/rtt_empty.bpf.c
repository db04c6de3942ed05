// SPDX-License-Identifier: GPL-2.0
/* The floor of any tcp:tcp_probe hook: a tp_btf program that returns at once. Kept only to measure
 * what the attachment itself costs per segment beside tcp_rtt's program (bench/rtt_hooks.ts,
 * variant `empty`). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/tcp_probe")
int BPF_PROG(rtt_empty, struct sock *sk, const struct sk_buff *skb)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
