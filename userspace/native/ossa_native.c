// SPDX-License-Identifier: MIT
/*
 * ossa native binding: the system calls the TypeScript library needs and
 * Node.js does not offer (open of a device node with raw flags, ioctl,
 * mmap of a buffer object as an ArrayBuffer without copying, eventfd, and
 * a wait for a file descriptor).
 *
 * Every function here is a thin wrapper; policy lives in TypeScript.
 * The library's ioctls run on the calling thread and must not sleep for
 * long; a wait is a file descriptor (a sync_file, an eventfd that a
 * syncobj signals, a dma-buf) polled on the event loop, holding no thread.
 * ioctlAsync() runs an ioctl on libuv's thread pool, for callers that want
 * several in the kernel at once.
 *
 * Node-API has no way to wait for a file descriptor, so waits use libuv's
 * uv_poll_t and uv_timer_t on the loop Node-API hands out
 * (napi_get_uv_event_loop()); both have kept their API and ABI through
 * libuv 1.x, the only libuv Node.js has shipped since 4.0. Everything else
 * is Node-API version 8.
 *
 * Per environment (the main thread and each Worker) the binding keeps the
 * files it opened, its mappings and its waits; when the environment ends
 * (a Worker exits) it stops the waits, unmaps the mappings and closes the
 * files that JavaScript left behind.
 *
 * Errors are thrown as Error objects with `errno` (positive number),
 * `code` (e.g. "ENOTTY") and `syscall` properties, like Node's own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define CHECK(env, call)						\
	do {								\
		if ((call) != napi_ok) {				\
			napi_throw_error((env), NULL, #call " failed");	\
			return NULL;					\
		}							\
	} while (0)

/* The errno's symbolic name, e.g. "ENOTTY" (glibc 2.32 and later). */
static const char *errno_code(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "EUNKNOWN";
}

/* An Error for errno `err`; its message is `detail`, or strerror(err). */
static napi_value make_errno_error(napi_env env, int err, const char *syscall,
				   const char *detail)
{
	napi_value msg, code, error, num, sc;

	if (napi_create_string_utf8(env, detail ? detail : strerror(err), NAPI_AUTO_LENGTH,
				    &msg) != napi_ok ||
	    napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &code) != napi_ok ||
	    napi_create_error(env, code, msg, &error) != napi_ok ||
	    napi_create_int32(env, err, &num) != napi_ok ||
	    napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc) != napi_ok ||
	    napi_set_named_property(env, error, "errno", num) != napi_ok ||
	    napi_set_named_property(env, error, "syscall", sc) != napi_ok)
		return NULL;
	return error;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall)
{
	napi_value error = make_errno_error(env, err, syscall, NULL);

	if (error)
		napi_throw(env, error);
	return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	size_t argc = want;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != want) {
		napi_throw_type_error(env, NULL, "wrong number of arguments");
		return -1;
	}
	return 0;
}

/* Gets the bytes of a Buffer, TypedArray or null (NULL, 0). */
static int get_bytes(napi_env env, napi_value v, void **data, size_t *len)
{
	napi_valuetype t;
	bool is_typed;

	*data = NULL;
	*len = 0;
	if (napi_typeof(env, v, &t) != napi_ok)
		return -1;
	if (t == napi_null)
		return 0;
	if (napi_is_typedarray(env, v, &is_typed) == napi_ok && is_typed) {
		napi_typedarray_type tt;
		size_t count, offset;
		napi_value ab;
		uint8_t *base;

		if (napi_get_typedarray_info(env, v, &tt, &count, (void **)&base, &ab, &offset) != napi_ok)
			return -1;
		*data = base;
		switch (tt) {
		case napi_int8_array:
		case napi_uint8_array:
		case napi_uint8_clamped_array:
			*len = count;
			break;
		case napi_int16_array:
		case napi_uint16_array:
			*len = count * 2;
			break;
		case napi_int32_array:
		case napi_uint32_array:
		case napi_float32_array:
			*len = count * 4;
			break;
		case napi_float64_array:
		case napi_bigint64_array:
		case napi_biguint64_array:
			*len = count * 8;
			break;
		default:
			/* A kind this file does not know: its length is unknown. */
			napi_throw_type_error(env, NULL, "unsupported TypedArray kind");
			return -1;
		}
		return 0;
	}
	napi_throw_type_error(env, NULL, "expected a Buffer, a TypedArray or null");
	return -1;
}


