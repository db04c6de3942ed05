/* packet_capture: copies the packets of one capture into a ring buffer, for the agent to write as
 * pcapng. Hooked at cgroup_skb ingress/egress of the cgroups a capture selects (the cgroup v2 root
 * for a tuple-only selection), attached when a capture starts and detached when it ends: no
 * capture, no program, no cost. One loaded object per capture; its selection and bounds are the
 * cfg_capture global, written before load.
 *
 * What cgroup_skb sees: every IP packet a socket of the cgroup sends (egress, after the IP layer
 * built it, before qdiscs; TSO/GSO packets still unsegmented) or receives (ingress, in the socket
 * filter step, after the IP layer; GRO-merged packets merged). It does NOT see packets no local
 * socket owns: a SYN to a closed port and the RST the kernel answers it with on the receiving host,
 * packets dropped before socket lookup, forwarded traffic. On the connecting side the SYN and the
 * peer's RST both belong to the connecting socket and are seen. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "packet_capture.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP_BE bpf_htons(0x0800)
#define ETH_P_IPV6_BE bpf_htons(0x86DD)
#define PROTO_TCP 6
#define NSEC_PER_SEC 1000000000ULL

const volatile struct packet_capture_settings cfg_capture = {};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct packet_capture_state);
} capture_state SEC(".maps");

/* Set to 1 by the agent when it ends a capture (stop, duration, shutdown): no packet is taken
 * after it, so the counts read next are final. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} capture_stop SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} capture_packets SEC(".maps");

/* A parsed packet: addresses as 16 bytes (IPv4 mapped), ports in host order, header lengths. */
struct parsed {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u32 headers_len; /* IP header + TCP header */
	__u32 seq;         /* host order */
	__u8 family;
	__u8 flags;        /* TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10) */
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static __always_inline int parse(struct __sk_buff *skb, struct parsed *p)
{
	__u32 ip_len;
	if (skb->protocol == ETH_P_IP_BE) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		if (ip.protocol != PROTO_TCP || ip.ihl < 5)
			return -1;
		/* A fragment other than the first carries no TCP header. */
		if (ip.frag_off & bpf_htons(0x1FFF))
			return -1;
		__builtin_memset(p->saddr, 0, 16);
		__builtin_memset(p->daddr, 0, 16);
		p->saddr[10] = p->saddr[11] = 0xff;
		p->daddr[10] = p->daddr[11] = 0xff;
		__builtin_memcpy(&p->saddr[12], &ip.saddr, 4);
		__builtin_memcpy(&p->daddr[12], &ip.daddr, 4);
		ip_len = ip.ihl * 4;
		p->family = 4;
	} else if (skb->protocol == ETH_P_IPV6_BE) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		/* Extension headers before TCP are not walked: such packets are not matched. */
		if (ip6.nexthdr != PROTO_TCP)
			return -1;
		__builtin_memcpy(p->saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->daddr, &ip6.daddr, 16);
		ip_len = sizeof(ip6);
		p->family = 6;
	} else {
		return -1;
	}
	struct tcphdr tcp;
	if (bpf_skb_load_bytes(skb, ip_len, &tcp, sizeof(tcp)))
		return -1;
	p->sport = bpf_ntohs(tcp.source);
	p->dport = bpf_ntohs(tcp.dest);
	p->headers_len = ip_len + tcp.doff * 4;
	p->seq = bpf_ntohl(tcp.seq);
	/* The flags byte follows doff/res1 in the header (offset 13). */
	p->flags = ((__u8 *)&tcp)[13];
	return 0;
}

static __always_inline int same_address(const __u8 *a, const volatile __u8 *b)
{
	/* Two 8-byte words: cheaper for the verifier than a byte loop. */
	return *(const __u64 *)a == *(const volatile __u64 *)b && *(const __u64 *)(a + 8) == *(const volatile __u64 *)(b + 8);
}

