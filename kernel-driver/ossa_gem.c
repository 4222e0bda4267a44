// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: buffer objects
 *
 * BOs are shmem GEM objects. A BO is mapped into the device address space
 * of every file that holds a handle to it: the GEM open and close hooks
 * keep one struct ossa_bo_mapping per context, which jobs also hold while
 * they run, so that a BO closed by userspace stays mapped until the last
 * job using it is done. A mapping's VAs and the BO's pages are released
 * only once the jobs its context had on the device when it was unmapped
 * are done (ossa_ctx_when_idle()): such a job may still reach them through
 * level-0 tables it read before (datasheet, 7.2).
 *
 * Locking: ossa_bo.lock protects a BO's mapping list and is taken before
 * the BO's reservation lock (inside drm_gem_shmem_get_pages_sgt()) and a
 * context's VA and page-table locks. ossa_device.bo_lock protects the
 * device's list of BOs and is taken before a BO's reservation lock.
 *
 * Copyright (c) 2026 The ossa developers
 */

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_prime.h>
#include <drm/drm_print.h>
#include <drm/drm_utils.h>
#include <uapi/drm/ossa_accel.h>

#include "ossa_ctx.h"
#include "ossa_drv.h"
#include "ossa_gem.h"
#include "ossa_job.h"

/* Called with bo->lock held. */
static struct ossa_bo_mapping *ossa_bo_find(struct ossa_bo *bo,
					    struct ossa_ctx *ctx)
{
	struct ossa_bo_mapping *map;

	lockdep_assert_held(&bo->lock);
	list_for_each_entry(map, &bo->mappings, node)
		if (map->ctx == ctx)
			return map;
	return NULL;
}

/* Releases an unmapped mapping's VAs and its hold on the BO's pages. */
static void ossa_bo_mapping_free(struct ossa_ctx_idle *idle)
{
	struct ossa_bo_mapping *map = container_of(idle, struct ossa_bo_mapping,
						   idle);
	struct ossa_ctx *ctx = map->ctx;
	struct ossa_bo *bo = map->bo;

	ossa_ctx_free_va(ctx, &map->va);
	kfree(map);
	ossa_ctx_put(ctx);
	drm_gem_object_put(&bo->base.base);
}

static struct ossa_bo_mapping *ossa_bo_map(struct ossa_bo *bo,
					   struct ossa_ctx *ctx)
{
	struct drm_gem_object *obj = &bo->base.base;
	struct ossa_bo_mapping *map;
	struct sg_table *sgt;
	int ret, idx;

	lockdep_assert_held(&bo->lock);

	/* The DMA mappings made here are undone when the device goes. */
	if (!drm_dev_enter(obj->dev, &idx))
		return ERR_PTR(-ENODEV);
	sgt = drm_gem_shmem_get_pages_sgt(&bo->base);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto err_exit;
	}

	map = kzalloc_obj(*map);
	if (!map) {
		ret = -ENOMEM;
		goto err_exit;
	}
	kref_init(&map->ref);

	ret = ossa_ctx_alloc_va(ctx, obj->size, &map->va);
	if (ret)
		goto err_free;
	map->bo = bo;
	drm_gem_object_get(obj);
	map->ctx = ossa_ctx_get(ctx);
	ret = ossa_mmu_map(&ctx->mmu, map->va.start, sgt, obj->size,
			   !(bo->flags & DRM_OSSA_BO_DEVICE_READ_ONLY));
	if (ret)
		goto err_map;

	list_add(&map->node, &bo->mappings);
	drm_dev_exit(idx);
	return map;

err_map:
	/*
	 * Entries written before the failure were cleared, but a job of @ctx
	 * on the device may have read them: released as ossa_bo_mapping_put()
	 * releases a mapping. The caller's references keep @bo and @ctx.
	 */
	ossa_ctx_when_idle(ctx, &map->idle, ossa_bo_mapping_free);
	drm_dev_exit(idx);
	return ERR_PTR(ret);
err_free:
	kfree(map);
err_exit:
	drm_dev_exit(idx);
	return ERR_PTR(ret);
}

/* kref release, called with the BO's lock held by kref_put_mutex(). */
static void ossa_bo_mapping_unlink(struct kref *ref)
{
	struct ossa_bo_mapping *map = container_of(ref, struct ossa_bo_mapping,
						   ref);

	list_del(&map->node);
}

/**
 * ossa_bo_mapping_put() - drop a reference to a BO mapping
 * @map: the mapping; unmapped when the last reference goes
 *
 * Jobs that start after the last reference is gone fault at its VAs; the
 * VAs and the pages are released once the context's jobs now on the
 * device are done. Must not be called from interrupt context.
 */
