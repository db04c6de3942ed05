/* BPF object lifecycle: open -> set globals / map sizes -> load -> attach -> close. */
#include "bridge.h"
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static void finalize_handle(napi_env env, void *data, void *hint)
{
	struct bpf_handle *h = data;
	for (int i = 0; i < h->link_count; i++)
		bpf_link__destroy(h->links[i]);
	if (h->obj)
		bpf_object__close(h->obj);
	free(h);
}

/* open(path): handle */
napi_value object_open(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	char path[4096];
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || !arg_string(env, argv[0], path, sizeof(path)))
		return NULL;

	bridge_libbpf_log_reset();
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj)
		return bridge_throw(env, errno, "cannot open BPF object %s: %s", path, strerror(errno));

	struct bpf_handle *h = calloc(1, sizeof(*h));
	if (!h) {
		bpf_object__close(obj);
		return bridge_throw(env, ENOMEM, "out of memory");
	}
	h->obj = obj;
	napi_value result;
	napi_create_external(env, h, finalize_handle, NULL, &result);
	return result;
}

/* The internal map backing a data section (".rodata", ".data", ".bss"): libbpf names it
 * "<object prefix>.rodata". */
static struct bpf_map *section_map(struct bpf_object *obj, const char *section)
{
	struct bpf_map *map;
	size_t section_len = strlen(section);
	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		size_t len = strlen(name);
		if (len >= section_len && strcmp(name + len - section_len, section) == 0)
			return map;
	}
	return NULL;
}

/* setGlobal(handle, name, bytes): writes a `const volatile` global before load. The size of
 * `bytes` must equal the variable's size, so a type mismatch between C and TS fails loudly. */
napi_value object_set_global(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	struct bpf_handle *h;
	char name[256];
	void *bytes;
	size_t length;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 3 || !arg_handle(env, argv[0], &h) || !arg_string(env, argv[1], name, sizeof(name)) ||
	    !arg_buffer(env, argv[2], &bytes, &length))
		return NULL;
	if (h->loaded)
		return bridge_throw(env, EBUSY, "cannot set %s: the object is already loaded", name);

	const char *sections[] = { ".rodata", ".data", ".bss" };
	struct btf *btf = bpf_object__btf(h->obj);
	if (!btf)
		return bridge_throw(env, ENOENT, "BPF object has no BTF: compile it with clang -g");
	for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		int id = btf__find_by_name_kind(btf, sections[s], BTF_KIND_DATASEC);
		struct bpf_map *map = section_map(h->obj, sections[s]);
		if (id < 0 || !map)
			continue;
		const struct btf_type *sec = btf__type_by_id(btf, id);
		const struct btf_var_secinfo *var = btf_var_secinfos(sec);
		for (int i = 0; i < btf_vlen(sec); i++, var++) {
			const struct btf_type *t = btf__type_by_id(btf, var->type);
			if (strcmp(btf__name_by_offset(btf, t->name_off), name) != 0)
				continue;
			if (var->size != length)
				return bridge_throw(env, EINVAL, "global %s is %u bytes, got %zu", name, var->size, length);
			size_t data_size;
			/* libbpf 1.1 declares it const, but before load it is the writable image skeletons write to */
			char *data = (char *)bpf_map__initial_value(map, &data_size);
			if (!data || var->offset + var->size > data_size)
				return bridge_throw(env, EINVAL, "cannot reach the data of global %s", name);
			memcpy(data + var->offset, bytes, length);
			return NULL;
		}
	}
	return bridge_throw(env, ENOENT, "BPF object has no global variable %s", name);
}

/* setMaxEntries(handle, mapName, n): resize a map before load (ring buffer bytes, LRU size). */
napi_value object_set_max_entries(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	struct bpf_handle *h;
	char name[256];
	unsigned int entries;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 3 || !arg_handle(env, argv[0], &h) || !arg_string(env, argv[1], name, sizeof(name)) ||
	    !arg_u32(env, argv[2], &entries))
		return NULL;
	struct bpf_map *map = bpf_object__find_map_by_name(h->obj, name);
	if (!map)
		return bridge_throw(env, ENOENT, "BPF object has no map %s", name);
	int err = bpf_map__set_max_entries(map, entries);
	if (err)
		return bridge_throw(env, err, "cannot set max_entries of %s to %u: %s", name, entries, strerror(-err));
	return NULL;
}

