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
	__u8 family;
};

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
	struct packet_capture_record *record = bpf_ringbuf_reserve(&capture_packets, sizeof(*record), 0);
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
	record->direction = direction;
	record->kind = PACKET_CAPTURE_KIND_PACKET;
	record->family = p.family;
	__builtin_memset(record->pad, 0, sizeof(record->pad));
	/* cap is 1..PACKET_CAPTURE_MAX_SNAP (at least the 40 bytes of IP + TCP headers parsed above);
	 * the mask, in asm so that the compiler cannot fold it away, shows the verifier that bound. */
	_Static_assert((PACKET_CAPTURE_MAX_SNAP & (PACKET_CAPTURE_MAX_SNAP - 1)) == 0, "MAX_SNAP is a power of two");
	__u64 n = cap - 1;
	asm volatile("%[n] &= %[mask]" : [n] "+r"(n) : [mask] "i"(PACKET_CAPTURE_MAX_SNAP - 1));
	n += 1;
	if (bpf_skb_load_bytes(skb, 0, record->data, n))
		n = 0;
	record->cap_len = n;
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