/* What the binding keeps for one environment (the main thread or a Worker). */
struct env_state;

/*
 * A mapping handed to JavaScript as an external ArrayBuffer. munmap()
 * detaches the ArrayBuffer (its length becomes 0, so no access can reach
 * the unmapped pages) and unmaps; otherwise the finaliser unmaps when the
 * ArrayBuffer is collected, or the environment's end does. V8 counts an
 * external ArrayBuffer's length as external memory by itself (until it is
 * detached or collected), so the binding does not report it again.
 */
struct mapping {
	void *addr;		/* NULL once unmapped */
	size_t len;
	struct env_state *state;	/* NULL once the environment has ended */
	struct mapping *next;
};

/* A file open() opened and close() has not closed. */
struct open_file {
	int fd;
	struct open_file *next;
};

/* A wait for a file descriptor on the event loop; see n_poll_start(). */
struct pollwait {
	struct env_state *state;
	napi_deferred deferred;
	napi_async_context async;
	uv_poll_t poll;
	uv_timer_t timer;
	int fd;
	uint32_t id;
	int open_handles;
	int result;		/* POLL_* */
	int err;		/* for POLL_ERROR: a positive errno */
	bool writable;		/* waits for POLLOUT, not POLLIN */
	bool ending;		/* the environment ends: settle nothing */
	struct pollwait *next;
};

enum { POLL_TIMEOUT = 0, POLL_READY = 1, POLL_CANCELLED = -1, POLL_ERROR = -2 };

struct env_state {
	napi_env env;
	struct mapping *mappings;
	struct open_file *files;
	struct pollwait *polls;
	uint32_t next_poll_id;
	/* The environment's end: the hook, and waits whose handles still close. */
	napi_async_cleanup_hook_handle cleanup;
	unsigned int closing;
};

/*
 * Guards every mapping's fields and the mapping lists: a finaliser may run
 * on another thread than the environment's.
 */
static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;

static struct env_state *env_state(napi_env env)
{
	void *data = NULL;

	if (napi_get_instance_data(env, &data) != napi_ok || !data)
		napi_throw_error(env, NULL, "ossa binding: no state for this environment");
	return data;
}

/* Frees the state once the environment's end has nothing left to close. */
static void env_state_free(struct env_state *st)
{
	napi_remove_async_cleanup_hook(st->cleanup);
	free(st);
}

/* open(path: string, flags: number): number */
static napi_value n_open(napi_env env, napi_callback_info info)
{
	struct env_state *st = env_state(env);
	napi_value argv[2], result;
	struct open_file *f;
	char path[4096];
	size_t len;
	int32_t flags;
	int fd;

	if (!st || get_args(env, info, 2, argv))
		return NULL;
	CHECK(env, napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &len));
	CHECK(env, napi_get_value_int32(env, argv[1], &flags));
	if (len >= sizeof(path) - 1)
		return throw_errno(env, ENAMETOOLONG, "open");
	f = malloc(sizeof(*f));
	if (!f)
		return throw_errno(env, ENOMEM, "open");
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		free(f);
		return throw_errno(env, err, "open");
	}
	f->fd = fd;
	f->next = st->files;
	st->files = f;
	CHECK(env, napi_create_int32(env, fd, &result));
	return result;
}

/* close(fd: number): void; closes any fd, and forgets one open() opened. */
static napi_value n_close(napi_env env, napi_callback_info info)
{
	struct env_state *st = env_state(env);
	struct open_file **p, *f;
	napi_value argv[1];
	int32_t fd;

	if (!st || get_args(env, info, 1, argv))
		return NULL;
	CHECK(env, napi_get_value_int32(env, argv[0], &fd));
	for (p = &st->files; *p; p = &(*p)->next) {
		if ((*p)->fd == fd) {
			f = *p;
			*p = f->next;
			free(f);
			break;
		}
	}
	if (close(fd) < 0)
		return throw_errno(env, errno, "close");
	return NULL;
}

