/* Map access for the once-per-interval reads of kernel aggregates. Per-CPU maps come back with
 * one value per possible CPU, each rounded up to 8 bytes, exactly as the kernel lays them out;
 * the TypeScript side sums them. */
#include "bridge.h"
#include "map_walk.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool is_percpu(enum bpf_map_type type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

struct map_info {
	int fd;
	size_t key_size;
	size_t value_size; /* of one entry, all CPUs included */
	unsigned int max_entries;
	bool percpu;
};

static bool find_map(napi_env env, napi_value handle_value, napi_value name_value, struct map_info *out)
{
	struct bpf_handle *h;
	char name[256];
	if (!arg_handle(env, handle_value, &h) || !arg_string(env, name_value, name, sizeof(name)))
		return false;
	struct bpf_map *map = bpf_object__find_map_by_name(h->obj, name);
	if (!map) {
		bridge_throw(env, ENOENT, "BPF object has no map %s", name);
		return false;
	}
	out->fd = bpf_map__fd(map);
	if (out->fd < 0) {
		bridge_throw(env, EBADF, "map %s is not loaded", name);
		return false;
	}
	out->key_size = bpf_map__key_size(map);
	out->percpu = is_percpu(bpf_map__type(map));
	out->value_size = out->percpu ? ((bpf_map__value_size(map) + 7) / 8 * 8) * libbpf_num_possible_cpus()
				      : bpf_map__value_size(map);
	out->max_entries = bpf_map__max_entries(map);
	return true;
}

/* The kernel's ENOTSUPP (524, not in userspace errno.h): what BPF_MAP_LOOKUP_BATCH returns for a
 * map type without batch operations (LPM trie, fd arrays...). */
#define KERNEL_ENOTSUPP 524

/* Bytes of the opaque batch token. Hash maps use a u32 bucket index, array maps a key: the
 * larger of the two, rounded up to 8. */
static size_t batch_token_size(const struct map_info *m)
{
	size_t size = m->key_size > sizeof(__u32) ? m->key_size : sizeof(__u32);
	return (size + 7) / 8 * 8;
}

static bool batch_unsupported(int err)
{
	return err == EINVAL || err == ENOTSUP || err == EOPNOTSUPP || err == KERNEL_ENOTSUPP;
}

static int walk_next_key(void *ctx, const void *prev, void *key)
{
	return bpf_map_get_next_key(*(int *)ctx, prev, key) ? -errno : 0;
}

static int walk_lookup(void *ctx, const void *key, void *value)
{
	return bpf_map_lookup_elem(*(int *)ctx, key, value) ? -errno : 0;
}

/* Key iteration for maps without batch lookups (map_walk.h: bounded, errors reported). */
static long iterate_all(const struct map_info *m, char *keys, char *values)
{
	int fd = m->fd;
	struct map_walk walk = {
		.ctx = &fd,
		.next_key = walk_next_key,
		.lookup = walk_lookup,
		.key_size = m->key_size,
		.value_size = m->value_size,
		.max_entries = m->max_entries,
	};
	return map_walk_all(&walk, keys, values);
}

/* Reads entries with BPF_MAP_LOOKUP_BATCH (one syscall per chunk); falls back to key iteration
 * on kernels or map types without batch support. Returns the number of entries or -errno. */
static long read_all(const struct map_info *m, char *keys, char *values)
{
	size_t capacity = m->max_entries;
	size_t total = 0;
	size_t token_size = batch_token_size(m);
	char *token = calloc(1, token_size);
	if (!token)
		return -ENOMEM;
	bool first = true;
	long result;
	while (total < capacity) {
		__u32 count = capacity - total;
		DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
		int err = bpf_map_lookup_batch(m->fd, first ? NULL : token, token, keys + total * m->key_size,
					       values + total * m->value_size, &count, &opts);
		first = false;
		if (err && errno != ENOENT) {
			int e = errno;
			free(token);
			if (total == 0 && batch_unsupported(e))
				return iterate_all(m, keys, values);
			return -e;
		}
		total += count;
		if (err) /* ENOENT: no more entries */
			break;
	}
	result = (long)total;
	free(token);
	return result;
}

