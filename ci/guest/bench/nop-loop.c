// SPDX-License-Identifier: MIT
/*
 * nop-loop: the floor for the library's NOP round trip. Submits one NOP
 * job at a time with DRM_IOCTL_OSSA_SUBMIT, which signals a binary syncobj
 * (DRM_OSSA_SYNC_SIGNAL), and waits for that syncobj with
 * DRM_IOCTL_SYNCOBJ_WAIT, reusing one command buffer and one syncobj,
 * and prints JSON: the SUBMIT call and the whole round trip, p50 and p99,
 * in nanoseconds.
 *
 *   nop-loop NODE ITERATIONS
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "drm.h"
#include "ossa_accel.h"

#define WARM_UP 50

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t percentile(uint64_t *v, uint64_t n, unsigned int p)
{
	uint64_t i = n * p / 100;

	qsort(v, n, sizeof(*v), cmp_u64);
	return v[i < n ? i : n - 1];
}

static void xioctl(int fd, unsigned long request, void *arg, const char *name)
{
	if (ioctl(fd, request, arg)) {
		fprintf(stderr, "nop-loop: %s: %s\n", name, strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct drm_ossa_bo_create bo = { .size = 4096 };
	struct drm_ossa_bo_mmap_offset map = { 0 };
	struct drm_syncobj_create sync = { 0 };
	struct drm_ossa_bo_ref ref = { 0 };
	struct drm_ossa_sync out = { 0 };
	struct drm_ossa_job job = { 0 };
	struct drm_ossa_submit submit = { 0 };
	struct drm_syncobj_wait wait = { 0 };
	uint64_t *submit_ns, *total_ns, n, i, t0, t1;
	uint32_t *cmd;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: nop-loop NODE ITERATIONS\n");
		return 2;
	}
	n = strtoull(argv[2], NULL, 0);
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0 || !n) {
		fprintf(stderr, "nop-loop: %s: %s\n", argv[1], n ? strerror(errno) : "ITERATIONS must be positive");
		return 1;
	}
	submit_ns = calloc(n, sizeof(*submit_ns));
	total_ns = calloc(n, sizeof(*total_ns));
	if (!submit_ns || !total_ns) {
		fprintf(stderr, "nop-loop: out of memory\n");
		return 1;
	}

	xioctl(fd, DRM_IOCTL_OSSA_BO_CREATE, &bo, "DRM_IOCTL_OSSA_BO_CREATE");
	map.handle = bo.handle;
	xioctl(fd, DRM_IOCTL_OSSA_BO_MMAP_OFFSET, &map, "DRM_IOCTL_OSSA_BO_MMAP_OFFSET");
	cmd = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)map.offset);
	if (cmd == MAP_FAILED) {
		perror("nop-loop: mmap");
		return 1;
	}
	cmd[0] = 0; /* NOP: opcode 0, argument 0 */
	cmd[1] = 0;
	xioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &sync, "DRM_IOCTL_SYNCOBJ_CREATE");

	ref.handle = bo.handle;
	ref.flags = DRM_OSSA_BO_REF_READ;
	out.handle = sync.handle;
	out.flags = DRM_OSSA_SYNC_SIGNAL;	/* binary: point 0 */
	wait.handles = (uintptr_t)&sync.handle;
	wait.count_handles = 1;

	for (i = 0; i < WARM_UP + n; i++) {
		memset(&job, 0, sizeof(job));
		job.cmd_va = bo.va;
		job.cmd_size = 8;
		job.bos.array = (uintptr_t)&ref;
		job.bos.count = 1;
		job.bos.stride = sizeof(ref);
		job.syncs.array = (uintptr_t)&out;
		job.syncs.count = 1;
		job.syncs.stride = sizeof(out);
		submit.jobs.array = (uintptr_t)&job;
		submit.jobs.count = 1;
		submit.jobs.stride = sizeof(job);

		t0 = now_ns();
		xioctl(fd, DRM_IOCTL_OSSA_SUBMIT, &submit, "DRM_IOCTL_OSSA_SUBMIT");
		t1 = now_ns();
		/* The timeout is absolute, CLOCK_MONOTONIC: 10 s from now. */
		wait.timeout_nsec = (int64_t)(t1 + 10000000000ull);
		xioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, &wait, "DRM_IOCTL_SYNCOBJ_WAIT");
		if (i >= WARM_UP) {
			submit_ns[i - WARM_UP] = t1 - t0;
			total_ns[i - WARM_UP] = now_ns() - t0;
		}
	}

	printf("{\"iterations\": %llu, \"submit_p50_ns\": %llu, \"submit_p99_ns\": %llu, "
	       "\"total_p50_ns\": %llu, \"total_p99_ns\": %llu}\n",
	       (unsigned long long)n,
	       (unsigned long long)percentile(submit_ns, n, 50),
	       (unsigned long long)percentile(submit_ns, n, 99),
	       (unsigned long long)percentile(total_ns, n, 50),
	       (unsigned long long)percentile(total_ns, n, 99));
	munmap(cmd, 4096);
	close(fd);
	return 0;
}