void ossa_bo_mapping_put(struct ossa_bo_mapping *map)
{
	struct ossa_bo *bo = map->bo;
	struct ossa_ctx *ctx = map->ctx;

	if (!kref_put_mutex(&map->ref, ossa_bo_mapping_unlink, &bo->lock))
		return;
	mutex_unlock(&bo->lock);

	ossa_mmu_unmap(&ctx->mmu, map->va.start, bo->base.base.size);
	ossa_ctx_when_idle(ctx, &map->idle, ossa_bo_mapping_free);
}

/**
 * ossa_bo_mapping_get() - the mapping of a BO in a context
 * @bo: the BO
 * @ctx: the context
 *
 * Return: a new reference to the mapping, or NULL if the BO has no
 * handle in the context's file.
 */
struct ossa_bo_mapping *ossa_bo_mapping_get(struct ossa_bo *bo,
					    struct ossa_ctx *ctx)
{
	struct ossa_bo_mapping *map;

	mutex_lock(&bo->lock);
	map = ossa_bo_find(bo, ctx);
	if (map && !kref_get_unless_zero(&map->ref))
		map = NULL;
	mutex_unlock(&bo->lock);
	return map;
}

static int ossa_bo_open(struct drm_gem_object *obj, struct drm_file *file)
{
	struct ossa_file *ofile = file->driver_priv;
	struct ossa_bo *bo = to_ossa_bo(obj);
	struct ossa_bo_mapping *map;
	int ret = 0;

	mutex_lock(&bo->lock);
	map = ossa_bo_find(bo, ofile->ctx);
	if (map) {
		kref_get(&map->ref);
	} else {
		map = ossa_bo_map(bo, ofile->ctx);
		if (IS_ERR(map))
			ret = PTR_ERR(map);
	}
	if (!ret)
		map->handles++;
	mutex_unlock(&bo->lock);
	return ret;
}

static void ossa_bo_close(struct drm_gem_object *obj, struct drm_file *file)
{
	struct ossa_file *ofile = file->driver_priv;
	struct ossa_bo *bo = to_ossa_bo(obj);
	struct ossa_bo_mapping *map;

	mutex_lock(&bo->lock);
	map = ossa_bo_find(bo, ofile->ctx);
	if (map)
		map->handles--;
	mutex_unlock(&bo->lock);
	if (map)
		ossa_bo_mapping_put(map);
}

static void ossa_bo_free(struct drm_gem_object *obj)
{
	struct ossa_bo *bo = to_ossa_bo(obj);
	struct ossa_device *odev = to_ossa_device(obj->dev);

	WARN_ON(!list_empty(&bo->mappings));
	mutex_destroy(&bo->lock);
	/*
	 * Unlisted and its DMA mapping undone in one go, so that
	 * ossa_gem_unmap_all() either undoes the mapping or waits for this.
	 */
	mutex_lock(&odev->bo_lock);
	list_del_init(&bo->dev_node);
	drm_gem_shmem_free(&bo->base);
	mutex_unlock(&odev->bo_lock);
	atomic_dec(&odev->bo_count);
}

static const struct drm_gem_object_funcs ossa_gem_funcs = {
	.free = ossa_bo_free,
	.open = ossa_bo_open,
	.close = ossa_bo_close,
	.print_info = drm_gem_shmem_object_print_info,
	.pin = drm_gem_shmem_object_pin,
	.unpin = drm_gem_shmem_object_unpin,
	.get_sg_table = drm_gem_shmem_object_get_sg_table,
	.vmap = drm_gem_shmem_object_vmap,
	.vunmap = drm_gem_shmem_object_vunmap,
	.mmap = drm_gem_shmem_object_mmap,
	.vm_ops = &drm_gem_shmem_vm_ops,
};

/**
 * ossa_gem_create_object() - &drm_driver.gem_create_object
 * @drm: the DRM device
 * @size: object size
 *
 * Used by the shmem helpers for created and imported BOs alike.
 *
 * Return: the new object's GEM base, or ERR_PTR(-ENOMEM).
 */
struct drm_gem_object *ossa_gem_create_object(struct drm_device *drm,
					      size_t size)
{
	struct ossa_bo *bo = kzalloc_obj(*bo);

	if (!bo)
		return ERR_PTR(-ENOMEM);
	mutex_init(&bo->lock);
	INIT_LIST_HEAD(&bo->mappings);
	INIT_LIST_HEAD(&bo->dev_node);
	bo->base.base.funcs = &ossa_gem_funcs;
	/*
	 * Not counted here: when the shmem helper fails after this call it
	 * kfree()s the object without calling &drm_gem_object_funcs.free.
	 * A BO counts once the helper returned it (ossa_bo_counted()).
	 */
	return &bo->base.base;
}

