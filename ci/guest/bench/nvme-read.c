// SPDX-License-Identifier: MIT
/*
 * nvme-read: the NVMe peer of the ossa benchmarks. Reads a block device
 * with O_DIRECT, one request at a time, and prints JSON:
 *
 *   nvme-read DEVICE REQUEST_BYTES TOTAL_BYTES
 *
 * {"request": N, "bytes": N, "seconds": S, "latencies_ns": [...]} with one
 * latency per request (at most 4096 are kept).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 4096

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static uint64_t samples[MAX_SAMPLES];
	uint64_t request, total, done = 0, start, n = 0;
	off_t dev_size, offset = 0;
	void *buf;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: nvme-read DEVICE REQUEST_BYTES TOTAL_BYTES\n");
		return 2;
	}
	request = strtoull(argv[2], NULL, 0);
	total = strtoull(argv[3], NULL, 0);
	if (!request || request % 4096 || total < request) {
		fprintf(stderr, "nvme-read: REQUEST_BYTES must be a positive multiple of 4096, at most TOTAL_BYTES\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "nvme-read: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	dev_size = lseek(fd, 0, SEEK_END);
	if (dev_size < (off_t)request) {
		fprintf(stderr, "nvme-read: %s is smaller than one request\n", argv[1]);
		return 1;
	}
	if (posix_memalign(&buf, 4096, request)) {
		fprintf(stderr, "nvme-read: out of memory\n");
		return 1;
	}

	start = now_ns();
	while (done < total) {
		uint64_t t0 = now_ns();
		ssize_t r;

		if (offset + (off_t)request > dev_size)
			offset = 0;
		r = pread(fd, buf, request, offset);
		if (r != (ssize_t)request) {
			fprintf(stderr, "nvme-read: pread at %lld: %s\n", (long long)offset,
				r < 0 ? strerror(errno) : "short read");
			return 1;
		}
		if (n < MAX_SAMPLES)
			samples[n] = now_ns() - t0;
		n++;
		offset += request;
		done += request;
	}

	printf("{\"request\": %llu, \"bytes\": %llu, \"seconds\": %.9f, \"latencies_ns\": [",
	       (unsigned long long)request, (unsigned long long)done,
	       (now_ns() - start) / 1e9);
	for (uint64_t i = 0; i < n && i < MAX_SAMPLES; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)samples[i]);
	printf("]}\n");
	free(buf);
	close(fd);
	return 0;
}
