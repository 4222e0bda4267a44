// SPDX-License-Identifier: MIT
/*
 * alloc-sweep: make each kernel allocation on each ossa ioctl path fail once.
 *
 *   alloc-sweep NODE PATH...
 *
 * NODE is the accel node (/dev/accel/accel0). PATH is one of open, close,
 * bo-create, submit, bo-wait, prime-export, prime-import,
 * prime-import-udmabuf, syncobj-create, probe, or "all" (every path but
 * probe); the paths run in the order given.
 *
 * Method. The kernel's /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)
 * makes the N-th fault-injection point that this thread reaches fail: a
 * slab allocation with CONFIG_FAILSLAB, a page allocation with
 * CONFIG_FAIL_PAGE_ALLOC. Which allocations count (sleeping ones, order-0
 * pages, ...) is set by the caller in /sys/kernel/debug/failslab and
 * /sys/kernel/debug/fail_page_alloc before running this program. For each
 * path, for n = 1, 2, 3, ...:
 *
 *   1. set up the preconditions, unarmed, in a fresh open file;
 *   2. write n to fail-nth, make the one system call under test, read
 *      fail-nth back (0: the n-th point was reached and failed; > 0: the
 *      call finished before reaching it) and write 0 to disarm. Nothing
 *      else runs in between: no stdio, no malloc, no other system call;
 *   3. check what the call left behind (below), tear down, and check that
 *      the file holds no GEM handle and no syncobj any more (the next of
 *      each gets handle 1) and can still run a NOP job that signals its
 *      out-syncobj within 10 s (for open and close: the opened file, or a
 *      fresh one).
 *
 * A job's in-syncobjs are the entries of its drm_ossa_job.syncs with
 * DRM_OSSA_SYNC_WAIT, its out-syncobjs those with DRM_OSSA_SYNC_SIGNAL;
 * all are binary (point 0) but the timeline of the submit path. Every
 * array (drm_ossa_submit.jobs, drm_ossa_job.bos and .syncs) has this
 * header's element size as its stride. The BO_WAIT and SYNCOBJ_WAIT
 * timeouts are absolute (CLOCK_MONOTONIC): "10 s" is 10 s from just
 * before the call.
 *
 * An n whose injected failure the call absorbed (it succeeded) is tried
 * once more: the point reached may be one that comes only sometimes (see
 * "Reading the results" below), and the next try usually reaches the
 * point n names in other runs (a clean-clone CI once missed the failure
 * of a driver allocation this way). "results" then holds n twice, and a
 * retry that no longer reaches point n does not count towards STOP_AFTER.
 *
 * The sweep of a path stops after STOP_AFTER n in a row whose fault is
 * not injected: the path has as many injection points as the last n that
 * was injected. One short iteration is not enough, because the number of
 * points varies by a few between iterations (see below). It stops at
 * n = 10000 otherwise ("capped"; "points" is then 10000, a lower
 * bound).
 *
 * fail-nth is opened once, before any sweep, so that its own open is never
 * in an armed window. All memory is locked (mlockall) and the stack is
 * touched beforehand: a page fault of this process in an armed window
 * would count as an injection point (and an injected failure there would
 * kill the process). Two files of the device stay open throughout: the
 * device's open count never drops to 0 between iterations, and the
 * context-id xarray keeps its node, so that opening a file reaches the same
 * allocations in every iteration.
 *
 * Every iteration starts from a fresh open file, because a file's page
 * tables, handle idr and reservation objects keep allocations from one
 * iteration to the next: reusing a file would change how many points the
 * next call reaches.
 *
 * Paths, with what each iteration checks after the call:
 *   open            open(2) of NODE. On success the file must run a NOP job;
 *                   it is then closed.
 *   close           close(2) of a file holding a 64 KiB BO and a syncobj (so
 *                   that the release path frees a mapping and a syncobj).
 *                   A fresh file must then run a NOP job.
 *   bo-create       DRM_IOCTL_OSSA_BO_CREATE of 64 KiB. On success: size and
 *                   VA as BO_INFO reports them, and a FILL job over the whole
 *                   BO (its device mapping is complete); then GEM_CLOSE.
 *   submit          DRM_IOCTL_OSSA_SUBMIT of 3 jobs on 4 BOs (command, SRC,
 *                   MID, DST), 2 in-syncobjs signalled beforehand with
 *                   DRM_IOCTL_SYNCOBJ_SIGNAL, an out-syncobj per job, and
 *                   a timeline syncobj T without a fence:
 *                     job 0, queue 0: FILL MID;             in: S0
 *                     job 1, queue 1: COPY SRC -> DST[lo];  in: S0, S1
 *                     job 2, queue 0: COPY MID -> DST[hi];  (after job 0 and
 *                                     job 1 by implicit sync on MID and DST)
 *                                     out: also point 1 of T
 *                   A timeline point needs a dma_fence_chain, which SUBMIT
 *                   allocates before it queues anything.
 *                   Beforehand a NOP on queue 0 that lists MID as WRITE has
 *                   run, so that jobs 0 and 2 take an implicit dependency on
 *                   a fence from before the batch. A job's second
 *                   dependency of another fence context is the one that
 *                   needs memory (an xarray node; the first is kept without
 *                   one), so each kind allocates: an in-syncobj (job 1's
 *                   S1), a fence on a BO from before the batch (job 0, after
 *                   S0) and an earlier job of the batch on the other queue
 *                   (job 2, after the NOP's fence on MID). xa_alloc()
 *                   retries a failed node allocation with GFP_KERNEL, so
 *                   the call must then succeed.
 *                   The out-syncobjs of the jobs with status 0 are waited
 *                   for (10 s), then BO_WAIT on the command BO, which every
 *                   job reads, waits for any other job that might run.
 *                   After a success: every status 0, every out-syncobj
 *                   and point 1 of T signalled, and the data the jobs
 *                   wrote. After a failure: each job with a status other
 *                   than 0 did not run (its destination holds the old
 *                   pattern) and its out-syncobjs have no fence
 *                   (SYNCOBJ_WAIT, flags 0, timeout 0: EINVAL for no
 *                   fence, ETIME for an unsignalled one; for T,
 *                   SYNCOBJ_TIMELINE_WAIT of point 1); a job with status 0
 *                   was queued (see below) and is reported as wrong too,
 *                   since a failed SUBMIT should run no job.
 *   bo-wait         DRM_IOCTL_OSSA_BO_WAIT until 5 s after the time taken
 *                   before fail-nth is armed, on a 1 MiB BO that a job (16
 *                   FILLs of the whole BO) is writing. On success the job
 *                   must be complete and its job_status SUCCESS; in any
 *                   case the job must complete and leave its data.
 *   prime-export    DRM_IOCTL_PRIME_HANDLE_TO_FD of a 64 KiB BO. The dma-buf
 *                   must import back to the same handle; after a failure an
 *                   unarmed export must work. The fd is closed.
 *   prime-import    DRM_IOCTL_PRIME_FD_TO_HANDLE of a dma-buf exported from a
 *                   second open file. On success: BO_INFO, and a FILL job in
 *                   the importing file whose data the exporter sees; after a
 *                   failure an unarmed import must work. Then GEM_CLOSE.
 *   prime-import-udmabuf
 *                   DRM_IOCTL_PRIME_FD_TO_HANDLE of a dma-buf of another
 *                   exporter: udmabuf (CONFIG_UDMABUF) over a sealed memfd.
 *                   Unlike a dma-buf of ossa itself, which the import finds
 *                   as the BO it already is, this attaches and maps the
 *                   foreign buffer (ossa_gem_prime_import_sg_table()). The
 *                   same checks as prime-import, the data seen through the
 *                   memfd.
 *   syncobj-create  DRM_IOCTL_SYNCOBJ_CREATE with DRM_SYNCOBJ_CREATE_SIGNALED
 *                   (the flag adds the stub fence's allocation to the path).
 *                   The syncobj must be signalled; then SYNCOBJ_DESTROY.
 *   probe           the driver's probe: the device is unbound (sysfs
 *                   "unbind" of the ossa PCI driver), then the write(2) of
 *                   its PCI address to "bind" is the call under test; the
 *                   driver core runs ossa_probe() in this thread. After a
 *                   failure the device is bound again unarmed; either way
 *                   its new accel node must run a NOP job. No file of the
 *                   device is open during this path (the kept files below
 *                   are closed first), and the caller must hold none.
 *                   The guest suite does not run this path: on Linux
 *                   6.12.117 (debug kernel) it reaches defects outside the
 *                   driver, in error paths of the DRM core (a failure in
 *                   drm_sysfs_minor_alloc() leaves ERR_PTR(-ENOMEM) in
 *                   minor->kdev, which drm_minor_alloc_release() passes to
 *                   put_device(): oops) and of ACPICA (a failure while
 *                   evaluating _PRT in pci_enable_device() leaves the
 *                   namespace node PRTA without its object: KASAN
 *                   slab-use-after-free in acpi_ns_get_attached_object()
 *                   on the next evaluation). Run it by hand to look again.
 *
 * Output: one JSON object per path on stdout, one line each:
 *   {"path":"submit","points":N,"capped":false,
 *    "results":[{"n":1,"injected":true,"ret":-12,"errno":"ENOMEM"},...],
 *    "unusable":[n,...],"wrong":[{"n":n,"what":"..."},...]}
 * "ret" is 0 for success (also for open, which returns a file descriptor)
 * or -errno; "errno" is its name, or null. Results of submit also carry
 * "status": each job's drm_ossa_job.status after the call (1 when the
 * kernel did not write it). Results of bo-wait carry "busy": whether the
 * job was still running just before the fault was armed. "unusable" lists
 * the iterations after which the NOP job failed (the reason goes to
 * stderr); "wrong" what a check above found. A success with the fault
 * injected is not wrong in itself (the allocation had a fallback); the
 * caller judges the results.
 *
 * Reading the results on the debug kernel: with kmemleak, each tracked
 * slab allocation is followed by a failslab point of kmemleak's own
 * metadata, which falls back to kmemleak's pool, so many points "succeed
 * while injected" without any driver code being involved. Points taken
 * by the page allocator for slab refills, KASAN's stack depot or THP
 * attempts depend on the allocator's state, so "points" can vary by a few
 * between runs, which is why a sweep ends only after STOP_AFTER short
 * iterations in a row. The failslab and
 * fail_page_alloc stack filters (require-start/end), if the caller sets
 * them, restrict what counts as a point.
 *
 * Exit status: 0 when every sweep ran to its end, findings or not; 1 on a
 * setup error (stderr names the path, iteration, step and errno; the lines
 * of the paths done so far are on stdout); 2 on bad usage.
 *
 * Assumed where the uapi leaves it open (to confirm on the first run):
 *   - drm_ossa_job.status is output only: the kernel writes it into the
 *     job array itself (SUBMIT is DRM_IOW: the drm_ossa_submit is not
 *     copied back) and ignores its input value, so 1 can mark "not
 *     written" (a SUBMIT that fails before it looks at the jobs writes
 *     none).
 *   - A SUBMIT is all or nothing (docs/uapi.md): after a failure no job
 *     of the batch runs. A job with status 0 after a failed SUBMIT is
 *     still checked for consistency (it ran, its out-syncobj signalled)
 *     and reported in "wrong", as "left queued".
 *   - The bo-wait job (16 MiB of FILL) is still running when BO_WAIT is
 *     called ("busy" says whether it was) and finishes well within the
 *     driver's job timeout (job_timeout_ms, 2 s by default).
 *   - Nothing that runs after fail-nth is set in the write(2) that arms
 *     it, nor in the pread(2) that reads it back, reaches an injection
 *     point (syzkaller relies on the same).
 *
 * Build (static, for the guest):
 *   cc -O2 -static -Wall -Wextra -Werror -D__user= \
 *      -I kernel-driver/include/uapi/drm -I <kernel uapi>/drm -I qemu-device \
 *      -o alloc-sweep <this file>
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/udmabuf.h>

#include "drm.h"
#include "ossa_accel.h"
#include "ossa_regs.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
/* A struct drm_ossa_obj_array of @n elements at @elems (as in ossa-tool.h). */
#define OBJ_ARRAY(elems, n)						\
	((struct drm_ossa_obj_array){					\
		.array = (uintptr_t)(elems),				\
		.count = (n),						\
		.stride = sizeof(*(elems)),				\
	})
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define __noreturn	__attribute__((noreturn))
#define noinline	__attribute__((noinline))