/*
 * Counts and lists a BO that the shmem helper created; ossa_bo_free()
 * undoes both.
 */
static void ossa_bo_counted(struct drm_gem_object *obj)
{
	struct ossa_device *odev = to_ossa_device(obj->dev);

	mutex_lock(&odev->bo_lock);
	list_add(&to_ossa_bo(obj)->dev_node, &odev->bos);
	mutex_unlock(&odev->bo_lock);
	atomic_inc(&odev->bo_count);
}

/**
 * ossa_gem_unmap_all() - undo the DMA mapping of every BO for the device
 * @odev: the device, which no longer reaches any BO
 *
 * For a device that is going away: the BOs live on with the files and
 * dma-bufs holding them, their pages too, but their DMA mappings go with
 * the device. The reference on the pages that the mapping held is
 * dropped when the BO is freed, as it would have been.
 */
void ossa_gem_unmap_all(struct ossa_device *odev)
{
	struct ossa_bo *bo;

	mutex_lock(&odev->bo_lock);
	list_for_each_entry(bo, &odev->bos, dev_node) {
		struct drm_gem_shmem_object *shmem = &bo->base;
		struct drm_gem_object *obj = &shmem->base;

		dma_resv_lock(obj->resv, NULL);
		if (shmem->sgt && obj->import_attach) {
			dma_buf_unmap_attachment(obj->import_attach, shmem->sgt,
						 DMA_BIDIRECTIONAL);
		} else if (shmem->sgt) {
			dma_unmap_sgtable(obj->dev->dev, shmem->sgt,
					  DMA_BIDIRECTIONAL, 0);
			sg_free_table(shmem->sgt);
			kfree(shmem->sgt);
		}
		shmem->sgt = NULL;
		dma_resv_unlock(obj->resv);
	}
	mutex_unlock(&odev->bo_lock);
}

/**
 * ossa_gem_prime_import() - &drm_driver.gem_prime_import
 * @drm: the DRM device
 * @buf: the dma-buf to import
 *
 * The import maps the dma-buf for the device: not once the device is gone
 * (ossa_gem_unmap_all()).
 *
 * Return: the imported object, or an ERR_PTR().
 */
struct drm_gem_object *ossa_gem_prime_import(struct drm_device *drm,
					     struct dma_buf *buf)
{
	struct drm_gem_object *obj;
	int idx;

	if (!drm_dev_enter(drm, &idx))
		return ERR_PTR(-ENODEV);
	obj = drm_gem_prime_import(drm, buf);
	drm_dev_exit(idx);
	return obj;
}

/*
 * How many segments of @sgt, mapped for @dev, need syncing between CPU
 * and device accesses: bounced through swiotlb (their pages are beyond the
 * device's DMA mask) or not coherent.
 */
static unsigned int ossa_sgt_needs_sync(struct device *dev,
					struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned int i, n = 0;

	for_each_sgtable_dma_sg(sgt, sg, i)
		n += dma_need_sync(dev, sg_dma_address(sg));
	return n;
}

/**
 * ossa_gem_prime_import_sg_table() - &drm_driver.gem_prime_import_sg_table
 * @drm: the DRM device
 * @attach: the dma-buf attachment
 * @sgt: its pages, mapped for the device by the exporter
 *
 * The device reaches an imported BO through the exporter's mapping for as
 * long as the BO lives, and nothing syncs that mapping: a mapping that
 * needs syncing (a dma-buf whose pages are beyond the device's DMA mask,
 * bounced through swiotlb) would lose what the CPU writes after the
 * import and everything the device writes. Such a dma-buf is refused.
 *
 * Return: the imported object; ERR_PTR(-EOPNOTSUPP) for a mapping that
 * needs syncing, or an ERR_PTR() from the shmem helper.
 */
struct drm_gem_object *
ossa_gem_prime_import_sg_table(struct drm_device *drm,
			       struct dma_buf_attachment *attach,
			       struct sg_table *sgt)
{
	struct drm_gem_object *obj;
	unsigned int bounced = ossa_sgt_needs_sync(drm->dev, sgt);

	if (bounced) {
		drm_dbg_prime(drm,
			      "dma-buf not imported: %u of its segments need syncing for %u-bit DMA\n",
			      bounced, to_ossa_device(drm)->dma_bits);
		return ERR_PTR(-EOPNOTSUPP);
	}
	obj = drm_gem_shmem_prime_import_sg_table(drm, attach, sgt);
	if (!IS_ERR(obj))
		ossa_bo_counted(obj);
	return obj;
}