/* load(handle): verifier and CO-RE relocation happen here. */
napi_value object_load(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct bpf_handle *h;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || !arg_handle(env, argv[0], &h))
		return NULL;
	bridge_libbpf_log_reset();
	int err = bpf_object__load(h->obj);
	/* libbpf parsed the kernel's BTF (/sys/kernel/btf/vmlinux, several MB) for CO-RE and freed
	 * it again; glibc keeps freed memory mapped, and the agent would carry those pages in its
	 * RSS for its whole life. Hand them back. */
	malloc_trim(0);
	if (err)
		return bridge_throw(env, err, "loading BPF object %s failed: %s", bpf_object__name(h->obj), strerror(-err));
	h->loaded = true;
	return NULL;
}

/* attach(handle): attaches every program by its SEC() name; returns [{program, section}]. */
napi_value object_attach(napi_env env, napi_callback_info info)
{
	struct bpf_handle *h;
	if (!arg_loaded_handle(env, info, "attach", &h))
		return NULL;

	napi_value result;
	napi_create_array(env, &result);
	uint32_t index = 0;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, h->obj) {
		if (!bpf_program__autoload(prog))
			continue;
		if (h->link_count >= MAX_LINKS)
			return bridge_throw(env, E2BIG, "too many programs");
		struct bpf_link *link = bpf_program__attach(prog);
		if (!link) {
			int err = errno;
			return bridge_throw(env, err, "cannot attach %s (%s): %s", bpf_program__name(prog),
					    bpf_program__section_name(prog), strerror(err));
		}
		h->links[h->link_count++] = link;
		napi_value entry, name, section;
		napi_create_object(env, &entry);
		napi_create_string_utf8(env, bpf_program__name(prog), NAPI_AUTO_LENGTH, &name);
		napi_create_string_utf8(env, bpf_program__section_name(prog), NAPI_AUTO_LENGTH, &section);
		napi_set_named_property(env, entry, "program", name);
		napi_set_named_property(env, entry, "section", section);
		napi_set_element(env, result, index++, entry);
	}
	return result;
}

/* setAutoload(handle, programName, enabled): leave a program out of load and attach (before load).
 * Lets a receiver skip hooks whose cost buys nothing in its configuration. */
napi_value object_set_autoload(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	struct bpf_handle *h;
	char name[256];
	bool enabled;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 3 || !arg_handle(env, argv[0], &h) || !arg_string(env, argv[1], name, sizeof(name)))
		return NULL;
	if (napi_get_value_bool(env, argv[2], &enabled) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected a boolean");
		return NULL;
	}
	struct bpf_program *prog = bpf_object__find_program_by_name(h->obj, name);
	if (!prog)
		return bridge_throw(env, ENOENT, "BPF object has no program %s", name);
	int err = bpf_program__set_autoload(prog, enabled);
	if (err)
		return bridge_throw(env, err, "cannot change autoload of %s: %s", name, strerror(-err));
	return NULL;
}

/* attachCgroup(handle, programName, cgroupDir): attaches a cgroup program (sockops...) to a
 * cgroup v2 directory, for programs that SEC() names cannot place on their own. */
napi_value object_attach_cgroup(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	struct bpf_handle *h;
	char name[256], dir[4096];
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 3 || !arg_handle(env, argv[0], &h) || !arg_string(env, argv[1], name, sizeof(name)) ||
	    !arg_string(env, argv[2], dir, sizeof(dir)))
		return NULL;
	if (h->link_count >= MAX_LINKS)
		return bridge_throw(env, E2BIG, "too many programs");
	struct bpf_program *prog = bpf_object__find_program_by_name(h->obj, name);
	if (!prog)
		return bridge_throw(env, ENOENT, "BPF object has no program %s", name);
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return bridge_throw(env, errno, "cannot open cgroup %s: %s", dir, strerror(errno));
	struct bpf_link *link = bpf_program__attach_cgroup(prog, fd);
	int err = errno;
	close(fd);
	if (!link)
		return bridge_throw(env, err, "cannot attach %s to cgroup %s: %s", name, dir, strerror(err));
	h->links[h->link_count++] = link;
	return NULL;
}

/* close(handle): detaches and frees; idempotent. */
napi_value object_close(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct bpf_handle *h;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1)
		return NULL;
	if (napi_get_value_external(env, argv[0], (void **)&h) != napi_ok || !h->obj)
		return NULL;
	for (int i = 0; i < h->link_count; i++)
		bpf_link__destroy(h->links[i]);
	h->link_count = 0;
	bpf_object__close(h->obj);
	h->obj = NULL;
	return NULL;
}
