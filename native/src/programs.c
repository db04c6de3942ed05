/* What the kernel knows about programs: per-program counters of an object (run_cnt, run_time_ns
 * when BPF stats are on, recursion_misses always) and the list of every program loaded on the
 * host (to tell that another agent's programs are attached). Read with BPF_OBJ_GET_INFO_BY_FD. */
#include "bridge.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

static void set_u64(napi_env env, napi_value object, const char *name, __u64 value)
{
	napi_value v;
	napi_create_bigint_uint64(env, value, &v);
	napi_set_named_property(env, object, name, v);
}

static void set_u32(napi_env env, napi_value object, const char *name, __u32 value)
{
	napi_value v;
	napi_create_uint32(env, value, &v);
	napi_set_named_property(env, object, name, v);
}

static void set_string(napi_env env, napi_value object, const char *name, const char *value)
{
	napi_value v;
	napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
	napi_set_named_property(env, object, name, v);
}

/* `info` zeroed by the caller: only the fixed-size fields are asked for (no arrays). */
static int prog_info(int fd, struct bpf_prog_info *info)
{
	__u32 length = sizeof(*info);
	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &length) ? -errno : 0;
}

/* programInfo(handle): [{program, id, runCount, runTimeNs, recursionMisses}] for every loaded
 * program of the object. `program` is libbpf's full name (the kernel keeps 15 characters). */
napi_value program_info(napi_env env, napi_callback_info info)
{
	struct bpf_handle *h;
	if (!arg_loaded_handle(env, info, "program info", &h))
		return NULL;
	napi_value result;
	napi_create_array(env, &result);
	uint32_t index = 0;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, h->obj) {
		int fd = bpf_program__fd(prog);
		if (fd < 0)
			continue; /* not loaded (autoload off) */
		struct bpf_prog_info pi;
		int err = prog_info(fd, &pi);
		if (err)
			return bridge_throw(env, err, "cannot read the info of program %s: %s", bpf_program__name(prog), strerror(-err));
		napi_value entry;
		napi_create_object(env, &entry);
		set_string(env, entry, "program", bpf_program__name(prog));
		set_u32(env, entry, "id", pi.id);
		set_u64(env, entry, "runCount", pi.run_cnt);
		set_u64(env, entry, "runTimeNs", pi.run_time_ns);
		set_u64(env, entry, "recursionMisses", pi.recursion_misses);
		napi_set_element(env, result, index++, entry);
	}
	return result;
}

/* The bounded walk over the host's program ids: ids are never reused, but a host can hold many
 * programs; past this many the list is cut (the caller only looks for a few names). */
#define MAX_LISTED_PROGRAMS 65536

/* loadedPrograms(): [{id, name}] of every BPF program loaded on the host (BPF_PROG_GET_NEXT_ID and
 * GET_FD_BY_ID need CAP_SYS_ADMIN: EPERM otherwise). A program unloaded between two steps of the
 * walk is skipped. */
napi_value loaded_programs(napi_env env, napi_callback_info info)
{
	napi_value result;
	napi_create_array(env, &result);
	uint32_t index = 0;
	__u32 id = 0;
	for (int walked = 0; walked < MAX_LISTED_PROGRAMS; walked++) {
		if (bpf_prog_get_next_id(id, &id)) {
			if (errno == ENOENT)
				break;
			return bridge_throw(env, errno, "cannot list loaded BPF programs: %s", strerror(errno));
		}
		int fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return bridge_throw(env, errno, "cannot open BPF program %u: %s", id, strerror(errno));
		}
		struct bpf_prog_info pi;
		int err = prog_info(fd, &pi);
		close(fd);
		if (err)
			continue;
		char name[sizeof(pi.name) + 1];
		memcpy(name, pi.name, sizeof(pi.name));
		name[sizeof(pi.name)] = '\0';
		napi_value entry;
		napi_create_object(env, &entry);
		set_u32(env, entry, "id", pi.id);
		set_string(env, entry, "name", name);
		napi_set_element(env, result, index++, entry);
	}
	return result;
}

/* probeBpf(): creates and closes a one-entry array map, the cheapest bpf() call that needs the
 * privileges every object load needs. The agent calls it at start-up, before anything heavy, so
 * that a bpf() refused by a container's seccomp filter (EPERM) is reported at once, by name. */
napi_value probe_bpf(napi_env env, napi_callback_info info)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tcpscope_probe", sizeof(__u32), sizeof(__u32), 1, NULL);
	if (fd < 0)
		return bridge_throw(env, errno, "bpf(BPF_MAP_CREATE) failed: %s", strerror(errno));
	close(fd);
	napi_value undefined;
	napi_get_undefined(env, &undefined);
	return undefined;
}
