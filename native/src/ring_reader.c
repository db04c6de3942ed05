/* Ring buffer reader: libuv watches the ring buffer's epoll fd and a short timer; each wake-up
 * drains everything available into one buffer and makes ONE call into JavaScript with all
 * records, each framed as [u32 length][record]. Never one native call per event.
 *
 * The BPF side batches wake-ups (BPF_RB_NO_WAKEUP until enough bytes are pending), so the timer
 * is what bounds the latency of a quiet stream. */
#include "bridge.h"
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct ring_reader {
	napi_env env;
	struct ring_buffer *rb;
	uv_poll_t poll;
	uv_timer_t timer;
	int open_handles;
	bool closing;
	bool paused;
	unsigned int interval_ms;
	uint32_t max_batch_records;
	napi_ref callback;
	napi_ref object; /* keeps the BPF object alive while we read its map */
	napi_async_context async_context;
	char *batch;
	size_t batch_length;
	size_t batch_capacity;
	uint32_t batch_records;
	uint32_t error; /* errno of the last failed append; reported with the next batch */
};

/* Returned by append_record to end a pass early; not an error. */
#define BATCH_FULL (-EFBIG)

static int append_record(void *ctx, void *data, size_t size)
{
	struct ring_reader *r = ctx;
	size_t needed = r->batch_length + sizeof(uint32_t) + size;
	if (needed > r->batch_capacity) {
		size_t capacity = r->batch_capacity ? r->batch_capacity : 65536;
		while (capacity < needed)
			capacity *= 2;
		char *grown = realloc(r->batch, capacity);
		if (!grown) {
			r->error = ENOMEM;
			return 0; /* record is consumed either way; the JS side counts the loss */
		}
		r->batch = grown;
		r->batch_capacity = capacity;
	}
	uint32_t length = (uint32_t)size;
	memcpy(r->batch + r->batch_length, &length, sizeof(length));
	memcpy(r->batch + r->batch_length + sizeof(length), data, size);
	r->batch_length = needed;
	r->batch_records++;
	/* A full batch stops this pass (the record just taken is kept: libbpf has already moved the
	 * consumer past it); the rest stays in the kernel for the next pass, so one batch never
	 * holds more than max_batch_records and JS memory per batch stays bounded. */
	return r->batch_records >= r->max_batch_records ? BATCH_FULL : 0;
}

/* Hands one batch to JS; returns how many records it held. */
static uint32_t deliver_batch(struct ring_reader *r)
{
	if (r->closing)
		return 0;
	int consumed = ring_buffer__consume(r->rb);
	if (consumed == BATCH_FULL)
		consumed = 0;
	if (r->batch_records == 0 && consumed >= 0)
		return 0;
	uint32_t delivered = r->batch_records;
	napi_env env = r->env;
	napi_handle_scope scope;
	napi_open_handle_scope(env, &scope);
	napi_value callback, global, args[3], result;
	napi_get_reference_value(env, r->callback, &callback);
	napi_get_global(env, &global);
	napi_create_buffer_copy(env, r->batch_length, r->batch, NULL, &args[0]);
	napi_create_uint32(env, r->batch_records, &args[1]);
	napi_create_int32(env, consumed < 0 ? -consumed : (int)r->error, &args[2]);
	r->batch_length = 0;
	r->batch_records = 0;
	r->error = 0;
	napi_status status = napi_make_callback(env, r->async_context, global, callback, 3, args, &result);
	if (status == napi_pending_exception) {
		napi_value exception;
		napi_get_and_clear_last_exception(env, &exception);
		napi_fatal_exception(env, exception);
	}
	napi_close_handle_scope(env, scope);
	return delivered;
}

static void on_timer(uv_timer_t *handle);

/* A full batch means more is waiting. The ring buffer will not wake us for it (its wake-up
 * fired when the pending bytes crossed the threshold, not again while they stay above), so the
 * next batch is read on the next loop iteration, after JS has had its turn. */
static void deliver_and_continue(struct ring_reader *r)
{
	if (deliver_batch(r) >= r->max_batch_records && !r->closing && !r->paused)
		uv_timer_start(&r->timer, on_timer, 0, r->interval_ms);
}

static void on_readable(uv_poll_t *handle, int status, int events)
{
	deliver_and_continue(handle->data);
}

static void on_timer(uv_timer_t *handle)
{
	deliver_and_continue(handle->data);
}

static void on_handle_closed(uv_handle_t *handle)
{
	struct ring_reader *r = handle->data;
	if (--r->open_handles > 0)
		return;
	ring_buffer__free(r->rb);
	napi_delete_reference(r->env, r->callback);
	napi_delete_reference(r->env, r->object);
	napi_async_destroy(r->env, r->async_context);
	free(r->batch);
	free(r);
}

