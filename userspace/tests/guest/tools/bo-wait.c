// SPDX-License-Identifier: MIT
/*
 * bo-wait: DRM_IOCTL_OSSA_BO_WAIT on a BO that a job keeps busy, polled
 * and interrupted by signals (docs/uapi.md, BO_WAIT). Its timeout_ns is
 * absolute: a CLOCK_MONOTONIC time in ns.
 *
 *   bo-wait NODE DEBUGFS poll POLLS
 *   bo-wait NODE DEBUGFS signals TIMEOUT_MS restart|norestart
 *
 * DEBUGFS is the device's debugfs folder. The tool makes queue 0 hang
 * (its inject_hang file: the device stops making progress on it, and uses
 * no host time while it does), opens NODE, submits on queue 0 one FILL
 * job writing a BO and waits until the driver has put it on the ring (its
 * queues file), so that the reset below finds it there. Nothing but the
 * tool ends that job: the caller loads
 * the driver with a job timeout longer than the tool runs, and once the
 * measurement is over the tool writes 1 to the reset file, which fails the
 * running job (status ERROR) and clears the hang; a tool that fails on
 * the way resets too (atexit), so no hang outlives it. So no timer in the guest
 * races the measurement, and no device work slows the guest down, however
 * slowly the guest runs.
 *
 * poll: calls BO_WAIT POLLS times with a timeout already past while the
 * job hangs, in turn 0, -1 (a negative time) and the time of the call less
 * 1 ms; each must fail with ETIMEDOUT. A poll must not sleep: the thread's
 * voluntary context switches over the polls are counted.
 * Output: "polls N busy B switches S end E".
 *
 * signals: a timer sends SIGALRM every 20 ms (SA_RESTART as asked) while
 * one BO_WAIT waits until TIMEOUT_MS after its start; a call that fails
 * with EINTR is repeated with the same struct, as libdrm's drmIoctl()
 * does. Since the timeout is absolute, the kernel must leave timeout_ns as
 * it was and end the wait at that deadline, not before and, however many
 * signals interrupted it, not later. The storm stops after STORM_SIGNALS
 * signals (at least 5 s): a wait that each signal restarted with its whole
 * timeout would return only after that, since the job does not end, or
 * after a gap between signals as long as its timeout.
 * Output: "result R status S signals N ms T late L gap G storm-first F
 * timeout-arg A end E" (one line): R is ETIMEDOUT, or ok with the job's
 * status S, after T ms and N signals; L is the time in ms from the
 * deadline to the return, rounded down (negative: the wait returned before
 * its deadline); G is the longest time in ms without a signal during the
 * wait (from its start, between signals, to its return); F is yes when
 * the storm had stopped before the wait returned; A is kept when
 * timeout_ns still held the deadline after the call, else changed.
 *
 * Either way E is the job's status once the reset ended it: ERROR (3) says
 * the job still hung when the measurement was over.
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

#define TARGET_SIZE	4096u
#define STREAM_SIZE	4096u
#define TIMER_US	20000
#define STORM_SIGNALS	250
/* Reads of debugfs queues, 1 ms apart (guest time), before giving up. */
#define RING_WAIT_TRIES	30000
#define WAIT_NS		(120LL * 1000 * 1000 * 1000)

static atomic_uint signals;
/* When the last signal came (ms), and the longest time without one. */
static _Atomic uint64_t last_signal_ms, longest_gap_ms;
/* The debugfs reset file, and whether queue 0 may hang (reset at exit). */
static char reset_path[4096];
static bool hung;

/*
 * Counts the signal and the gap since the one before; the last of the
 * storm stops the timer. clock_gettime() and setitimer() are system calls,
 * safe in a handler.
 */
static void on_alarm(int sig)
{
	static const struct itimerval off;
	uint64_t now = now_ms(), gap = now - atomic_load(&last_signal_ms);
	int saved = errno;

	(void)sig;
	if (gap > atomic_load(&longest_gap_ms))
		atomic_store(&longest_gap_ms, gap);
	atomic_store(&last_signal_ms, now);
	if (atomic_fetch_add(&signals, 1) + 1 == STORM_SIGNALS)
		setitimer(ITIMER_REAL, &off, NULL);
	errno = saved;
}