#define MAX_ITERATIONS	10000
/* Iterations in a row that reach no armed point before a sweep ends. */
#define STOP_AFTER	3
#define NSEC_PER_SEC	1000000000LL
#define WAIT_NS		(10 * NSEC_PER_SEC)	/* usability and teardown waits */
#define BO_WAIT_NS	(5 * NSEC_PER_SEC)	/* the BO_WAIT under test */
#define STACK_RESERVE	(128 * 1024)	/* stack touched before mlockall() */
#define MSG_LEN		160

#define FAIL_NTH	"/proc/thread-self/fail-nth"

/* BO of bo-create, close, prime-export and prime-import */
#define BO_SIZE		(64 * 1024)
#define BO_FILL		0x600df111u
#define PRIME_SRC	0x71000000u	/* pattern of the exported BO */

/* submit: 3 jobs over 4 BOs of SUB_SIZE (the command BO: one page) */
#define SUB_JOBS	3
#define SUB_SIZE	(16 * 1024)
#define SUB_HALF	(SUB_SIZE / 2)
#define SUB_WORDS	(SUB_SIZE / 4)
#define SUB_HALF_WORDS	(SUB_HALF / 4)
#define SUB_FILL	0x0ff1ce5au	/* job 0 fills MID with it */
#define SUB_SRC		0x5a000000u	/* pattern of SRC */
#define SUB_MID_OLD	0x3c000000u	/* MID before the jobs */
#define SUB_DST_OLD	0xc3000000u	/* DST before the jobs */
#define SUB_CMD_STRIDE	64		/* each job's commands, in the command BO */
#define SUB_SYNCS	3		/* most syncobj entries of one job */
#define SUB_POINT	1		/* the timeline point job 2 signals */
#define STATUS_UNSET	1		/* a status the kernel never writes */

/* bo-wait: a job of WAIT_FILLS FILLs of a WAIT_SIZE BO */
#define WAIT_SIZE	(1024 * 1024)
#define WAIT_FILLS	16
#define WAIT_VALUE	0xa5000000u	/* FILL k writes WAIT_VALUE + k */

struct result {
	unsigned int n;
	bool injected;
	bool unusable;
	int ret;			/* 0, or -errno */
	int nstatus;			/* submit: entries of status */
	int32_t status[SUB_JOBS];
	int busy;			/* bo-wait: 1 or 0; -1 for other paths */
};

struct finding {
	unsigned int n;
	char what[MSG_LEN];
};

/* A sweep's state, passed to every helper (no global mutable state). */
struct sweep {
	const char *node;		/* the accel node */
	char node_buf[64];		/* the node, found again after a bind */
	char pci[32];			/* the device's PCI address */
	int bind_fd, unbind_fd;		/* the ossa PCI driver's bind, unbind */
	int fail_fd;			/* fail-nth, open throughout */
	uint32_t queue_hi;		/* queue 1 when the device has it, else 0 */
	const char *path;		/* the path being swept, for messages */
	unsigned int n;			/* its iteration, for messages; 0: setup */
	struct result *res;
	unsigned int nres, res_cap;
	struct finding *wrong;
	unsigned int nwrong, wrong_cap;
};

struct bo {
	uint32_t handle;
	uint64_t va;
	uint64_t size;
	uint32_t *map;			/* NULL when not mapped */
};

struct path {
	const char *name;
	void (*iterate)(struct sweep *s, struct result *r);
	bool rebinds;			/* unbinds the device: no file may be open */
};

/* Errno names, also of the kernel-internal values that must not leak out. */
static const char *errno_name(int err)
{
	static const struct {
		int err;
		const char *name;
	} internal[] = {
		{ 512, "ERESTARTSYS" },
		{ 513, "ERESTARTNOINTR" },
		{ 514, "ERESTARTNOHAND" },
		{ 515, "ENOIOCTLCMD" },
		{ 516, "ERESTART_RESTARTBLOCK" },
		{ 517, "EPROBE_DEFER" },
		{ 524, "ENOTSUPP" },
		{ 529, "EIOCBQUEUED" },
	};
	const char *name = strerrorname_np(err);
	size_t i;

	if (name)
		return name;
	for (i = 0; i < ARRAY_SIZE(internal); i++)
		if (internal[i].err == err)
			return internal[i].name;
	return "EUNKNOWN";
}

static __noreturn void die(const struct sweep *s, const char *step, int err)
{
	if (s->n)
		fprintf(stderr, "alloc-sweep: %s n=%u: %s: %s (%s)\n",
			s->path, s->n, step, errno_name(err), strerror(err));
	else
		fprintf(stderr, "alloc-sweep: %s: %s: %s (%s)\n",
			s->path, step, errno_name(err), strerror(err));
	exit(1);
}

static void *grow(const struct sweep *s, void *p, unsigned int *cap,
		  size_t size)
{
	unsigned int want = *cap ? *cap * 2 : 64;

	p = realloc(p, (size_t)want * size);
	if (!p)
		die(s, "realloc", ENOMEM);
	*cap = want;
	return p;
}

static __printf(3, 4) void
add_wrong(struct sweep *s, const struct result *r, const char *fmt, ...)
{
	struct finding *f;
	va_list ap;

	if (s->nwrong == s->wrong_cap)
		s->wrong = grow(s, s->wrong, &s->wrong_cap, sizeof(*s->wrong));
	f = &s->wrong[s->nwrong++];
	f->n = r->n;
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
	va_end(ap);
}

