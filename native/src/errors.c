/* Error reporting: JS errors that carry libbpf's errno, and a capture of libbpf's own output
 * so that a verifier rejection can show the log's tail instead of "Permission denied". */
#include "bridge.h"
#include "log_tail.h"
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_CAPACITY 16384
static char log_buffer[LOG_CAPACITY];
static struct log_tail libbpf_log = { .buffer = log_buffer, .capacity = LOG_CAPACITY };
static bool log_debug;

static int capture_libbpf_output(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG && !log_debug)
		return 0;
	/* The verifier log arrives as one large message: size it, don't truncate it. */
	va_list copy;
	va_copy(copy, args);
	int n = vsnprintf(NULL, 0, format, copy);
	va_end(copy);
	if (n < 0)
		return 0;
	char *line = malloc((size_t)n + 1);
	if (!line)
		return 0;
	vsnprintf(line, (size_t)n + 1, format, args);
	if (log_debug)
		fputs(line, stderr);
	log_tail_append(&libbpf_log, line, (size_t)n);
	free(line);
	return 0;
}

void bridge_install_libbpf_logger(void)
{
	const char *debug = getenv("TCPSCOPE_LIBBPF_DEBUG");
	log_debug = debug && *debug && strcmp(debug, "0") != 0;
	libbpf_set_print(capture_libbpf_output);
}

const char *bridge_libbpf_log_tail(void)
{
	const size_t tail = 4096;
	return libbpf_log.length > tail ? libbpf_log.buffer + libbpf_log.length - tail : libbpf_log.buffer;
}

void bridge_libbpf_log_reset(void)
{
	log_tail_reset(&libbpf_log);
}

napi_value bridge_throw(napi_env env, int err, const char *fmt, ...)
{
	char message[1024];
	va_list args;
	va_start(args, fmt);
	vsnprintf(message, sizeof(message), fmt, args);
	va_end(args);
	if (err < 0)
		err = -err;

	napi_value msg, error, errno_value, code, log;
	napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
	napi_create_error(env, NULL, msg, &error);
	napi_create_int32(env, err, &errno_value);
	napi_set_named_property(env, error, "errno", errno_value);
	napi_create_string_utf8(env, "BPF_ERROR", NAPI_AUTO_LENGTH, &code);
	napi_set_named_property(env, error, "code", code);
	napi_create_string_utf8(env, bridge_libbpf_log_tail(), NAPI_AUTO_LENGTH, &log);
	napi_set_named_property(env, error, "libbpfLog", log);
	napi_throw(env, error);
	return NULL;
}

bool arg_handle(napi_env env, napi_value value, struct bpf_handle **out)
{
	napi_valuetype type;
	if (napi_typeof(env, value, &type) != napi_ok || type != napi_external) {
		napi_throw_type_error(env, NULL, "expected a BPF object handle");
		return false;
	}
	napi_get_value_external(env, value, (void **)out);
	if (!(*out)->obj) {
		napi_throw_error(env, NULL, "BPF object is already closed");
		return false;
	}
	return true;
}

bool arg_string(napi_env env, napi_value value, char *out, size_t size)
{
	size_t len;
	if (napi_get_value_string_utf8(env, value, out, size, &len) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected a string");
		return false;
	}
	return true;
}

bool arg_u32(napi_env env, napi_value value, unsigned int *out)
{
	if (napi_get_value_uint32(env, value, out) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected an unsigned 32-bit number");
		return false;
	}
	return true;
}

bool arg_buffer(napi_env env, napi_value value, void **data, size_t *length)
{
	bool is_buffer = false;
	napi_is_buffer(env, value, &is_buffer);
	if (!is_buffer || napi_get_buffer_info(env, value, data, length) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected a Buffer");
		return false;
	}
	return true;
}

bool arg_loaded_handle(napi_env env, napi_callback_info info, const char *call, struct bpf_handle **out)
{
	size_t argc = 1;
	napi_value argv[1];
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || !arg_handle(env, argv[0], out))
		return false;
	if (!(*out)->loaded) {
		bridge_throw(env, EINVAL, "%s before load", call);
		return false;
	}
	return true;
}