/* One direction of the selection: source fields against (saddr, sport), destination against (daddr, dport). */
static __always_inline int matches_way(const __u8 *saddr, __u16 sport, const __u8 *daddr, __u16 dport)
{
	if (cfg_capture.source_port && cfg_capture.source_port != sport)
		return 0;
	if (cfg_capture.destination_port && cfg_capture.destination_port != dport)
		return 0;
	if (cfg_capture.has_source_address && !same_address(saddr, cfg_capture.source_address))
		return 0;
	if (cfg_capture.has_destination_address && !same_address(daddr, cfg_capture.destination_address))
		return 0;
	return 1;
}

static __always_inline int matches(const struct parsed *p)
{
	if (matches_way(p->saddr, p->sport, p->daddr, p->dport))
		return 1;
	return cfg_capture.bidirectional && matches_way(p->daddr, p->dport, p->saddr, p->sport);
}

/* Copies the first `cap` bytes of the packet (at least the 40 bytes of IP + TCP headers parse()
 * read) to `to`, which has `room` bytes (a power of two); returns the bytes copied. The mask, in
 * asm so that the compiler cannot fold it away, shows the verifier that bound. */
_Static_assert((PACKET_CAPTURE_MAX_SNAP & (PACKET_CAPTURE_MAX_SNAP - 1)) == 0, "MAX_SNAP is a power of two");
_Static_assert((PACKET_CAPTURE_HEADERS_SNAP & (PACKET_CAPTURE_HEADERS_SNAP - 1)) == 0, "HEADERS_SNAP is a power of two");
#define LOAD_PACKET(skb, to, cap, room)                                                         \
	({                                                                                      \
		__u64 __n = (cap) - 1;                                                          \
		asm volatile("%[n] &= %[mask]" : [n] "+r"(__n) : [mask] "i"((room) - 1));       \
		__n += 1;                                                                       \
		bpf_skb_load_bytes(skb, 0, to, __n) ? 0 : (__u32)__n;                            \
	})

/* A ring record with room for `snaplen` (0: headers only), reserved at the size that holds it:
 * the verifier needs a constant size, and cfg_*.snaplen is one (read-only data), so only one of
 * the two branches is ever loaded. Fills the header's fixed fields and the packet. */
static __always_inline void *reserve_record(void *ring, __u32 snaplen)
{
	if (snaplen == 0)
		return bpf_ringbuf_reserve(ring, PACKET_CAPTURE_RECORD_HEADER + PACKET_CAPTURE_HEADERS_SNAP, 0);
	return bpf_ringbuf_reserve(ring, sizeof(struct packet_capture_record), 0);
}

static __always_inline __u32 load_into_record(struct __sk_buff *skb, struct packet_capture_record *record, __u32 cap, __u32 snaplen)
{
	if (snaplen == 0)
		return LOAD_PACKET(skb, record->data, cap, PACKET_CAPTURE_HEADERS_SNAP);
	return LOAD_PACKET(skb, record->data, cap, PACKET_CAPTURE_MAX_SNAP);
}

/* What the locked bounds decide for one matching packet. */
enum verdict { WRITE, SKIP };

