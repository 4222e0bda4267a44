// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: hardware contexts (docs/hardware.md, section 7.1)
 *
 * Every open file gets one of the device's 64 contexts: an entry in the
 * context table pointing at its own page tables, and a VA allocator for
 * the BOs mapped into it. A context outlives its file while BO mappings or
 * jobs still refer to it.
 *
 * Copyright (c) 2026 The ossa developers
 */

#include <linux/slab.h>
#include <drm/drm_drv.h>

#include "ossa_ctx.h"
#include "ossa_drv.h"

/* An unmapped guard page after each BO catches overruns as MMU faults. */
#define OSSA_VA_GUARD	OSSA_PAGE_SIZE

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
 * INVALID_CONTEXT without running (docs/hardware.md, 7.1). Callable in
 * interrupt context.
 */
void ossa_ctx_ban(struct ossa_ctx *ctx)
{
	WRITE_ONCE(ctx->banned, true);
	ossa_ctx_write_entry(ctx, 0);
}

/**
 * ossa_ctx_create() - allocate a hardware context with an empty address space
 * @odev: the device
 *
 * Return: the context, or ERR_PTR(-EBUSY) when all are in use, or
 * ERR_PTR(-ENOMEM).
 */
struct ossa_ctx *ossa_ctx_create(struct ossa_device *odev)
{
	struct ossa_ctx *ctx;
	int ret, idx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return ERR_PTR(-ENOMEM);
	kref_init(&ctx->ref);
	ctx->odev = odev;
	mutex_init(&ctx->va_lock);
	drm_mm_init(&ctx->va_mm, OSSA_VA_START, OSSA_VA_END - OSSA_VA_START);

	ret = ossa_mmu_init(&ctx->mmu, odev->drm.dev);
	if (ret)
		goto err_free;

	ret = xa_alloc(&odev->ctx_ids, &ctx->id, ctx,
		       XA_LIMIT(0, OSSA_NUM_CONTEXTS - 1), GFP_KERNEL);
	if (ret)
		goto err_mmu;

	ossa_ctx_write_entry(ctx, ossa_mmu_root_dma(&ctx->mmu) |
			     OSSA_CTX_ROOT_VALID);
	/* The id may have been stopped by a fault of its previous owner. */
	if (drm_dev_enter(&odev->drm, &idx)) {
		ossa_reg_write(odev, ctx->id < 32 ? OSSA_REG_CTX_STOPPED_LO :
				     OSSA_REG_CTX_STOPPED_HI, BIT(ctx->id % 32));
		drm_dev_exit(idx);
	}
	atomic_inc(&odev->ctx_count);
	return ctx;

err_mmu:
	ossa_mmu_fini(&ctx->mmu);
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

	/* No job of this context is queued or running any more. */
	ossa_ctx_write_entry(ctx, 0);
	xa_erase(&odev->ctx_ids, ctx->id);
	ossa_mmu_fini(&ctx->mmu);
	drm_mm_takedown(&ctx->va_mm);
	mutex_destroy(&ctx->va_lock);
	kfree(ctx);
	atomic_dec(&odev->ctx_count);
}

/**
 * ossa_ctx_put() - drop a reference to a context
 * @ctx: the context
 */
void ossa_ctx_put(struct ossa_ctx *ctx)
{
	kref_put(&ctx->ref, ossa_ctx_release);
}

/**
 * ossa_ctx_alloc_va() - reserve device VAs for a BO
 * @ctx: the context
 * @size: bytes, page-aligned
 * @node: receives the range; its start is the BO's VA
 *
 * Return: 0, or -ENOMEM when the address space is full.
 */
int ossa_ctx_alloc_va(struct ossa_ctx *ctx, u64 size, struct drm_mm_node *node)
{
	int ret;

	mutex_lock(&ctx->va_lock);
	ret = drm_mm_insert_node_generic(&ctx->va_mm, node,
					 size + OSSA_VA_GUARD, OSSA_PAGE_SIZE,
					 0, DRM_MM_INSERT_BEST);
	mutex_unlock(&ctx->va_lock);
	return ret == -ENOSPC ? -ENOMEM : ret;
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