/* Writes a message for a failed check into @msg; returns false. */
static __printf(3, 4) bool
failf(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return false;
}

/* fail-nth */

static void fail_write(const struct sweep *s, unsigned int n, const char *step)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);
	ssize_t ret = pwrite(s->fail_fd, buf, len, 0);

	if (ret != len)
		die(s, step, ret < 0 ? errno : EIO);
}

/* Arms fail-nth: the n-th injection point this thread reaches fails. */
static void fail_arm(const struct sweep *s, unsigned int n)
{
	fail_write(s, n, "write " FAIL_NTH);
}

/*
 * Reads fail-nth back and disarms it. Returns whether the armed fault was
 * injected: the value read is 0 once the n-th point was reached.
 */
static bool fail_check(const struct sweep *s)
{
	char buf[16], *end;
	unsigned long left;
	ssize_t len;
	int err;

	len = pread(s->fail_fd, buf, sizeof(buf) - 1, 0);
	err = errno;
	fail_write(s, 0, "disarm " FAIL_NTH);
	if (len <= 0)
		die(s, "read " FAIL_NTH, len < 0 ? err : EIO);
	buf[len] = '\0';
	errno = 0;
	left = strtoul(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		die(s, "parse " FAIL_NTH, errno ? errno : EINVAL);
	return left == 0;
}

/* Little-endian encoders of the commands (docs/hardware.md, section 6) */

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t cmd_nop(uint8_t *p)
{
	put_le32(p, OSSA_CMD_NOP);
	put_le32(p + 4, 0);
	return OSSA_CMD_NOP_SIZE;
}

static uint32_t cmd_fill(uint8_t *p, uint32_t value, uint64_t dst,
			 uint64_t size)
{
	put_le32(p, OSSA_CMD_FILL);
	put_le32(p + 4, value);
	put_le64(p + 8, dst);
	put_le64(p + 16, size);
	return OSSA_CMD_FILL_SIZE;
}

static uint32_t cmd_copy(uint8_t *p, uint64_t src, uint64_t dst,
			 uint64_t size)
{
	put_le32(p, OSSA_CMD_COPY);
	put_le32(p + 4, 0);
	put_le64(p + 8, src);
	put_le64(p + 16, dst);
	put_le64(p + 24, size);
	return OSSA_CMD_COPY_SIZE;
}

/* Data patterns: word i of a BO. The device and the CPU are little-endian. */

static void pattern_fill(uint32_t *map, unsigned int words, uint32_t base)
{
	unsigned int i;

	for (i = 0; i < words; i++)
		map[i] = base + i;
}

static bool pattern_is(const uint32_t *map, unsigned int first,
		       unsigned int words, uint32_t base)
{
	unsigned int i;

	for (i = first; i < first + words; i++)
		if (map[i] != base + i)
			return false;
	return true;
}

static bool value_is(const uint32_t *map, unsigned int words, uint32_t value)
{
	unsigned int i;

	for (i = 0; i < words; i++)
		if (map[i] != value)
			return false;
	return true;
}

/* ioctl helpers: each returns 0 or an errno value */

static int bo_create(int fd, uint64_t size, struct bo *bo)
{
	struct drm_ossa_bo_create args = { .size = size };

	memset(bo, 0, sizeof(*bo));
	if (ioctl(fd, DRM_IOCTL_OSSA_BO_CREATE, &args))
		return errno;
	bo->handle = args.handle;
	bo->va = args.va;
	bo->size = args.size;
	return 0;
}

static int bo_map(int fd, struct bo *bo)
{
	struct drm_ossa_bo_mmap_offset args = { .handle = bo->handle };
	void *p;

	if (ioctl(fd, DRM_IOCTL_OSSA_BO_MMAP_OFFSET, &args))
		return errno;
	p = mmap(NULL, bo->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)args.offset);
	if (p == MAP_FAILED)
		return errno;
	bo->map = p;
	return 0;
}

static int gem_close(int fd, uint32_t handle)
{
	struct drm_gem_close args = { .handle = handle };

	return ioctl(fd, DRM_IOCTL_GEM_CLOSE, &args) ? errno : 0;
}

/* Unmaps and closes a BO. */
static int bo_destroy(int fd, struct bo *bo)
{
	int err = 0, ret;

	if (bo->map && munmap(bo->map, bo->size))
		err = errno;
	bo->map = NULL;
	ret = gem_close(fd, bo->handle);
	return err ? err : ret;
}

/*
 * The absolute timeout (CLOCK_MONOTONIC, ns) @relative_ns from now, as
 * BO_WAIT and SYNCOBJ_WAIT take it. The call under test takes it before
 * fail-nth is armed.
 */
static int64_t deadline_ns(int64_t relative_ns)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * NSEC_PER_SEC + now.tv_nsec + relative_ns;
}

/* BO_WAIT until @relative_ns from now. */
static int bo_wait(int fd, uint32_t handle, int64_t relative_ns,
		   uint32_t *job_status)
{
	struct drm_ossa_bo_wait args = {
		.handle = handle,
		.timeout_ns = deadline_ns(relative_ns),
	};

	*job_status = DRM_OSSA_JOB_STATUS_ERROR;
	if (ioctl(fd, DRM_IOCTL_OSSA_BO_WAIT, &args))
		return errno;
	*job_status = args.job_status;
	return 0;
}

static int syncobj_create(int fd, uint32_t flags, uint32_t *handle)
{
	struct drm_syncobj_create args = { .flags = flags };

	if (ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &args))
		return errno;
	*handle = args.handle;
	return 0;
}

static int syncobj_destroy(int fd, uint32_t handle)
{
	struct drm_syncobj_destroy args = { .handle = handle };

	return ioctl(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &args) ? errno : 0;
}

static int syncobj_signal(int fd, const uint32_t *handles, uint32_t count)
{
	struct drm_syncobj_array args = {
		.handles = (uintptr_t)handles,
		.count_handles = count,
	};

	return ioctl(fd, DRM_IOCTL_SYNCOBJ_SIGNAL, &args) ? errno : 0;
}

/*
 * The state of a syncobj, without waiting: 0 when its fence is signalled,
 * ETIME when it has an unsignalled fence, EINVAL when it has no fence.
 */
static int syncobj_poll(int fd, uint32_t handle)
{
	struct drm_syncobj_wait args = {
		.handles = (uintptr_t)&handle,
		.count_handles = 1,
	};

	return ioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, &args) ? errno : 0;
}

/* The same for point @point of a timeline syncobj: EINVAL when it has none. */
static int syncobj_poll_point(int fd, uint32_t handle, uint64_t point)
{
	struct drm_syncobj_timeline_wait args = {
		.handles = (uintptr_t)&handle,
		.points = (uintptr_t)&point,
		.count_handles = 1,
	};

	return ioctl(fd, DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &args) ? errno : 0;
}

/* Waits up to @timeout_ns for all of @handles to signal. */
static int syncobj_wait(int fd, const uint32_t *handles, uint32_t count,
			int64_t timeout_ns)
{
	struct drm_syncobj_wait args = {
		.handles = (uintptr_t)handles,
		.count_handles = count,
		.flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
		.timeout_nsec = deadline_ns(timeout_ns),
	};

	return ioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, &args) ? errno : 0;
}

/* A job's syncobj entry: @flags DRM_OSSA_SYNC_WAIT or _SIGNAL. */
static struct drm_ossa_sync sync_entry(uint32_t handle, uint32_t flags,
				       uint64_t point)
{
	return (struct drm_ossa_sync){
		.handle = handle, .flags = flags, .point = point,
	};
}

static void job_init(struct drm_ossa_job *job, uint64_t cmd_va,
		     uint32_t cmd_size, uint32_t queue,
		     const struct drm_ossa_bo_ref *refs, uint32_t nrefs,
		     const struct drm_ossa_sync *syncs, uint32_t nsyncs)
{
	memset(job, 0, sizeof(*job));
	job->cmd_va = cmd_va;
	job->cmd_size = cmd_size;
	job->queue = queue;
	job->bos = OBJ_ARRAY(refs, nrefs);
	job->syncs = OBJ_ARRAY(syncs, nsyncs);
	job->status = STATUS_UNSET;
}

static int submit(int fd, struct drm_ossa_job *jobs, uint32_t count)
{
	struct drm_ossa_submit args = { .jobs = OBJ_ARRAY(jobs, count) };

	return ioctl(fd, DRM_IOCTL_OSSA_SUBMIT, &args) ? errno : 0;
}

/* Setup steps: a failure is a setup error */