static __always_inline void capture(struct __sk_buff *skb, __u8 direction)
{
	struct parsed p;
	if (parse(skb, &p) || !matches(&p))
		return;
	__u32 zero = 0;
	__u32 *stop = bpf_map_lookup_elem(&capture_stop, &zero);
	if (!stop || *stop)
		return;
	struct packet_capture_state *state = bpf_map_lookup_elem(&capture_state, &zero);
	if (!state)
		return;

	__u32 len = skb->len;
	__u32 cap = cfg_capture.snaplen ? cfg_capture.snaplen : p.headers_len;
	if (cap > len)
		cap = len;
	if (cap > PACKET_CAPTURE_MAX_SNAP)
		cap = PACKET_CAPTURE_MAX_SNAP;
	__u64 now = bpf_ktime_get_ns();

	/* Reserved before the bounds are taken, so that a full ring is known under the lock and the
	 * counts stay exact: a packet is written, skipped by a named cause, or past the end. */
	struct packet_capture_record *record = reserve_record(&capture_packets, cfg_capture.snaplen);
	enum verdict verdict = SKIP;

	bpf_spin_lock(&state->lock);
	if (state->done) {
		/* Past the end: not part of the capture, so not skipped either. */
	} else {
		state->matched++;
		__u64 one_in = cfg_capture.sample_one_in;
		if (one_in > 1 && (state->matched - 1) % one_in != 0) {
			state->skipped_sampling++;
		} else {
			if (now - state->window_start_ns >= NSEC_PER_SEC) {
				state->window_start_ns = now;
				state->window_packets = 0;
			}
			if (cfg_capture.packets_per_second && state->window_packets >= cfg_capture.packets_per_second) {
				state->skipped_rate++;
			} else if (cfg_capture.max_bytes && state->bytes + cap > cfg_capture.max_bytes) {
				/* The byte bound is exact: a packet that would pass it ends the capture unwritten. */
				state->done = 1;
			} else if (!record) {
				state->skipped_lost++;
			} else {
				state->window_packets++;
				state->packets++;
				state->bytes += cap;
				if ((cfg_capture.max_packets && state->packets >= cfg_capture.max_packets) ||
				    (cfg_capture.max_bytes && state->bytes >= cfg_capture.max_bytes))
					state->done = 1;
				verdict = WRITE;
			}
		}
	}
	bpf_spin_unlock(&state->lock);

	if (!record)
		return;
	if (verdict != WRITE) {
		bpf_ringbuf_discard(record, BPF_RB_NO_WAKEUP);
		return;
	}
	record->timestamp_ns = now;
	record->cgroup_id = bpf_skb_cgroup_id(skb);
	record->orig_len = len;
	record->trigger_id = 0;
	record->direction = direction;
	record->kind = PACKET_CAPTURE_KIND_PACKET;
	record->family = p.family;
	record->reason = 0;
	__builtin_memset(record->pad, 0, sizeof(record->pad));
	record->cap_len = load_into_record(skb, record, cap, cfg_capture.snaplen);
	bpf_ringbuf_submit(record, 0);
}

SEC("cgroup_skb/ingress")
int capture_ingress(struct __sk_buff *skb)
{
	capture(skb, PACKET_CAPTURE_INBOUND);
	return 1;
}

SEC("cgroup_skb/egress")
int capture_egress(struct __sk_buff *skb)
{
	capture(skb, PACKET_CAPTURE_OUTBOUND);
	return 1;
}

/* ---- The trigger watch: attached only while `triggers` are configured, to the watched cgroups.
 * It keeps the last before_packets packets (headers only) of every connection in a small ring,
 * and when a packet shows a failed connect (a RST answering our SYN), a reset, or a burst of
 * retransmissions, it sends that ring, the packet, and the next after_packets packets of the
 * connection (both directions) to user space as one triggered capture; then the connection's
 * cooldown holds further triggers back. The trigger is decided here, on the packet itself: no
 * round trip through user space, so nothing of the connection is missed while one is made. */

const volatile struct packet_capture_trigger_settings cfg_trigger = {};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct packet_capture_tuple_key);
	__type(value, struct packet_capture_tuple);
} trigger_tuples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PACKET_CAPTURE_TRIGGER_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} trigger_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} trigger_packets SEC(".maps");

static const __u8 zero_tuple[sizeof(struct packet_capture_tuple)] __attribute__((aligned(8))) = {};

static __always_inline void count_trigger(__u32 index)
{
	__u64 *counter = bpf_map_lookup_elem(&trigger_counters, &index);
	if (counter)
		__sync_fetch_and_add(counter, 1);
}

/* A record of a triggered capture from the packet itself. */
static __always_inline void emit_packet(struct __sk_buff *skb, const struct parsed *p, __u8 direction, __u8 kind, __u8 reason, __u64 trigger_id, __u64 now, __u64 cgroup_id)
{
	struct packet_capture_record *record = reserve_record(&trigger_packets, cfg_trigger.after_snaplen);
	if (!record) {
		count_trigger(PACKET_CAPTURE_COUNTER_LOST);
		return;
	}
	__u32 len = skb->len;
	__u32 cap = cfg_trigger.after_snaplen ? cfg_trigger.after_snaplen : p->headers_len;
	if (cap > len)
		cap = len;
	if (cap > PACKET_CAPTURE_MAX_SNAP)
		cap = PACKET_CAPTURE_MAX_SNAP;
	record->timestamp_ns = now;
	record->cgroup_id = cgroup_id;
	record->trigger_id = trigger_id;
	record->orig_len = len;
	record->direction = direction;
	record->kind = kind;
	record->family = p->family;
	record->reason = reason;
	__builtin_memset(record->pad, 0, sizeof(record->pad));
	record->cap_len = load_into_record(skb, record, cap, cfg_trigger.after_snaplen);
	bpf_ringbuf_submit(record, 0);
}

