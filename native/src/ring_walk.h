/* The walk over a BPF ring buffer's data area that ring_reader.c does itself instead of libbpf's
 * ring_buffer API: measure the records committed since the consumer position (headers only),
 * then copy them, each framed as [u32 length][record], wrapping at the end of the data area.
 * Plain C over a struct of pointers, so a test can drive it over an ordinary array
 * (test/native/native_units.test.ts). The memory orders follow libbpf's consumer: acquire loads
 * of the producer position and of each header, which the kernel publishes with release stores. */
#ifndef TCPSCOPE_RING_WALK_H
#define TCPSCOPE_RING_WALK_H

#include <stdint.h>
#include <string.h>

/* The kernel's layout: the consumer position on the first page (the only one user space may
 * write), the producer position on the second, the data pages after it. */
struct ring_view {
	unsigned long *consumer_pos;
	const unsigned long *producer_pos;
	const uint8_t *data;
	uint64_t mask; /* data size - 1 (a power of two) */
};

/* A record's header in the ring (struct bpf_ringbuf_hdr in the kernel). */
#define RING_HEADER_SIZE 8u
#define RING_BUSY_BIT (1u << 31)
#define RING_DISCARD_BIT (1u << 30)

static inline uint64_t load_acquire_u64(const unsigned long *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint32_t record_header(const struct ring_view *r, uint64_t pos)
{
	return __atomic_load_n((const uint32_t *)(r->data + (pos & r->mask)), __ATOMIC_ACQUIRE);
}

/* A record's data length, from its header. */
static inline uint32_t record_length(uint32_t header)
{
	return header & ~(RING_BUSY_BIT | RING_DISCARD_BIT);
}

/* Bytes a record takes in the ring: header plus data, rounded up to 8. */
static inline uint64_t ring_footprint(uint32_t header)
{
	return ((uint64_t)record_length(header) + RING_HEADER_SIZE + 7) & ~(uint64_t)7;
}

/* Copies `length` bytes that start `offset` bytes into the data area, wrapping at its end: a
 * record's header never wraps (records are 8-byte aligned in a power-of-two area), its data may. */
static inline void copy_wrapped(const struct ring_view *r, uint64_t offset, size_t length, uint8_t *out)
{
	uint64_t start = offset & r->mask;
	uint64_t size = r->mask + 1;
	size_t first = start + length <= size ? length : (size_t)(size - start);
	memcpy(out, r->data + start, first);
	if (first < length)
		memcpy(out + first, r->data, length - first);
}

/* What the next batch holds: records committed from the consumer position on, at most
 * max_records, stopping at the first record the kernel is still writing (its header has the
 * busy bit). Discarded records are stepped over and not counted. */
struct batch_extent {
	uint64_t end_pos; /* consumer position after the batch (discarded records included) */
	size_t framed_bytes;
	uint32_t records;
};

static inline struct batch_extent measure_batch(const struct ring_view *r, uint64_t pos, uint32_t max_records)
{
	struct batch_extent extent = { pos, 0, 0 };
	uint64_t producer = load_acquire_u64(r->producer_pos);
	while (pos < producer && extent.records < max_records) {
		uint32_t header = record_header(r, pos);
		if (header & RING_BUSY_BIT)
			break;
		if (!(header & RING_DISCARD_BIT)) {
			extent.framed_bytes += sizeof(uint32_t) + record_length(header);
			extent.records++;
		}
		pos += ring_footprint(header);
		extent.end_pos = pos;
		if (pos >= producer)
			producer = load_acquire_u64(r->producer_pos);
	}
	return extent;
}

/* Copies the records of a measured batch, [pos, end_pos), framed, to `out` (framed_bytes long). */
static inline void copy_batch(const struct ring_view *r, uint64_t pos, uint64_t end_pos, uint8_t *out)
{
	while (pos < end_pos) {
		uint32_t header = record_header(r, pos);
		if (!(header & RING_DISCARD_BIT)) {
			uint32_t length = record_length(header);
			memcpy(out, &length, sizeof(length));
			copy_wrapped(r, pos + RING_HEADER_SIZE, length, out + sizeof(length));
			out += sizeof(length) + length;
		}
		pos += ring_footprint(header);
	}
}

#endif
