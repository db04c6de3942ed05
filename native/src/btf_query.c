/* The kernel's BTF (or a BTF file) queried through libbpf, for what the agent asks at start-up
 * (src/host/kernel_btf.ts: which types, members, functions and tracepoints the running kernel has,
 * and the values of its reason enums). libbpf parses it into malloc'd memory that btfClose frees
 * at once. Read by JS instead, the ~6 MB of vmlinux's BTF stayed in V8's external memory until a
 * garbage collection that a quiet agent may not run for hours: 6-7 MB more RSS for its lifetime. */
#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bridge.h"

struct btf_handle {
	struct btf *btf;
};

static void finalize_btf(napi_env env, void *data, void *hint)
{
	struct btf_handle *h = data;
	btf__free(h->btf);
	free(h);
}

/* The open BTF of argument 0, or NULL after throwing. */
static struct btf *arg_btf(napi_env env, napi_value value)
{
	struct btf_handle *h = NULL;
	if (napi_get_value_external(env, value, (void **)&h) != napi_ok || !h) {
		bridge_throw(env, EINVAL, "expected a BTF handle from btfOpen");
		return NULL;
	}
	if (!h->btf) {
		bridge_throw(env, EINVAL, "BTF handle used after btfClose");
		return NULL;
	}
	return h->btf;
}

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	size_t argc = want;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < want) {
		bridge_throw(env, EINVAL, "expected %zu arguments", want);
		return false;
	}
	return true;
}

/* The (handle, typeId) arguments of the calls that ask about one type: its BTF, or NULL after
 * throwing. */
static struct btf *btf_and_type(napi_env env, napi_callback_info info, size_t want, napi_value *argv, unsigned int *id)
{
	if (!get_args(env, info, want, argv))
		return NULL;
	struct btf *btf = arg_btf(env, argv[0]);
	return btf && arg_u32(env, argv[1], id) ? btf : NULL;
}

/* btfOpen(path): parses a BTF file (raw, as /sys/kernel/btf/vmlinux, or an ELF's .BTF). */
napi_value btf_open(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char path[4096];
	if (!get_args(env, info, 1, argv) || !arg_string(env, argv[0], path, sizeof(path)))
		return NULL;
	struct btf *btf = btf__parse(path, NULL);
	if (!btf)
		return bridge_throw(env, errno, "%s: not readable as BTF: %s", path, strerror(errno));
	struct btf_handle *h = calloc(1, sizeof(*h));
	if (!h) {
		btf__free(btf);
		return bridge_throw(env, ENOMEM, "out of memory");
	}
	h->btf = btf;
	napi_value result;
	napi_create_external(env, h, finalize_btf, NULL, &result);
	return result;
}

/* btfClose(handle): frees the parsed BTF now (the handle's finalizer would, at some GC). */
napi_value btf_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct btf_handle *h = NULL;
	if (!get_args(env, info, 1, argv))
		return NULL;
	if (napi_get_value_external(env, argv[0], (void **)&h) == napi_ok && h) {
		btf__free(h->btf);
		h->btf = NULL;
	}
	return NULL;
}

/* btfFind(handle, name, kind): the id of the type `name` of BTF kind `kind`, 0 when none. */
napi_value btf_find(napi_env env, napi_callback_info info)
{
	napi_value argv[3], result;
	char name[256];
	unsigned int kind;
	if (!get_args(env, info, 3, argv))
		return NULL;
	struct btf *btf = arg_btf(env, argv[0]);
	if (!btf || !arg_string(env, argv[1], name, sizeof(name)) || !arg_u32(env, argv[2], &kind))
		return NULL;
	__s32 id = btf__find_by_name_kind(btf, name, kind);
	napi_create_uint32(env, id > 0 ? (unsigned int)id : 0, &result);
	return result;
}

static bool has_member(const struct btf *btf, __u32 id, const char *member, int depth)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	if (!t || !(btf_is_struct(t) || btf_is_union(t)))
		return false;
	const struct btf_member *m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		if (m->name_off) {
			if (strcmp(btf__name_by_offset(btf, m->name_off), member) == 0)
				return true;
		} else if (depth < 4 && has_member(btf, m->type, member, depth + 1)) {
			/* an anonymous struct or union: its members are the outer one's */
			return true;
		}
	}
	return false;
}

/* btfHasMember(handle, typeId, member): whether struct/union `typeId` has `member` at its top
 * level, members of anonymous structs and unions included. */
napi_value btf_has_member(napi_env env, napi_callback_info info)
{
	napi_value argv[3], result;
	unsigned int id;
	char member[256];
	struct btf *btf = btf_and_type(env, info, 3, argv, &id);
	if (!btf || !arg_string(env, argv[2], member, sizeof(member)))
		return NULL;
	napi_get_boolean(env, has_member(btf, id, member, 0), &result);
	return result;
}

/* btfFunctionProtoParams(handle, typedefId): parameters of the function a typedef points to
 * (typedef -> pointer -> function prototype, as btf_trace_<tracepoint>), -1 if it is not one. */
napi_value btf_function_proto_params(napi_env env, napi_callback_info info)
{
	napi_value argv[2], result;
	unsigned int id;
	struct btf *btf = btf_and_type(env, info, 2, argv, &id);
	if (!btf)
		return NULL;
	int params = -1;
	const struct btf_type *t = btf__type_by_id(btf, id);
	if (t && btf_is_typedef(t)) {
		const struct btf_type *ptr = btf__type_by_id(btf, t->type);
		if (ptr && btf_is_ptr(ptr)) {
			const struct btf_type *proto = btf__type_by_id(btf, ptr->type);
			if (proto && btf_is_func_proto(proto))
				params = btf_vlen(proto);
		}
	}
	napi_create_int32(env, params, &result);
	return result;
}

/* btfEnumValues(handle, typeId): [[value, name], ...] of enum/enum64 `typeId` (values as
 * numbers: the reason enums are small), or null when it is not an enum. */
napi_value btf_enum_values(napi_env env, napi_callback_info info)
{
	napi_value argv[2], result;
	unsigned int id;
	struct btf *btf = btf_and_type(env, info, 2, argv, &id);
	if (!btf)
		return NULL;
	const struct btf_type *t = btf__type_by_id(btf, id);
	if (!t || !(btf_is_enum(t) || btf_is_enum64(t))) {
		napi_get_null(env, &result);
		return result;
	}
	napi_create_array_with_length(env, btf_vlen(t), &result);
	for (int i = 0; i < btf_vlen(t); i++) {
		double value;
		const char *name;
		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t) + i;
			value = (double)(__u32)e->val;
			name = btf__name_by_offset(btf, e->name_off);
		} else {
			const struct btf_enum64 *e = btf_enum64(t) + i;
			value = (double)btf_enum64_value(e);
			name = btf__name_by_offset(btf, e->name_off);
		}
		napi_value pair, v, n;
		napi_create_array_with_length(env, 2, &pair);
		napi_create_double(env, value, &v);
		napi_create_string_utf8(env, name ? name : "", NAPI_AUTO_LENGTH, &n);
		napi_set_element(env, pair, 0, v);
		napi_set_element(env, pair, 1, n);
		napi_set_element(env, result, i, pair);
	}
	return result;
}