/* dump(handle, mapName): {keys: Buffer, values: Buffer, count, keySize, valueSize, percpu} */
napi_value map_dump(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	struct map_info m;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 2 || !find_map(env, argv[0], argv[1], &m))
		return NULL;
	char *keys = calloc(m.max_entries, m.key_size);
	char *values = calloc(m.max_entries, m.value_size);
	if (!keys || !values) {
		free(keys);
		free(values);
		return bridge_throw(env, ENOMEM, "out of memory reading a map of %u entries", m.max_entries);
	}
	long count = read_all(&m, keys, values);
	if (count < 0) {
		free(keys);
		free(values);
		if (count == -EAGAIN)
			return bridge_throw(env, EAGAIN, "reading map failed: its keys kept changing during a %u-entry walk; retry", m.max_entries);
		return bridge_throw(env, (int)-count, "reading map failed: %s", strerror((int)-count));
	}
	napi_value result, keys_buf, values_buf, v;
	napi_create_object(env, &result);
	napi_create_buffer_copy(env, count * m.key_size, keys, NULL, &keys_buf);
	napi_create_buffer_copy(env, count * m.value_size, values, NULL, &values_buf);
	free(keys);
	free(values);
	napi_set_named_property(env, result, "keys", keys_buf);
	napi_set_named_property(env, result, "values", values_buf);
	napi_create_uint32(env, (uint32_t)count, &v);
	napi_set_named_property(env, result, "count", v);
	napi_create_uint32(env, (uint32_t)m.key_size, &v);
	napi_set_named_property(env, result, "keySize", v);
	napi_create_uint32(env, (uint32_t)m.value_size, &v);
	napi_set_named_property(env, result, "valueSize", v);
	napi_get_boolean(env, m.percpu, &v);
	napi_set_named_property(env, result, "percpu", v);
	return result;
}

/* update(handle, mapName, key, value): value holds all CPUs for per-CPU maps. */
napi_value map_update(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4];
	struct map_info m;
	void *key, *value;
	size_t key_len, value_len;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 4 || !find_map(env, argv[0], argv[1], &m) || !arg_buffer(env, argv[2], &key, &key_len) ||
	    !arg_buffer(env, argv[3], &value, &value_len))
		return NULL;
	if (key_len != m.key_size || value_len != m.value_size)
		return bridge_throw(env, EINVAL, "map update needs a %zu-byte key and a %zu-byte value, got %zu and %zu",
				    m.key_size, m.value_size, key_len, value_len);
	if (bpf_map_update_elem(m.fd, key, value, BPF_ANY))
		return bridge_throw(env, errno, "map update failed: %s", strerror(errno));
	return NULL;
}

/* delete(handle, mapName, key): returns false when the key was absent. */
napi_value map_delete(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	struct map_info m;
	void *key;
	size_t key_len;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 3 || !find_map(env, argv[0], argv[1], &m) || !arg_buffer(env, argv[2], &key, &key_len))
		return NULL;
	if (key_len != m.key_size)
		return bridge_throw(env, EINVAL, "map delete needs a %zu-byte key", m.key_size);
	napi_value result;
	if (bpf_map_delete_elem(m.fd, key)) {
		if (errno != ENOENT)
			return bridge_throw(env, errno, "map delete failed: %s", strerror(errno));
		napi_get_boolean(env, false, &result);
	} else {
		napi_get_boolean(env, true, &result);
	}
	return result;
}

napi_value possible_cpus(napi_env env, napi_callback_info info)
{
	int n = libbpf_num_possible_cpus();
	if (n < 0)
		return bridge_throw(env, n, "cannot read the number of possible CPUs");
	napi_value result;
	napi_create_uint32(env, (uint32_t)n, &result);
	return result;
}