/* A record of a triggered capture from a slot of the connection's ring. */
static __always_inline void emit_slot(const struct packet_capture_slot *slot, __u8 reason, __u64 trigger_id, __u64 cgroup_id)
{
	_Static_assert(PACKET_CAPTURE_WATCH_SNAP <= PACKET_CAPTURE_HEADERS_SNAP, "a ring slot fits a headers-only record");
	struct packet_capture_record *record = bpf_ringbuf_reserve(&trigger_packets, PACKET_CAPTURE_RECORD_HEADER + PACKET_CAPTURE_HEADERS_SNAP, 0);
	if (!record) {
		count_trigger(PACKET_CAPTURE_COUNTER_LOST);
		return;
	}
	record->timestamp_ns = slot->timestamp_ns;
	record->cgroup_id = cgroup_id;
	record->trigger_id = trigger_id;
	record->orig_len = slot->orig_len;
	record->direction = slot->direction;
	record->kind = PACKET_CAPTURE_KIND_BEFORE;
	record->family = slot->family;
	record->reason = reason;
	__builtin_memset(record->pad, 0, sizeof(record->pad));
	__u32 cap = slot->cap_len;
	if (cap > PACKET_CAPTURE_WATCH_SNAP)
		cap = PACKET_CAPTURE_WATCH_SNAP;
	__builtin_memcpy(record->data, slot->data, PACKET_CAPTURE_WATCH_SNAP);
	record->cap_len = cap;
	bpf_ringbuf_submit(record, 0);
}

