/* What every receiver's kernel program does the same way: count losses, find-or-create a series
 * in a per-CPU aggregate map, reserve and submit ring buffer events, read a socket's cgroup.
 * A new receiver includes this header after vmlinux.h and the libbpf headers. Header-only: every
 * function is inlined, so map pointers stay constants for the verifier.
 *
 * Per-CPU values and concurrency (the rule every program here follows):
 * - A tracing program never runs nested in itself on one CPU: the kernel skips the nested run
 *   (prog->active for tp_btf/raw_tp, bpf_prog_active for classic tracepoints) and counts it in
 *   bpf_prog_info.recursion_misses, which the agent exports as tcpscope.receiver.missed_runs.
 * - Different programs of one object DO nest on one CPU: a syscall tracepoint run (process
 *   context: accept, connect, getsockopt) is interrupted by softirq packet processing that runs
 *   the tp_btf inet_sock_set_state program. When both update the same per-CPU value (the drop
 *   and sampled-out counters of tcp_lifecycle and tcp_handshake; tcp_handshake's outcome
 *   histogram, written by set_state and by sys_exit_connect), a plain `+=` can lose the inner
 *   update between the outer load and store.
 * So every counter in a per-CPU value is added to with tcpscope_add (an atomic add: on a value
 * no other CPU touches it costs a few cycles, no contention), also where today only one program
 * writes the value (tcp_rtt, tcp_lifecycle's stats): one rule, nothing to re-check when a
 * program is added. Non-counter fields (min/max) are hints, written plainly. */
#ifndef TCPSCOPE_RECEIVER_COMMON_H
#define TCPSCOPE_RECEIVER_COMMON_H

/* Room of the shared zero value: the largest per-CPU aggregate value of any program (tcp_rtt's
 * histogram, 2080 bytes). Each program asserts its value fits (TCPSCOPE_ASSERT_ZERO_FITS). */
#define TCPSCOPE_ZERO_BYTES 2080

/* The one zero value new series are created from: aggregate values are too large for the
 * 512-byte BPF stack, and a map value pointer (this global's section) is what update accepts. */
static const __u8 tcpscope_zero[TCPSCOPE_ZERO_BYTES] __attribute__((aligned(8))) = {};

/* -E2BIG from bpf_map_update_elem: a preallocated hash is full. */
#define TCPSCOPE_E2BIG 7
/* -EEXIST from bpf_map_update_elem with BPF_NOEXIST: the key is there already. */
#define TCPSCOPE_EEXIST 17

#define TCPSCOPE_ASSERT_ZERO_FITS(type) \
	_Static_assert(sizeof(type) <= TCPSCOPE_ZERO_BYTES, #type " is larger than tcpscope_zero: raise TCPSCOPE_ZERO_BYTES")

/* Adds to a counter in a per-CPU value (see the rule above). */
static __always_inline void tcpscope_add(__u64 *counter, __u64 value)
{
	__sync_fetch_and_add(counter, value);
}

static __always_inline void tcpscope_add_signed(__s64 *counter, __s64 value)
{
	__sync_fetch_and_add(counter, value);
}

/* Adds one to slot `index` of a per-CPU array of u64 counters (lost events, full maps). */
static __always_inline void tcpscope_count(void *counters, __u32 index)
{
	__u64 *counter = bpf_map_lookup_elem(counters, &index);
	if (counter)
		tcpscope_add(counter, 1);
}

/* Inserts `value` at `key` into a preallocated hash of per-socket state; when the hash is full
 * (its size is the receiver's limit), counts counters[index]: what is not inserted is not followed.
 * Returns bpf_map_update_elem's result. */
static __always_inline long tcpscope_insert_or_count(void *map, const void *key, const void *value, __u64 flags,
						     void *counters, __u32 index)
{
	long err = bpf_map_update_elem(map, key, value, flags);
	if (err == -TCPSCOPE_E2BIG)
		tcpscope_count(counters, index);
	return err;
}

/* The value of `key` in an aggregate map, created zeroed when absent; 0 when the map is full.
 * BPF_NOEXIST: when another CPU created it meanwhile, the update fails and the lookup finds it. */
static __always_inline void *tcpscope_lookup_or_init(void *map, const void *key)
{
	void *value = bpf_map_lookup_elem(map, key);
	if (value)
		return value;
	bpf_map_update_elem(map, key, tcpscope_zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* Like tcpscope_lookup_or_init, but a full map folds the update into the overflow series (which
 * user space creates before attaching) and counts it in slot `full_index` of `drops`. */
static __always_inline void *tcpscope_lookup_or_overflow(void *map, const void *key, const void *overflow_key, void *drops,
							 __u32 full_index)
{
	void *value = tcpscope_lookup_or_init(map, key);
	if (value)
		return value;
	tcpscope_count(drops, full_index);
	return bpf_map_lookup_elem(map, overflow_key);
}

/* A ring buffer record of `size` bytes, or 0 counted in slot `index` of `drops` (ring full). */
static __always_inline void *tcpscope_reserve(void *ring, __u64 size, void *drops, __u32 index)
{
	void *record = bpf_ringbuf_reserve(ring, size, 0);
	if (!record)
		tcpscope_count(drops, index);
	return record;
}

/* Bytes a record takes in the ring buffer: an 8-byte header, rounded up to 8. */
#define TCPSCOPE_RINGBUF_RECORD_BYTES(size) (((size) + 8 + 7) / 8 * 8)

/* Submits with batched wake-ups: a wake-up per event costs more than the event itself. Only the
 * record that makes the pending data cross `wakeup_min_bytes` wakes user space; while it lags
 * behind it is busy draining anyway, and when traffic is quiet its drain timer reads what is
 * left. (The reserved, not yet submitted record is already counted in AVAIL_DATA.) */
static __always_inline void tcpscope_submit(void *ring, void *record, __u64 size, __u64 wakeup_min_bytes)
{
	__u64 pending = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
	bool crossing = pending >= wakeup_min_bytes && pending < wakeup_min_bytes + TCPSCOPE_RINGBUF_RECORD_BYTES(size);
	bpf_ringbuf_submit(record, crossing ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* Before 5.15 sock_cgroup_data was a tagged u64: a cgroup pointer unless one of the low two bits
 * is set (net_prio/net_cls data), when the socket counts as in the root cgroup. */
struct sock_cgroup_data___tcpscope_old {
	__u64 val;
} __attribute__((preserve_access_index));

#define TCPSCOPE_ROOT_CGROUP_ID 1

static __always_inline __u64 tcpscope_old_cgroup_id(const struct sock *sk)
{
	struct sock_cgroup_data___tcpscope_old *data = (void *)&sk->sk_cgrp_data;
	__u64 val = BPF_CORE_READ(data, val);
	if (!val || (val & 3))
		return TCPSCOPE_ROOT_CGROUP_ID;
	return BPF_CORE_READ((struct cgroup *)val, kn, id);
}

/* The cgroup v2 id of a socket (the inode number of its cgroup directory). `sk` must be a BTF
 * pointer (tp_btf arguments): the current layout is read directly, which costs no helper call
 * on the per-packet path. */
static __always_inline __u64 tcpscope_socket_cgroup_id(const struct sock *sk)
{
	if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		return sk->sk_cgrp_data.cgroup->kn->id;
	return tcpscope_old_cgroup_id(sk);
}

/* The same for a socket reached through probe reads (classic tracepoints: no BTF pointers). */
static __always_inline __u64 tcpscope_socket_cgroup_id_read(const struct sock *sk)
{
	if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
	return tcpscope_old_cgroup_id(sk);
}

#endif