static int dev_open(const struct sweep *s, const char *step)
{
	int fd = open(s->node, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die(s, step, errno);
	return fd;
}

static void setup(const struct sweep *s, int err, const char *step)
{
	if (err)
		die(s, step, err);
}

/* Creates and maps a BO. */
static void bo_new(const struct sweep *s, int fd, uint64_t size, struct bo *bo)
{
	setup(s, bo_create(fd, size, bo), "DRM_IOCTL_OSSA_BO_CREATE");
	setup(s, bo_map(fd, bo), "mmap of a BO");
}

/* Teardown steps: the call under test may have broken them, a finding */

static void teardown_step(struct sweep *s, const struct result *r, int err,
			  const char *step)
{
	if (err)
		add_wrong(s, r, "teardown: %s: %s", step, errno_name(err));
}

static void file_close(struct sweep *s, const struct result *r, int fd)
{
	teardown_step(s, r, close(fd) ? errno : 0, "close of the file");
}

/*
 * Runs one job on queue 0 and waits up to 10 s for its out-syncobj, then
 * reads its status with BO_WAIT on @status_bo, a BO the job lists with
 * WRITE (BO_WAIT reports the last such job's status).
 */
static bool run_job(int fd, uint64_t cmd_va, uint32_t cmd_size,
		    const struct drm_ossa_bo_ref *refs, uint32_t nrefs,
		    uint32_t status_bo, char *msg, size_t len)
{
	struct drm_ossa_sync out;
	struct drm_ossa_job job;
	uint32_t sync, status;
	bool ok = false;
	int err;

	err = syncobj_create(fd, 0, &sync);
	if (err)
		return failf(msg, len, "SYNCOBJ_CREATE: %s", errno_name(err));
	out = sync_entry(sync, DRM_OSSA_SYNC_SIGNAL, 0);
	job_init(&job, cmd_va, cmd_size, 0, refs, nrefs, &out, 1);
	err = submit(fd, &job, 1);
	if (err) {
		failf(msg, len, "SUBMIT: %s (job status %d)", errno_name(err),
		      job.status);
		goto out;
	}
	err = syncobj_wait(fd, &sync, 1, WAIT_NS);
	if (err) {
		failf(msg, len, "SYNCOBJ_WAIT, 10 s: %s", errno_name(err));
		goto out;
	}
	err = bo_wait(fd, status_bo, WAIT_NS, &status);
	if (err) {
		failf(msg, len, "BO_WAIT: %s", errno_name(err));
		goto out;
	}
	if (status != DRM_OSSA_JOB_STATUS_SUCCESS) {
		failf(msg, len, "job status %u", status);
		goto out;
	}
	ok = true;
out:
	err = syncobj_destroy(fd, sync);
	if (err && ok)
		ok = failf(msg, len, "SYNCOBJ_DESTROY: %s", errno_name(err));
	return ok;
}

/*
 * A one-page command BO of this file, created and mapped; false (@msg says
 * why) when either step fails, and then nothing is left to destroy.
 */
static bool cmd_bo_new(int fd, struct bo *cmd, char *msg, size_t len)
{
	int err = bo_create(fd, OSSA_PAGE_SIZE, cmd);

	if (err)
		return failf(msg, len, "BO_CREATE: %s", errno_name(err));
	err = bo_map(fd, cmd);
	if (err) {
		failf(msg, len, "mmap: %s", errno_name(err));
		bo_destroy(fd, cmd);
		return false;
	}
	return true;
}

/* Whether the file still runs a NOP job (@msg says why not). */
static bool usable(int fd, char *msg, size_t len)
{
	struct drm_ossa_bo_ref ref;
	struct bo cmd;
	bool ok = false;
	int err;

	if (!cmd_bo_new(fd, &cmd, msg, len))
		return false;
	cmd_nop((uint8_t *)cmd.map);
	/* WRITE too, so that BO_WAIT reports the NOP job's status. */
	ref.handle = cmd.handle;
	ref.flags = DRM_OSSA_BO_REF_READ | DRM_OSSA_BO_REF_WRITE;
	ok = run_job(fd, cmd.va, OSSA_CMD_NOP_SIZE, &ref, 1, cmd.handle, msg,
		     len);
	err = bo_destroy(fd, &cmd);
	if (err && ok)
		ok = failf(msg, len, "GEM_CLOSE: %s", errno_name(err));
	return ok;
}

/*
 * Whether the file holds no GEM handle and no syncobj (@msg says which it
 * holds): both handle spaces hand out the lowest free handle from 1, so
 * the first of each created now must be 1. Every path has closed all it
 * made when this runs; a handle the kernel installed and left would show.
 */
static bool no_handles_left(int fd, char *msg, size_t len)
{
	struct bo bo;
	uint32_t sync = 0;
	bool ok = true;
	int err;

	err = syncobj_create(fd, 0, &sync);
	if (err)
		return failf(msg, len, "SYNCOBJ_CREATE: %s", errno_name(err));
	if (sync != 1)
		ok = failf(msg, len, "a new syncobj got handle %u, not 1: a syncobj was left behind",
			   sync);
	err = syncobj_destroy(fd, sync);
	if (err && ok)
		ok = failf(msg, len, "SYNCOBJ_DESTROY: %s", errno_name(err));
	err = bo_create(fd, OSSA_PAGE_SIZE, &bo);
	if (err)
		return failf(msg, len, "BO_CREATE: %s", errno_name(err));
	if (bo.handle != 1 && ok)
		ok = failf(msg, len, "a new BO got handle %u, not 1: a GEM handle was left behind",
			   bo.handle);
	err = gem_close(fd, bo.handle);
	if (err && ok)
		ok = failf(msg, len, "GEM_CLOSE: %s", errno_name(err));
	return ok;
}

static void check_usable(struct sweep *s, struct result *r, int fd)
{
	char msg[MSG_LEN];

	if (!no_handles_left(fd, msg, sizeof(msg)))
		add_wrong(s, r, "after the teardown: %s", msg);
	if (usable(fd, msg, sizeof(msg)))
		return;
	r->unusable = true;
	fprintf(stderr, "alloc-sweep: %s n=%u: NOP job failed: %s\n",
		s->path, r->n, msg);
}

/* The usability check on a fresh file (after open failed, or close). */
static void check_usable_fresh(struct sweep *s, struct result *r)
{
	int fd = open(s->node, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		r->unusable = true;
		fprintf(stderr, "alloc-sweep: %s n=%u: open for the NOP job: %s\n",
			s->path, r->n, errno_name(errno));
		return;
	}
	check_usable(s, r, fd);
	file_close(s, r, fd);
}

/*
 * FILLs the whole of a BO of this file with @value in a job and checks the
 * data through @view, or through a mapping of the BO in this file when
 * @view is NULL.
 */
static bool fill_check(int fd, uint32_t handle, uint64_t va, uint64_t size,
		       uint32_t value, const uint32_t *view, char *msg,
		       size_t len)
{
	struct drm_ossa_bo_ref refs[2];
	struct bo cmd, target = { .handle = handle, .size = size };
	bool ok = false;
	int err;

	if (!cmd_bo_new(fd, &cmd, msg, len))
		return false;
	refs[0].handle = cmd.handle;
	refs[0].flags = DRM_OSSA_BO_REF_READ;
	refs[1].handle = handle;
	refs[1].flags = DRM_OSSA_BO_REF_WRITE;
	if (!run_job(fd, cmd.va, cmd_fill((uint8_t *)cmd.map, value, va, size),
		     refs, 2, handle, msg, len))
		goto out;
	if (!view) {
		err = bo_map(fd, &target);
		if (err) {
			failf(msg, len, "mmap: %s", errno_name(err));
			goto out;
		}
		view = target.map;
	}
	ok = value_is(view, size / 4, value);
	if (!ok)
		failf(msg, len, "a FILL job's data is not in the BO");
	if (target.map && munmap(target.map, size) && ok)
		ok = failf(msg, len, "munmap: %s", errno_name(errno));
out:
	err = bo_destroy(fd, &cmd);
	if (err && ok)
		ok = failf(msg, len, "GEM_CLOSE: %s", errno_name(err));
	return ok;
}

static void set_ret(struct result *r, int ret, int err)
{
	r->ret = ret < 0 ? -err : 0;
}

/* open */

static void iterate_open(struct sweep *s, struct result *r)
{
	int fd, err;

	fail_arm(s, r->n);
	fd = open(s->node, O_RDWR | O_CLOEXEC);
	err = errno;
	r->injected = fail_check(s);
	set_ret(r, fd, err);

	if (fd < 0) {
		check_usable_fresh(s, r);
		return;
	}
	check_usable(s, r, fd);
	file_close(s, r, fd);
}

/* close */

static void iterate_close(struct sweep *s, struct result *r)
{
	uint32_t sync;
	struct bo bo;
	int fd, ret, err;

	fd = dev_open(s, "open");
	setup(s, bo_create(fd, BO_SIZE, &bo), "DRM_IOCTL_OSSA_BO_CREATE");
	setup(s, syncobj_create(fd, 0, &sync), "DRM_IOCTL_SYNCOBJ_CREATE");

	fail_arm(s, r->n);
	ret = close(fd);
	err = errno;
	r->injected = fail_check(s);
	set_ret(r, ret, err);

	/* The file is gone whatever close() returned. */
	check_usable_fresh(s, r);
}

/* bo-create */

static void iterate_bo_create(struct sweep *s, struct result *r)
{
	struct drm_ossa_bo_create args = { .size = BO_SIZE };
	struct drm_ossa_bo_info info;
	char msg[MSG_LEN];
	int fd, ret, err;

	fd = dev_open(s, "open");

	fail_arm(s, r->n);
	ret = ioctl(fd, DRM_IOCTL_OSSA_BO_CREATE, &args);
	err = errno;
	r->injected = fail_check(s);
	set_ret(r, ret, err);

	if (!ret) {
		if (args.size != BO_SIZE || !args.va)
			add_wrong(s, r, "BO_CREATE returned size %llu, va 0x%llx",
				  (unsigned long long)args.size,
				  (unsigned long long)args.va);
		memset(&info, 0, sizeof(info));
		info.handle = args.handle;
		if (ioctl(fd, DRM_IOCTL_OSSA_BO_INFO, &info))
			add_wrong(s, r, "BO_INFO of the new BO: %s",
				  errno_name(errno));
		else if (info.size != args.size || info.va != args.va ||
			 info.flags)
			add_wrong(s, r, "BO_INFO: size %llu, va 0x%llx, flags %u",
				  (unsigned long long)info.size,
				  (unsigned long long)info.va, info.flags);
		else if (!fill_check(fd, args.handle, args.va, args.size,
				     BO_FILL, NULL, msg, sizeof(msg)))
			add_wrong(s, r, "the new BO: %s", msg);
		teardown_step(s, r, gem_close(fd, args.handle), "GEM_CLOSE");
	}
	check_usable(s, r, fd);
	file_close(s, r, fd);
}

/* submit */

struct batch {
	struct bo cmd, src, mid, dst;
	uint32_t in[2];
	uint32_t out[SUB_JOBS];
	uint32_t timeline;		/* job 2 signals its point SUB_POINT */
	struct drm_ossa_bo_ref refs[SUB_JOBS + 1][3];	/* the last: MID's earlier writer */
	struct drm_ossa_sync syncs[SUB_JOBS][SUB_SYNCS];
	struct drm_ossa_job jobs[SUB_JOBS];
};

static void batch_setup(const struct sweep *s, int fd, struct batch *b)
{
	uint32_t status;
	uint8_t *cmd;
	unsigned int k;

	bo_new(s, fd, OSSA_PAGE_SIZE, &b->cmd);
	bo_new(s, fd, SUB_SIZE, &b->src);
	bo_new(s, fd, SUB_SIZE, &b->mid);
	bo_new(s, fd, SUB_SIZE, &b->dst);
	pattern_fill(b->src.map, SUB_WORDS, SUB_SRC);
	pattern_fill(b->mid.map, SUB_WORDS, SUB_MID_OLD);
	pattern_fill(b->dst.map, SUB_WORDS, SUB_DST_OLD);

	for (k = 0; k < 2; k++)
		setup(s, syncobj_create(fd, 0, &b->in[k]),
		      "DRM_IOCTL_SYNCOBJ_CREATE (in)");
	setup(s, syncobj_signal(fd, b->in, 2), "DRM_IOCTL_SYNCOBJ_SIGNAL");
	for (k = 0; k < 2; k++)
		setup(s, syncobj_poll(fd, b->in[k]),
		      "SYNCOBJ_WAIT on a signalled in-syncobj");
	for (k = 0; k < SUB_JOBS; k++)
		setup(s, syncobj_create(fd, 0, &b->out[k]),
		      "DRM_IOCTL_SYNCOBJ_CREATE (out)");
	setup(s, syncobj_create(fd, 0, &b->timeline),
	      "DRM_IOCTL_SYNCOBJ_CREATE (timeline)");

	cmd = (uint8_t *)b->cmd.map;
	for (k = 0; k < SUB_JOBS; k++) {
		b->refs[k][0].handle = b->cmd.handle;
		b->refs[k][0].flags = DRM_OSSA_BO_REF_READ;
	}

	/* The earlier writer of MID: a NOP (the command BO reads as zero). */
	b->refs[SUB_JOBS][0] = b->refs[0][0];
	b->refs[SUB_JOBS][1].handle = b->mid.handle;
	b->refs[SUB_JOBS][1].flags = DRM_OSSA_BO_REF_WRITE;
	job_init(&b->jobs[0], b->cmd.va + SUB_JOBS * SUB_CMD_STRIDE, 8,
		 0, b->refs[SUB_JOBS], 2, NULL, 0);
	setup(s, submit(fd, b->jobs, 1), "DRM_IOCTL_OSSA_SUBMIT of MID's earlier writer");
	setup(s, bo_wait(fd, b->mid.handle, WAIT_NS, &status),
	      "BO_WAIT for MID's earlier writer");
	if (status != DRM_OSSA_JOB_STATUS_SUCCESS)
		die(s, "MID's earlier writer did not succeed", EIO);

	/* Job 0, queue 0: FILL MID. In: S0. Out: its out-syncobj. */
	b->refs[0][1].handle = b->mid.handle;
	b->refs[0][1].flags = DRM_OSSA_BO_REF_WRITE;
	b->syncs[0][0] = sync_entry(b->in[0], DRM_OSSA_SYNC_WAIT, 0);
	b->syncs[0][1] = sync_entry(b->out[0], DRM_OSSA_SYNC_SIGNAL, 0);
	job_init(&b->jobs[0], b->cmd.va,
		 cmd_fill(cmd, SUB_FILL, b->mid.va, SUB_SIZE), 0,
		 b->refs[0], 2, b->syncs[0], 2);

	/*
	 * Job 1, the other queue: COPY SRC[lo] -> DST[lo]. In: S0, S1. Out:
	 * its out-syncobj.
	 */
	b->refs[1][1].handle = b->src.handle;
	b->refs[1][1].flags = DRM_OSSA_BO_REF_READ;
	b->refs[1][2].handle = b->dst.handle;
	b->refs[1][2].flags = DRM_OSSA_BO_REF_WRITE;
	b->syncs[1][0] = sync_entry(b->in[0], DRM_OSSA_SYNC_WAIT, 0);
	b->syncs[1][1] = sync_entry(b->in[1], DRM_OSSA_SYNC_WAIT, 0);
	b->syncs[1][2] = sync_entry(b->out[1], DRM_OSSA_SYNC_SIGNAL, 0);
	job_init(&b->jobs[1], b->cmd.va + SUB_CMD_STRIDE,
		 cmd_copy(cmd + SUB_CMD_STRIDE, b->src.va, b->dst.va, SUB_HALF),
		 s->queue_hi, b->refs[1], 3, b->syncs[1], 3);

	/*
	 * Job 2, queue 0: COPY MID[lo] -> DST[hi]; implicit sync runs it after
	 * job 0 (it reads MID) and job 1 (it writes DST). Out: its out-syncobj
	 * and point SUB_POINT of the timeline.
	 */
	b->refs[2][1].handle = b->mid.handle;
	b->refs[2][1].flags = DRM_OSSA_BO_REF_READ;
	b->refs[2][2].handle = b->dst.handle;
	b->refs[2][2].flags = DRM_OSSA_BO_REF_READ | DRM_OSSA_BO_REF_WRITE;
	b->syncs[2][0] = sync_entry(b->out[2], DRM_OSSA_SYNC_SIGNAL, 0);
	b->syncs[2][1] = sync_entry(b->timeline, DRM_OSSA_SYNC_SIGNAL,
				    SUB_POINT);
	job_init(&b->jobs[2], b->cmd.va + 2 * SUB_CMD_STRIDE,
		 cmd_copy(cmd + 2 * SUB_CMD_STRIDE, b->mid.va,
			  b->dst.va + SUB_HALF, SUB_HALF),
		 0, b->refs[2], 3, b->syncs[2], 2);
}

static const char *fence_state(int state)
{
	switch (state) {
	case 0:
		return "signalled";
	case ETIME:
		return "not signalled";
	case EINVAL:
		return "no fence";
	default:
		return errno_name(state);
	}
}

/* What a submission left behind: see the top comment. */
static void batch_verify(struct sweep *s, struct result *r, int fd,
			 const struct batch *b)
{
	const char *failed = r->ret ? errno_name(-r->ret) : NULL;
	bool ran[SUB_JOBS], old[SUB_JOBS], written = false, matched = false;
	const uint32_t *mid = b->mid.map, *dst = b->dst.map;
	uint32_t queued_out[SUB_JOBS], nqueued = 0, job_status;
	unsigned int k, i;
	int err;

	/* The jobs that SUBMIT queued (status 0): wait for their out-syncobjs. */
	for (k = 0; k < SUB_JOBS; k++)
		if (!b->jobs[k].status)
			queued_out[nqueued++] = b->out[k];
	if (nqueued) {
		err = syncobj_wait(fd, queued_out, nqueued, WAIT_NS);
		if (err)
			add_wrong(s, r, "SYNCOBJ_WAIT for the queued jobs, 10 s: %s",
				  errno_name(err));
	}
	/* Every job reads the command BO: this also waits for a stray one. */
	err = bo_wait(fd, b->cmd.handle, WAIT_NS, &job_status);
	if (err)
		add_wrong(s, r, "BO_WAIT for the batch, 10 s: %s",
			  errno_name(err));

	/* Job 0 filled MID. */
	ran[0] = value_is(mid, SUB_WORDS, SUB_FILL);
	old[0] = pattern_is(mid, 0, SUB_WORDS, SUB_MID_OLD);
	/* Job 1 copied SRC[lo] to DST[lo]. */
	ran[1] = pattern_is(dst, 0, SUB_HALF_WORDS, SUB_SRC);
	old[1] = pattern_is(dst, 0, SUB_HALF_WORDS, SUB_DST_OLD);
	/* Job 2 copied MID[lo], as job 0 (if it ran) left it, to DST[hi]. */
	ran[2] = true;
	for (i = 0; i < SUB_HALF_WORDS; i++)
		if (dst[SUB_HALF_WORDS + i] != mid[i])
			ran[2] = false;
	old[2] = pattern_is(dst, SUB_HALF_WORDS, SUB_HALF_WORDS, SUB_DST_OLD);

	for (k = 0; k < SUB_JOBS; k++) {
		int32_t status = b->jobs[k].status;
		int state = syncobj_poll(fd, b->out[k]);
		bool queued = status == 0;

		if (status != STATUS_UNSET)
			written = true;
		if (r->ret && status == r->ret)
			matched = true;

		if (!failed && status)
			add_wrong(s, r, "SUBMIT succeeded, job %u status %d",
				  k, status);
		if (queued && state)
			add_wrong(s, r, "job %u queued, out-syncobj: %s",
				  k, fence_state(state));
		if (!queued && state != EINVAL)
			add_wrong(s, r, "job %u not queued (status %d), out-syncobj: %s",
				  k, status, fence_state(state));

		if (ran[k] && failed && queued)
			add_wrong(s, r, "SUBMIT failed (%s), left job %u queued (status 0), it ran",
				  failed, k);
		else if (ran[k] && failed)
			add_wrong(s, r, "SUBMIT failed (%s), job %u (status %d) ran",
				  failed, k, status);
		else if (!ran[k] && old[k] && queued)
			add_wrong(s, r, "job %u has status 0 but did not run", k);
		else if (!ran[k] && !old[k])
			add_wrong(s, r, "job %u: destination has neither result nor old data",
				  k);
	}
	if (failed && written && !matched)
		add_wrong(s, r, "SUBMIT failed (%s) but no job status says so",
			  failed);

	/* The timeline point of job 2 exists only if job 2 was queued. */
	err = syncobj_poll_point(fd, b->timeline, SUB_POINT);
	if (!b->jobs[2].status && err)
		add_wrong(s, r, "job 2 queued, timeline point %u: %s",
			  SUB_POINT, fence_state(err));
	if (b->jobs[2].status && err != EINVAL)
		add_wrong(s, r, "job 2 not queued (status %d), timeline point %u: %s",
			  b->jobs[2].status, SUB_POINT, fence_state(err));
}

static void batch_teardown(struct sweep *s, const struct result *r, int fd,
			   struct batch *b)
{
	unsigned int k;

	for (k = 0; k < 2; k++)
		teardown_step(s, r, syncobj_destroy(fd, b->in[k]),
			      "SYNCOBJ_DESTROY");
	for (k = 0; k < SUB_JOBS; k++)
		teardown_step(s, r, syncobj_destroy(fd, b->out[k]),
			      "SYNCOBJ_DESTROY");
	teardown_step(s, r, syncobj_destroy(fd, b->timeline),
		      "SYNCOBJ_DESTROY");
	teardown_step(s, r, bo_destroy(fd, &b->cmd), "GEM_CLOSE");
	teardown_step(s, r, bo_destroy(fd, &b->src), "GEM_CLOSE");
	teardown_step(s, r, bo_destroy(fd, &b->mid), "GEM_CLOSE");
	teardown_step(s, r, bo_destroy(fd, &b->dst), "GEM_CLOSE");
}

static void iterate_submit(struct sweep *s, struct result *r)
{
	struct drm_ossa_submit args;
	struct batch b;
	int fd, ret, err;
	unsigned int k;

	fd = dev_open(s, "open");
	batch_setup(s, fd, &b);
	memset(&args, 0, sizeof(args));
	args.jobs = OBJ_ARRAY(b.jobs, SUB_JOBS);

	fail_arm(s, r->n);
	ret = ioctl(fd, DRM_IOCTL_OSSA_SUBMIT, &args);
	err = errno;
	r->injected = fail_check(s);
	set_ret(r, ret, err);

	r->nstatus = SUB_JOBS;
	for (k = 0; k < SUB_JOBS; k++)
		r->status[k] = b.jobs[k].status;
	batch_verify(s, r, fd, &b);
	batch_teardown(s, r, fd, &b);
	check_usable(s, r, fd);
	file_close(s, r, fd);
}

/* bo-wait */

static void iterate_bo_wait(struct sweep *s, struct result *r)
{
	struct drm_ossa_bo_wait args;
	struct drm_ossa_bo_ref refs[2];
	struct drm_ossa_sync out_entry;
	struct drm_ossa_job job;
	struct bo cmd, data;
	uint32_t out, size = 0, job_status;
	int fd, ret, err, state;
	unsigned int k;

	fd = dev_open(s, "open");
	bo_new(s, fd, OSSA_PAGE_SIZE, &cmd);
	bo_new(s, fd, WAIT_SIZE, &data);
	setup(s, syncobj_create(fd, 0, &out), "DRM_IOCTL_SYNCOBJ_CREATE");
	for (k = 0; k < WAIT_FILLS; k++)
		size += cmd_fill((uint8_t *)cmd.map + size, WAIT_VALUE + k,
				 data.va, WAIT_SIZE);
	refs[0].handle = cmd.handle;
	refs[0].flags = DRM_OSSA_BO_REF_READ;
	refs[1].handle = data.handle;
	refs[1].flags = DRM_OSSA_BO_REF_WRITE;
	out_entry = sync_entry(out, DRM_OSSA_SYNC_SIGNAL, 0);
	job_init(&job, cmd.va, size, 0, refs, 2, &out_entry, 1);
	setup(s, submit(fd, &job, 1), "DRM_IOCTL_OSSA_SUBMIT of the writer");
	state = syncobj_poll(fd, out);
	if (state && state != ETIME)
		die(s, "SYNCOBJ_WAIT on the writer's out-syncobj", state);
	r->busy = state == ETIME;
	memset(&args, 0, sizeof(args));
	args.handle = data.handle;
	args.timeout_ns = deadline_ns(BO_WAIT_NS);

	fail_arm(s, r->n);
	ret = ioctl(fd, DRM_IOCTL_OSSA_BO_WAIT, &args);
	err = errno;
	r->injected = fail_check(s);
	set_ret(r, ret, err);

	if (!ret) {
		state = syncobj_poll(fd, out);
		if (state)
			add_wrong(s, r, "BO_WAIT returned 0, the writer's out-syncobj: %s",
				  fence_state(state));
		if (args.job_status != DRM_OSSA_JOB_STATUS_SUCCESS)
			add_wrong(s, r, "BO_WAIT returned job_status %u",
				  args.job_status);
	}
	err = syncobj_wait(fd, &out, 1, WAIT_NS);
	if (err) {
		add_wrong(s, r, "the writer did not complete in 10 s: %s",
			  errno_name(err));
	} else {
		err = bo_wait(fd, data.handle, WAIT_NS, &job_status);
		if (err)
			add_wrong(s, r, "BO_WAIT after the writer completed: %s",
				  errno_name(err));
		else if (job_status != DRM_OSSA_JOB_STATUS_SUCCESS)
			add_wrong(s, r, "the writer's job_status is %u",
				  job_status);
		else if (!value_is(data.map, WAIT_SIZE / 4,
				   WAIT_VALUE + WAIT_FILLS - 1))
			add_wrong(s, r, "the writer's data is not in the BO");
	}
	teardown_step(s, r, syncobj_destroy(fd, out), "SYNCOBJ_DESTROY");
	teardown_step(s, r, bo_destroy(fd, &cmd), "GEM_CLOSE");
	teardown_step(s, r, bo_destroy(fd, &data), "GEM_CLOSE");
	check_usable(s, r, fd);
	file_close(s, r, fd);
}

/* prime-export */

static void prime_export_args(struct drm_prime_handle *args, uint32_t handle)
{
	memset(args, 0, sizeof(*args));
	args->handle = handle;
	args->flags = DRM_CLOEXEC | DRM_RDWR;
	args->fd = -1;
}

/* A dma-buf exported from @fd imports back into @fd as @handle. */
static void check_export(struct sweep *s, const struct result *r, int fd,
			 int dmabuf, uint32_t handle)
{
	struct drm_prime_handle back = { .fd = dmabuf };

	if (ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &back)) {
		add_wrong(s, r, "import of the exported dma-buf: %s",
			  errno_name(errno));
		return;
	}
	if (back.handle != handle) {
		add_wrong(s, r, "the exported dma-buf imports as handle %u, not %u",
			  back.handle, handle);
		teardown_step(s, r, gem_close(fd, back.handle), "GEM_CLOSE");
	}
}