/* Puts the path of the file @name of the debugfs folder @dir in @path. */
static void debugfs_path(char (*path)[4096], const char *dir, const char *name)
{
	if ((size_t)snprintf(*path, sizeof(*path), "%s/%s", dir, name) >= sizeof(*path))
		fail(dir, ENAMETOOLONG);
}

/* Writes @value to the file @name of the debugfs folder @dir. */
static void debugfs_write(const char *dir, const char *name, const char *value)
{
	char path[4096];
	size_t len = strlen(value);
	int fd;

	debugfs_path(&path, dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail(path, errno);
	if (write(fd, value, len) != (ssize_t)len)
		fail(path, errno);
	if (close(fd))
		fail(path, errno);
}

/* Ends a hang left behind by a tool that failed before its reset. */
static void reset_at_exit(void)
{
	int fd;

	if (!hung)
		return;
	fd = open(reset_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1", 1) != 1)
		perror("bo-wait: reset at exit");
	if (fd >= 0)
		close(fd);
}

/* Waits until the driver has put queue 0's job on the ring (head != tail). */
static void wait_on_ring(const char *dir)
{
	char path[4096], line[256];
	unsigned int tries, q, head, tail;

	debugfs_path(&path, dir, "queues");
	for (tries = 0; tries < RING_WAIT_TRIES; tries++) {
		FILE *f = fopen(path, "re");

		if (!f)
			fail(path, errno);
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "queue %u: head %u tail %u", &q, &head, &tail) == 3 &&
			    q == 0 && head != tail) {
				fclose(f);
				return;
			}
		fclose(f);
		usleep(1000);
	}
	fail("the job on queue 0's ring (debugfs queues)", ETIMEDOUT);
}

/* Submits a FILL job on queue 0, which hangs; returns the handle of its BO. */
static uint32_t submit_hung_job(int fd)
{
	struct drm_ossa_bo_create target = bo_new(fd, TARGET_SIZE);
	struct drm_ossa_bo_create cmd = bo_new(fd, STREAM_SIZE);
	struct drm_ossa_bo_ref refs[2] = {
		{ .handle = cmd.handle, .flags = DRM_OSSA_BO_REF_READ },
		{ .handle = target.handle,
		  .flags = DRM_OSSA_BO_REF_READ | DRM_OSSA_BO_REF_WRITE },
	};
	struct drm_ossa_job job = {
		.cmd_va = cmd.va,
		.bos = OBJ_ARRAY(refs, 2),
	};
	uint8_t *p = bo_map(fd, cmd.handle, STREAM_SIZE);
	int err;

	job.cmd_size = long_fills(p, OSSA_CMD_FILL_SIZE, 0, target.va, TARGET_SIZE);
	munmap(p, STREAM_SIZE);
	err = submit_job(fd, &job);
	if (err)
		fail("DRM_IOCTL_OSSA_SUBMIT", err);
	return target.handle;
}

/*
 * Polls the busy BO @polls times with timeouts already past; prints how
 * many were busy and the switches.
 */
static void poll_busy(int fd, uint32_t handle, unsigned int polls)
{
	struct rusage before, after;
	unsigned int busy = 0, k;
	int err = 0;

	getrusage(RUSAGE_THREAD, &before);
	for (k = 0; k < polls; k++) {
		/* 0, a negative time, and a moment ago: all past. */
		int64_t past[3] = { 0, -1, now_ns() - 1000000 };
		struct drm_ossa_bo_wait wait = {
			.handle = handle,
			.timeout_ns = past[k % 3],
		};

		if (ioctl(fd, DRM_IOCTL_OSSA_BO_WAIT, &wait) == 0)
			continue;
		if (errno == ETIMEDOUT)
			busy++;
		else
			err = errno;
	}
	getrusage(RUSAGE_THREAD, &after);
	if (err)
		fail("DRM_IOCTL_OSSA_BO_WAIT with a timeout already past", err);
	printf("polls %u busy %u switches %ld", polls, busy,
	       after.ru_nvcsw - before.ru_nvcsw);
}