/* The BO's VA in the file's context, 0 if it has none. */
static u64 ossa_bo_va(struct ossa_bo *bo, struct drm_file *file)
{
	struct ossa_file *ofile = file->driver_priv;
	struct ossa_bo_mapping *map;
	u64 va = 0;

	mutex_lock(&bo->lock);
	map = ossa_bo_find(bo, ofile->ctx);
	if (map)
		va = map->va.start;
	mutex_unlock(&bo->lock);
	return va;
}

int ossa_bo_create_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file)
{
	struct drm_ossa_bo_create *args = data;
	struct drm_gem_shmem_object *shmem;
	struct address_space *m;
	u64 size;
	int ret;

	if (!args->size || args->size > OSSA_MAX_BO_SIZE ||
	    args->flags & ~DRM_OSSA_BO_DEVICE_READ_ONLY)
		return -EINVAL;
	size = PAGE_ALIGN(args->size);

	shmem = drm_gem_shmem_create(drm, size);
	/* shmem reports a failed inode allocation as -ENOSPC: no memory. */
	if (IS_ERR(shmem))
		return PTR_ERR(shmem) == -ENOSPC ? -ENOMEM : PTR_ERR(shmem);
	/*
	 * A device that cannot reach all of RAM gets its BOs' pages from
	 * ZONE_DMA32, before any is allocated. Pages above its reach would be
	 * bounced by swiotlb, and the bounce buffer, copied back only at
	 * unmap, would hide the device's writes from the BO's CPU mappings.
	 */
	m = shmem->base.filp->f_mapping;
	if (dma_addressing_limited(drm->dev))
		mapping_set_gfp_mask(m, (mapping_gfp_mask(m) & ~__GFP_HIGHMEM) | __GFP_DMA32);
	ossa_bo_counted(&shmem->base);
	to_ossa_bo(&shmem->base)->flags = args->flags;

	ret = drm_gem_handle_create(file, &shmem->base, &args->handle);
	if (!ret) {
		args->size = size;
		args->va = ossa_bo_va(to_ossa_bo(&shmem->base), file);
	}
	drm_gem_object_put(&shmem->base);
	return ret;
}

int ossa_bo_mmap_offset_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file)
{
	struct drm_ossa_bo_mmap_offset *args = data;
	struct drm_gem_object *obj;
	int ret;

	if (args->pad)
		return -EINVAL;
	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	ret = drm_gem_create_mmap_offset(obj);
	if (!ret)
		args->offset = drm_vma_node_offset_addr(&obj->vma_node);
	drm_gem_object_put(obj);
	return ret;
}

int ossa_bo_info_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file)
{
	struct drm_ossa_bo_info *args = data;
	struct drm_gem_object *obj;

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	args->flags = to_ossa_bo(obj)->flags;
	args->size = obj->size;
	args->va = ossa_bo_va(to_ossa_bo(obj), file);
	drm_gem_object_put(obj);
	return 0;
}

/*
 * Status of the last job that wrote @obj, from its fence's error. The
 * locked iterator is needed: the unlocked one skips signalled fences.
 */
static u32 ossa_bo_last_status(struct drm_gem_object *obj)
{
	struct dma_resv_iter cursor;
	struct dma_fence *fence;
	int error = 0;

	/* Held only to read the fences: not interruptible, the wait is done. */
	dma_resv_lock(obj->resv, NULL);
	dma_resv_for_each_fence(&cursor, obj->resv, DMA_RESV_USAGE_WRITE, fence)
		error = fence->error;
	dma_resv_unlock(obj->resv);
	return ossa_job_status_from_error(error);
}

int ossa_bo_wait_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file)
{
	struct drm_ossa_bo_wait *args = data;
	struct drm_gem_object *obj;
	long timeout, ret;

	if (args->flags || args->pad)
		return -EINVAL;
	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;

	/*
	 * The timeout is absolute: a wait restarted after a signal ends when
	 * the first would have. One that has passed (0 jiffies) tests each
	 * fence and waits for none. The conversion rounds to whole jiffies
	 * from the current tick, which may be nearly over: one more never
	 * lets the wait end before the time given.
	 */
	timeout = drm_timeout_abs_to_jiffies(args->timeout_ns);
	if (timeout && timeout < MAX_SCHEDULE_TIMEOUT - 1)
		timeout++;
	ret = dma_resv_wait_timeout(obj->resv, DMA_RESV_USAGE_READ, true,
				    timeout);
	if (ret == 0)
		ret = -ETIMEDOUT;
	else if (ret > 0)
		ret = 0;
	if (!ret)
		args->job_status = ossa_bo_last_status(obj);
	drm_gem_object_put(obj);
	return ret;
}
