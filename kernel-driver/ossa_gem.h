/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The ossa developers
 */
#ifndef __OSSA_GEM_H__
#define __OSSA_GEM_H__

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_mm.h>

#include "ossa_ctx.h"

struct dma_buf;
struct ossa_device;

/**
 * struct ossa_bo - an ossa buffer object
 * @base: shmem GEM object
 * @flags: DRM_OSSA_BO_* flags
 * @lock: protects @mappings
 * @mappings: its struct ossa_bo_mapping, one per context it is mapped in
 * @dev_node: entry in &ossa_device.bos
 */
struct ossa_bo {
	struct drm_gem_shmem_object base;
	u32 flags;
	struct mutex lock; /* protects mappings */
	struct list_head mappings;
	struct list_head dev_node;
};

/**
 * struct ossa_bo_mapping - a BO mapped into one context's address space
 * @ref: held by each handle to the BO in the context's file (counted in
 *	@handles) and by each job that uses it
 * @handles: handles to the BO in the file; protected by the BO's lock
 * @node: entry in the BO's mappings
 * @bo: the BO (a GEM reference is held)
 * @ctx: the context (a reference is held)
 * @va: the device VA range
 * @idle: releases the VA range and the BO once unmapped and idle
 */
struct ossa_bo_mapping {
	struct kref ref;
	unsigned int handles;
	struct list_head node;
	struct ossa_bo *bo;
	struct ossa_ctx *ctx;
	struct drm_mm_node va;
	struct ossa_ctx_idle idle;
};

static inline struct ossa_bo *to_ossa_bo(struct drm_gem_object *obj)
{
	return container_of(obj, struct ossa_bo, base.base);
}

struct drm_gem_object *ossa_gem_create_object(struct drm_device *drm,
					      size_t size);
struct drm_gem_object *ossa_gem_prime_import(struct drm_device *drm,
					     struct dma_buf *buf);
struct drm_gem_object *
ossa_gem_prime_import_sg_table(struct drm_device *drm,
			       struct dma_buf_attachment *attach,
			       struct sg_table *sgt);
struct ossa_bo_mapping *ossa_bo_mapping_get(struct ossa_bo *bo,
					    struct ossa_ctx *ctx);
void ossa_bo_mapping_put(struct ossa_bo_mapping *map);
void ossa_gem_unmap_all(struct ossa_device *odev);

int ossa_bo_create_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file);
int ossa_bo_mmap_offset_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file);
int ossa_bo_info_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file);
int ossa_bo_wait_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file);

#endif /* __OSSA_GEM_H__ */