static void iterate_prime_export(struct sweep *s, struct result *r)
{
	struct drm_prime_handle args;
	struct bo bo;
	int fd, ret, err;

	fd = dev_open(s, "open");
	setup(s, bo_create(fd, BO_SIZE, &bo), "DRM_IOCTL_OSSA_BO_CREATE");
	prime_export_args(&args, bo.handle);

	fail_arm(s, r->n);
	ret = ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &args);
	err = errno;
	r->injected = fail_check(s);
	set_ret(r, ret, err);

	if (ret) {
		/*
		 * The failure must not stop a later export. drm_ioctl() copies
		 * the struct back even on failure: fill it in again.
		 */
		prime_export_args(&args, bo.handle);
		if (ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &args)) {
			add_wrong(s, r, "export again after the failure: %s",
				  errno_name(errno));
			args.fd = -1;
		}
	}
	if (args.fd >= 0) {
		check_export(s, r, fd, args.fd, bo.handle);
		teardown_step(s, r, close(args.fd) ? errno : 0,
			      "close of the dma-buf");
	}
	teardown_step(s, r, bo_destroy(fd, &bo), "GEM_CLOSE");
	check_usable(s, r, fd);
	file_close(s, r, fd);
}

/* prime-import */

/* The BO imported into @fd is the exporter's: BO_INFO, then a FILL job. */
static void check_import(struct sweep *s, const struct result *r, int fd,
			 uint32_t handle, const struct bo *src)
{
	struct drm_ossa_bo_info info = { .handle = handle };
	char msg[MSG_LEN];

	if (ioctl(fd, DRM_IOCTL_OSSA_BO_INFO, &info)) {
		add_wrong(s, r, "BO_INFO of the imported BO: %s",
			  errno_name(errno));
		return;
	}
	if (info.size != src->size || !info.va) {
		add_wrong(s, r, "BO_INFO of the imported BO: size %llu, va 0x%llx",
			  (unsigned long long)info.size,
			  (unsigned long long)info.va);
		return;
	}
	if (!fill_check(fd, handle, info.va, info.size, BO_FILL, src->map,
			msg, sizeof(msg)))
		add_wrong(s, r, "the imported BO: %s", msg);
}

