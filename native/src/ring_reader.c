/* Ring buffer reader: libuv watches the ring buffer (through an epoll fd) and a short timer;
 * each wake-up copies everything available into one JS Buffer and makes ONE call into
 * JavaScript with all records, each framed as [u32 length][record]. Never one native call per
 * event.
 *
 * The BPF side batches wake-ups (BPF_RB_NO_WAKEUP until enough bytes are pending), so the timer
 * is what bounds the latency of a quiet stream.
 *
 * We consume the ring ourselves rather than through libbpf's ring_buffer API. libbpf maps the
 * data area twice, back to back, so that a record which wraps past the end can be read in place;
 * both mappings then count in the process's RSS once the ring has cycled (8 MB of RSS for the
 * default 4 MiB ring). Every record is copied into the batch anyway, so one mapping is enough: a
 * wrapped record is copied in two pieces. The copy goes straight into the JS Buffer: the records
 * are measured first (headers only), then copied once. */
#include "bridge.h"
#include "ring_walk.h"
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uv.h>

struct ring_reader {
	napi_env env;
	int epoll_fd;
	struct ring_view ring;
	size_t page_size;
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
};

/* Hands one batch to JS; returns how many records it took from the ring. */
static uint32_t deliver_batch(struct ring_reader *r)
{
	if (r->closing)
		return 0;
	uint64_t consumer = load_acquire_u64(r->ring.consumer_pos);
	struct batch_extent extent = measure_batch(&r->ring, consumer, r->max_batch_records);
	if (extent.records == 0) {
		/* nothing, or only discarded records: move past them without calling JS */
		__atomic_store_n(r->ring.consumer_pos, extent.end_pos, __ATOMIC_RELEASE);
		return 0;
	}
	napi_env env = r->env;
	napi_handle_scope scope;
	napi_open_handle_scope(env, &scope);
	napi_value callback, global, args[3], result;
	void *bytes;
	uint32_t delivered = extent.records;
	int error = 0;
	if (napi_create_buffer(env, extent.framed_bytes, &bytes, &args[0]) == napi_ok) {
		copy_batch(&r->ring, consumer, extent.end_pos, bytes);
	} else {
		/* The records are consumed either way, so that the ring does not stall behind them;
		 * the JS side hears of the loss through the errno. */
		bool pending;
		napi_value ignored;
		if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
			napi_get_and_clear_last_exception(env, &ignored);
		napi_create_buffer(env, 0, &bytes, &args[0]);
		delivered = 0;
		error = ENOMEM;
	}
	__atomic_store_n(r->ring.consumer_pos, extent.end_pos, __ATOMIC_RELEASE);
	napi_get_reference_value(env, r->callback, &callback);
	napi_get_global(env, &global);
	napi_create_uint32(env, delivered, &args[1]);
	napi_create_int32(env, error, &args[2]);
	napi_status status = napi_make_callback(env, r->async_context, global, callback, 3, args, &result);
	if (status == napi_pending_exception) {
		napi_value exception;
		napi_get_and_clear_last_exception(env, &exception);
		napi_fatal_exception(env, exception);
	}
	napi_close_handle_scope(env, scope);
	return extent.records;
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
	close(r->epoll_fd);
	munmap((void *)r->ring.producer_pos, r->page_size + r->ring.mask + 1);
	munmap(r->ring.consumer_pos, r->page_size);
	napi_delete_reference(r->env, r->callback);
	napi_delete_reference(r->env, r->object);
	napi_async_destroy(r->env, r->async_context);
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

/* Maps the consumer page (read-write) and the producer page with the data area once
 * (read-only), and registers the map for wake-ups. Returns 0 or a positive errno. */
static int map_ring(struct ring_reader *r, int map_fd, uint32_t data_size)
{
	if (data_size == 0 || (data_size & (data_size - 1)) != 0)
		return EINVAL;
	r->page_size = (size_t)sysconf(_SC_PAGESIZE);
	r->ring.mask = (uint64_t)data_size - 1;
	void *consumer = mmap(NULL, r->page_size, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (consumer == MAP_FAILED)
		return errno;
	void *producer = mmap(NULL, r->page_size + data_size, PROT_READ, MAP_SHARED, map_fd, (off_t)r->page_size);
	if (producer == MAP_FAILED) {
		int err = errno;
		munmap(consumer, r->page_size);
		return err;
	}
	/* The map's fd is watched through an epoll fd of our own, registered now, as libbpf does,
	 * rather than handed to libuv, which registers it on its next loop turn: by then the
	 * receiver has attached its programs, and a ring already holding records at registration is
	 * readable at once and stays so (level-triggered) while records keep coming, so the reader
	 * would take small batches instead of waiting for the kernel's batched wake-up. */
	r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event event = { .events = EPOLLIN };
	if (r->epoll_fd < 0 || epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, map_fd, &event) < 0) {
		int err = errno;
		if (r->epoll_fd >= 0)
			close(r->epoll_fd);
		munmap(producer, r->page_size + data_size);
		munmap(consumer, r->page_size);
		return err;
	}
	r->ring.consumer_pos = consumer;
	r->ring.producer_pos = producer;
	r->ring.data = (const uint8_t *)producer + r->page_size;
	return 0;
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
	int err = map_ring(r, bpf_map__fd(map), bpf_map__max_entries(map));
	if (err) {
		free(r);
		return bridge_throw(env, err, "cannot map ring buffer %s: %s", name, strerror(err));
	}
	r->env = env;
	uv_loop_t *loop;
	napi_get_uv_event_loop(env, &loop);
	uv_poll_init(loop, &r->poll, r->epoll_fd);
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
