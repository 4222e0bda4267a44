/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The ossa developers
 */
#ifndef __OSSA_DRV_H__
#define __OSSA_DRV_H__

#include <linux/bits.h>
#include <linux/io.h>
#include <linux/stddef.h>
#include <linux/xarray.h>
#include <drm/drm_device.h>
#include <drm/drm_file.h>
#include <drm/gpu_scheduler.h>

#include "ossa_regs.h"

#define DRIVER_NAME	"ossa"
#define DRIVER_DESC	"Open-Source-userspace Sample Accelerator"

/* Jobs a hardware queue holds at once: its ring's entries. */
#define OSSA_RING_ENTRIES	64
#define OSSA_RING_SIZE_LOG2	6

/* Device VA range given to BOs: [OSSA_VA_START, OSSA_VA_END). */
#define OSSA_VA_START		SZ_1M
#define OSSA_VA_END		BIT_ULL(OSSA_VA_BITS)

#define OSSA_MAX_BO_SIZE	SZ_1G
#define OSSA_MAX_JOBS_PER_SUBMIT 64

struct ossa_job;

/**
 * struct ossa_desc - a job descriptor in a ring (datasheet, 5.3)
 * @flags: OSSA_DESC_FLAG_*
 * @context: hardware context id
 * @cmd_addr: device VA of the command stream
 * @cmd_size: bytes of the command stream
 * @reserved: 0
 * @user_data: the job's hardware fence seqno, for debugging
 * @status: OSSA_JOB_*, written by the device
 * @error_offset: offset of the failing command, written by the device
 * @start_ns: device time the job started, written by the device
 * @end_ns: device time the job ended, written by the device
 * @pad: 0
 */
struct ossa_desc {
	__le32 flags;
	__le32 context;
	__le64 cmd_addr;
	__le32 cmd_size;
	__le32 reserved;
	__le64 user_data;
	__le32 status;
	__le32 error_offset;
	__le64 start_ns;
	__le64 end_ns;
	__le64 pad;
};

/* The layout is the datasheet's, as ossa_regs.h spells it. */
static_assert(sizeof(struct ossa_desc) == OSSA_DESC_SIZE);
static_assert(offsetof(struct ossa_desc, flags) == OSSA_DESC_FLAGS);
static_assert(offsetof(struct ossa_desc, context) == OSSA_DESC_CONTEXT);
static_assert(offsetof(struct ossa_desc, cmd_addr) == OSSA_DESC_CMD_ADDR);
static_assert(offsetof(struct ossa_desc, cmd_size) == OSSA_DESC_CMD_SIZE);
static_assert(offsetof(struct ossa_desc, reserved) == OSSA_DESC_RESERVED);
static_assert(offsetof(struct ossa_desc, user_data) == OSSA_DESC_USER_DATA);
static_assert(offsetof(struct ossa_desc, status) == OSSA_DESC_STATUS);
static_assert(offsetof(struct ossa_desc, error_offset) ==
	      OSSA_DESC_ERROR_OFFSET);
static_assert(offsetof(struct ossa_desc, start_ns) == OSSA_DESC_START_NS);
static_assert(offsetof(struct ossa_desc, end_ns) == OSSA_DESC_END_NS);

/**
 * struct ossa_queue - a hardware queue and its scheduler
 * @odev: the device
 * @index: queue number
 * @sched: the DRM scheduler feeding this queue
 * @ring: descriptor ring, in coherent DMA memory
 * @ring_dma: bus address of @ring
 * @lock: protects @tail, @head, @jobs and @stopped, and is the lock of
 *	the queue's hardware fences; taken in the interrupt handler
 * @tail: index of the next descriptor to fill (free running)
 * @head: index of the next descriptor to complete (free running)
 * @jobs: the job in each ring slot between @head and @tail
 * @stopped: the queue is disabled, for a reset or for good once the device
 *	is gone: no doorbell, no completion
 * @fence_context: dma_fence context of the queue's hardware fences
 * @seqno: last hardware fence sequence number handed out
 * @name: scheduler and fence timeline name
 */