static void close_reader(struct ring_reader *r)
{
	if (r->closing)
		return;
	/* Hand what is still in the ring buffer to JS before closing: nothing is left unread. */
	while (deliver_batch(r) >= r->max_batch_records)
		;
	r->closing = true;
	uv_poll_stop(&r->poll);
	uv_timer_stop(&r->timer);
	uv_close((uv_handle_t *)&r->poll, on_handle_closed);
	uv_close((uv_handle_t *)&r->timer, on_handle_closed);
}

/* open(handle, mapName, callback(batch: Buffer, records: number, errno: number), drainIntervalMs,
 *      maxBatchRecords) */
napi_value ring_reader_open(napi_env env, napi_callback_info info)
{
	size_t argc = 5;
	napi_value argv[5];
	struct bpf_handle *h;
	char name[256];
	unsigned int interval_ms, max_batch_records;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 5 || !arg_handle(env, argv[0], &h) || !arg_string(env, argv[1], name, sizeof(name)) ||
	    !arg_u32(env, argv[3], &interval_ms) || !arg_u32(env, argv[4], &max_batch_records))
		return NULL;
	if (max_batch_records == 0)
		max_batch_records = 1;
	napi_valuetype type;
	napi_typeof(env, argv[2], &type);
	if (type != napi_function) {
		napi_throw_type_error(env, NULL, "expected a callback function");
		return NULL;
	}
	struct bpf_map *map = bpf_object__find_map_by_name(h->obj, name);
	if (!map || bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF)
		return bridge_throw(env, ENOENT, "BPF object has no ring buffer map %s", name);
	if (bpf_map__fd(map) < 0)
		return bridge_throw(env, EBADF, "ring buffer %s is not loaded", name);

	struct ring_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return bridge_throw(env, ENOMEM, "out of memory");
	r->env = env;
	r->rb = ring_buffer__new(bpf_map__fd(map), append_record, r, NULL);
	if (!r->rb) {
		int err = errno;
		free(r);
		return bridge_throw(env, err, "cannot open ring buffer %s: %s", name, strerror(err));
	}
	uv_loop_t *loop;
	napi_get_uv_event_loop(env, &loop);
	uv_poll_init(loop, &r->poll, ring_buffer__epoll_fd(r->rb));
	uv_timer_init(loop, &r->timer);
	r->poll.data = r;
	r->timer.data = r;
	r->open_handles = 2;
	napi_create_reference(env, argv[2], 1, &r->callback);
	napi_create_reference(env, argv[0], 1, &r->object);
	napi_value resource_name;
	napi_create_string_utf8(env, "tcpscope:RingReader", NAPI_AUTO_LENGTH, &resource_name);
	napi_async_init(env, NULL, resource_name, &r->async_context);
	r->interval_ms = interval_ms;
	r->max_batch_records = max_batch_records;
	uv_poll_start(&r->poll, UV_READABLE, on_readable);
	if (interval_ms > 0)
		uv_timer_start(&r->timer, on_timer, interval_ms, interval_ms);

	napi_value result;
	napi_create_external(env, r, NULL, NULL, &result);
	return result;
}

/* pause(reader) / resume(reader): stop and restart reading. While paused the kernel ring buffer
 * fills and then drops (counted by the BPF side): memory in user space stays bounded when the
 * pipeline cannot keep up. The ring buffer's fd is level-triggered, so resume() wakes at once
 * if records are waiting. */
static struct ring_reader *arg_reader(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct ring_reader *r;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&r) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected a ring reader");
		return NULL;
	}
	return r->closing ? NULL : r;
}

napi_value ring_reader_pause(napi_env env, napi_callback_info info)
{
	struct ring_reader *r = arg_reader(env, info);
	if (r && !r->paused) {
		r->paused = true;
		uv_poll_stop(&r->poll);
		uv_timer_stop(&r->timer);
	}
	return NULL;
}

napi_value ring_reader_resume(napi_env env, napi_callback_info info)
{
	struct ring_reader *r = arg_reader(env, info);
	if (r && r->paused) {
		r->paused = false;
		uv_poll_start(&r->poll, UV_READABLE, on_readable);
		/* read at once what piled up while paused: no wake-up will announce it */
		uv_timer_start(&r->timer, on_timer, 0, r->interval_ms);
	}
	return NULL;
}

/* close(reader): delivers the remaining records, then stops; idempotent. */
napi_value ring_reader_close(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct ring_reader *r;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&r) != napi_ok)
		return NULL;
	close_reader(r);
	return NULL;
}
