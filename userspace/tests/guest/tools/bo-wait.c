// SPDX-License-Identifier: MIT
/*
 * bo-wait: DRM_IOCTL_OSSA_BO_WAIT on a BO that a job keeps busy, polled
 * and interrupted by signals (docs/uapi.md, BO_WAIT).
 *
 *   bo-wait NODE poll POLLS
 *   bo-wait NODE signals TIMEOUT_MS restart|norestart
 *
 * Opens NODE and submits, on queue 0, one job that would run for minutes
 * (FILLs of 16 MiB, a 1 MiB stream of them) writing a BO; the driver's job
 * timeout ends it (status TIMEOUT).
 *
 * poll: calls BO_WAIT POLLS times with a timeout of 0 while the job runs;
 * each must fail with ETIMEDOUT. A poll must not sleep: the thread's
 * voluntary context switches over the polls are counted.
 * Output: "polls N busy B switches S".
 *
 * signals: a timer sends SIGALRM every 20 ms (SA_RESTART as asked) while
 * one BO_WAIT with a timeout of TIMEOUT_MS waits; a call that fails with
 * EINTR is repeated with the same struct, as libdrm's drmIoctl() does.
 * Output: "result R status S signals N ms T": R is ETIMEDOUT, or ok with
 * the job's status S once it ended, after T ms and N signals.
 *
 * Either way the tool then waits for the job to end before it exits.
 * Exit status: 0 when every call behaved as documented above, 1 when one
 * failed otherwise (stderr says which), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ossa-tool.h"

#define LONG_TARGET	(16u << 20)
#define LONG_STREAM	(1u << 20)
#define TIMER_US	20000
#define WAIT_NS		(120LL * 1000 * 1000 * 1000)

static atomic_uint signals;

static void on_alarm(int sig)
{
	(void)sig;
	atomic_fetch_add(&signals, 1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* Submits the long job; returns the handle of the BO it writes. */
static uint32_t submit_long_job(int fd)
{
	struct drm_ossa_bo_create target = bo_new(fd, LONG_TARGET);
	struct drm_ossa_bo_create cmd = bo_new(fd, LONG_STREAM);
	struct drm_ossa_bo_ref refs[2] = {
		{ .handle = cmd.handle, .flags = DRM_OSSA_BO_REF_READ },
		{ .handle = target.handle,
		  .flags = DRM_OSSA_BO_REF_READ | DRM_OSSA_BO_REF_WRITE },
	};
	struct drm_ossa_job job = {
		.cmd_va = cmd.va,
		.bos = (uintptr_t)refs,
		.bo_count = 2,
	};
	struct drm_ossa_submit submit = {
		.jobs = (uintptr_t)&job,
		.job_count = 1,
		.job_stride = sizeof(job),
	};
	uint8_t *p = bo_map(fd, cmd.handle, LONG_STREAM);

	job.cmd_size = long_fills(p, LONG_STREAM, 0, target.va, LONG_TARGET);
	munmap(p, LONG_STREAM);
	call(fd, DRM_IOCTL_OSSA_SUBMIT, &submit, "DRM_IOCTL_OSSA_SUBMIT");
	return target.handle;
}

/* Polls the busy BO @polls times; prints how many were busy and the switches. */
static void poll_busy(int fd, uint32_t handle, unsigned int polls)
{
	struct rusage before, after;
	unsigned int busy = 0, k;
	int err[2] = { 0, 0 };

	getrusage(RUSAGE_THREAD, &before);
	for (k = 0; k < polls; k++) {
		struct drm_ossa_bo_wait wait = { .handle = handle };

		if (ioctl(fd, DRM_IOCTL_OSSA_BO_WAIT, &wait) == 0)
			continue;
		if (errno == ETIMEDOUT)
			busy++;
		else
			err[0] = errno;
	}
	getrusage(RUSAGE_THREAD, &after);
	if (err[0])
		fail("DRM_IOCTL_OSSA_BO_WAIT with timeout 0", err[0]);
	printf("polls %u busy %u switches %ld\n", polls, busy,
	       after.ru_nvcsw - before.ru_nvcsw);
}

/* One BO_WAIT of @timeout_ms under a storm of SIGALRM; prints what it returned. */
static void wait_signalled(int fd, uint32_t handle, unsigned int timeout_ms,
			   bool restart)
{
	struct itimerval timer = {
		.it_interval = { .tv_usec = TIMER_US },
		.it_value = { .tv_usec = TIMER_US },
	};
	struct itimerval off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct drm_ossa_bo_wait wait = {
		.handle = handle,
		.timeout_ns = timeout_ms * 1000000ll,
	};
	uint64_t start;
	int ret;

	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL))
		fail("sigaction", errno);
	start = now_ms();
	if (setitimer(ITIMER_REAL, &timer, NULL))
		fail("setitimer", errno);
	do
		ret = ioctl(fd, DRM_IOCTL_OSSA_BO_WAIT, &wait);
	while (ret && errno == EINTR);
	if (setitimer(ITIMER_REAL, &off, NULL))
		fail("setitimer", errno);
	if (ret && errno != ETIMEDOUT)
		fail("DRM_IOCTL_OSSA_BO_WAIT under signals", errno);
	if (ret)
		printf("result ETIMEDOUT status - signals %u ms %llu\n",
		       atomic_load(&signals),
		       (unsigned long long)(now_ms() - start));
	else
		printf("result ok status %u signals %u ms %llu\n",
		       wait.job_status, atomic_load(&signals),
		       (unsigned long long)(now_ms() - start));
}

int main(int argc, char **argv)
{
	struct drm_ossa_bo_wait end = { .timeout_ns = WAIT_NS };
	uint32_t handle;
	int fd;

	tool_name = "bo-wait";
	if (argc < 4 || (strcmp(argv[2], "poll") == 0 && argc != 4) ||
	    (strcmp(argv[2], "signals") == 0 &&
	     (argc != 5 || (strcmp(argv[4], "restart") &&
			    strcmp(argv[4], "norestart")))) ||
	    (strcmp(argv[2], "poll") && strcmp(argv[2], "signals")) ||
	    !strtoul(argv[3], NULL, 0)) {
		fprintf(stderr,
			"usage: bo-wait NODE poll POLLS\n"
			"       bo-wait NODE signals TIMEOUT_MS restart|norestart\n");
		return 2;
	}

	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail(argv[1], errno);
	handle = submit_long_job(fd);
	if (strcmp(argv[2], "poll") == 0)
		poll_busy(fd, handle, strtoul(argv[3], NULL, 0));
	else
		wait_signalled(fd, handle, strtoul(argv[3], NULL, 0),
			       strcmp(argv[4], "restart") == 0);
	end.handle = handle;
	call(fd, DRM_IOCTL_OSSA_BO_WAIT, &end, "DRM_IOCTL_OSSA_BO_WAIT for the job's end");
	if (close(fd))
		fail("close", errno);
	return 0;
}
