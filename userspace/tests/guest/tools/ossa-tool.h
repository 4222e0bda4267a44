/* SPDX-License-Identifier: MIT */
/*
 * What the suite's C tools share: failing with a message, a clock and the
 * absolute timeouts made from it, ioctls repeated as libdrm's drmIoctl()
 * repeats them, the arrays of a SUBMIT, and BOs made, mapped and filled.
 * Each tool sets tool_name (used as the prefix of its messages) first.
 */
#ifndef OSSA_TOOL_H
#define OSSA_TOOL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "drm.h"
#include "ossa_accel.h"
#include "ossa_regs.h"

/* The prefix of the tool's messages, e.g. "submit-race". */
static const char *tool_name;
/* When set, what the tool undoes before fail() exits (e.g. a register it changed). */
static void (*tool_cleanup)(void);

/*
 * stdout line by line, even to a pipe: a tool the suite stops for taking
 * too long (support/tool.ts) is killed, and what it printed so far is the
 * test's evidence of how far it got.
 */
__attribute__((constructor)) static void tool_stdout_by_line(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Says what failed and why on stderr, and exits with status 1. */
static inline void fail(const char *what, int err)
{
	if (tool_cleanup)
		tool_cleanup();
	fprintf(stderr, "%s: %s: %s\n", tool_name, what, strerror(err));
	exit(1);
}

/* CLOCK_MONOTONIC in milliseconds; async-signal-safe. */
static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* CLOCK_MONOTONIC in nanoseconds; async-signal-safe. */
static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/*
 * The absolute timeout (CLOCK_MONOTONIC, ns) @relative_ns from now, for
 * drm_ossa_bo_wait.timeout_ns and drm_syncobj_wait.timeout_nsec. Take it
 * just before the wait: a retry with the same struct ends at the same time.
 */
static inline int64_t deadline_ns(int64_t relative_ns)
{
	return now_ns() + relative_ns;
}

/*
 * A struct drm_ossa_obj_array of the @n elements at @elems (a pointer to
 * the element type: its size is the stride), e.g. a job's bos.
 */
#define OBJ_ARRAY(elems, n)						\
	((struct drm_ossa_obj_array){					\
		.array = (uintptr_t)(elems),				\
		.count = (n),						\
		.stride = sizeof(*(elems)),				\
	})

/* An ioctl, repeated on EINTR and EAGAIN as drmIoctl() does; fails otherwise. */
static inline void call(int fd, unsigned long request, void *arg,
			const char *what)
{
	int ret;

	do
		ret = ioctl(fd, request, arg);
	while (ret && (errno == EINTR || errno == EAGAIN));
	if (ret)
		fail(what, errno);
}

/*
 * DRM_IOCTL_OSSA_SUBMIT of the one job @job, repeated as call() does;
 * returns 0 or the errno it failed with.
 */
static inline int submit_job(int fd, struct drm_ossa_job *job)
{
	struct drm_ossa_submit args = { .jobs = OBJ_ARRAY(job, 1) };
	int ret;

	do
		ret = ioctl(fd, DRM_IOCTL_OSSA_SUBMIT, &args);
	while (ret && (errno == EINTR || errno == EAGAIN));
	return ret ? errno : 0;
}

/*
 * DRM_IOCTL_OSSA_BO_WAIT for the BO @handle until @relative_ns from now,
 * repeated as call() does (a repeat ends at the same time); fails, saying
 * @what, on an error. Returns the job status it reports.
 */
static inline uint32_t bo_wait(int fd, uint32_t handle, int64_t relative_ns,
			       const char *what)
{
	struct drm_ossa_bo_wait wait = {
		.handle = handle,
		.timeout_ns = deadline_ns(relative_ns),
	};

	call(fd, DRM_IOCTL_OSSA_BO_WAIT, &wait, what);
	return wait.job_status;
}

static inline struct drm_ossa_bo_create bo_new(int fd, uint64_t size)
{
	struct drm_ossa_bo_create bo = { .size = size };

	call(fd, DRM_IOCTL_OSSA_BO_CREATE, &bo, "DRM_IOCTL_OSSA_BO_CREATE");
	return bo;
}

static inline void *bo_map(int fd, uint32_t handle, uint64_t size)
{
	struct drm_ossa_bo_mmap_offset off = { .handle = handle };
	void *p;

	call(fd, DRM_IOCTL_OSSA_BO_MMAP_OFFSET, &off,
	     "DRM_IOCTL_OSSA_BO_MMAP_OFFSET");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off.offset);
	if (p == MAP_FAILED)
		fail("mmap of a BO", errno);
	return p;
}

/* Little-endian stores into a command stream. */
static inline void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/*
 * Fills a command stream of @size bytes at @p with FILLs of @target_size
 * bytes at @target_va, each FILL's value its offset, leaving the last
 * @spare bytes free: a job that runs until the driver's timeout stops it.
 * Returns the bytes of FILLs written.
 */
static inline uint32_t long_fills(uint8_t *p, uint32_t size, uint32_t spare,
				  uint64_t target_va, uint64_t target_size)
{
	uint32_t off;

	for (off = 0; off + OSSA_CMD_FILL_SIZE + spare <= size;
	     off += OSSA_CMD_FILL_SIZE) {
		put32(p + off, OSSA_CMD_FILL);
		put32(p + off + 4, off);
		put64(p + off + 8, target_va);
		put64(p + off + 16, target_size);
	}
	return off;
}

#endif /* OSSA_TOOL_H */
