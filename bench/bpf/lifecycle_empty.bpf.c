// SPDX-License-Identifier: GPL-2.0
/* The floor of tcp_lifecycle's metrics-mode hooks: tp_btf programs on inet_sock_set_state and
 * tcp_destroy_sock that return at once. Kept only to measure what the attachments themselves cost
 * per connection beside tcp_lifecycle's programs (bench/lifecycle_hooks.ts, variant `empty`). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(lifecycle_empty_set_state, const struct sock *sk, int oldstate, int newstate)
{
	return 0;
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(lifecycle_empty_destroy, const struct sock *sk)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
