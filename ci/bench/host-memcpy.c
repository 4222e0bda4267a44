// SPDX-License-Identifier: MIT
/*
 * host-memcpy: the physical limit for an emulated DMA engine, which copies
 * with the host's CPU: memcpy throughput at each size given, as JSON.
 *
 *   host-memcpy SIZE...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	size_t max = 0;
	char *src, *dst;
	int i;

	for (i = 1; i < argc; i++) {
		size_t s = strtoull(argv[i], NULL, 0);

		if (s > max)
			max = s;
	}
	src = malloc(max);
	dst = malloc(max);
	if (!src || !dst || argc < 2) {
		fprintf(stderr, "usage: host-memcpy SIZE...\n");
		return 2;
	}
	memset(src, 1, max);
	memset(dst, 2, max);
	printf("[");
	for (i = 1; i < argc; i++) {
		size_t size = strtoull(argv[i], NULL, 0);
		double rate[5], t_rate;
		int round, a, b;

		/* The median of 5 rounds of at least 20 ms each. */
		for (round = 0; round < 5; round++) {
			uint64_t t0 = now_ns(), n = 0, t;

			do {
				memcpy(dst, src, size);
				__asm__ volatile("" : : "r"(dst) : "memory");
				n++;
				t = now_ns() - t0;
			} while (t < 20000000);
			rate[round] = (double)size * n / t;
		}
		for (a = 0; a < 5; a++)
			for (b = a + 1; b < 5; b++)
				if (rate[b] < rate[a]) {
					t_rate = rate[a];
					rate[a] = rate[b];
					rate[b] = t_rate;
				}
		printf("%s{\"size\": %zu, \"GBps\": %.3f}", i > 1 ? ", " : "", size, rate[2]);
	}
	printf("]\n");
	return 0;
}
