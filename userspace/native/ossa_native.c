// SPDX-License-Identifier: MIT
/*
 * ossa native binding: the system calls the TypeScript library needs and
 * Node.js does not offer (open of a device node with raw flags, ioctl,
 * mmap of a buffer object as an ArrayBuffer without copying).
 *
 * Every function here is a thin wrapper; policy lives in TypeScript. Calls
 * that may sleep in the kernel (waits) run on libuv's thread pool through
 * ioctlAsync() so that they never block the event loop.
 *
 * Errors are thrown as Error objects with `errno` (positive number),
 * `code` (e.g. "ENOTTY") and `syscall` properties, like Node's own.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

static const char *errno_code(int err)
{
	switch (err) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case ENOTTY: return "ENOTTY";
	case EDEADLK: return "EDEADLK";
	case ENOSYS: return "ENOSYS";
	case EOVERFLOW: return "EOVERFLOW";
	case ETIME: return "ETIME";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECANCELED: return "ECANCELED";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "EUNKNOWN";
	}
}

static napi_value make_errno_error(napi_env env, int err, const char *syscall)
{
	napi_value msg, code, error, num, sc;

	if (napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &msg) != napi_ok ||
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
	napi_value error = make_errno_error(env, err, syscall);

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
		default:
			*len = count * 8;
			break;
		}
		return 0;
	}
	napi_throw_type_error(env, NULL, "expected a Buffer, a TypedArray or null");
	return -1;
}

/* open(path: string, flags: number): number */
static napi_value n_open(napi_env env, napi_callback_info info)
{
	napi_value argv[2], result;
	char path[4096];
	size_t len;
	int32_t flags;
	int fd;

	if (get_args(env, info, 2, argv))
		return NULL;
	CHECK(env, napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &len));
	CHECK(env, napi_get_value_int32(env, argv[1], &flags));
	if (len >= sizeof(path) - 1)
		return throw_errno(env, ENAMETOOLONG, "open");
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return throw_errno(env, errno, "open");
	CHECK(env, napi_create_int32(env, fd, &result));
	return result;
}

/* close(fd: number): void */
static napi_value n_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t fd;

	if (get_args(env, info, 1, argv))
		return NULL;
	CHECK(env, napi_get_value_int32(env, argv[0], &fd));
	if (close(fd) < 0)
		return throw_errno(env, errno, "close");
	return NULL;
}

/* ioctl(fd: number, request: number, arg: Buffer | null): number */
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
	do {
		ret = ioctl(fd, (unsigned long)request, data);
	} while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	if (ret < 0)
		return throw_errno(env, errno, "ioctl");
	CHECK(env, napi_create_int32(env, ret, &result));
	return result;
}

struct ioctl_work {
	napi_async_work work;
	napi_deferred deferred;
	napi_ref arg_ref;
	int fd;
	unsigned long request;
	void *data;
	int ret;
	int err;
};

static void ioctl_execute(napi_env env __attribute__((unused)), void *opaque)
{
	struct ioctl_work *w = opaque;

	do {
		w->ret = ioctl(w->fd, w->request, w->data);
	} while (w->ret < 0 && errno == EINTR);
	w->err = w->ret < 0 ? errno : 0;
}

static void ioctl_complete(napi_env env, napi_status status, void *opaque)
{
	struct ioctl_work *w = opaque;
	napi_value v;

	if (status != napi_ok) {
		napi_value msg;

		napi_create_string_utf8(env, "ioctl work cancelled", NAPI_AUTO_LENGTH, &msg);
		napi_create_error(env, NULL, msg, &v);
		napi_reject_deferred(env, w->deferred, v);
	} else if (w->ret < 0) {
		v = make_errno_error(env, w->err, "ioctl");
		napi_reject_deferred(env, w->deferred, v);
	} else {
		napi_create_int32(env, w->ret, &v);
		napi_resolve_deferred(env, w->deferred, v);
	}
	if (w->arg_ref)
		napi_delete_reference(env, w->arg_ref);
	napi_delete_async_work(env, w->work);
	free(w);
}

/*
 * ioctlAsync(fd: number, request: number, arg: Buffer | null): Promise<number>
 * For ioctls that may sleep. The argument is kept alive until completion.
 */
