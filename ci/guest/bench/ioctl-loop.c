// SPDX-License-Identifier: MIT
/*
 * ioctl-loop: the floor for the TypeScript library's cost per ioctl. Runs
 * DRM_IOCTL_VERSION (lengths only) and DRM_IOCTL_OSSA_GET_PARAM in a loop
 * on an accel node and prints JSON: nanoseconds per call of each.
 *
 *   ioctl-loop NODE ITERATIONS
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "clock.h"
#include "ossa_accel.h"

int main(int argc, char **argv)
{
	struct drm_ossa_get_param param;
	struct drm_version version;
	uint64_t n, i, t0, t_version, t_param;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: ioctl-loop NODE ITERATIONS\n");
		return 2;
	}
	n = strtoull(argv[2], NULL, 0);
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0 || !n) {
		fprintf(stderr, "ioctl-loop: %s: %s\n", argv[1], n ? strerror(errno) : "ITERATIONS must be positive");
		return 1;
	}

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		memset(&version, 0, sizeof(version));
		if (ioctl(fd, DRM_IOCTL_VERSION, &version)) {
			perror("ioctl-loop: DRM_IOCTL_VERSION");
			return 1;
		}
	}
	t_version = now_ns() - t0;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		memset(&param, 0, sizeof(param));
		param.param = DRM_OSSA_PARAM_NUM_QUEUES;
		if (ioctl(fd, DRM_IOCTL_OSSA_GET_PARAM, &param)) {
			perror("ioctl-loop: DRM_IOCTL_OSSA_GET_PARAM");
			return 1;
		}
	}
	t_param = now_ns() - t0;

	printf("{\"iterations\": %llu, \"version_ns\": %.1f, \"get_param_ns\": %.1f}\n",
	       (unsigned long long)n, (double)t_version / n, (double)t_param / n);
	close(fd);
	return 0;
}
