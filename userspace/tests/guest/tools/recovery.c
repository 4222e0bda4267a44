// SPDX-License-Identifier: MIT
/*
 * recovery: a job that hangs a queue is failed alone; the jobs of other
 * files run exactly once, on both queues, before, during and after.
 *
 *   recovery NODE INNOCENT COUNT ROUNDS
 *
 * Starts INNOCENT processes, each with a file of its own on NODE and a
 * thread per queue. Each thread submits counter jobs, one at a time, on
 * its queue: one FMA_F32 of COUNT elements that adds 1 to each element of
 * the queue's counter array in place (d = 1 * 1 + d, d = c), so that a job
 * run twice, a job lost, or a job abandoned halfway and run again shows
 * in the counter. Every so often it waits for its counter (BO_WAIT) so
 * that its queue stays short; each wait must report success. While one
 * queue hangs, the other queue's threads go on.
 *
 * Meanwhile this process hangs each queue in turn, ROUNDS times: a file of
 * its own submits one job that would run for minutes (FILLs of 16 MiB, a
 * 1 MiB stream of them) on queue (round mod 2), then a NOP behind it on the
 * same queue. The driver's job timeout must fail the long job with
 * TIMEOUT (BO_WAIT's job status), and the file's next SUBMIT must be
 * ECANCELED (docs/uapi.md, "Recovery").
 *
 * Then the innocent processes stop; each waits for its last jobs and checks
 * that every element of each counter equals the number of its SUBMITs on
 * that queue.
 *
 * Output: "innocents running after T ms", "round R queue Q: timeout
 * after T ms" per round, then "innocent I: queue 0 N0 jobs, queue 1 N1
 * jobs" per process, on stdout.
 * Exit status 0 when every check holds; 1 when one does not (stderr says
 * which); 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ossa-tool.h"

#define MAX_INNOCENT	8
#define WAIT_NS		(120LL * 1000 * 1000 * 1000)
/* An innocent process waits for its counters after so many jobs. */
#define WAIT_EVERY	8
#define LONG_TARGET	(16u << 20)
#define LONG_STREAM	(1u << 20)

/* One job on @queue, listing @nrefs BOs; 0 or the errno SUBMIT failed with. */
static int submit(int fd, uint64_t cmd_va, uint32_t cmd_size, uint32_t queue,
		  struct drm_ossa_bo_ref *refs, uint32_t nrefs)
{
	struct drm_ossa_job job = {
		.cmd_va = cmd_va,
		.cmd_size = cmd_size,
		.queue = queue,
		.bos = OBJ_ARRAY(refs, nrefs),
	};

	return submit_job(fd, &job);
}

