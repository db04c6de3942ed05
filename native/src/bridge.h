/* Node-API bridge over libbpf. It knows nothing about TCP: objects, globals, maps, programs,
 * ring buffers. The typed TypeScript wrapper lives in src/bridge/. */
#ifndef TCPSCOPE_BRIDGE_H
#define TCPSCOPE_BRIDGE_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>

struct bpf_object;
struct bpf_link;

#define MAX_LINKS 64

/* One opened BPF object file and everything attached from it. */
struct bpf_handle {
	struct bpf_object *obj;
	struct bpf_link *links[MAX_LINKS];
	int link_count;
	bool loaded;
};

/* errors.c */
void bridge_install_libbpf_logger(void);
/* The last lines libbpf printed (verifier log tail on load failures). */
const char *bridge_libbpf_log_tail(void);
void bridge_libbpf_log_reset(void);
/* Throws a JS Error with .errno (positive) and .code = "BPF_ERROR". Always returns NULL. */
napi_value bridge_throw(napi_env env, int err, const char *fmt, ...);

/* Argument helpers: each throws and returns false on a wrong argument. */
bool arg_handle(napi_env env, napi_value value, struct bpf_handle **out);
bool arg_string(napi_env env, napi_value value, char *out, size_t size);
bool arg_u32(napi_env env, napi_value value, unsigned int *out);
bool arg_buffer(napi_env env, napi_value value, void **data, size_t *length);
/* The calls whose only argument is the handle of a loaded object (attach, programInfo): throws
 * EINVAL "<call> before load" when the object is not loaded yet. */
bool arg_loaded_handle(napi_env env, napi_callback_info info, const char *call, struct bpf_handle **out);

/* object.c */
napi_value object_open(napi_env env, napi_callback_info info);
napi_value object_set_global(napi_env env, napi_callback_info info);
napi_value object_set_max_entries(napi_env env, napi_callback_info info);
napi_value object_load(napi_env env, napi_callback_info info);
napi_value object_set_autoload(napi_env env, napi_callback_info info);
napi_value object_attach(napi_env env, napi_callback_info info);
napi_value object_attach_cgroup(napi_env env, napi_callback_info info);
napi_value object_close(napi_env env, napi_callback_info info);

/* maps.c */
napi_value map_dump(napi_env env, napi_callback_info info);
napi_value map_update(napi_env env, napi_callback_info info);
napi_value map_delete(napi_env env, napi_callback_info info);
napi_value possible_cpus(napi_env env, napi_callback_info info);

/* programs.c */
napi_value program_info(napi_env env, napi_callback_info info);
napi_value loaded_programs(napi_env env, napi_callback_info info);
napi_value probe_bpf(napi_env env, napi_callback_info info);

/* btf_query.c */
napi_value btf_open(napi_env env, napi_callback_info info);
napi_value btf_close(napi_env env, napi_callback_info info);
napi_value btf_find(napi_env env, napi_callback_info info);
napi_value btf_has_member(napi_env env, napi_callback_info info);
napi_value btf_function_proto_params(napi_env env, napi_callback_info info);
napi_value btf_enum_values(napi_env env, napi_callback_info info);

/* ring_reader.c */
napi_value ring_reader_open(napi_env env, napi_callback_info info);
napi_value ring_reader_close(napi_env env, napi_callback_info info);
napi_value ring_reader_pause(napi_env env, napi_callback_info info);
napi_value ring_reader_resume(napi_env env, napi_callback_info info);

#endif
