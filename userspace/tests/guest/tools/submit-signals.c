// SPDX-License-Identifier: MIT
/*
 * submit-signals: batched SUBMITs interrupted by signals run each job
 * exactly once per successful call and none for a failed one.
 *
 *   submit-signals NODE SECONDS MIN_INTERRUPTED JOBS BOS retry|raw
 *                  restart|norestart
 *
 * Opens NODE three times. The first file makes calls of
 * DRM_IOCTL_OSSA_SUBMIT, each a batch of JOBS counter jobs on queue 0: one
 * FMA_F32 that adds 1 to a counter in place (d = 1 * 1 + d, d = c), so a
 * job run twice or a job of a failed call shows in the count. Every job
 * also lists BOS shared buffers (READ), which a thread on each of the other
 * files keeps listing in SUBMITs of its own, so that the first file's
 * SUBMIT often waits for their reservation locks. A timer sends SIGALRM to
 * the submitting thread every 50 us (SA_RESTART as asked), so that a
 * signal often arrives while it waits. It stops making calls once
 * MIN_INTERRUPTED calls were interrupted, or after SECONDS seconds; the
 * timer stops then, so that a call being repeated completes (with a signal
 * every 50 us on a slow kernel, a call that waits for locks could be
 * interrupted on every try).
 *
 * retry: each call is repeated while it fails with EINTR, as libdrm's
 * drmIoctl() does; raw: a call that fails with EINTR is not repeated, and
 * its jobs must not run. Either way an interrupted call must leave each
 * job's status (which the kernel writes into the job array) -EINTR. The
 * kernel never restarts SUBMIT itself, SA_RESTART or not (docs/uapi.md,
 * struct drm_ossa_submit); both handlers are tried.
 *
 * Output: "calls N submits S interrupted I counter C ms T" on stdout (N
 * calls made, S of them succeeded, I interrupted, in T milliseconds); the
 * counter must be S * JOBS.
 * Exit status: 0 when it is; 1 when it is not or a call fails otherwise
 * (stderr says which); 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ossa-tool.h"

#define MAX_JOBS	16
#define CONTENDERS	2
#define MAX_BOS		253	/* a job lists at most 256: 3 of its own */
#define CONTENDER_BATCH	64	/* a contender waits for its jobs after so many */
#define WAIT_NS		(60LL * 1000 * 1000 * 1000)
#define TIMER_US	50

/* The counter job's buffers: command, constants (1.0f), counter, shared. */
enum { REF_CMD, REF_ONE, REF_COUNTER, REF_SHARED };

static atomic_bool stop;

/* Another file: SUBMITs of one NOP job listing every shared buffer. */
struct contender {
	int fd;
	struct drm_ossa_bo_ref refs[MAX_BOS + 1];
	unsigned int nrefs;
	uint64_t cmd_va;
};