static napi_value n_ioctl_async(napi_env env, napi_callback_info info)
{
	napi_value argv[3], promise, name;
	struct ioctl_work *w;
	uint32_t request;
	size_t len;

	if (get_args(env, info, 3, argv))
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return throw_errno(env, ENOMEM, "ioctl");
	if (napi_get_value_int32(env, argv[0], &w->fd) != napi_ok ||
	    napi_get_value_uint32(env, argv[1], &request) != napi_ok) {
		free(w);
		napi_throw_type_error(env, NULL, "fd and request must be numbers");
		return NULL;
	}
	w->request = request;
	if (get_bytes(env, argv[2], &w->data, &len)) {
		free(w);
		return NULL;
	}
	if ((w->data && napi_create_reference(env, argv[2], 1, &w->arg_ref) != napi_ok) ||
	    napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
	    napi_create_string_utf8(env, "ossa:ioctl", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_create_async_work(env, NULL, name, ioctl_execute, ioctl_complete, w,
				   &w->work) != napi_ok ||
	    napi_queue_async_work(env, w->work) != napi_ok) {
		napi_throw_error(env, NULL, "cannot queue ioctl work");
		return NULL;
	}
	return promise;
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

/*
 * A mapping handed to JavaScript as an external ArrayBuffer. munmap()
 * detaches the ArrayBuffer (its length becomes 0, so no access can reach
 * the unmapped pages) and unmaps; otherwise the finaliser unmaps when the
 * ArrayBuffer is collected.
 */
struct mapping {
	void *addr;		/* NULL once unmapped by munmap() */
	size_t len;
	struct mapping *next;
};

/* Live mappings, so that munmap() can tell the finaliser; any thread. */
static struct mapping *mappings;
static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;

static void mapping_finalize(napi_env env, void *data, void *hint)
{
	struct mapping *m = hint, **p;

	(void)env;
	(void)data;
	pthread_mutex_lock(&mappings_lock);
	for (p = &mappings; *p; p = &(*p)->next) {
		if (*p == m) {
			*p = m->next;
			break;
		}
	}
	if (m->addr)
		munmap(m->addr, m->len);
	pthread_mutex_unlock(&mappings_lock);
	free(m);
}

/* mmap(fd: number, length: number, offset: bigint, writable: boolean): ArrayBuffer */
static napi_value n_mmap(napi_env env, napi_callback_info info)
{
	napi_value argv[4], result;
	int32_t fd;
	int64_t len;
	uint64_t offset;
	bool lossless, writable;
	struct mapping *m;

	if (get_args(env, info, 4, argv))
		return NULL;
	CHECK(env, napi_get_value_int32(env, argv[0], &fd));
	CHECK(env, napi_get_value_int64(env, argv[1], &len));
	CHECK(env, napi_get_value_bigint_uint64(env, argv[2], &offset, &lossless));
	CHECK(env, napi_get_value_bool(env, argv[3], &writable));
	if (len <= 0 || !lossless)
		return throw_errno(env, EINVAL, "mmap");

	m = malloc(sizeof(*m));
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
	m->next = mappings;
	mappings = m;
	pthread_mutex_unlock(&mappings_lock);
	return result;
}

/* munmap(mapping: ArrayBuffer from mmap()): void; a second call is a no-op. */
static napi_value n_munmap(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct mapping *m;
	bool detached;
	void *data;
	size_t len;
	int ret = 0;

	if (get_args(env, info, 1, argv))
		return NULL;
	CHECK(env, napi_is_detached_arraybuffer(env, argv[0], &detached));
	if (detached)
		return NULL;
	CHECK(env, napi_get_arraybuffer_info(env, argv[0], &data, &len));

	pthread_mutex_lock(&mappings_lock);
	for (m = mappings; m && m->addr != data; m = m->next)
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
	pthread_mutex_unlock(&mappings_lock);
	return ret ? throw_errno(env, ret, "munmap") : NULL;
}

/*
 * pollReadable(fd, timeoutMs): Promise<boolean>: waits on the event loop
 * itself (libuv's poll, no thread) until fd is readable (true) or the
 * timeout passes (false). A sync_file fd is readable once its fence has
 * signalled. The fd must stay open until the promise settles.
 */
struct pollwait {
	napi_env env;
	napi_deferred deferred;
	napi_async_context async;
	uv_poll_t poll;
	uv_timer_t timer;
	int open_handles;
	int result;		/* 1 readable, 0 timed out, < 0 -errno */
};

static void pollwait_settle(struct pollwait *w)
{
	napi_handle_scope scope;
	napi_callback_scope cb_scope;
	napi_value resource, value;

	/* A callback scope, so that promise reactions run when it closes. */
	if (napi_open_handle_scope(w->env, &scope) != napi_ok)
		return;
	if (napi_create_object(w->env, &resource) == napi_ok &&
	    napi_open_callback_scope(w->env, resource, w->async, &cb_scope) == napi_ok) {
		if (w->result < 0)
			value = make_errno_error(w->env, -w->result, "poll");
		else
			napi_get_boolean(w->env, w->result == 1, &value);
		if (w->result < 0)
			napi_reject_deferred(w->env, w->deferred, value);
		else
			napi_resolve_deferred(w->env, w->deferred, value);
		napi_close_callback_scope(w->env, cb_scope);
	}
	napi_close_handle_scope(w->env, scope);
}

static void pollwait_closed(uv_handle_t *h)
{
	struct pollwait *w = h->data;

	if (--w->open_handles)
		return;
	if (w->deferred)
		pollwait_settle(w);
	if (w->async)
		napi_async_destroy(w->env, w->async);
	free(w);
}

static void pollwait_finish(struct pollwait *w, int result)
{
	if (uv_is_closing((uv_handle_t *)&w->poll))
		return;
	w->result = result;
	uv_close((uv_handle_t *)&w->poll, pollwait_closed);
	uv_close((uv_handle_t *)&w->timer, pollwait_closed);
}

static void pollwait_ready(uv_poll_t *p, int status, int events)
{
	(void)events;
	pollwait_finish(p->data, status < 0 ? status : 1);
}

static void pollwait_timeout(uv_timer_t *t)
{
	pollwait_finish(t->data, 0);
}

static napi_value n_poll_readable(napi_env env, napi_callback_info info)
{
	napi_value argv[2], promise, name;
	struct pollwait *w;
	uv_loop_t *loop;
	int32_t fd;
	double timeout;
	int err;

	if (get_args(env, info, 2, argv))
		return NULL;
	CHECK(env, napi_get_value_int32(env, argv[0], &fd));
	CHECK(env, napi_get_value_double(env, argv[1], &timeout));
	if (fd < 0 || !(timeout >= 0))
		return throw_errno(env, EINVAL, "poll");
	CHECK(env, napi_get_uv_event_loop(env, &loop));

	w = calloc(1, sizeof(*w));
	if (!w)
		return throw_errno(env, ENOMEM, "poll");
	w->env = env;
	w->poll.data = w;
	w->timer.data = w;
	err = uv_poll_init(loop, &w->poll, fd);
	if (err) {
		free(w);
		return throw_errno(env, -err, "poll");
	}
	uv_timer_init(loop, &w->timer);
	w->open_handles = 2;
	if (napi_create_string_utf8(env, "ossa.poll", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_async_init(env, NULL, name, &w->async) != napi_ok ||
	    napi_create_promise(env, &w->deferred, &promise) != napi_ok) {
		/* Nothing to settle: close the handles, then w goes. */
		w->deferred = NULL;
		uv_close((uv_handle_t *)&w->poll, pollwait_closed);
		uv_close((uv_handle_t *)&w->timer, pollwait_closed);
		napi_throw_error(env, NULL, "cannot create a promise");
		return NULL;
	}
	err = uv_poll_start(&w->poll, UV_READABLE, pollwait_ready);
	if (err) {
		pollwait_finish(w, err);
		return promise;
	}
	uv_timer_start(&w->timer, pollwait_timeout, timeout > 1e12 ? (uint64_t)1e12 : (uint64_t)timeout, 0);
	return promise;
}

static napi_value init(napi_env env, napi_value exports)
{
	static const napi_property_descriptor props[] = {
		{ "open", NULL, n_open, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "close", NULL, n_close, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "ioctl", NULL, n_ioctl, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "ioctlAsync", NULL, n_ioctl_async, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "address", NULL, n_address, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "mmap", NULL, n_mmap, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "munmap", NULL, n_munmap, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "pollReadable", NULL, n_poll_readable, NULL, NULL, NULL, napi_enumerable, NULL },
	};

	CHECK(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
