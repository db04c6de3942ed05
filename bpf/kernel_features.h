/* Kernel features a program can do without, each behind a `const volatile` switch the agent writes
 * before load from what it found in the running kernel's BTF (src/host/kernel_features.ts). The
 * verifier knows a frozen read-only global's value and never walks the branch it rules out, so a
 * helper the kernel does not allow in that branch does not stop the program from loading.
 * Include after receiver_common.h (tcpscope_zero). */
#ifndef TCPSCOPE_KERNEL_FEATURES_H
#define TCPSCOPE_KERNEL_FEATURES_H

/* bpf_sk_storage_get/delete() from tracing programs (tp_btf): Linux 5.11. Before it, an LRU hash
 * keyed by the socket's address stands in: it can evict a live socket's entry under pressure and
 * an entry outlives its socket until the socket's address is reused or the hash evicts it. */
const volatile __u32 cfg_socket_storage = 1;

/* Socket-owned state of `sk` in `storage` (BPF_MAP_TYPE_SK_STORAGE), or in `by_address` (an
 * LRU_HASH keyed by the socket's address, with the same value type) on kernels without socket
 * storage in tracing programs. Created zeroed when `create`; 0 when absent or not creatable. */
static __always_inline void *tcpscope_socket_state(void *storage, void *by_address, const struct sock *sk, bool create)
{
	if (cfg_socket_storage)
		return bpf_sk_storage_get(storage, (void *)sk, 0, create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
	__u64 key = (__u64)sk;
	void *value = bpf_map_lookup_elem(by_address, &key);
	if (value || !create)
		return value;
	bpf_map_update_elem(by_address, &key, tcpscope_zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(by_address, &key);
}

static __always_inline void tcpscope_socket_state_delete(void *storage, void *by_address, const struct sock *sk)
{
	if (cfg_socket_storage) {
		bpf_sk_storage_delete(storage, (void *)sk);
		return;
	}
	__u64 key = (__u64)sk;
	bpf_map_delete_elem(by_address, &key);
}

/* The fallback map of a socket storage map: user space sizes it (1 entry when socket storage is
 * there, the receiver's socket budget otherwise). */
#define TCPSCOPE_SOCKET_STATE_BY_ADDRESS(name, value_type)      \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_LRU_HASH);            \
		__uint(max_entries, 65536);                     \
		__type(key, __u64);                             \
		__type(value, value_type);                      \
	} name SEC(".maps")

#endif
