// SPDX-License-Identifier: MIT
/*
 * as-churn: changes the guest's physical address space many times a
 * second while both CPUs run, to check the QEMU below the guest survives it.
 *
 *   as-churn CONFIG SECONDS
 *
 * CONFIG is a PCI function's config space in sysfs, with no driver bound;
 * for SECONDS the tool turns its Memory Space Enable (COMMAND bit 1) off
 * and on again, so that QEMU unmaps and maps its BARs each time: a new
 * memory map, which every vCPU must take up, and a flushed TLB, which a
 * child process pinned to the other CPU keeps its vCPU filling again by
 * touching memory page by page. Under multi-threaded TCG, QEMU 10.0.2 let
 * a vCPU translate through a map already freed and died with SIGSEGV
 * (qemu-device/qemu-fixes/physmem-cpu-map-reference.patch). One process
 * changes the map, not one per CPU: each config space write holds the
 * guest's PCI config lock with interrupts off while QEMU remaps, and with
 * a writer on each CPU the other spun on that lock long enough for RCU
 * stall reports.
 *
 * Prints "toggles N ms T". Exits 1 with a message when something fails;
 * the command register is restored first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ossa-tool.h"

#define PCI_COMMAND 4
#define PCI_COMMAND_MEMORY 0x2
/* What the child keeps touching: more pages than a vCPU's TLB holds. */
#define TOUCH_BYTES (16u << 20)
#define PAGE 4096u
/* Between two toggles: room for QEMU's main loop and the guest's timers. */
#define PAUSE_US 2000

static volatile sig_atomic_t stop;
static int config_fd = -1;
static uint16_t command;
static pid_t toucher;

static void restore(void)
{
	if (toucher > 0) {
		kill(toucher, SIGKILL);
		waitpid(toucher, NULL, 0);
		toucher = 0;
	}
	if (config_fd >= 0 &&
	    pwrite(config_fd, &command, sizeof(command), PCI_COMMAND) != sizeof(command))
		fprintf(stderr, "as-churn: restoring the PCI COMMAND register failed\n");
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? errno : 0;
}

/* The child: touches a buffer page by page until it is killed. */
static void touch_forever(void)
{
	volatile uint8_t *buf;
	unsigned int off;
	uint8_t n = 0;

	/* Gone with the parent, however it ends. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1 || pin(1))
		_exit(1);
	buf = mmap(NULL, TOUCH_BYTES, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		_exit(1);
	for (;;) {
		for (off = 0; off < TOUCH_BYTES; off += PAGE)
			buf[off] = n;
		n++;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void write_command(uint16_t value)
{
	ssize_t n = pwrite(config_fd, &value, sizeof(value), PCI_COMMAND);

	if (n != sizeof(value))
		fail("writing the PCI COMMAND register", n < 0 ? errno : EIO);
}

int main(int argc, char **argv)
{
	unsigned long toggles = 0, seconds;
	uint64_t start, ms;
	char *tail;
	int err;

	tool_name = "as-churn";
	tool_cleanup = restore;
	if (argc != 3) {
		fprintf(stderr, "usage: as-churn CONFIG SECONDS\n");
		return 2;
	}
	errno = 0;
	seconds = strtoul(argv[2], &tail, 10);
	if (errno || *tail || !seconds || seconds > 3600) {
		fprintf(stderr, "as-churn: SECONDS %s: not a number from 1 to 3600\n", argv[2]);
		return 2;
	}
	config_fd = open(argv[1], O_RDWR);
	if (config_fd < 0)
		fail(argv[1], errno);
	if (pread(config_fd, &command, sizeof(command), PCI_COMMAND) != sizeof(command))
		fail("reading the PCI COMMAND register", errno ? errno : EIO);
	if (!(command & PCI_COMMAND_MEMORY))
		fail("the function's memory space is off to begin with", EINVAL);

	/* A timeout's SIGTERM ends the run the normal way: restored. */
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	toucher = fork();
	if (toucher < 0)
		fail("fork", errno);
	if (!toucher)
		touch_forever();
	err = pin(0);
	if (err)
		fail("sched_setaffinity", err);

	start = now_ms();
	do {
		write_command(command & ~PCI_COMMAND_MEMORY);
		write_command(command);
		toggles++;
		usleep(PAUSE_US);
		ms = now_ms() - start;
		/* The child still running means it touches memory all along. */
		if (waitpid(toucher, NULL, WNOHANG) != 0) {
			toucher = 0;
			fail("the child touching memory ended early", ECHILD);
		}
	} while (ms < seconds * 1000 && !stop);
	if (stop)
		fail("stopped by a signal", EINTR);
	restore();
	printf("toggles %lu ms %llu\n", toggles, (unsigned long long)ms);
	return 0;
}