/*
 * The call under test: DRM_IOCTL_PRIME_FD_TO_HANDLE of @dmabuf into @fd,
 * then the checks of the imported BO against @src and its GEM_CLOSE.
 */
static void import_under_test(struct sweep *s, struct result *r, int fd,
			      int dmabuf, const struct bo *src)
{
	struct drm_prime_handle args = { .fd = dmabuf };
	bool imported;
	int ret, err;

	fail_arm(s, r->n);
	ret = ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &args);
	err = errno;
	r->injected = fail_check(s);
	set_ret(r, ret, err);

	imported = !ret;
	if (ret) {
		/* The failure must not stop a later import. */
		memset(&args, 0, sizeof(args));
		args.fd = dmabuf;
		imported = !ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &args);
		if (!imported)
			add_wrong(s, r, "import again after the failure: %s",
				  errno_name(errno));
	}
	if (imported) {
		check_import(s, r, fd, args.handle, src);
		teardown_step(s, r, gem_close(fd, args.handle), "GEM_CLOSE");
	}
}

static void iterate_prime_import(struct sweep *s, struct result *r)
{
	struct drm_prime_handle exp;
	struct bo src;
	int a, b;

	a = dev_open(s, "open of the importer");
	b = dev_open(s, "open of the exporter");
	bo_new(s, b, BO_SIZE, &src);
	pattern_fill(src.map, BO_SIZE / 4, PRIME_SRC);
	prime_export_args(&exp, src.handle);
	if (ioctl(b, DRM_IOCTL_PRIME_HANDLE_TO_FD, &exp))
		die(s, "DRM_IOCTL_PRIME_HANDLE_TO_FD in the exporter", errno);

	import_under_test(s, r, a, exp.fd, &src);

	teardown_step(s, r, close(exp.fd) ? errno : 0, "close of the dma-buf");
	teardown_step(s, r, bo_destroy(b, &src), "GEM_CLOSE in the exporter");
	file_close(s, r, b);
	check_usable(s, r, a);
	file_close(s, r, a);
}

