// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: hardware contexts (datasheet, section 7.1)
 *
 * Every open file gets one of the device's 64 contexts: an entry in the
 * context table pointing at its own page tables, and a VA allocator for
 * the BOs mapped into it. A context outlives its file while BO mappings or
 * jobs still refer to it.
 *
 * Locking: ossa_device.ctx_lock is held while a context joins or leaves
 * ossa_device.ctx_ids and while the device's removal tears down the page
 * tables of every context; the xarray's own lock suffices for lookups.
 *
 * Copyright (c) 2026 The ossa developers
 */

#include <linux/slab.h>
#include <drm/drm_drv.h>
#include <drm/drm_managed.h>

#include "ossa_ctx.h"
#include "ossa_drv.h"
#include "ossa_queue.h"

/* An unmapped guard page after each BO catches overruns as MMU faults. */
#define OSSA_VA_GUARD	OSSA_PAGE_SIZE

/*
 * Writes the context's entry in the context table. The table is freed when
 * the driver unbinds, after ossa_remove(): callers are inside
 * drm_dev_enter(), in an interrupt handler, or in ossa_remove() itself.
 */
static void ossa_ctx_write_entry(struct ossa_ctx *ctx, u64 root)
{
	struct ossa_device *odev = ctx->odev;
	__le64 *entry = &odev->ctx_table[ctx->id * 2];

	WRITE_ONCE(entry[1], 0);
	WRITE_ONCE(entry[0], cpu_to_le64(root));
}

/**
 * ossa_ctx_ban() - ban a context after one of its jobs faulted or hung
 * @ctx: the context
 *
 * SUBMIT refuses new jobs, and run_job cancels those not yet on a ring.
 * Its entry in the context table is invalidated too, so that the jobs
 * already on the rings, of either queue, complete in their order with
 * INVALID_CONTEXT without running (datasheet, 7.1). Called with
 * the queue's lock held, from the interrupt handler, inside
 * drm_dev_enter() or from ossa_remove().
 */
void ossa_ctx_ban(struct ossa_ctx *ctx)
{
	WRITE_ONCE(ctx->banned, true);
	ossa_ctx_write_entry(ctx, 0);
}

static void ossa_ctx_idle_wq_destroy(struct drm_device *drm, void *arg)
{
	destroy_workqueue(arg);
}

/**
 * ossa_ctx_init() - set up the device's context ids and idle workqueue
 * @odev: the device
 *
 * Return: 0 or a negative errno.
 */
int ossa_ctx_init(struct ossa_device *odev)
{
	int ret;

	xa_init_flags(&odev->ctx_ids, XA_FLAGS_ALLOC);
	ret = drmm_mutex_init(&odev->drm, &odev->ctx_lock);
	if (ret)
		return ret;
	/*
	 * Destroyed, after its last work, before what the works use. Works
	 * are queued only by ring fences signalling, and ossa_remove() has
	 * signalled them all before the device can be released.
	 */
	odev->idle_wq = alloc_workqueue("ossa-idle", WQ_UNBOUND, 0);
	if (!odev->idle_wq)
		return -ENOMEM;
	return drmm_add_action_or_reset(&odev->drm, ossa_ctx_idle_wq_destroy,
					odev->idle_wq);
}

/**
 * ossa_ctx_create() - allocate a hardware context with an empty address space
 * @odev: the device
 * @client_id: the DRM client id of the file it is for
 *
 * Return: the context, or ERR_PTR(-EBUSY) when all are in use, or
 * ERR_PTR(-ENOMEM), or ERR_PTR(-ENODEV) once the device is gone.
 */
struct ossa_ctx *ossa_ctx_create(struct ossa_device *odev, u64 client_id)
{
	struct ossa_ctx *ctx;
	int ret, idx;

	ctx = kzalloc_obj(*ctx);
	if (!ctx)
		return ERR_PTR(-ENOMEM);
	kref_init(&ctx->ref);
	ctx->odev = odev;
	ctx->client_id = client_id;
	mutex_init(&ctx->va_lock);
	drm_mm_init(&ctx->va_mm, OSSA_VA_START, OSSA_VA_END - OSSA_VA_START);

	/* Its page tables are the device's DMA memory, torn down on removal. */
	if (!drm_dev_enter(&odev->drm, &idx)) {
		ret = -ENODEV;
		goto err_free;
	}
	ret = ossa_mmu_init(&ctx->mmu, odev->drm.dev);
	if (ret)
		goto err_exit;

	mutex_lock(&odev->ctx_lock);
	ret = xa_alloc(&odev->ctx_ids, &ctx->id, ctx,
		       XA_LIMIT(0, OSSA_NUM_CONTEXTS - 1), GFP_KERNEL);
	mutex_unlock(&odev->ctx_lock);
	if (ret)
		goto err_mmu;

	ossa_ctx_write_entry(ctx, ossa_mmu_root_dma(&ctx->mmu) |
			     OSSA_CTX_ROOT_VALID);
	/* The id may have been stopped by a fault of its previous owner. */
	ossa_reg_write(odev, ctx->id < 32 ? OSSA_REG_CTX_STOPPED_LO :
			     OSSA_REG_CTX_STOPPED_HI, BIT(ctx->id % 32));
	drm_dev_exit(idx);
	atomic_inc(&odev->ctx_count);
	return ctx;

err_mmu:
	ossa_mmu_fini(&ctx->mmu);
err_exit:
	drm_dev_exit(idx);
err_free:
	drm_mm_takedown(&ctx->va_mm);
	mutex_destroy(&ctx->va_lock);
	kfree(ctx);
	return ERR_PTR(ret);
}