struct ossa_queue {
	struct ossa_device *odev;
	unsigned int index;
	struct drm_gpu_scheduler sched;
	struct ossa_desc *ring;
	dma_addr_t ring_dma;
	spinlock_t lock; /* ring indices and slots; taken in IRQ */
	u32 tail;
	u32 head;
	struct ossa_job *jobs[OSSA_RING_ENTRIES];
	bool stopped;
	u64 fence_context;
	u64 seqno;
	char name[16];
};

/**
 * struct ossa_device - ossa device instance
 * @drm: DRM device, the base of this structure
 * @regs: BAR0 register window
 * @hw_version: value of the VERSION register read at probe
 * @fault_injection: the device has the fault-injection registers
 * @dma_bits: width of the bus addresses given to the device (its DMA mask):
 *	CAPS.DMA_BITS, at most the 52 bits a page-table entry holds
 * @ctx_table: the device's context table, in coherent DMA memory
 * @ctx_table_dma: bus address of @ctx_table
 * @ctx_ids: hardware context ids in use, with their struct ossa_ctx
 * @ctx_lock: held while a context joins or leaves @ctx_ids and while the
 *	device's removal tears down every context's page tables
 * @idle_wq: runs what waits for a context's jobs on the device to be done
 *	(ossa_ctx_when_idle())
 * @bos: every BO of the device, for undoing their DMA mappings on removal
 * @bo_lock: protects @bos
 * @queues: the hardware queues
 * @reset_lock: serialises device resets and queue recoveries
 * @reset_count: number of device resets since probe, counted before the
 *	jobs the reset fails signal
 * @recovery_count: number of queue recoveries (job timeout, queue error)
 *	since probe, counted before the job the recovery fails signals
 * @bo_count: buffer objects alive
 * @ctx_count: contexts alive
 * @job_count: jobs alive
 * @nvec: interrupt vectors in use
 */
struct ossa_device {
	struct drm_device drm;
	void __iomem *regs;
	u32 hw_version;
	bool fault_injection;
	unsigned int dma_bits;
	__le64 *ctx_table;
	dma_addr_t ctx_table_dma;
	struct xarray ctx_ids;
	struct mutex ctx_lock; /* ctx_ids membership against teardown */
	struct workqueue_struct *idle_wq;
	struct list_head bos;
	struct mutex bo_lock; /* protects bos */
	struct ossa_queue queues[OSSA_NUM_QUEUES];
	struct mutex reset_lock; /* serialises resets and recoveries */
	atomic_t reset_count;
	atomic_t recovery_count;
	atomic_t bo_count;
	atomic_t ctx_count;
	atomic_t job_count;
	int nvec;
};

/**
 * struct ossa_file - per-file state
 * @odev: the device
 * @ctx: the file's device context and address space
 * @entities: the file's scheduler entity on each queue
 * @submit_lock: held from a submission's first drm_sched_job_arm() to its
 *	last drm_sched_entity_push_job(), so that the file's jobs reach each
 *	entity in the order of their fences (ossa_submit.c)
 */
struct ossa_file {
	struct ossa_device *odev;
	struct ossa_ctx *ctx;
	struct drm_sched_entity entities[OSSA_NUM_QUEUES];
	struct mutex submit_lock; /* orders arm and push */
};

static inline struct ossa_device *to_ossa_device(struct drm_device *drm)
{
	return container_of(drm, struct ossa_device, drm);
}

static inline u32 ossa_reg_read(struct ossa_device *odev, u32 reg)
{
	return readl(odev->regs + reg);
}

static inline void ossa_reg_write(struct ossa_device *odev, u32 reg, u32 val)
{
	writel(val, odev->regs + reg);
}

static inline u32 ossa_queue_reg_read(struct ossa_queue *q, u32 reg)
{
	return ossa_reg_read(q->odev, OSSA_REG_QUEUE(q->index) + reg);
}

static inline void ossa_queue_reg_write(struct ossa_queue *q, u32 reg, u32 val)
{
	ossa_reg_write(q->odev, OSSA_REG_QUEUE(q->index) + reg, val);
}

#endif /* __OSSA_DRV_H__ */