/* Checks that an ioctl argument holds the size its request encodes; throws EINVAL. */
static int check_ioctl_arg(napi_env env, uint32_t request, const void *data, size_t len)
{
	size_t need = _IOC_SIZE(request);
	char detail[128];
	napi_value error;

	if (!need || (data && len >= need))
		return 0;
	snprintf(detail, sizeof(detail), "the argument is %zu bytes, request 0x%08x takes %zu",
		 len, request, need);
	error = make_errno_error(env, EINVAL, "ioctl", detail);
	if (error)
		napi_throw(env, error);
	return -1;
}

/*
 * ioctl(fd: number, request: number, arg: Buffer | TypedArray | null): number
 *
 * The argument must hold at least the size the request encodes
 * (_IOC_SIZE): the kernel copies that many bytes in and out, whatever the
 * buffer's length. Retried on EINTR only; EAGAIN is the caller's to handle.
 */
static napi_value n_ioctl(napi_env env, napi_callback_info info)
{
	napi_value argv[3], result;
	uint32_t request;
	int32_t fd;
	void *data;
	size_t len;
	int ret;

	if (get_args(env, info, 3, argv))
		return NULL;
	CHECK(env, napi_get_value_int32(env, argv[0], &fd));
	CHECK(env, napi_get_value_uint32(env, argv[1], &request));
	if (get_bytes(env, argv[2], &data, &len))
		return NULL;
	if (check_ioctl_arg(env, request, data, len))
		return NULL;
	do {
		ret = ioctl(fd, (unsigned long)request, data);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return throw_errno(env, errno, "ioctl");
	CHECK(env, napi_create_int32(env, ret, &result));
	return result;
}

/*
 * ioctlValue(fd: number, request: number, value: number): number
 *
 * An ioctl whose argument is a number, not a pointer (VFIO_CHECK_EXTENSION,
 * VFIO_SET_IOMMU): refused (EINVAL, before the kernel sees it) for a
 * request that encodes a size or a direction, which takes a pointer.
 * Retried on EINTR only.
 */
static napi_value n_ioctl_value(napi_env env, napi_callback_info info)
{
	napi_value argv[3], result, error;
	uint32_t request, value;
	int32_t fd;
	int ret;

	if (get_args(env, info, 3, argv))
		return NULL;
	CHECK(env, napi_get_value_int32(env, argv[0], &fd));
	CHECK(env, napi_get_value_uint32(env, argv[1], &request));
	CHECK(env, napi_get_value_uint32(env, argv[2], &value));
	if (_IOC_SIZE(request) || _IOC_DIR(request) != _IOC_NONE) {
		char detail[96];

		snprintf(detail, sizeof(detail), "request 0x%08x takes a pointer, not a value", request);
		error = make_errno_error(env, EINVAL, "ioctl", detail);
		if (error)
			napi_throw(env, error);
		return NULL;
	}
	do {
		ret = ioctl(fd, (unsigned long)request, (unsigned long)value);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return throw_errno(env, errno, "ioctl");
	CHECK(env, napi_create_int32(env, ret, &result));
	return result;
}

struct ioctl_work {
	napi_async_work work;
	napi_deferred deferred;
	napi_ref arg_ref;
	int fd;			/* a duplicate, closed when the work is done */
	unsigned long request;
	void *data;
	int ret;
	int err;
};

static void ioctl_work_free(napi_env env, struct ioctl_work *w)
{
	if (w->arg_ref)
		napi_delete_reference(env, w->arg_ref);
	if (w->work)
		napi_delete_async_work(env, w->work);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

static void ioctl_execute(napi_env env, void *opaque)
{
	struct ioctl_work *w = opaque;

	(void)env;
	do {
		w->ret = ioctl(w->fd, w->request, w->data);
	} while (w->ret < 0 && errno == EINTR);
	w->err = w->ret < 0 ? errno : 0;
}

static void ioctl_complete(napi_env env, napi_status status, void *opaque)
{
	struct ioctl_work *w = opaque;
	napi_value v = NULL;

	if (status != napi_ok) {
		napi_value msg;

		if (napi_create_string_utf8(env, "ioctl work cancelled", NAPI_AUTO_LENGTH,
					    &msg) == napi_ok &&
		    napi_create_error(env, NULL, msg, &v) == napi_ok)
			napi_reject_deferred(env, w->deferred, v);
	} else if (w->ret < 0) {
		v = make_errno_error(env, w->err, "ioctl", NULL);
		if (v)
			napi_reject_deferred(env, w->deferred, v);
	} else if (napi_create_int32(env, w->ret, &v) == napi_ok) {
		napi_resolve_deferred(env, w->deferred, v);
	}
	ioctl_work_free(env, w);
}

/*
 * ioctlAsync(fd: number, request: number, arg: Buffer | TypedArray | null):
 * Promise<number>
 *
 * An ioctl on libuv's thread pool, for callers that want several ioctls of
 * one process in the kernel at once; it holds a pool thread for as long as
 * it sleeps, so the library's own waits do not use it. It runs on a
 * duplicate of fd made now: closing fd meanwhile, or a new file taking its
 * number, cannot redirect it. The argument is kept alive until it is done.
 */
static napi_value n_ioctl_async(napi_env env, napi_callback_info info)
{
	napi_value argv[3], promise, name;
	struct ioctl_work *w;
	uint32_t request;
	int32_t fd;
	size_t len;

	if (get_args(env, info, 3, argv))
		return NULL;
	CHECK(env, napi_get_value_int32(env, argv[0], &fd));
	CHECK(env, napi_get_value_uint32(env, argv[1], &request));
	w = calloc(1, sizeof(*w));
	if (!w)
		return throw_errno(env, ENOMEM, "ioctl");
	w->fd = -1;
	w->request = request;
	if (get_bytes(env, argv[2], &w->data, &len) ||
	    check_ioctl_arg(env, request, w->data, len)) {
		ioctl_work_free(env, w);
		return NULL;
	}
	w->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (w->fd < 0) {
		int err = errno;

		ioctl_work_free(env, w);
		return throw_errno(env, err, "ioctl");
	}
	if ((w->data && napi_create_reference(env, argv[2], 1, &w->arg_ref) != napi_ok) ||
	    napi_create_string_utf8(env, "ossa.ioctl", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_create_async_work(env, NULL, name, ioctl_execute, ioctl_complete, w,
				   &w->work) != napi_ok ||
	    napi_create_promise(env, &w->deferred, &promise) != napi_ok) {
		ioctl_work_free(env, w);
		napi_throw_error(env, NULL, "cannot queue ioctl work");
		return NULL;
	}
	if (napi_queue_async_work(env, w->work) != napi_ok) {
		napi_value error;

		/* The promise exists: reject it, as the caller gets nothing else. */
		error = make_errno_error(env, EAGAIN, "ioctl", "cannot queue ioctl work");
		if (error)
			napi_reject_deferred(env, w->deferred, error);
		ioctl_work_free(env, w);
	}
	return promise;
}

/*
 * memfd(name: string, size: number): number, an anonymous shmem file of
 * `size` bytes (close-on-exec): memory a process can map shared and hand
 * to a device, whatever file system TMPDIR is on.
 */
static napi_value n_memfd(napi_env env, napi_callback_info info)
{
	napi_value argv[2], result;
	char name[64];
	int64_t size;
	int fd;

	if (get_args(env, info, 2, argv))
		return NULL;
	CHECK(env, napi_get_value_string_utf8(env, argv[0], name, sizeof(name), NULL));
	CHECK(env, napi_get_value_int64(env, argv[1], &size));
	if (size <= 0)
		return throw_errno(env, EINVAL, "memfd_create");
	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return throw_errno(env, errno, "memfd_create");
	if (ftruncate(fd, (off_t)size) < 0) {
		int err = errno;

		close(fd);
		return throw_errno(env, err, "ftruncate");
	}
	CHECK(env, napi_create_int32(env, fd, &result));
	return result;
}

/* eventfd(): number, non-blocking and close-on-exec, counter 0. */
static napi_value n_eventfd(napi_env env, napi_callback_info info)
{
	napi_value result;
	int fd;

	(void)info;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return throw_errno(env, errno, "eventfd");
	CHECK(env, napi_create_int32(env, fd, &result));
	return result;
}

/* address(buf: Buffer | TypedArray): bigint, for __u64 user pointers. */
static napi_value n_address(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result;
	void *data;
	size_t len;

	if (get_args(env, info, 1, argv))
		return NULL;
	if (get_bytes(env, argv[0], &data, &len))
		return NULL;
	CHECK(env, napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)data, &result));
	return result;
}

/* Unlinks m from its environment's list; mappings_lock held. */
static void mapping_unlink(struct mapping *m)
{
	struct mapping **p;

	if (!m->state)
		return;
	for (p = &m->state->mappings; *p; p = &(*p)->next) {
		if (*p == m) {
			*p = m->next;
			break;
		}
	}
}

static void mapping_finalize(napi_env env, void *data, void *hint)
{
	struct mapping *m = hint;

	(void)env;
	(void)data;
	pthread_mutex_lock(&mappings_lock);
	if (m->addr)
		munmap(m->addr, m->len);
	mapping_unlink(m);
	pthread_mutex_unlock(&mappings_lock);
	free(m);
}

/* mmap(fd: number, length: number, offset: bigint, writable: boolean): ArrayBuffer */
static napi_value n_mmap(napi_env env, napi_callback_info info)
{
	struct env_state *st = env_state(env);
	napi_value argv[4], result;
	int32_t fd;
	int64_t len;
	uint64_t offset;
	bool lossless, writable;
	struct mapping *m;

	if (!st || get_args(env, info, 4, argv))
		return NULL;
	CHECK(env, napi_get_value_int32(env, argv[0], &fd));
	CHECK(env, napi_get_value_int64(env, argv[1], &len));
	CHECK(env, napi_get_value_bigint_uint64(env, argv[2], &offset, &lossless));
	CHECK(env, napi_get_value_bool(env, argv[3], &writable));
	if (len <= 0 || !lossless)
		return throw_errno(env, EINVAL, "mmap");

	m = calloc(1, sizeof(*m));
	if (!m)
		return throw_errno(env, ENOMEM, "mmap");
	m->len = (size_t)len;
	m->addr = mmap(NULL, m->len, PROT_READ | (writable ? PROT_WRITE : 0),
		       MAP_SHARED, fd, (off_t)offset);
	if (m->addr == MAP_FAILED) {
		int err = errno;

		free(m);
		return throw_errno(env, err, "mmap");
	}
	if (napi_create_external_arraybuffer(env, m->addr, m->len, mapping_finalize, m,
					     &result) != napi_ok) {
		munmap(m->addr, m->len);
		free(m);
		napi_throw_error(env, NULL, "cannot create an external ArrayBuffer");
		return NULL;
	}
	pthread_mutex_lock(&mappings_lock);
	m->state = st;
	m->next = st->mappings;
	st->mappings = m;
	pthread_mutex_unlock(&mappings_lock);
	return result;
}

/* munmap(mapping: ArrayBuffer from mmap()): void; a second call is a no-op. */
static napi_value n_munmap(napi_env env, napi_callback_info info)
{
	struct env_state *st = env_state(env);
	napi_value argv[1];
	struct mapping *m;
	bool detached;
	void *data;
	size_t len;
	int ret = 0;

	if (!st || get_args(env, info, 1, argv))
		return NULL;
	CHECK(env, napi_is_detached_arraybuffer(env, argv[0], &detached));
	if (detached)
		return NULL;
	CHECK(env, napi_get_arraybuffer_info(env, argv[0], &data, &len));

	pthread_mutex_lock(&mappings_lock);
	for (m = st->mappings; m && m->addr != data; m = m->next)
		;
	if (!m) {
		pthread_mutex_unlock(&mappings_lock);
		return throw_errno(env, EINVAL, "munmap");
	}
	/* Detach first: from here no JavaScript can reach the pages. */
	if (napi_detach_arraybuffer(env, argv[0]) != napi_ok) {
		pthread_mutex_unlock(&mappings_lock);
		napi_throw_error(env, NULL, "cannot detach the ArrayBuffer");
		return NULL;
	}
	if (munmap(m->addr, m->len))
		ret = errno;
	m->addr = NULL;		/* the finaliser will only free */
	mapping_unlink(m);
	m->state = NULL;
	pthread_mutex_unlock(&mappings_lock);
	return ret ? throw_errno(env, ret, "munmap") : NULL;
}

/*
 * pollStart(fd, writable, timeoutMs): { id, done }: waits on the event loop
 * (libuv poll, no thread) until fd is readable (or writable), the timeout
 * passes, or pollCancel(id) is called; `done` resolves with 1, 0 or -1
 * respectively, and rejects with a poll error. The caller keeps fd open
 * until `done` settles (the binding closes it only if the environment
 * ends first). A sync_file or eventfd is readable once its fence has
 * signalled; a dma-buf is writable once no fence of its buffer is pending.
 */
static void pollwait_settle(struct pollwait *w)
{
	napi_env env = w->state->env;
	napi_handle_scope scope;
	napi_callback_scope cb_scope;
	napi_value resource, value = NULL;

	/* A callback scope, so that promise reactions run when it closes. */
	if (napi_open_handle_scope(env, &scope) != napi_ok)
		return;
	if (napi_create_object(env, &resource) == napi_ok &&
	    napi_open_callback_scope(env, resource, w->async, &cb_scope) == napi_ok) {
		if (w->result == POLL_ERROR) {
			value = make_errno_error(env, w->err, "poll", NULL);
			if (value)
				napi_reject_deferred(env, w->deferred, value);
		} else if (napi_create_int32(env, w->result, &value) == napi_ok) {
			napi_resolve_deferred(env, w->deferred, value);
		}
		napi_close_callback_scope(env, cb_scope);
	}
	napi_close_handle_scope(env, scope);
}

static void pollwait_closed(uv_handle_t *h)
{
	struct pollwait *w = h->data, **p;

	if (--w->open_handles)
		return;
	if (w->ending) {
		struct env_state *st = w->state;

		/* No JavaScript is left to settle to or to close the fd. */
		close(w->fd);
		if (w->async)
			napi_async_destroy(st->env, w->async);
		free(w);
		if (--st->closing == 0)
			env_state_free(st);
		return;
	}
	for (p = &w->state->polls; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	if (w->deferred)
		pollwait_settle(w);
	if (w->async)
		napi_async_destroy(w->state->env, w->async);
	free(w);
}

/*
 * Stops the wait with `result`; its promise settles once both handles are
 * closed, and it stays on its environment's list until then.
 */
static void pollwait_finish(struct pollwait *w, int result, int err)
{
	if (uv_is_closing((uv_handle_t *)&w->poll))
		return;
	w->result = result;
	w->err = err;
	uv_close((uv_handle_t *)&w->poll, pollwait_closed);
	uv_close((uv_handle_t *)&w->timer, pollwait_closed);
}

static void pollwait_ready(uv_poll_t *p, int status, int events)
{
	(void)events;
	if (status < 0)
		pollwait_finish(p->data, POLL_ERROR, -status);
	else
		pollwait_finish(p->data, POLL_READY, 0);
}

static void pollwait_timeout(uv_timer_t *t)
{
	struct pollwait *w = t->data;
	struct pollfd p = {
		.fd = w->fd,
		.events = w->writable ? POLLOUT : POLLIN,
	};

	/*
	 * The loop runs due timers before it polls: an fd that became ready
	 * meanwhile (or was ready from the start, with a timeout of 0) is
	 * ready, not timed out.
	 */
	if (poll(&p, 1, 0) > 0 && (p.revents & p.events))
		pollwait_finish(w, POLL_READY, 0);
	else
		pollwait_finish(w, POLL_TIMEOUT, 0);
}

static napi_value n_poll_start(napi_env env, napi_callback_info info)
{
	struct env_state *st = env_state(env);
	napi_value argv[3], promise, name, result, id;
	struct pollwait *w;
	uv_loop_t *loop;
	bool writable;
	int32_t fd;
	double timeout;
	int err;

	if (!st || get_args(env, info, 3, argv))
		return NULL;
	CHECK(env, napi_get_value_int32(env, argv[0], &fd));
	CHECK(env, napi_get_value_bool(env, argv[1], &writable));
	CHECK(env, napi_get_value_double(env, argv[2], &timeout));
	if (fd < 0 || !(timeout >= 0))
		return throw_errno(env, EINVAL, "poll");
	CHECK(env, napi_get_uv_event_loop(env, &loop));

	w = calloc(1, sizeof(*w));
	if (!w)
		return throw_errno(env, ENOMEM, "poll");
	w->state = st;
	w->fd = fd;
	w->writable = writable;
	w->poll.data = w;
	w->timer.data = w;
	err = uv_poll_init(loop, &w->poll, fd);
	if (err) {
		free(w);
		return throw_errno(env, -err, "poll");
	}
	uv_timer_init(loop, &w->timer);
	w->open_handles = 2;
	w->id = ++st->next_poll_id;
	w->next = st->polls;
	st->polls = w;
	if (napi_create_string_utf8(env, "ossa.poll", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_async_init(env, NULL, name, &w->async) != napi_ok ||
	    napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
	    napi_create_object(env, &result) != napi_ok ||
	    napi_create_uint32(env, w->id, &id) != napi_ok ||
	    napi_set_named_property(env, result, "id", id) != napi_ok ||
	    napi_set_named_property(env, result, "done", promise) != napi_ok) {
		/* Close the handles, then w goes (settling what was made). */
		pollwait_finish(w, POLL_CANCELLED, 0);
		napi_throw_error(env, NULL, "cannot create the wait's promise");
		return NULL;
	}
	err = uv_poll_start(&w->poll, writable ? UV_WRITABLE : UV_READABLE, pollwait_ready);
	if (err) {
		pollwait_finish(w, POLL_ERROR, -err);
		return result;
	}
	/*
	 * libuv counts timers from the loop's cached time, taken when the loop
	 * last turned: after synchronous work the timeout would end early.
	 */
	uv_update_time(loop);
	uv_timer_start(&w->timer, pollwait_timeout,
		       timeout > 1e12 ? (uint64_t)1e12 : (uint64_t)timeout, 0);
	return result;
}

/* pollCancel(id): boolean; ends a wait of pollStart() with -1, false if it has ended. */
static napi_value n_poll_cancel(napi_env env, napi_callback_info info)
{
	struct env_state *st = env_state(env);
	napi_value argv[1], result;
	struct pollwait *w;
	uint32_t id;

	if (!st || get_args(env, info, 1, argv))
		return NULL;
	CHECK(env, napi_get_value_uint32(env, argv[0], &id));
	for (w = st->polls; w && w->id != id; w = w->next)
		;
	if (w && uv_is_closing((uv_handle_t *)&w->poll))
		w = NULL;
	if (w)
		pollwait_finish(w, POLL_CANCELLED, 0);
	CHECK(env, napi_get_boolean(env, w != NULL, &result));
	return result;
}

/*
 * The environment ends (a Worker exits, or the process): stop the waits,
 * unmap the mappings and close the files open() opened that JavaScript
 * left open. An asynchronous cleanup hook, removed (and the state freed)
 * once the waits' handles have closed on the loop.
 */
static void env_cleanup(napi_async_cleanup_hook_handle handle, void *arg)
{
	struct env_state *st = arg;
	struct open_file *f;
	struct pollwait *w;
	struct mapping *m;

	st->cleanup = handle;
	for (w = st->polls; w; w = w->next) {
		w->ending = true;
		st->closing++;
		pollwait_finish(w, POLL_CANCELLED, 0);
	}
	st->polls = NULL;
	pthread_mutex_lock(&mappings_lock);
	while ((m = st->mappings)) {
		st->mappings = m->next;
		if (m->addr)
			munmap(m->addr, m->len);
		m->addr = NULL;
		m->state = NULL;	/* the finaliser, if it runs, only frees */
	}
	pthread_mutex_unlock(&mappings_lock);
	while ((f = st->files)) {
		st->files = f->next;
		close(f->fd);
		free(f);
	}
	if (!st->closing)
		env_state_free(st);
}

static napi_value init(napi_env env, napi_value exports)
{
	static const napi_property_descriptor props[] = {
		{ "open", NULL, n_open, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "close", NULL, n_close, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "ioctl", NULL, n_ioctl, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "ioctlValue", NULL, n_ioctl_value, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "ioctlAsync", NULL, n_ioctl_async, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "memfd", NULL, n_memfd, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "eventfd", NULL, n_eventfd, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "address", NULL, n_address, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "mmap", NULL, n_mmap, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "munmap", NULL, n_munmap, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "pollStart", NULL, n_poll_start, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "pollCancel", NULL, n_poll_cancel, NULL, NULL, NULL, napi_enumerable, NULL },
	};
	struct env_state *st;

	st = calloc(1, sizeof(*st));
	if (!st) {
		napi_throw_error(env, NULL, "ossa binding: out of memory");
		return NULL;
	}
	st->env = env;
	if (napi_set_instance_data(env, st, NULL, NULL) != napi_ok ||
	    napi_add_async_cleanup_hook(env, env_cleanup, st, &st->cleanup) != napi_ok) {
		free(st);
		napi_throw_error(env, NULL, "ossa binding: cannot keep per-environment state");
		return NULL;
	}
	CHECK(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
