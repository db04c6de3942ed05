/* The sampling processor's predicate (src/processors/sampling/), evaluated in the kernel where an
 * event is born, so that an event the processor would drop never crosses the ring buffer.
 *
 * The decision must be the processor's own, bit for bit: the hash is fmix64(FNV-1a 64) over the
 * same 37 canonical bytes as src/processors/sampling/connection_hash.ts (each endpoint as its address in
 * IPv6 form, IPv4 as ::ffff:a.b.c.d, then its port big-endian; the lower endpoint first in byte
 * order; then the protocol number 6), and thresholds compare integers the agent derived from the
 * configured bounds so that "raw value within [low, high]" holds exactly when the attribute the
 * agent would build from that raw value is within [min, max]. A policy the kernel cannot evaluate
 * votes "keep" (combine any) or abstains (combine all): the kernel only drops what the processor
 * would drop anyway, and the processor still runs after it.
 *
 * Header-only, no BPF helpers: a test compiles it for the host and checks every decision against
 * the TypeScript sampler. tcpscope_sampling_settings is written by user space before load (a
 * const volatile global); its layout is checked by src/receivers/common/sampling_layout.test.ts. */
#ifndef TCPSCOPE_CONNECTION_SAMPLING_H
#define TCPSCOPE_CONNECTION_SAMPLING_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Loops below have constant trip counts: unrolled for BPF (no loop state for the verifier). */
#ifdef __clang__
#define TCPSCOPE_UNROLL _Pragma("unroll")
#else
#define TCPSCOPE_UNROLL
#endif

#define TCPSCOPE_SAMPLING_MAX_POLICIES 8

/* tcpscope_sampling_policy.kind */
#define TCPSCOPE_SAMPLING_POLICY_UNKNOWN 0   /* not evaluable here: keeps (any), abstains (all) */
#define TCPSCOPE_SAMPLING_POLICY_HASH 1      /* keep when (hash >> 11) < low */
#define TCPSCOPE_SAMPLING_POLICY_THRESHOLD 2 /* keep when the field is present and low <= value <= high */

/* tcpscope_sampling_settings.combine */
#define TCPSCOPE_SAMPLING_COMBINE_ANY 0
#define TCPSCOPE_SAMPLING_COMBINE_ALL 1

/* Threshold fields, each in the unit the kernel has it (the agent converts the bounds). */
#define TCPSCOPE_SAMPLING_FIELD_DURATION_NS 0           /* tcp.duration */
#define TCPSCOPE_SAMPLING_FIELD_HANDSHAKE_DURATION_NS 1 /* tcp.handshake.duration */
#define TCPSCOPE_SAMPLING_FIELD_RTT_US 2                /* tcp.rtt */
#define TCPSCOPE_SAMPLING_FIELD_RETRANSMITS 3           /* tcp.retransmits */
#define TCPSCOPE_SAMPLING_FIELDS 4

#define TCPSCOPE_SAMPLING_HASH_SHIFT 11 /* 64 - 53: the agent's unit number uses the top 53 bits */

/* The connection hash as an event record carries it (the `connection_hash` field of
 * tcp_lifecycle_event and tcp_handshake_event), so that user space never hashes the tuple again:
 * bits 0..52 hold hash >> 11 (the integer k of the processor's unit number k / 2^53, the only
 * bits a decision reads), bit 63 says the field is present. 0: absent (the agent hashes the
 * record's tuple itself, as it does for records of any other origin). */
#define TCPSCOPE_CONNECTION_HASH_UNIT_BITS 53
#define TCPSCOPE_CONNECTION_HASH_PRESENT_BIT 63
#define TCPSCOPE_CONNECTION_HASH_PRESENT (1ULL << TCPSCOPE_CONNECTION_HASH_PRESENT_BIT)
#define TCPSCOPE_CONNECTION_HASH_UNIT_MASK ((1ULL << TCPSCOPE_CONNECTION_HASH_UNIT_BITS) - 1)

#define TCPSCOPE_SAMPLING_AF_INET 2
#define TCPSCOPE_SAMPLING_IPPROTO_TCP 6

struct tcpscope_sampling_policy {
	__u64 low;  /* hash: cutoff on hash >> 11; threshold: inclusive lower bound */
	__u64 high; /* threshold: inclusive upper bound (low > high matches nothing) */
	__u32 kind; /* TCPSCOPE_SAMPLING_POLICY_* */
	__u32 field; /* threshold: TCPSCOPE_SAMPLING_FIELD_* */
};

struct tcpscope_sampling_settings {
	struct tcpscope_sampling_policy policies[TCPSCOPE_SAMPLING_MAX_POLICIES];
	__u32 enabled;      /* 0: every event crosses to user space (no push-down) */
	__u32 combine;      /* TCPSCOPE_SAMPLING_COMBINE_* */
	__u32 keep_errors;  /* events with error.type are kept whatever the policies say */
	__u32 policy_count; /* policies[0 .. policy_count) are used */
};