static __always_inline void watch(struct __sk_buff *skb, __u8 direction)
{
	struct parsed p;
	if (parse(skb, &p))
		return;
	__u64 cgroup_id = bpf_skb_cgroup_id(skb);
	struct packet_capture_tuple_key key = { .cgroup_id = cgroup_id };
	int outbound = direction == PACKET_CAPTURE_OUTBOUND;
	__builtin_memcpy(key.local_address, outbound ? p.saddr : p.daddr, 16);
	__builtin_memcpy(key.remote_address, outbound ? p.daddr : p.saddr, 16);
	key.local_port = outbound ? p.sport : p.dport;
	key.remote_port = outbound ? p.dport : p.sport;

	struct packet_capture_tuple *t = bpf_map_lookup_elem(&trigger_tuples, &key);
	if (!t) {
		bpf_map_update_elem(&trigger_tuples, &key, zero_tuple, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&trigger_tuples, &key);
		if (!t) {
			count_trigger(PACKET_CAPTURE_COUNTER_NO_ENTRY);
			return;
		}
	}
	__u64 now = bpf_ktime_get_ns();
	__u32 payload = skb->len > p.headers_len ? skb->len - p.headers_len : 0;
	__u32 before = cfg_trigger.before_packets;
	if (before > PACKET_CAPTURE_MAX_BEFORE)
		before = PACKET_CAPTURE_MAX_BEFORE;

	__u8 reason = 0;
	__u8 kind = 0; /* 0: not part of a triggered capture */
	__u8 suppressed = 0;
	__u64 trigger_id = 0;
	__u32 stored = (__u32)__sync_fetch_and_add(&t->stored, 1);

	if (outbound && (p.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		t->connecting = 1;
	if (!outbound && (p.flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
		t->connecting = 0;
	if (outbound && (payload || (p.flags & (TCP_SYN | TCP_FIN)))) {
		__u32 end = p.seq + payload + ((p.flags & TCP_SYN) ? 1 : 0) + ((p.flags & TCP_FIN) ? 1 : 0);
		if (t->has_snd_nxt && (__s32)(p.seq - t->snd_nxt) < 0) {
			/* Sent again below what was already sent: a retransmission. */
			if (now - t->retransmit_window_start_ns > cfg_trigger.retransmit_window_ns) {
				t->retransmit_window_start_ns = now;
				t->retransmits = 0;
			}
			__u64 count = __sync_fetch_and_add(&t->retransmits, 1) + 1;
			if (cfg_trigger.on_retransmit_burst && count == cfg_trigger.retransmit_burst)
				reason = PACKET_CAPTURE_REASON_RETRANSMIT_BURST;
		}
		if (!t->has_snd_nxt || (__s32)(end - t->snd_nxt) > 0)
			t->snd_nxt = end;
		t->has_snd_nxt = 1;
	}
	if (p.flags & TCP_RST) {
		if (!outbound && t->connecting) {
			if (cfg_trigger.on_failed_connect)
				reason = PACKET_CAPTURE_REASON_FAILED_CONNECT;
		} else if (cfg_trigger.on_reset) {
			reason = PACKET_CAPTURE_REASON_RESET;
		}
		t->connecting = 0;
	}
	if (reason) {
		__u64 last = t->last_trigger_ns;
		/* The exchange decides between two CPUs triggering the same connection at once. */
		if ((last && now - last < cfg_trigger.cooldown_ns) || __sync_val_compare_and_swap(&t->last_trigger_ns, last, now) != last) {
			suppressed = 1;
		} else {
			t->trigger_id = now;
			t->after_remaining = cfg_trigger.after_packets;
			trigger_id = now;
			kind = PACKET_CAPTURE_KIND_TRIGGER;
		}
	}
	if (!kind) {
		__u64 remaining = t->after_remaining;
		/* A lost exchange (the other direction took the same count at once) leaves this packet out. */
		if (remaining && __sync_val_compare_and_swap(&t->after_remaining, remaining, remaining - 1) == remaining) {
			trigger_id = t->trigger_id;
			kind = PACKET_CAPTURE_KIND_AFTER;
		}
	}

	if (suppressed)
		count_trigger(reason * 2 + 1);
	if (kind == PACKET_CAPTURE_KIND_TRIGGER) {
		count_trigger(reason * 2);
		/* The ring's packets before this one, oldest first. */
		__u32 have = stored < before ? stored : before;
		for (__u32 i = 0; i < PACKET_CAPTURE_MAX_BEFORE; i++) {
			if (i >= have)
				break;
			__u32 index = (stored - have + i) % (before ? before : 1);
			if (index >= PACKET_CAPTURE_MAX_BEFORE)
				break;
			emit_slot(&t->slots[index], reason, trigger_id, cgroup_id);
		}
		emit_packet(skb, &p, direction, kind, reason, trigger_id, now, cgroup_id);
	} else if (kind == PACKET_CAPTURE_KIND_AFTER) {
		emit_packet(skb, &p, direction, kind, 0, trigger_id, now, cgroup_id);
	}

	/* This packet into the ring (headers only), for a later trigger. */
	if (before) {
		__u32 index = stored % before;
		if (index < PACKET_CAPTURE_MAX_BEFORE) {
			struct packet_capture_slot *slot = &t->slots[index];
			__u32 cap = p.headers_len < PACKET_CAPTURE_WATCH_SNAP ? p.headers_len : PACKET_CAPTURE_WATCH_SNAP;
			if (cap > skb->len)
				cap = skb->len;
			slot->timestamp_ns = now;
			slot->orig_len = skb->len;
			slot->direction = direction;
			slot->family = p.family;
			/* 1..PACKET_CAPTURE_WATCH_SNAP for the verifier (as in LOAD_PACKET). */
			__u64 n = cap;
			asm volatile("if %[n] <= %[max] goto +1; %[n] = %[max]" : [n] "+r"(n) : [max] "i"(PACKET_CAPTURE_WATCH_SNAP));
			if (n < 1 || bpf_skb_load_bytes(skb, 0, slot->data, n))
				n = 0;
			slot->cap_len = n;
		}
	}
}

SEC("cgroup_skb/ingress")
int watch_ingress(struct __sk_buff *skb)
{
	watch(skb, PACKET_CAPTURE_INBOUND);
	return 1;
}

SEC("cgroup_skb/egress")
int watch_egress(struct __sk_buff *skb)
{
	watch(skb, PACKET_CAPTURE_OUTBOUND);
	return 1;
}