/* @ns in whole ms, rounded down (towards minus infinity). */
static long long floor_ms(int64_t ns)
{
	return ns >= 0 ? ns / 1000000 : -((-ns + 999999) / 1000000);
}

/*
 * One BO_WAIT until @timeout_ms from now under a storm of SIGALRM; prints
 * what it returned, and when, against its deadline.
 */
static void wait_signalled(int fd, uint32_t handle, unsigned int timeout_ms,
			   bool restart)
{
	struct itimerval timer = {
		.it_interval = { .tv_usec = TIMER_US },
		.it_value = { .tv_usec = TIMER_US },
	};
	struct itimerval off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct drm_ossa_bo_wait wait = { .handle = handle };
	int64_t start, deadline, end;
	uint64_t gap, last;
	unsigned int seen;
	bool storm_first;
	int ret;

	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL))
		fail("sigaction", errno);
	start = now_ns();
	deadline = start + timeout_ms * 1000000ll;
	wait.timeout_ns = deadline;
	atomic_store(&last_signal_ms, start / 1000000);
	if (setitimer(ITIMER_REAL, &timer, NULL))
		fail("setitimer", errno);
	do
		ret = ioctl(fd, DRM_IOCTL_OSSA_BO_WAIT, &wait);
	while (ret && errno == EINTR);
	seen = atomic_load(&signals);
	storm_first = seen >= STORM_SIGNALS;
	end = now_ns();
	if (ret && errno != ETIMEDOUT)
		fail("DRM_IOCTL_OSSA_BO_WAIT under signals", errno);
	if (setitimer(ITIMER_REAL, &off, NULL))
		fail("setitimer", errno);
	if (ret)
		printf("result ETIMEDOUT status -");
	else
		printf("result ok status %u", wait.job_status);
	/* A signal after the return (before the timer stopped) leaves no gap. */
	last = atomic_load(&last_signal_ms);
	gap = (uint64_t)end / 1000000 > last ? (uint64_t)end / 1000000 - last : 0;
	if (gap < atomic_load(&longest_gap_ms))
		gap = atomic_load(&longest_gap_ms);
	printf(" signals %u ms %lld late %lld gap %llu storm-first %s timeout-arg %s",
	       seen, (long long)((end - start) / 1000000),
	       floor_ms(end - deadline), (unsigned long long)gap,
	       storm_first ? "yes" : "no",
	       wait.timeout_ns == deadline ? "kept" : "changed");
}

int main(int argc, char **argv)
{
	uint32_t handle;
	int fd;

	tool_name = "bo-wait";
	if (argc < 5 || (strcmp(argv[3], "poll") == 0 && argc != 5) ||
	    (strcmp(argv[3], "signals") == 0 &&
	     (argc != 6 || (strcmp(argv[5], "restart") &&
			    strcmp(argv[5], "norestart")))) ||
	    (strcmp(argv[3], "poll") && strcmp(argv[3], "signals")) ||
	    !strtoul(argv[4], NULL, 0)) {
		fprintf(stderr,
			"usage: bo-wait NODE DEBUGFS poll POLLS\n"
			"       bo-wait NODE DEBUGFS signals TIMEOUT_MS restart|norestart\n");
		return 2;
	}

	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail(argv[1], errno);
	debugfs_path(&reset_path, argv[2], "reset");
	hung = true;
	if (atexit(reset_at_exit))
		fail("atexit", ENOMEM);
	debugfs_write(argv[2], "inject_hang", "1");
	handle = submit_hung_job(fd);
	wait_on_ring(argv[2]);
	if (strcmp(argv[3], "poll") == 0)
		poll_busy(fd, handle, strtoul(argv[4], NULL, 0));
	else
		wait_signalled(fd, handle, strtoul(argv[4], NULL, 0),
			       strcmp(argv[5], "restart") == 0);
	debugfs_write(argv[2], "reset", "1");
	hung = false;
	printf(" end %u\n", bo_wait(fd, handle, WAIT_NS,
				    "DRM_IOCTL_OSSA_BO_WAIT for the job's end"));
	if (close(fd))
		fail("close", errno);
	return 0;
}
