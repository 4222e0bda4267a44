// SPDX-License-Identifier: MIT
/*
 * foreign-dmabuf: a dma-buf of another exporter, used by a job of the
 * device in both directions (docs/uapi.md, PRIME_FD_TO_HANDLE).
 *
 *   foreign-dmabuf NODE SIZE_MIB
 *
 * Makes a dma-buf with udmabuf (CONFIG_UDMABUF) over a sealed memfd of
 * SIZE_MIB MiB and imports it into NODE with PRIME_FD_TO_HANDLE. After the
 * import the CPU writes a pattern through the memfd; one job then COPYs the
 * imported buffer into a BO of the file and FILLs the imported buffer with
 * FILL_VALUE. Once the job is done the tool counts the 32-bit words the
 * device read wrong (the BO against the pattern) and the words the CPU
 * does not see filled (the memfd against FILL_VALUE).
 *
 * Output, one line:
 *   "import ok highest 0xADDR read-errors R write-errors W status S"
 *   "import ERRNO highest 0xADDR" when the import was refused with ERRNO
 * ADDR is the highest physical address of the memfd's pages
 * (/proc/self/pagemap: only root sees them), S the job's status.
 *
 * Exit status: 0 when every call succeeded but a refused import, 1 when
 * one failed otherwise (stderr says which), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/udmabuf.h>

#include "ossa-tool.h"

#define UDMABUF		"/dev/udmabuf"
#define FILL_VALUE	0x5a5aa5a5u
#define WAIT_NS		(120LL * 1000 * 1000 * 1000)
#define PFN_MASK	((1ull << 55) - 1)
#define PAGE_PRESENT	(1ull << 63)

/* The CPU's pattern: no word is 0 (the memfd's first contents) or FILL_VALUE. */
static uint32_t pattern(uint64_t word)
{
	return (uint32_t)(word * 2654435761u) | 1u;
}

/* The highest physical address of the @size bytes mapped at @p. */
static uint64_t highest_phys(const void *p, uint64_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t highest = 0, off;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail("open /proc/self/pagemap", errno);
	for (off = 0; off < size; off += page) {
		uint64_t entry, at = (uintptr_t)((const uint8_t *)p + off) / page * 8;

		if (pread(fd, &entry, sizeof(entry), at) != sizeof(entry))
			fail("read of /proc/self/pagemap", errno ? errno : EIO);
		if (!(entry & PAGE_PRESENT))
			fail("a page of the memfd is not present", EFAULT);
		if (!(entry & PFN_MASK))
			fail("/proc/self/pagemap shows no page frames (not root?)",
			     EPERM);
		if ((entry & PFN_MASK) * page + page - 1 > highest)
			highest = (entry & PFN_MASK) * page + page - 1;
	}
	close(fd);
	return highest;
}

/* A udmabuf over a sealed memfd of @size bytes; its mapping at *@map. */
static int udmabuf_new(uint64_t size, uint32_t **map)
{
	struct udmabuf_create args = {
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.size = size,
	};
	int memfd, dev, buf;

	memfd = memfd_create("ossa-foreign-dmabuf",
			     MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (memfd < 0)
		fail("memfd_create", errno);
	if (ftruncate(memfd, size))
		fail("ftruncate of the memfd", errno);
	if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK))
		fail("F_SEAL_SHRINK on the memfd", errno);
	*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (*map == MAP_FAILED)
		fail("mmap of the memfd", errno);
	/* Every page present before udmabuf pins them. */
	memset(*map, 0, size);

	dev = open(UDMABUF, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		fail("open " UDMABUF, errno);
	args.memfd = memfd;
	buf = ioctl(dev, UDMABUF_CREATE, &args);
	if (buf < 0)
		fail("UDMABUF_CREATE", errno);
	if (close(dev) || close(memfd))
		fail("close of " UDMABUF " or the memfd", errno);
	return buf;
}

/* COPY of the imported buffer into @copy, then FILL of the imported buffer. */
static uint32_t run_job(int fd, uint32_t imported, uint64_t imported_va,
			struct drm_ossa_bo_create copy, uint64_t size)
{
	struct drm_ossa_bo_create cmd = bo_new(fd, 4096);
	struct drm_ossa_bo_ref refs[3] = {
		{ .handle = cmd.handle, .flags = DRM_OSSA_BO_REF_READ },
		{ .handle = imported,
		  .flags = DRM_OSSA_BO_REF_READ | DRM_OSSA_BO_REF_WRITE },
		{ .handle = copy.handle, .flags = DRM_OSSA_BO_REF_WRITE },
	};
	struct drm_ossa_job job = {
		.cmd_va = cmd.va,
		.cmd_size = OSSA_CMD_COPY_SIZE + OSSA_CMD_FILL_SIZE,
		.bos = OBJ_ARRAY(refs, 3),
	};
	uint8_t *p = bo_map(fd, cmd.handle, 4096);
	uint8_t *fill = p + OSSA_CMD_COPY_SIZE;
	int err;

	put32(p, OSSA_CMD_COPY);
	put32(p + 4, 0);
	put64(p + 8, imported_va);
	put64(p + 16, copy.va);
	put64(p + 24, size);
	put32(fill, OSSA_CMD_FILL);
	put32(fill + 4, FILL_VALUE);
	put64(fill + 8, imported_va);
	put64(fill + 16, size);
	munmap(p, 4096);

	err = submit_job(fd, &job);
	if (err)
		fail("DRM_IOCTL_OSSA_SUBMIT", err);
	return bo_wait(fd, copy.handle, WAIT_NS, "DRM_IOCTL_OSSA_BO_WAIT");
}

int main(int argc, char **argv)
{
	struct drm_prime_handle prime = { .flags = DRM_CLOEXEC };
	struct drm_ossa_bo_info info = { 0 };
	struct drm_ossa_bo_create copy;
	uint64_t size, highest, words, k, read_errors = 0, write_errors = 0;
	uint32_t *map, *copied, status;
	char *end;
	int fd;

	tool_name = "foreign-dmabuf";
	size = argc == 3 ? strtoull(argv[2], &end, 0) : 0;
	if (argc != 3 || *end || !size || size > 256) {
		fprintf(stderr, "usage: foreign-dmabuf NODE SIZE_MIB (1 to 256)\n");
		return 2;
	}
	size <<= 20;
	words = size / 4;

	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail(argv[1], errno);
	prime.fd = udmabuf_new(size, &map);
	highest = highest_phys(map, size);
	if (ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &prime)) {
		printf("import %s highest 0x%llx\n", strerrorname_np(errno),
		       (unsigned long long)highest);
		return 0;
	}
	info.handle = prime.handle;
	call(fd, DRM_IOCTL_OSSA_BO_INFO, &info, "DRM_IOCTL_OSSA_BO_INFO");

	for (k = 0; k < words; k++)
		map[k] = pattern(k);
	copy = bo_new(fd, size);
	status = run_job(fd, prime.handle, info.va, copy, size);

	copied = bo_map(fd, copy.handle, size);
	for (k = 0; k < words; k++) {
		read_errors += copied[k] != pattern(k);
		write_errors += map[k] != FILL_VALUE;
	}
	printf("import ok highest 0x%llx read-errors %llu write-errors %llu status %u\n",
	       (unsigned long long)highest, (unsigned long long)read_errors,
	       (unsigned long long)write_errors, status);
	if (munmap(copied, size) || munmap(map, size) || close(prime.fd) ||
	    close(fd))
		fail("munmap or close", errno);
	return 0;
}
