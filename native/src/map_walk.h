/* The key walk that reads maps without batch lookups: get_next_key, then lookup, until the last
 * key. Plain C over two callbacks (libbpf's calls in maps.c), so a test can drive it with failing
 * stand-ins (test/native/native_units.test.ts). Callbacks return 0 or -errno. */
#ifndef TCPSCOPE_MAP_WALK_H
#define TCPSCOPE_MAP_WALK_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct map_walk {
	void *ctx;
	int (*next_key)(void *ctx, const void *prev, void *key); /* -ENOENT after the last key */
	int (*lookup)(void *ctx, const void *key, void *value);  /* -ENOENT: deleted meanwhile */
	size_t key_size;
	size_t value_size;
	size_t max_entries;
};

/* Fills `keys`/`values` (room for max_entries each); returns the entries read or -errno.
 * A key deleted between next_key and lookup is skipped (the walk goes on past it). Any other
 * failure is returned. Bounded: a walk whose keys keep changing stops after
 * 2 * max_entries + 16 steps with -EAGAIN instead of spinning. */
static inline long map_walk_all(const struct map_walk *w, char *keys, char *values)
{
	size_t total = 0;
	size_t steps_left = 2 * w->max_entries + 16;
	char *skipped = malloc(w->key_size ? w->key_size : 1);
	if (!skipped)
		return -ENOMEM;
	const char *prev = NULL;
	long result;
	for (;;) {
		if (total >= w->max_entries) {
			result = (long)total;
			break;
		}
		if (steps_left-- == 0) {
			result = -EAGAIN;
			break;
		}
		char *key = keys + total * w->key_size;
		int err = w->next_key(w->ctx, prev, key);
		if (err == -ENOENT) {
			result = (long)total; /* no more keys */
			break;
		}
		if (err) {
			result = err;
			break;
		}
		err = w->lookup(w->ctx, key, values + total * w->value_size);
		if (err == 0) {
			prev = key;
			total++;
		} else if (err == -ENOENT) {
			memcpy(skipped, key, w->key_size);
			prev = skipped;
		} else {
			result = err;
			break;
		}
	}
	free(skipped);
	return result;
}

#endif
