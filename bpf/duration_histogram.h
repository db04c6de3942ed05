/* Duration histograms shared by the kernel programs: bucket i counts durations d with
 * 2^(i-1) us < d <= 2^i us (bucket 0: d <= 1 us), the last bucket everything above
 * 2^(BUCKETS-2) us (~9.5 h). The bounds are OpenTelemetry's (lower, upper] explicit-bucket
 * semantics, so user space exports them unchanged (src/receivers/duration_buckets.ts). */
#ifndef TCPSCOPE_DURATION_HISTOGRAM_H
#define TCPSCOPE_DURATION_HISTOGRAM_H

#define TCPSCOPE_DURATION_BUCKETS 37

/* ceil(log2(x)) for x >= 1, without loops (the verifier prefers straight-line code). Shared
 * with user-space tests, which check the bucket boundaries at every power of two. */
static inline __u32 tcpscope_ceil_log2(__u64 x)
{
	if (x <= 1)
		return 0;
	__u64 v = x - 1;
	__u32 r = 0;
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r + 1;
}

/* Bucket of a duration: d <= 2^i us  <=>  ceil(d / 1000 ns) <= 2^i. */
static inline __u32 tcpscope_duration_bucket(__u64 duration_ns)
{
	__u32 bucket = tcpscope_ceil_log2((duration_ns + 999) / 1000);
	return bucket < TCPSCOPE_DURATION_BUCKETS - 1 ? bucket : TCPSCOPE_DURATION_BUCKETS - 1;
}

#endif