/* prime-import-udmabuf */

#define UDMABUF		"/dev/udmabuf"

/*
 * A dma-buf of another exporter: udmabuf over a sealed memfd of BO_SIZE
 * bytes filled with PRIME_SRC's pattern, mapped at @view->map.
 */
static int udmabuf_new(const struct sweep *s, struct bo *view)
{
	struct udmabuf_create args = {
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.size = BO_SIZE,
	};
	int memfd, dev, buf;
	void *map;

	memfd = memfd_create("ossa-alloc-sweep", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (memfd < 0)
		die(s, "memfd_create", errno);
	if (ftruncate(memfd, BO_SIZE))
		die(s, "ftruncate of the memfd", errno);
	if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK))
		die(s, "F_SEAL_SHRINK on the memfd", errno);
	map = mmap(NULL, BO_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (map == MAP_FAILED)
		die(s, "mmap of the memfd", errno);
	memset(view, 0, sizeof(*view));
	view->size = BO_SIZE;
	view->map = map;
	pattern_fill(view->map, BO_SIZE / 4, PRIME_SRC);

	dev = open(UDMABUF, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die(s, "open " UDMABUF, errno);
	args.memfd = memfd;
	buf = ioctl(dev, UDMABUF_CREATE, &args);
	if (buf < 0)
		die(s, "UDMABUF_CREATE", errno);
	if (close(dev) || close(memfd))
		die(s, "close of " UDMABUF " or the memfd", errno);
	return buf;
}

static void iterate_prime_import_udmabuf(struct sweep *s, struct result *r)
{
	struct bo view;
	int fd, buf;

	fd = dev_open(s, "open of the importer");
	buf = udmabuf_new(s, &view);

	import_under_test(s, r, fd, buf, &view);

	teardown_step(s, r, close(buf) ? errno : 0, "close of the dma-buf");
	teardown_step(s, r, munmap(view.map, BO_SIZE) ? errno : 0,
		      "munmap of the memfd");
	check_usable(s, r, fd);
	file_close(s, r, fd);
}

/* syncobj-create */

static void iterate_syncobj_create(struct sweep *s, struct result *r)
{
	struct drm_syncobj_create args = {
		.flags = DRM_SYNCOBJ_CREATE_SIGNALED,
	};
	int fd, ret, err, state;

	fd = dev_open(s, "open");

	fail_arm(s, r->n);
	ret = ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &args);
	err = errno;
	r->injected = fail_check(s);
	set_ret(r, ret, err);

	if (!ret) {
		state = syncobj_poll(fd, args.handle);
		if (state)
			add_wrong(s, r, "created SIGNALED, the syncobj: %s",
				  fence_state(state));
		teardown_step(s, r, syncobj_destroy(fd, args.handle),
			      "SYNCOBJ_DESTROY");
	}
	check_usable(s, r, fd);
	file_close(s, r, fd);
}

/* probe */

#define PCI_DRIVER	"/sys/bus/pci/drivers/ossa"

/* The PCI address of NODE's device, from /sys/class/accel/<node>/device. */
static void find_pci(struct sweep *s)
{
	const char *name = strrchr(s->node, '/');
	char link[128], target[256];
	const char *addr;
	ssize_t len;

	snprintf(link, sizeof(link), "/sys/class/accel/%s/device",
		 name ? name + 1 : s->node);
	len = readlink(link, target, sizeof(target) - 1);
	if (len < 0)
		die(s, "readlink of the node's device", errno);
	target[len] = '\0';
	addr = strrchr(target, '/');
	addr = addr ? addr + 1 : target;
	if (strlen(addr) >= sizeof(s->pci))
		die(s, "the node's PCI address", ENAMETOOLONG);
	strcpy(s->pci, addr);
}

/* The accel node of the bound device: /sys/bus/pci/devices/ADDR/accel/accelN. */
static bool find_node(struct sweep *s)
{
	char dir[96];
	unsigned int minor;
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/accel", s->pci);
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (e = readdir(d)))
		found = sscanf(e->d_name, "accel%u", &minor) == 1;
	closedir(d);
	if (found)
		snprintf(s->node_buf, sizeof(s->node_buf), "/dev/accel/accel%u",
			 minor);
	s->node = s->node_buf;
	return found;
}