static void *contend(void *arg)
{
	const struct contender *c = arg;
	unsigned int n = 0;

	while (!atomic_load(&stop)) {
		struct drm_ossa_job job = {
			.cmd_va = c->cmd_va,
			.cmd_size = OSSA_CMD_NOP_SIZE,
			.queue = 1,
			.bos = OBJ_ARRAY(c->refs, c->nrefs),
		};
		int err = submit_job(c->fd, &job);

		if (err)
			fail("DRM_IOCTL_OSSA_SUBMIT (another file)", err);
		/* Bounds its queue: wait for its jobs now and then. */
		if (++n % CONTENDER_BATCH == 0)
			bo_wait(c->fd, c->refs[0].handle, WAIT_NS,
				"DRM_IOCTL_OSSA_BO_WAIT (another file)");
	}
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Shares @nbos new buffers of @fd with each contender, which lists them all. */
static void share(int fd, struct drm_ossa_bo_ref *refs, unsigned int nbos,
		  struct contender *cs)
{
	unsigned int i, k;

	for (k = 0; k < CONTENDERS; k++) {
		struct contender *c = &cs[k];
		struct drm_ossa_bo_create cmd = bo_new(c->fd, OSSA_PAGE_SIZE);
		uint8_t *p = bo_map(c->fd, cmd.handle, OSSA_PAGE_SIZE);

		memset(p, 0, OSSA_CMD_NOP_SIZE);	/* NOP: opcode 0, all zero */
		munmap(p, OSSA_PAGE_SIZE);
		c->refs[0].handle = cmd.handle;
		c->refs[0].flags = DRM_OSSA_BO_REF_READ;
		c->cmd_va = cmd.va;
		c->nrefs = nbos + 1;
	}
	for (i = 0; i < nbos; i++) {
		struct drm_ossa_bo_create bo = bo_new(fd, OSSA_PAGE_SIZE);
		struct drm_prime_handle exp = {
			.handle = bo.handle, .flags = DRM_CLOEXEC,
		};

		call(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &exp,
		     "DRM_IOCTL_PRIME_HANDLE_TO_FD");
		for (k = 0; k < CONTENDERS; k++) {
			struct drm_prime_handle imp = { .fd = exp.fd };

			call(cs[k].fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp,
			     "DRM_IOCTL_PRIME_FD_TO_HANDLE");
			cs[k].refs[i + 1].handle = imp.handle;
			cs[k].refs[i + 1].flags = DRM_OSSA_BO_REF_READ;
		}
		close(exp.fd);
		refs[i].handle = bo.handle;
		refs[i].flags = DRM_OSSA_BO_REF_READ;
	}
}

int main(int argc, char **argv)
{
	static struct contender cs[CONTENDERS];
	static struct drm_ossa_bo_ref refs[REF_SHARED + MAX_BOS];
	struct drm_ossa_job jobs[MAX_JOBS];
	struct itimerval every = {
		.it_interval = { .tv_usec = TIMER_US },
		.it_value = { .tv_usec = TIMER_US },
	};
	struct itimerval off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct drm_ossa_bo_create one, counter, cmd;
	uint32_t status;
	unsigned int seconds, min_interrupted, njobs, nbos, i, k;
	unsigned int done = 0, interrupted = 0;
	uint64_t start, deadline;
	bool retry, restart, ticking = true;
	sigset_t alrm;
	pthread_t threads[CONTENDERS];
	uint8_t *p;
	float count;
	int fd, err;

	tool_name = "submit-signals";
	if (argc != 8)
		goto usage;
	seconds = strtoul(argv[2], NULL, 0);
	min_interrupted = strtoul(argv[3], NULL, 0);
	njobs = strtoul(argv[4], NULL, 0);
	nbos = strtoul(argv[5], NULL, 0);
	retry = !strcmp(argv[6], "retry");
	restart = !strcmp(argv[7], "restart");
	if (!seconds || !min_interrupted || !njobs || njobs > MAX_JOBS ||
	    nbos > MAX_BOS || (!retry && strcmp(argv[6], "raw")) ||
	    (!restart && strcmp(argv[7], "norestart")))
		goto usage;

	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail(argv[1], errno);
	for (k = 0; k < CONTENDERS; k++) {
		cs[k].fd = open(argv[1], O_RDWR | O_CLOEXEC);
		if (cs[k].fd < 0)
			fail(argv[1], errno);
	}

	one = bo_new(fd, OSSA_PAGE_SIZE);
	p = bo_map(fd, one.handle, OSSA_PAGE_SIZE);
	memcpy(p, &(float){ 1.0f }, sizeof(float));
	munmap(p, OSSA_PAGE_SIZE);
	counter = bo_new(fd, OSSA_PAGE_SIZE);	/* a new BO reads as zero: counter 0.0f */
	cmd = bo_new(fd, OSSA_PAGE_SIZE);
	p = bo_map(fd, cmd.handle, OSSA_PAGE_SIZE);
	put32(p, OSSA_CMD_FMA_F32);
	put32(p + 4, 1);
	put64(p + 8, one.va);
	put64(p + 16, one.va);
	put64(p + 24, counter.va);
	put64(p + 32, counter.va);
	munmap(p, OSSA_PAGE_SIZE);
	refs[REF_CMD] = (struct drm_ossa_bo_ref){
		.handle = cmd.handle, .flags = DRM_OSSA_BO_REF_READ,
	};
	refs[REF_ONE] = (struct drm_ossa_bo_ref){
		.handle = one.handle, .flags = DRM_OSSA_BO_REF_READ,
	};
	refs[REF_COUNTER] = (struct drm_ossa_bo_ref){
		.handle = counter.handle,
		.flags = DRM_OSSA_BO_REF_READ | DRM_OSSA_BO_REF_WRITE,
	};
	share(fd, refs + REF_SHARED, nbos, cs);
	for (i = 0; i < njobs; i++)
		jobs[i] = (struct drm_ossa_job){
			.cmd_va = cmd.va,
			.cmd_size = OSSA_CMD_FMA_F32_SIZE,
			.bos = OBJ_ARRAY(refs, REF_SHARED + nbos),
		};

	/* Only the submitting thread takes the timer's signal. */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	for (k = 0; k < CONTENDERS; k++) {
		err = pthread_create(&threads[k], NULL, contend, &cs[k]);
		if (err)
			fail("pthread_create", err);
	}
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	sa.sa_flags = restart ? SA_RESTART : 0;
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &every, NULL))
		fail("SIGALRM timer", errno);

	start = now_ms();
	deadline = start + (uint64_t)seconds * 1000;
	for (i = 0; ticking; i++) {
		struct drm_ossa_submit args = { .jobs = OBJ_ARRAY(jobs, njobs) };
		int ret;

		for (;;) {
			ret = ioctl(fd, DRM_IOCTL_OSSA_SUBMIT, &args);
			if (!ret || errno != EINTR)
				break;
			if (++interrupted >= min_interrupted ||
			    now_ms() >= deadline) {
				/* Lets a call being repeated complete. */
				setitimer(ITIMER_REAL, &off, NULL);
				ticking = false;
			}
			/* Each job's status says why none was queued. */
			for (k = 0; k < njobs; k++) {
				if (jobs[k].status != -EINTR) {
					fprintf(stderr, "submit-signals: an interrupted call left job %u with status %d, not -EINTR\n",
						k, jobs[k].status);
					return 1;
				}
			}
			if (!retry)
				break;
		}
		if (!ret)
			done++;
		else if (errno != EINTR)
			fail("DRM_IOCTL_OSSA_SUBMIT", errno);
		if (ticking && now_ms() >= deadline) {
			setitimer(ITIMER_REAL, &off, NULL);
			ticking = false;
		}
	}

	atomic_store(&stop, true);
	for (k = 0; k < CONTENDERS; k++)
		pthread_join(threads[k], NULL);
	status = bo_wait(fd, counter.handle, WAIT_NS, "DRM_IOCTL_OSSA_BO_WAIT");
	if (status != DRM_OSSA_JOB_STATUS_SUCCESS) {
		fprintf(stderr, "submit-signals: the last counter job ended with status %u\n",
			status);
		return 1;
	}
	p = bo_map(fd, counter.handle, OSSA_PAGE_SIZE);
	memcpy(&count, p, sizeof(count));
	printf("calls %u submits %u interrupted %u counter %.0f ms %llu\n", i,
	       done, interrupted, count,
	       (unsigned long long)(now_ms() - start));
	if (count != (float)done * njobs) {
		fprintf(stderr, "submit-signals: the counter is %.0f, but %u calls of %u jobs succeeded: %s\n",
			count, done, njobs,
			count > (float)done * njobs ? "jobs ran twice or ran for a failed call" :
						      "jobs were lost");
		return 1;
	}
	for (k = 0; k < CONTENDERS; k++)
		if (close(cs[k].fd))
			return 1;
	return close(fd) ? 1 : 0;

usage:
	fprintf(stderr,
		"usage: submit-signals NODE SECONDS MIN_INTERRUPTED JOBS(1-%d) BOS(0-%d)\n"
		"                      retry|raw restart|norestart\n",
		MAX_JOBS, MAX_BOS);
	return 2;
}
