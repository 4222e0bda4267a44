// SPDX-License-Identifier: MIT
/*
 * orphan-job: leaves a job of a killed process waiting, in the driver, on
 * a fence of another driver, and signals that fence later.
 *
 *   orphan-job NODE SIGNAL_AFTER_MS
 *
 * Makes a buffer on vgem (the kernel's virtual GEM driver) with an
 * unsignalled write fence on it (DRM_IOCTL_VGEM_FENCE_ATTACH) and exports
 * it. A child process opens NODE, imports the buffer and submits a job
 * that reads it: the job waits in the scheduler for vgem's fence. Where
 * the driver refuses the import (EOPNOTSUPP: a device that cannot reach
 * the buffer's pages, docs/uapi.md), the job waits on that fence through
 * a syncobj instead (DMA_BUF_IOCTL_EXPORT_SYNC_FILE), and the tool first
 * writes "waits through a syncobj" (else "waits through the buffer"). The
 * child is killed (SIGKILL): on its file's close drm_sched drops the job
 * (drm_sched_entity_kill()), which is freed only once that fence has
 * signalled. This process then writes "orphaned" on stdout, and
 * SIGNAL_AFTER_MS later signals the fence and writes "signalled T", T
 * being CLOCK_MONOTONIC in nanoseconds just before the signal.
 *
 * What the device's driver does in between (the test unbinds it) is the
 * test's. Exit status 0 on success; 1 when a step fails (stderr says
 * which); 2 on bad usage; 3 when the machine has no vgem device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>

#include "ossa-tool.h"
#include "drm_mode.h"
#include "vgem_drm.h"

/* The first /dev/dri/cardN whose driver is vgem, or -1. */
static int open_vgem(void)
{
	char path[32], name[16];
	int i, fd;

	for (i = 0; i < 16; i++) {
		struct drm_version v = { .name = name, .name_len = sizeof(name) - 1 };

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -1;
}

/* A syncobj of @fd holding the fences a reader of @dmabuf must wait for. */
static uint32_t reader_syncobj(int fd, int dmabuf)
{
	struct dma_buf_export_sync_file sync = { .flags = DMA_BUF_SYNC_READ };
	struct drm_syncobj_create create = { 0 };
	struct drm_syncobj_handle import = {
		.flags = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
	};

	call(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &sync,
	     "DMA_BUF_IOCTL_EXPORT_SYNC_FILE of the vgem buffer");
	call(fd, DRM_IOCTL_SYNCOBJ_CREATE, &create, "DRM_IOCTL_SYNCOBJ_CREATE");
	import.handle = create.handle;
	import.fd = sync.fd;
	call(fd, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &import,
	     "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE of its sync_file");
	close(sync.fd);
	return create.handle;
}

/*
 * The child: imports @dmabuf into a file of @node and submits a NOP job
 * that reads it (or waits on its fence through a syncobj, where the
 * import is refused); says which on @ready_fd, then waits to be killed.
 */
static void submit_reader(const char *node, int dmabuf, int ready_fd)
{
	struct drm_prime_handle prime = { .fd = dmabuf };
	struct drm_ossa_bo_create cmd;
	struct drm_ossa_bo_ref refs[2];
	struct drm_ossa_sync wait;
	struct drm_ossa_job job;
	uint32_t syncobj = 0;
	uint8_t *p;
	int fd, err;

	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail(node, errno);
	if (ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &prime)) {
		if (errno != EOPNOTSUPP)
			fail("DRM_IOCTL_PRIME_FD_TO_HANDLE of the vgem buffer",
			     errno);
		syncobj = reader_syncobj(fd, dmabuf);
	}
	cmd = bo_new(fd, 4096);
	p = bo_map(fd, cmd.handle, 4096);
	put32(p, OSSA_CMD_NOP);
	put32(p + 4, 0);
	munmap(p, 4096);

	refs[0] = (struct drm_ossa_bo_ref){ .handle = cmd.handle,
					    .flags = DRM_OSSA_BO_REF_READ };
	refs[1] = (struct drm_ossa_bo_ref){ .handle = prime.handle,
					    .flags = DRM_OSSA_BO_REF_READ };
	/* The syncobj is binary: point 0. */
	wait = (struct drm_ossa_sync){ .handle = syncobj,
				       .flags = DRM_OSSA_SYNC_WAIT };
	job = (struct drm_ossa_job){
		.cmd_va = cmd.va,
		.cmd_size = OSSA_CMD_NOP_SIZE,
		.bos = OBJ_ARRAY(refs, syncobj ? 1 : 2),
		.syncs = OBJ_ARRAY(&wait, syncobj ? 1 : 0),
	};
	err = submit_job(fd, &job);
	if (err)
		fail("DRM_IOCTL_OSSA_SUBMIT", err);
	if (write(ready_fd, syncobj ? "x" : "b", 1) != 1)
		fail("writing to the parent", errno);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct drm_mode_create_dumb dumb = { .width = 1024, .height = 1, .bpp = 32 };
	struct drm_vgem_fence_attach attach = { .flags = VGEM_FENCE_WRITE };
	struct drm_vgem_fence_signal sig = { 0 };
	struct drm_prime_handle prime = { .flags = DRM_CLOEXEC | DRM_RDWR };
	struct timespec delay, now;
	int vgem, pipefd[2], status;
	char c;
	pid_t child;
	long ms;

	tool_name = "orphan-job";
	if (argc != 3 || (ms = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: orphan-job NODE SIGNAL_AFTER_MS\n");
		return 2;
	}
	vgem = open_vgem();
	if (vgem < 0) {
		fprintf(stderr, "orphan-job: no vgem device in /dev/dri\n");
		return 3;
	}
	call(vgem, DRM_IOCTL_MODE_CREATE_DUMB, &dumb,
	     "DRM_IOCTL_MODE_CREATE_DUMB on vgem");
	attach.handle = dumb.handle;
	call(vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach,
	     "DRM_IOCTL_VGEM_FENCE_ATTACH");
	prime.handle = dumb.handle;
	call(vgem, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime,
	     "DRM_IOCTL_PRIME_HANDLE_TO_FD on vgem");

	if (pipe2(pipefd, O_CLOEXEC))
		fail("pipe2", errno);
	child = fork();
	if (child < 0)
		fail("fork", errno);
	if (!child) {
		close(pipefd[0]);
		submit_reader(argv[1], prime.fd, pipefd[1]);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1) {
		waitpid(child, &status, 0);
		fprintf(stderr, "orphan-job: the child failed before its SUBMIT returned\n");
		return 1;
	}
	printf("waits through %s\n", c == 'x' ? "a syncobj" : "the buffer");
	/* Its file's close drops the job, still waiting for the fence. */
	if (kill(child, SIGKILL) || waitpid(child, &status, 0) != child)
		fail("killing the child", errno);
	printf("orphaned\n");
	fflush(stdout);

	delay = (struct timespec){ .tv_sec = ms / 1000,
				   .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&delay, &delay) && errno == EINTR)
		;
	sig.fence = attach.out_fence;
	clock_gettime(CLOCK_MONOTONIC, &now);
	call(vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &sig,
	     "DRM_IOCTL_VGEM_FENCE_SIGNAL");
	printf("signalled %llu\n",
	       (unsigned long long)now.tv_sec * 1000000000ull + now.tv_nsec);
	return 0;
}
