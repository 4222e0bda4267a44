// SPDX-License-Identifier: MIT
/*
 * submit-unwritable: a SUBMIT whose job array the kernel can read but not
 * write. The job is good; the kernel checks it and then fails to write its
 * status back, because the array lies in a read-only mapping. The call
 * must fail with EFAULT and queue nothing (docs/uapi.md, SUBMIT): the job,
 * which would fill a word of a BO, never runs.
 *
 * Usage: submit-unwritable /dev/accel/accelN
 * Output: "result E status S word W": E the errno name SUBMIT failed with
 * (or "ok"), S the job's status word afterwards (the kernel cannot have
 * changed it), W the BO's word the job would fill, read after a BO_WAIT:
 * 0 if the job never ran.
 *
 * Build: cc -O2 -static -Wall -Wextra -Werror -D__user=
 *   -I kernel-driver/include/uapi/drm -I <kernel uapi>/drm -I qemu-device
 *   -o submit-unwritable submit-unwritable.c
 */
#include <fcntl.h>
#include <unistd.h>

#include "ossa-tool.h"

/* What the status word holds before the call: not 0, nor an errno. */
#define STATUS_BEFORE	0x5eed
#define FILL_VALUE	0x5a5a5a5a
#define WORD_OFFSET	64
#define WAIT_NS		(5 * 1000000000ll)

int main(int argc, char **argv)
{
	struct drm_ossa_bo_create bo;
	struct drm_ossa_bo_ref ref;
	struct drm_ossa_submit args = { 0 };
	struct drm_ossa_job *job;
	uint8_t *map;
	int fd, ret, err;
	long page = sysconf(_SC_PAGESIZE);

	tool_name = "submit-unwritable";
	if (argc != 2) {
		fprintf(stderr, "usage: %s /dev/accel/accelN\n", tool_name);
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail(argv[1], errno);

	bo = bo_new(fd, 4096);
	map = bo_map(fd, bo.handle, bo.size);
	put32(map, OSSA_CMD_FILL);
	put32(map + 4, FILL_VALUE);
	put64(map + 8, bo.va + WORD_OFFSET);
	put64(map + 16, 4);
	ref = (struct drm_ossa_bo_ref){
		.handle = bo.handle,
		.flags = DRM_OSSA_BO_REF_READ | DRM_OSSA_BO_REF_WRITE,
	};

	job = mmap(NULL, page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (job == MAP_FAILED)
		fail("mmap of the job array", errno);
	*job = (struct drm_ossa_job){
		.cmd_va = bo.va,
		.cmd_size = OSSA_CMD_FILL_SIZE,
		.bos = OBJ_ARRAY(&ref, 1),
		.status = STATUS_BEFORE,
	};
	if (mprotect(job, page, PROT_READ))
		fail("mprotect of the job array", errno);
	args.jobs = OBJ_ARRAY(job, 1);

	do
		ret = ioctl(fd, DRM_IOCTL_OSSA_SUBMIT, &args);
	while (ret && errno == EINTR);
	err = ret ? errno : 0;

	/* A job that was queued holds a fence on the BO until it is done. */
	bo_wait(fd, bo.handle, WAIT_NS, "DRM_IOCTL_OSSA_BO_WAIT");
	printf("result %s status %d word %u\n",
	       !err ? "ok" : err == EFAULT ? "EFAULT" : strerror(err),
	       job->status, *(uint32_t *)(map + WORD_OFFSET));
	return close(fd) ? 1 : 0;
}
