/* Module registration for the tcpscope libbpf bridge. */
#include "bridge.h"

#define EXPORT(name, fn)                                                                  \
	do {                                                                              \
		napi_value f;                                                             \
		napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);          \
		napi_set_named_property(env, exports, name, f);                           \
	} while (0)

static napi_value init(napi_env env, napi_value exports)
{
	bridge_install_libbpf_logger();
	EXPORT("open", object_open);
	EXPORT("setGlobal", object_set_global);
	EXPORT("setMaxEntries", object_set_max_entries);
	EXPORT("setAutoload", object_set_autoload);
	EXPORT("load", object_load);
	EXPORT("attach", object_attach);
	EXPORT("attachCgroup", object_attach_cgroup);
	EXPORT("close", object_close);
	EXPORT("mapDump", map_dump);
	EXPORT("mapUpdate", map_update);
	EXPORT("mapDelete", map_delete);
	EXPORT("possibleCpus", possible_cpus);
	EXPORT("programInfo", program_info);
	EXPORT("loadedPrograms", loaded_programs);
	EXPORT("probeBpf", probe_bpf);
	EXPORT("btfOpen", btf_open);
	EXPORT("btfClose", btf_close);
	EXPORT("btfFind", btf_find);
	EXPORT("btfHasMember", btf_has_member);
	EXPORT("btfFunctionProtoParams", btf_function_proto_params);
	EXPORT("btfEnumValues", btf_enum_values);
	EXPORT("ringOpen", ring_reader_open);
	EXPORT("ringClose", ring_reader_close);
	EXPORT("ringPause", ring_reader_pause);
	EXPORT("ringResume", ring_reader_resume);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