/* What one event will carry when the processor sees it. Not shared with user space. */
struct tcpscope_sampling_subject {
	__u64 values[TCPSCOPE_SAMPLING_FIELDS]; /* in the field's kernel unit */
	const __u8 *saddr;  /* the tuple the event reports (16 bytes each, IPv4 in the first 4) */
	const __u8 *daddr;
	__u32 present;      /* bit (1 << field): the event has that field */
	__u32 error;        /* nonzero: the event has error.type */
	__u16 family;
	__u16 sport;        /* host order */
	__u16 dport;
	__u16 local_absent; /* nonzero: the event has no local address (hashed as 18 zero bytes) */
	__u64 record_hash;  /* nonzero: the event's connection_hash field, used instead of hashing again */
};

/*
 * MurmurHash3's 64-bit finaliser: FNV-1a alone barely moves its top bits when only the last
 * bytes (a port) change, so sequential ephemeral ports would share one decision.
 */
static __always_inline __u64 tcpscope_fmix64(__u64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/*
 * The hash, computed from the tuple without building the 37 canonical bytes (it runs once per
 * socket, and byte arrays on the stack of every inlined copy would not fit the BPF stack):
 * - FNV-1a over k zero bytes multiplies by prime^k (x ^ 0 = x), so the 10 zero bytes of an IPv4
 *   endpoint's ::ffff: prefix are one multiplication, and an absent endpoint (18 zero bytes) first
 *   in the order is a constant;
 * - two IPv4 endpoints share their 12-byte prefix, so their byte order is that of (address, port);
 *   an IPv6 one's is its 16 address bytes, then its port; 18 zero bytes never come second.
 * src/receivers/common/kernel_sampling.test.ts compiles this for the host and checks it against
 * the processor's byte-wise definition (src/processors/sampling/connection_hash.ts).
 */
#define TCPSCOPE_FNV_BASIS 0xcbf29ce484222325ULL
#define TCPSCOPE_FNV_PRIME 0x100000001b3ULL
#define TCPSCOPE_FNV_PRIME_POW10 0x18a5210383502249ULL /* prime^10 mod 2^64 */
#define TCPSCOPE_FNV_ZERO_ENDPOINT 0x77e875b1c7b6a32dULL /* FNV-1a of 18 zero bytes from the basis */

static __always_inline __u64 tcpscope_fnv1a64_port(__u64 hash, __u16 port)
{
	hash = (hash ^ (port >> 8)) * TCPSCOPE_FNV_PRIME;
	return (hash ^ (port & 0xff)) * TCPSCOPE_FNV_PRIME;
}

/* An IPv4 endpoint as ::ffff:a.b.c.d and its port; `addr` is the host-order value of a.b.c.d. */
static __always_inline __u64 tcpscope_fnv1a64_v4_endpoint(__u64 hash, __u32 addr, __u16 port)
{
	hash *= TCPSCOPE_FNV_PRIME_POW10;
	hash = (hash ^ 0xff) * TCPSCOPE_FNV_PRIME;
	hash = (hash ^ 0xff) * TCPSCOPE_FNV_PRIME;
	hash = (hash ^ (addr >> 24)) * TCPSCOPE_FNV_PRIME;
	hash = (hash ^ ((addr >> 16) & 0xff)) * TCPSCOPE_FNV_PRIME;
	hash = (hash ^ ((addr >> 8) & 0xff)) * TCPSCOPE_FNV_PRIME;
	hash = (hash ^ (addr & 0xff)) * TCPSCOPE_FNV_PRIME;
	return tcpscope_fnv1a64_port(hash, port);
}

/* An IPv6 endpoint: its 16 address bytes and its port. */
static __always_inline __u64 tcpscope_fnv1a64_v6_endpoint(__u64 hash, const __u8 *addr, __u16 port)
{
	TCPSCOPE_UNROLL
	for (int i = 0; i < 16; i++)
		hash = (hash ^ addr[i]) * TCPSCOPE_FNV_PRIME;
	return tcpscope_fnv1a64_port(hash, port);
}

static __always_inline __u32 tcpscope_v4_value(const __u8 *addr)
{
	return ((__u32)addr[0] << 24) | ((__u32)addr[1] << 16) | ((__u32)addr[2] << 8) | addr[3];
}

/* fmix64(FNV-1a 64) of the event's 37 canonical bytes: the processor's connectionHash(). */
static __always_inline __u64 tcpscope_subject_hash(const struct tcpscope_sampling_subject *subject)
{
	__u64 hash;
	if (subject->family == TCPSCOPE_SAMPLING_AF_INET) {
		__u32 peer = tcpscope_v4_value(subject->daddr);
		if (subject->local_absent) {
			hash = tcpscope_fnv1a64_v4_endpoint(TCPSCOPE_FNV_ZERO_ENDPOINT, peer, subject->dport);
		} else {
			__u32 local = tcpscope_v4_value(subject->saddr);
			int local_first = local < peer || (local == peer && subject->sport <= subject->dport);
			__u32 low = local_first ? local : peer;
			__u32 high = local_first ? peer : local;
			__u16 low_port = local_first ? subject->sport : subject->dport;
			__u16 high_port = local_first ? subject->dport : subject->sport;
			hash = tcpscope_fnv1a64_v4_endpoint(TCPSCOPE_FNV_BASIS, low, low_port);
			hash = tcpscope_fnv1a64_v4_endpoint(hash, high, high_port);
		}
	} else if (subject->local_absent) {
		hash = tcpscope_fnv1a64_v6_endpoint(TCPSCOPE_FNV_ZERO_ENDPOINT, subject->daddr, subject->dport);
	} else {
		int order = 0;
		TCPSCOPE_UNROLL
		for (int i = 0; i < 16; i++) {
			if (order == 0)
				order = (int)subject->saddr[i] - (int)subject->daddr[i];
		}
		if (order == 0)
			order = (int)subject->sport - (int)subject->dport;
		if (order <= 0) {
			hash = tcpscope_fnv1a64_v6_endpoint(TCPSCOPE_FNV_BASIS, subject->saddr, subject->sport);
			hash = tcpscope_fnv1a64_v6_endpoint(hash, subject->daddr, subject->dport);
		} else {
			hash = tcpscope_fnv1a64_v6_endpoint(TCPSCOPE_FNV_BASIS, subject->daddr, subject->dport);
			hash = tcpscope_fnv1a64_v6_endpoint(hash, subject->saddr, subject->sport);
		}
	}
	return tcpscope_fmix64((hash ^ TCPSCOPE_SAMPLING_IPPROTO_TCP) * TCPSCOPE_FNV_PRIME);
}

/* The `connection_hash` field of an event whose tuple `subject` describes. */
static __always_inline __u64 tcpscope_record_hash(const struct tcpscope_sampling_subject *subject)
{
	return TCPSCOPE_CONNECTION_HASH_PRESENT | (tcpscope_subject_hash(subject) >> TCPSCOPE_SAMPLING_HASH_SHIFT);
}

#define TCPSCOPE_VOTE_DROP 0
#define TCPSCOPE_VOTE_KEEP 1
#define TCPSCOPE_VOTE_UNKNOWN 2

/* True when the processor could keep the event (so it must cross to user space). */
static __always_inline int tcpscope_sampling_keeps(const volatile struct tcpscope_sampling_settings *settings,
						   const struct tcpscope_sampling_subject *subject)
{
	if (!settings->enabled)
		return 1;
	if (settings->keep_errors && subject->error)
		return 1;
	int any = settings->combine == TCPSCOPE_SAMPLING_COMBINE_ANY;
	int undecided = 0;
	/* The hash once, before the policies, and only when one uses it: one inlined copy of it
	 * (inside the unrolled loop every copy would take its own stack). */
	int needs_hash = 0;
	TCPSCOPE_UNROLL
	for (int i = 0; i < TCPSCOPE_SAMPLING_MAX_POLICIES; i++) {
		if (i < settings->policy_count && settings->policies[i].kind == TCPSCOPE_SAMPLING_POLICY_HASH)
			needs_hash = 1;
	}
	__u64 unit = 0;
	if (needs_hash)
		unit = subject->record_hash ? subject->record_hash & TCPSCOPE_CONNECTION_HASH_UNIT_MASK
					    : tcpscope_subject_hash(subject) >> TCPSCOPE_SAMPLING_HASH_SHIFT;
	TCPSCOPE_UNROLL
	for (int i = 0; i < TCPSCOPE_SAMPLING_MAX_POLICIES; i++) {
		if (i >= settings->policy_count)
			break;
		__u32 kind = settings->policies[i].kind;
		__u64 low = settings->policies[i].low;
		int vote = TCPSCOPE_VOTE_UNKNOWN;
		if (kind == TCPSCOPE_SAMPLING_POLICY_HASH) {
			vote = unit < low ? TCPSCOPE_VOTE_KEEP : TCPSCOPE_VOTE_DROP;
		} else if (kind == TCPSCOPE_SAMPLING_POLICY_THRESHOLD) {
			__u32 field = settings->policies[i].field;
			if (field < TCPSCOPE_SAMPLING_FIELDS) {
				/* The processor: "events without the field do not match". */
				__u64 value = subject->values[field];
				vote = (subject->present & (1u << field)) && value >= low && value <= settings->policies[i].high
					       ? TCPSCOPE_VOTE_KEEP
					       : TCPSCOPE_VOTE_DROP;
			}
		}
		if (any && vote == TCPSCOPE_VOTE_KEEP)
			return 1;
		if (!any && vote == TCPSCOPE_VOTE_DROP)
			return 0;
		if (vote == TCPSCOPE_VOTE_UNKNOWN)
			undecided = 1;
	}
	/* any: no policy kept it, so keep only when one could not say; all: nothing vetoed it. */
	return any ? undecided : 1;
}

#endif
