// SPDX-License-Identifier: MIT
/*
 * ioctl-bad-pointer: an ioctl whose argument pointer the kernel cannot
 * read or write, which the library's binding refuses to pass (it checks a
 * buffer against the size the request encodes). The DRM core copies the
 * argument in before the driver sees it, and must fail with EFAULT.
 *
 * Usage: ioctl-bad-pointer /dev/accel/accelN REQUEST [POINTER]
 *   REQUEST and POINTER in hex; POINTER defaults to 0 (NULL).
 * Output: "result E": the errno name the ioctl failed with, or "ok".
 *
 * Build: cc -O2 -static -Wall -Wextra -Werror -o ioctl-bad-pointer ioctl-bad-pointer.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long request;
	uintptr_t pointer = 0;
	int fd, ret;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: ioctl-bad-pointer NODE REQUEST [POINTER]\n");
		return 2;
	}
	request = strtoul(argv[2], NULL, 16);
	if (argc == 4)
		pointer = (uintptr_t)strtoull(argv[3], NULL, 16);
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "ioctl-bad-pointer: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	ret = ioctl(fd, request, (void *)pointer);
	printf("result %s\n", ret < 0 ? strerrorname_np(errno) : "ok");
	close(fd);
	return 0;
}