static void ossa_ctx_release(struct kref *ref)
{
	struct ossa_ctx *ctx = container_of(ref, struct ossa_ctx, ref);
	struct ossa_device *odev = ctx->odev;
	unsigned int i;
	int idx;

	/* No job of this context is queued or running any more. */
	if (drm_dev_enter(&odev->drm, &idx)) {
		ossa_ctx_write_entry(ctx, 0);
		drm_dev_exit(idx);
	}
	/* Its tables go before it leaves the list ossa_ctx_teardown_all() walks. */
	mutex_lock(&odev->ctx_lock);
	ossa_mmu_teardown(&ctx->mmu);
	xa_erase(&odev->ctx_ids, ctx->id);
	mutex_unlock(&odev->ctx_lock);
	for (i = 0; i < OSSA_NUM_QUEUES; i++)
		dma_fence_put(ctx->ring_fence[i]);
	ossa_mmu_fini(&ctx->mmu);
	drm_mm_takedown(&ctx->va_mm);
	mutex_destroy(&ctx->va_lock);
	kfree(ctx);
	atomic_dec(&odev->ctx_count);
}

/**
 * ossa_ctx_teardown_all() - free the page tables of every context
 * @odev: the device, gone: it walks no table any more
 *
 * The contexts live on with their files, without an address space.
 */
void ossa_ctx_teardown_all(struct ossa_device *odev)
{
	struct ossa_ctx *ctx;
	unsigned long id;

	mutex_lock(&odev->ctx_lock);
	xa_for_each(&odev->ctx_ids, id, ctx)
		ossa_mmu_teardown(&ctx->mmu);
	mutex_unlock(&odev->ctx_lock);
}

/**
 * ossa_ctx_put() - drop a reference to a context
 * @ctx: the context
 */
void ossa_ctx_put(struct ossa_ctx *ctx)
{
	kref_put(&ctx->ref, ossa_ctx_release);
}

static void ossa_ctx_idle_step(struct ossa_ctx_idle *idle);

static void ossa_ctx_idle_fence_cb(struct dma_fence *fence,
				   struct dma_fence_cb *cb)
{
	struct ossa_ctx_idle *idle = container_of(cb, struct ossa_ctx_idle, cb);

	queue_work(idle->wq, &idle->work);
}

static void ossa_ctx_idle_work(struct work_struct *work)
{
	ossa_ctx_idle_step(container_of(work, struct ossa_ctx_idle, work));
}

/* Waits for the next fence not yet signalled, or runs the work if none is. */
static void ossa_ctx_idle_step(struct ossa_ctx_idle *idle)
{
	for (; idle->next < OSSA_NUM_QUEUES; idle->next++) {
		struct dma_fence *fence = idle->fences[idle->next];

		if (fence && !dma_fence_add_callback(fence, &idle->cb,
						     ossa_ctx_idle_fence_cb))
			return;
		dma_fence_put(fence);
	}
	idle->fn(idle);
}

/**
 * ossa_ctx_when_idle() - do something once the context's jobs now on the
 *	device are done
 * @ctx: the context
 * @idle: the work, embedded in what @fn frees
 * @fn: what to do; called here, in the caller's context, when no job of
 *	@ctx is on a ring, else from the device's workqueue once the last of
 *	them has completed: the caller holds none of the locks @fn takes
 *
 * A job on the device may still reach pages through level-0 tables it read
 * before they were changed (datasheet, 7.2): pages and device VAs
 * unmapped from @ctx are released this way. Jobs put on a ring later read
 * the tables afresh and need no waiting for. Must not be called from
 * interrupt context.
 */
void ossa_ctx_when_idle(struct ossa_ctx *ctx, struct ossa_ctx_idle *idle,
			void (*fn)(struct ossa_ctx_idle *idle))
{
	struct ossa_device *odev = ctx->odev;
	unsigned int i;

	INIT_WORK(&idle->work, ossa_ctx_idle_work);
	idle->wq = odev->idle_wq;
	idle->fn = fn;
	idle->next = 0;
	for (i = 0; i < OSSA_NUM_QUEUES; i++)
		idle->fences[i] = ossa_queue_ctx_fence(&odev->queues[i], ctx);
	ossa_ctx_idle_step(idle);
}

/**
 * ossa_ctx_alloc_va() - reserve device VAs for a BO
 * @ctx: the context
 * @size: bytes, page-aligned
 * @node: receives the range; its start is the BO's VA
 *
 * Return: 0, or -ENOSPC when the address space is full.
 */
int ossa_ctx_alloc_va(struct ossa_ctx *ctx, u64 size, struct drm_mm_node *node)
{
	int ret;

	mutex_lock(&ctx->va_lock);
	ret = drm_mm_insert_node_generic(&ctx->va_mm, node,
					 size + OSSA_VA_GUARD, OSSA_PAGE_SIZE,
					 0, DRM_MM_INSERT_BEST);
	mutex_unlock(&ctx->va_lock);
	return ret;
}

/**
 * ossa_ctx_free_va() - release what ossa_ctx_alloc_va() reserved
 * @ctx: the context
 * @node: the range
 */
void ossa_ctx_free_va(struct ossa_ctx *ctx, struct drm_mm_node *node)
{
	mutex_lock(&ctx->va_lock);
	drm_mm_remove_node(node);
	mutex_unlock(&ctx->va_lock);
}
