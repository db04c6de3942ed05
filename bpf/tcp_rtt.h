/* Structs shared between bpf/tcp_rtt.bpf.c and src/receivers/tcp_rtt/.
 * Fixed-width fields only, largest first, explicit padding; checked by layout.test.ts. */
#ifndef TCPSCOPE_TCP_RTT_H
#define TCPSCOPE_TCP_RTT_H

/* The kernel histogram is an OpenTelemetry exponential histogram at scale 3 (8 buckets per power
 * of two) over the RTT in SECONDS: bucket k holds OTel index k + TCP_RTT_INDEX_OFFSET, i.e.
 * values v with 2^((i)/8) < v <= 2^((i+1)/8) s. Index -160 is the bucket of 1 us, index 95 ends
 * at 4096 s. Lower scales are exact merges (index >> (3 - scale)), done in user space. */
#define TCP_RTT_SCALE 3
#define TCP_RTT_BUCKETS 256
#define TCP_RTT_INDEX_OFFSET (-160)

#define TCP_RTT_DROP_STATS_FULL 0
#define TCP_RTT_DROP_KINDS 1

#define TCP_RTT_OVERFLOW_CGROUP 0xffffffffffffffffULL

struct tcp_rtt_key {
	__u64 cgroup_id;
	__u8 peer_addr[16]; /* zero unless grouped by peer address */
	__u16 peer_port;    /* zero unless grouped by peer port */
	__u16 family;       /* zero unless grouped by peer address */
	__u32 _pad;
};

struct tcp_rtt_histogram {
	__u64 count;
	__u64 sum_us;
	__u64 min_us;       /* 0 = no sample on this CPU */
	__u64 max_us;
	__u64 buckets[TCP_RTT_BUCKETS];
};

/* Bucket of a whole number of microseconds, given the inclusive upper bounds of each bucket in
 * microseconds (floor(1e6 * 2^((k + OFFSET + 1) / 8)), written by user space). Binary search:
 * the smallest k with us <= upper[k]; the last bucket takes everything above. */
static inline __u32 tcp_rtt_bucket(__u64 us, const volatile __u64 *upper)
{
	__u32 low = 0, high = TCP_RTT_BUCKETS - 1;
#ifdef __clang__
#pragma unroll
#endif
	for (int step = 0; step < 8; step++) { /* 2^8 = TCP_RTT_BUCKETS: 8 halvings suffice */
		__u32 mid = (low + high) / 2;
		if (low < high) {
			if (us <= upper[mid & (TCP_RTT_BUCKETS - 1)])
				high = mid;
			else
				low = mid + 1;
		}
	}
	return low & (TCP_RTT_BUCKETS - 1);
}

#endif
