/* The tail of a stream of text in a fixed buffer, always NUL-terminated: what libbpf printed
 * last (the verifier's conclusion is at the end of its log). Plain C, no Node-API, so a test can
 * compile it on its own (test/native/log_tail.test.ts, with AddressSanitizer). */
#ifndef TCPSCOPE_LOG_TAIL_H
#define TCPSCOPE_LOG_TAIL_H

#include <stddef.h>
#include <string.h>

struct log_tail {
	char *buffer;
	size_t capacity; /* bytes of `buffer`, the terminating NUL included */
	size_t length;   /* bytes of text, always < capacity */
};

/* Appends `len` bytes. At most half the capacity (less the NUL) of one message is kept, its end;
 * when the text would not fit, the older text is cut to its last half-capacity first. So
 * `length + 1 <= capacity` always holds and the NUL lands inside the buffer. */
static inline void log_tail_append(struct log_tail *t, const char *text, size_t len)
{
	size_t half = t->capacity / 2;
	if (half == 0)
		return;
	if (len > half - 1) {
		text += len - (half - 1);
		len = half - 1;
	}
	if (t->length + len + 1 > t->capacity) {
		size_t keep = t->length < half ? t->length : half;
		memmove(t->buffer, t->buffer + t->length - keep, keep);
		t->length = keep;
	}
	memcpy(t->buffer + t->length, text, len);
	t->length += len;
	t->buffer[t->length] = '\0';
}

static inline void log_tail_reset(struct log_tail *t)
{
	t->length = 0;
	if (t->capacity)
		t->buffer[0] = '\0';
}

#endif
