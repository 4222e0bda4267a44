// SPDX-License-Identifier: MIT
/*
 * submit-race: several threads submit on one open file at once.
 *
 *   submit-race NODE THREADS SUBMITS BOS
 *
 * Opens NODE once; THREADS threads then each make SUBMITS calls of
 * DRM_IOCTL_OSSA_SUBMIT on that one file, each with one NOP job on queue 0.
 * Every thread has buffers of its own, so that no reservation lock orders
 * the threads: the even threads' jobs list BOS buffers (their command BO
 * and BOS - 1 data BOs, READ), the odd threads' only their command BO. A
 * SUBMIT of an even thread spends long between arming its job and queueing
 * it (it adds its fence to every BO), while an odd thread's SUBMIT can run
 * from start to end inside that time. Then it waits, with BO_WAIT, for the
 * last job on every BO.
 *
 * It checks nothing about order itself: the caller reads the kernel's
 * dma_fence trace events, in which the fences of one scheduler entity
 * must signal in the order of their sequence numbers.
 *
 * Output: "submitted N" on stdout. Exit status: 0; 1 when a call fails
 * (stderr says which); 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ossa-tool.h"

#define MAX_THREADS	16
#define MAX_BOS		256
#define WAIT_NS		(30LL * 1000 * 1000 * 1000)

struct submitter {
	int fd;
	unsigned int submits;
	struct drm_ossa_bo_ref refs[MAX_BOS];
	unsigned int nrefs;
	uint64_t cmd_va;
};

static void *submit_loop(void *arg)
{
	const struct submitter *r = arg;
	unsigned int i;
	int err;

	for (i = 0; i < r->submits; i++) {
		struct drm_ossa_job job = {
			.cmd_va = r->cmd_va,
			.cmd_size = OSSA_CMD_NOP_SIZE,
			.bos = OBJ_ARRAY(r->refs, r->nrefs),
		};

		err = submit_job(r->fd, &job);
		if (err)
			fail("DRM_IOCTL_OSSA_SUBMIT", err);
	}
	return NULL;
}

/* The thread's buffers; the first is its command BO, holding a NOP. */
static void buffers_new(struct submitter *r)
{
	unsigned int i;
	uint8_t *cmd;

	for (i = 0; i < r->nrefs; i++) {
		struct drm_ossa_bo_create bo = bo_new(r->fd, OSSA_PAGE_SIZE);

		r->refs[i].handle = bo.handle;
		r->refs[i].flags = DRM_OSSA_BO_REF_READ;
		if (i == 0)
			r->cmd_va = bo.va;
	}
	cmd = bo_map(r->fd, r->refs[0].handle, OSSA_PAGE_SIZE);
	memset(cmd, 0, OSSA_CMD_NOP_SIZE);	/* NOP: opcode 0, all zero */
	munmap(cmd, OSSA_PAGE_SIZE);
}

int main(int argc, char **argv)
{
	static struct submitter subs[MAX_THREADS];
	pthread_t threads[MAX_THREADS];
	unsigned int nthreads, submits, nbos, i, j;
	int fd;

	tool_name = "submit-race";
	if (argc != 5)
		goto usage;
	nthreads = strtoul(argv[2], NULL, 0);
	submits = strtoul(argv[3], NULL, 0);
	nbos = strtoul(argv[4], NULL, 0);
	if (!nthreads || nthreads > MAX_THREADS || !submits || !nbos ||
	    nbos > MAX_BOS)
		goto usage;

	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail(argv[1], errno);
	for (i = 0; i < nthreads; i++) {
		subs[i].fd = fd;
		subs[i].submits = submits;
		subs[i].nrefs = i % 2 ? 1 : nbos;
		buffers_new(&subs[i]);
	}

	for (i = 0; i < nthreads; i++) {
		int err = pthread_create(&threads[i], NULL, submit_loop, &subs[i]);

		if (err)
			fail("pthread_create", err);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);

	for (i = 0; i < nthreads; i++) {
		for (j = 0; j < subs[i].nrefs; j++)
			bo_wait(fd, subs[i].refs[j].handle, WAIT_NS,
				"DRM_IOCTL_OSSA_BO_WAIT");
	}
	printf("submitted %u\n", nthreads * submits);
	return close(fd) ? 1 : 0;

usage:
	fprintf(stderr, "usage: submit-race NODE THREADS(1-%d) SUBMITS BOS(1-%d)\n",
		MAX_THREADS, MAX_BOS);
	return 2;
}