/* Whether the parent has closed @stop_fd: time to stop. */
static bool stopped(int stop_fd)
{
	struct pollfd p = { .fd = stop_fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/* One queue's counter jobs of an innocent process. */
struct counter_loop {
	int fd;
	uint32_t queue;
	uint32_t count;
	uint64_t bytes;
	uint64_t cmd_va;
	struct drm_ossa_bo_ref refs[3];
	int ready_fd;
	int stop_fd;
	unsigned int jobs;
	int failed;
};

/* Waits for the queue's counter jobs; false, failed, if @which did not succeed. */
static bool counter_waited(struct counter_loop *l, const char *which)
{
	uint32_t status = bo_wait(l->fd, l->refs[2].handle, WAIT_NS,
				  "DRM_IOCTL_OSSA_BO_WAIT");

	if (status == DRM_OSSA_JOB_STATUS_SUCCESS)
		return true;
	fprintf(stderr, "%s: %s counter job on queue %u ended with status %u\n",
		tool_name, which, l->queue, status);
	l->failed = 1;
	return false;
}

/*
 * Submits counter jobs on one queue until told to stop, then checks the
 * counter: every element must equal the number of jobs. Each queue has a
 * thread of its own, so that one queue's jobs go on while the other hangs.
 */
static void *counter_loop(void *arg)
{
	struct counter_loop *l = arg;
	uint32_t counter = l->refs[2].handle, i;
	unsigned int wrong = 0;
	float *f;

	while (!stopped(l->stop_fd)) {
		int err = submit(l->fd, l->cmd_va, OSSA_CMD_FMA_F32_SIZE,
				 l->queue, l->refs, 3);

		if (err)
			fail("DRM_IOCTL_OSSA_SUBMIT", err);
		if (++l->jobs % WAIT_EVERY)
			continue;
		if (!counter_waited(l, "a"))
			return NULL;
		/* Running: the parent may hang a queue now. */
		if (l->jobs == WAIT_EVERY && write(l->ready_fd, "r", 1) != 1)
			fail("write to the parent", errno);
	}

	if (!counter_waited(l, "the last"))
		return NULL;
	f = bo_map(l->fd, counter, l->bytes);
	for (i = 0; i < l->count; i++) {
		if (f[i] == (float)l->jobs)
			continue;
		if (!wrong++)
			fprintf(stderr, "%s: queue %u: counter element %u is %.0f after %u jobs (%s)\n",
				tool_name, l->queue, i, f[i], l->jobs,
				f[i] > (float)l->jobs ? "a job ran twice" : "a job was lost");
	}
	munmap(f, l->bytes);
	if (wrong) {
		fprintf(stderr, "%s: queue %u: %u of %u counter elements wrong\n",
			tool_name, l->queue, wrong, l->count);
		l->failed = 1;
	}
	return NULL;
}

/* One innocent process: counter jobs on both queues until told to stop. */
static int innocent(const char *node, unsigned int id, uint32_t count,
		    int ready_fd, int stop_fd)
{
	uint64_t bytes = ((uint64_t)count * 4 + OSSA_PAGE_SIZE - 1) &
			 ~(uint64_t)(OSSA_PAGE_SIZE - 1);
	struct drm_ossa_bo_create ones, counter, cmd;
	struct counter_loop loops[2];
	pthread_t threads[2];
	static char name[32];
	uint8_t *p;
	float *f;
	uint32_t i, q;
	int fd, err;

	snprintf(name, sizeof(name), "recovery (innocent %u)", id);
	tool_name = name;
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail(node, errno);
	ones = bo_new(fd, bytes);
	f = bo_map(fd, ones.handle, bytes);
	for (i = 0; i < count; i++)
		f[i] = 1.0f;
	munmap(f, bytes);
	cmd = bo_new(fd, OSSA_PAGE_SIZE);
	p = bo_map(fd, cmd.handle, OSSA_PAGE_SIZE);
	for (q = 0; q < 2; q++) {
		uint8_t *c = p + 64 * q;

		counter = bo_new(fd, bytes);	/* reads as 0.0f */
		put32(c, OSSA_CMD_FMA_F32);
		put32(c + 4, count);
		put64(c + 8, ones.va);
		put64(c + 16, ones.va);
		put64(c + 24, counter.va);
		put64(c + 32, counter.va);
		loops[q] = (struct counter_loop){
			.fd = fd, .queue = q, .count = count, .bytes = bytes,
			.cmd_va = cmd.va + 64 * q,
			.ready_fd = ready_fd, .stop_fd = stop_fd,
		};
		loops[q].refs[0] = (struct drm_ossa_bo_ref){
			.handle = cmd.handle, .flags = DRM_OSSA_BO_REF_READ,
		};
		loops[q].refs[1] = (struct drm_ossa_bo_ref){
			.handle = ones.handle, .flags = DRM_OSSA_BO_REF_READ,
		};
		loops[q].refs[2] = (struct drm_ossa_bo_ref){
			.handle = counter.handle,
			.flags = DRM_OSSA_BO_REF_READ | DRM_OSSA_BO_REF_WRITE,
		};
	}
	munmap(p, OSSA_PAGE_SIZE);

	for (q = 0; q < 2; q++) {
		err = pthread_create(&threads[q], NULL, counter_loop, &loops[q]);
		if (err)
			fail("pthread_create", err);
	}
	for (q = 0; q < 2; q++)
		pthread_join(threads[q], NULL);
	if (loops[0].failed || loops[1].failed)
		return 1;
	printf("innocent %u: queue 0 %u jobs, queue 1 %u jobs\n", id,
	       loops[0].jobs, loops[1].jobs);
	return close(fd) ? 1 : 0;
}

/* One round of the guilty file: a job that hangs @queue, failed alone. */
static void hang(const char *node, unsigned int round, uint32_t queue)
{
	struct drm_ossa_bo_create target, cmd;
	struct drm_ossa_bo_ref refs[2];
	uint64_t start;
	uint32_t status, off;
	uint8_t *p;
	int fd, err;

	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail(node, errno);
	target = bo_new(fd, LONG_TARGET);
	cmd = bo_new(fd, LONG_STREAM);
	p = bo_map(fd, cmd.handle, LONG_STREAM);
	off = long_fills(p, LONG_STREAM, OSSA_CMD_NOP_SIZE, target.va,
			 LONG_TARGET);
	/* After the FILLs, a NOP (the BO reads as zero): the jobs behind. */
	munmap(p, LONG_STREAM);
	refs[0] = (struct drm_ossa_bo_ref){
		.handle = cmd.handle, .flags = DRM_OSSA_BO_REF_READ,
	};
	refs[1] = (struct drm_ossa_bo_ref){
		.handle = target.handle,
		.flags = DRM_OSSA_BO_REF_READ | DRM_OSSA_BO_REF_WRITE,
	};

	start = now_ms();
	err = submit(fd, cmd.va, off, queue, refs, 2);
	if (err)
		fail("DRM_IOCTL_OSSA_SUBMIT of the long job", err);
	/* A job of the same file behind it: it must not run either. */
	err = submit(fd, cmd.va + off, OSSA_CMD_NOP_SIZE, queue, refs, 1);
	if (err)
		fail("DRM_IOCTL_OSSA_SUBMIT of the job behind it", err);
	status = bo_wait(fd, target.handle, WAIT_NS, "DRM_IOCTL_OSSA_BO_WAIT");
	if (status != DRM_OSSA_JOB_STATUS_TIMEOUT) {
		fprintf(stderr, "recovery: round %u: the long job on queue %u ended with status %u, not TIMEOUT\n",
			round, queue, status);
		exit(1);
	}
	printf("round %u queue %u: timeout after %llu ms\n", round, queue,
	       (unsigned long long)(now_ms() - start));
	err = submit(fd, cmd.va + off, OSSA_CMD_NOP_SIZE, queue, refs, 1);
	if (err != ECANCELED) {
		fprintf(stderr, "recovery: round %u: a SUBMIT after the timeout returned %s, not ECANCELED\n",
			round, err ? strerror(err) : "success");
		exit(1);
	}
	if (close(fd))
		fail("close", errno);
}

int main(int argc, char **argv)
{
	pid_t pids[MAX_INNOCENT];
	unsigned int innocents, rounds, k;
	int ready[2], stop[2], status, ret = 0;
	uint64_t start = now_ms();
	uint32_t count;
	char c;

	tool_name = "recovery";
	if (argc != 5)
		goto usage;
	innocents = strtoul(argv[2], NULL, 0);
	count = strtoul(argv[3], NULL, 0);
	rounds = strtoul(argv[4], NULL, 0);
	if (!innocents || innocents > MAX_INNOCENT || !count ||
	    count > OSSA_FMA_COUNT_MAX || !rounds)
		goto usage;

	if (pipe2(ready, O_CLOEXEC) || pipe2(stop, O_CLOEXEC))
		fail("pipe", errno);
	fflush(stdout);
	for (k = 0; k < innocents; k++) {
		pids[k] = fork();
		if (pids[k] < 0)
			fail("fork", errno);
		if (!pids[k]) {
			close(ready[0]);
			close(stop[1]);
			exit(innocent(argv[1], k, count, ready[1], stop[0]));
		}
	}
	close(ready[1]);
	close(stop[0]);
	/* Every innocent thread is running before the first hang. */
	for (k = 0; k < 2 * innocents; k++) {
		if (read(ready[0], &c, 1) != 1) {
			fprintf(stderr, "recovery: an innocent process failed before it ran\n");
			ret = 1;
			break;
		}
	}
	if (!ret)
		printf("innocents running after %llu ms\n",
		       (unsigned long long)(now_ms() - start));
	for (k = 0; !ret && k < rounds; k++)
		hang(argv[1], k, k % 2);
	close(stop[1]);
	for (k = 0; k < innocents; k++) {
		if (waitpid(pids[k], &status, 0) < 0)
			fail("waitpid", errno);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			ret = 1;
	}
	return ret;

usage:
	fprintf(stderr, "usage: recovery NODE INNOCENT(1-%d) COUNT(1-%u) ROUNDS\n",
		MAX_INNOCENT, OSSA_FMA_COUNT_MAX);
	return 2;
}
