/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The ossa developers
 */
#ifndef __OSSA_CTX_H__
#define __OSSA_CTX_H__

#include <linux/atomic.h>
#include <linux/dma-fence.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <drm/drm_mm.h>

#include "ossa_mmu.h"
#include "ossa_regs.h"

struct ossa_device;

/**
 * struct ossa_ctx - a hardware context: one file's device address space
 * @ref: held by the file, by each BO mapping in it and by each of its jobs
 * @odev: the device
 * @id: hardware context id, the index in the context table
 * @client_id: the DRM client id of the file it was made for (its fdinfo's
 *	drm-client-id), for debugfs
 * @mmu: the page tables
 * @va_lock: protects @va_mm
 * @va_mm: allocator of device VAs
 * @banned: set after one of its jobs faulted or hung; read without a lock
 * @ring_fence: hardware fence of its job last put on each queue's ring;
 *	protected by that queue's lock (ossa_queue.c)
 * @busy_ns: on each queue, the device time its finished jobs ran, the sum
 *	of their descriptors' END_NS - START_NS, for fdinfo's drm-engine-*;
 *	added to when a job completes, read without a lock
 */
struct ossa_ctx {
	struct kref ref;
	struct ossa_device *odev;
	u32 id;
	u64 client_id;
	struct ossa_mmu mmu;
	struct mutex va_lock; /* protects va_mm */
	struct drm_mm va_mm;
	bool banned;
	struct dma_fence *ring_fence[OSSA_NUM_QUEUES];
	atomic64_t busy_ns[OSSA_NUM_QUEUES];
};

/**
 * struct ossa_ctx_idle - work to do once a context's jobs on the device are done
 * @cb: callback on the fence waited for
 * @work: goes on to the next fence, or runs @fn
 * @wq: the device's workqueue for @work
 * @fences: the context's last fence on each ring when the wait began
 * @next: index in @fences of the fence waited for
 * @fn: what to do, in process context
 */
struct ossa_ctx_idle {
	struct dma_fence_cb cb;
	struct work_struct work;
	struct workqueue_struct *wq;
	struct dma_fence *fences[OSSA_NUM_QUEUES];
	unsigned int next;
	void (*fn)(struct ossa_ctx_idle *idle);
};

int ossa_ctx_init(struct ossa_device *odev);
struct ossa_ctx *ossa_ctx_create(struct ossa_device *odev, u64 client_id);
void ossa_ctx_put(struct ossa_ctx *ctx);
void ossa_ctx_when_idle(struct ossa_ctx *ctx, struct ossa_ctx_idle *idle,
			void (*fn)(struct ossa_ctx_idle *idle));
void ossa_ctx_teardown_all(struct ossa_device *odev);
int ossa_ctx_alloc_va(struct ossa_ctx *ctx, u64 size, struct drm_mm_node *node);
void ossa_ctx_free_va(struct ossa_ctx *ctx, struct drm_mm_node *node);

static inline struct ossa_ctx *ossa_ctx_get(struct ossa_ctx *ctx)
{
	kref_get(&ctx->ref);
	return ctx;
}

void ossa_ctx_ban(struct ossa_ctx *ctx);

static inline bool ossa_ctx_banned(struct ossa_ctx *ctx)
{
	return READ_ONCE(ctx->banned);
}

#endif /* __OSSA_CTX_H__ */