static bool pci_write(int fd, const char *pci)
{
	size_t len = strlen(pci);

	return pwrite(fd, pci, len, 0) == (ssize_t)len;
}

static void iterate_probe(struct sweep *s, struct result *r)
{
	ssize_t ret;
	int err;

	if (!pci_write(s->unbind_fd, s->pci))
		die(s, "write of the address to " PCI_DRIVER "/unbind", errno);

	fail_arm(s, r->n);
	ret = pwrite(s->bind_fd, s->pci, strlen(s->pci), 0);
	err = errno;
	r->injected = fail_check(s);
	set_ret(r, ret < 0 ? -1 : 0, err);

	/* Without a device every later test would fail: stop here. */
	if (ret < 0 && !pci_write(s->bind_fd, s->pci))
		die(s, "bind after the failed probe", errno);
	if (!find_node(s))
		die(s, "the accel node of the bound device", ENOENT);
	check_usable_fresh(s, r);
}

static const struct path paths[] = {
	{ "open", iterate_open, false },
	{ "close", iterate_close, false },
	{ "bo-create", iterate_bo_create, false },
	{ "submit", iterate_submit, false },
	{ "bo-wait", iterate_bo_wait, false },
	{ "prime-export", iterate_prime_export, false },
	{ "prime-import", iterate_prime_import, false },
	{ "prime-import-udmabuf", iterate_prime_import_udmabuf, false },
	{ "syncobj-create", iterate_syncobj_create, false },
	{ "probe", iterate_probe, true },
};

#define NUM_PATHS ARRAY_SIZE(paths)

/* Output */

static void json_string(const char *str)
{
	putchar('"');
	for (; *str; str++) {
		unsigned char c = *str;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_sweep(const struct sweep *s, unsigned int points,
			bool capped)
{
	unsigned int i;
	int k;

	printf("{\"path\":\"%s\",\"points\":%u,\"capped\":%s,\"results\":[",
	       s->path, points, capped ? "true" : "false");
	for (i = 0; i < s->nres; i++) {
		const struct result *r = &s->res[i];

		printf("%s{\"n\":%u,\"injected\":%s,\"ret\":%d,\"errno\":",
		       i ? "," : "", r->n, r->injected ? "true" : "false",
		       r->ret);
		if (r->ret)
			json_string(errno_name(-r->ret));
		else
			printf("null");
		if (r->nstatus) {
			printf(",\"status\":[");
			for (k = 0; k < r->nstatus; k++)
				printf("%s%d", k ? "," : "", r->status[k]);
			printf("]");
		}
		if (r->busy >= 0)
			printf(",\"busy\":%s", r->busy ? "true" : "false");
		printf("}");
	}
	printf("],\"unusable\":[");
	for (i = 0, k = 0; i < s->nres; i++)
		if (s->res[i].unusable)
			printf("%s%u", k++ ? "," : "", s->res[i].n);
	printf("],\"wrong\":[");
	for (i = 0; i < s->nwrong; i++) {
		printf("%s{\"n\":%u,\"what\":", i ? "," : "", s->wrong[i].n);
		json_string(s->wrong[i].what);
		printf("}");
	}
	printf("]}\n");
	if (fflush(stdout) || ferror(stdout))
		die(s, "write of the results", errno ? errno : EIO);
}

static void run_sweep(struct sweep *s, const struct path *p)
{
	unsigned int n, points = 0, misses = 0;
	bool capped = true, retried = false;
	struct result *r;

	s->path = p->name;
	s->nres = 0;
	s->nwrong = 0;
	for (n = 1; n <= MAX_ITERATIONS; n++) {
		if (s->nres == s->res_cap)
			s->res = grow(s, s->res, &s->res_cap, sizeof(*s->res));
		r = &s->res[s->nres++];
		memset(r, 0, sizeof(*r));
		r->n = n;
		r->busy = -1;
		s->n = n;

		p->iterate(s, r);

		if (r->injected) {
			points = n;
			misses = 0;
			/*
			 * A failure the call absorbed may have hit a point that
			 * comes only sometimes (a slab refill, KASAN's stack
			 * depot) instead of the one n names in other runs:
			 * n is tried once more, so that no driver allocation
			 * is missed because of it.
			 */
			if (!r->ret && !retried) {
				retried = true;
				n--;
			} else {
				retried = false;
			}
			continue;
		}
		/* The call finished before reaching point n. */
		if (r->ret)
			add_wrong(s, r, "failed with %s although no fault was injected",
				  errno_name(-r->ret));
		/* A retry that reached fewer points is not a miss of a new n. */
		if (retried) {
			retried = false;
			continue;
		}
		if (++misses == STOP_AFTER) {
			capped = false;
			break;
		}
	}
	if (capped)
		points = MAX_ITERATIONS;
	s->n = 0;
	if (capped)
		fprintf(stderr, "alloc-sweep: %s: still injecting at n = %u\n",
			s->path, MAX_ITERATIONS);
	print_sweep(s, points, capped);
}

/* Touches the stack that the sweeps will use, for mlockall() to lock. */
static noinline void touch_stack(void)
{
	char buf[STACK_RESERVE];

	memset(buf, 0, sizeof(buf));
	__asm__ __volatile__("" : : "r" (buf) : "memory");
}

static const struct path *find_path(const char *name)
{
	size_t i;

	for (i = 0; i < NUM_PATHS; i++)
		if (!strcmp(paths[i].name, name))
			return &paths[i];
	return NULL;
}

static int print_usage(void)
{
	size_t i;

	fprintf(stderr, "usage: alloc-sweep NODE PATH...\n  PATH: all");
	for (i = 0; i < NUM_PATHS; i++)
		fprintf(stderr, ", %s", paths[i].name);
	fprintf(stderr, "\n");
	return 2;
}

/*
 * Two files of the device stay open during the ioctl paths (see Method);
 * a path that unbinds the device runs with none open.
 */
static void keep_files(struct sweep *s, int keep[2], bool open_them)
{
	struct drm_ossa_get_param param = {
		.param = DRM_OSSA_PARAM_NUM_QUEUES,
	};

	if (!open_them) {
		if (keep[0] >= 0 && (close(keep[0]) || close(keep[1])))
			die(s, "close of a kept file", errno);
		keep[0] = keep[1] = -1;
		return;
	}
	if (keep[0] >= 0)
		return;
	keep[0] = dev_open(s, "open of the first kept file");
	keep[1] = dev_open(s, "open of the second kept file");
	if (ioctl(keep[0], DRM_IOCTL_OSSA_GET_PARAM, &param))
		die(s, "DRM_IOCTL_OSSA_GET_PARAM NUM_QUEUES", errno);
	s->queue_hi = param.value > 1 ? 1 : 0;
}

/* The PCI driver's bind and unbind files, opened outside any armed window. */
static void open_binding(struct sweep *s)
{
	if (s->bind_fd >= 0)
		return;
	find_pci(s);
	s->bind_fd = open(PCI_DRIVER "/bind", O_WRONLY | O_CLOEXEC);
	if (s->bind_fd < 0)
		die(s, "open " PCI_DRIVER "/bind", errno);
	s->unbind_fd = open(PCI_DRIVER "/unbind", O_WRONLY | O_CLOEXEC);
	if (s->unbind_fd < 0)
		die(s, "open " PCI_DRIVER "/unbind", errno);
}

static void run_path(struct sweep *s, int keep[2], const struct path *p)
{
	s->path = "setup";
	keep_files(s, keep, !p->rebinds);
	if (p->rebinds)
		open_binding(s);
	run_sweep(s, p);
}

int main(int argc, char **argv)
{
	struct sweep s = {
		.path = "setup", .fail_fd = -1, .bind_fd = -1, .unbind_fd = -1,
	};
	int keep[2] = { -1, -1 }, i;
	size_t j;

	if (argc < 3)
		return print_usage();
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "all") && !find_path(argv[i])) {
			fprintf(stderr, "alloc-sweep: unknown path '%s'\n",
				argv[i]);
			return print_usage();
		}
	}
	s.node = argv[1];

	/* No page fault of this process may fall in an armed window. */
	touch_stack();
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		die(&s, "mlockall", errno);

	s.fail_fd = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	if (s.fail_fd < 0)
		die(&s, "open " FAIL_NTH, errno);
	fail_write(&s, 0, "write 0 to " FAIL_NTH);

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "all")) {
			run_path(&s, keep, find_path(argv[i]));
			continue;
		}
		/* Not the probe: see its description above. */
		for (j = 0; j < NUM_PATHS; j++)
			if (!paths[j].rebinds)
				run_path(&s, keep, &paths[j]);
	}

	s.path = "setup";
	keep_files(&s, keep, false);
	if (close(s.fail_fd))
		die(&s, "close " FAIL_NTH, errno);
	if (s.bind_fd >= 0 && (close(s.bind_fd) || close(s.unbind_fd)))
		die(&s, "close of bind or unbind", errno);
	free(s.res);
	free(s.wrong);
	return 0;
}
