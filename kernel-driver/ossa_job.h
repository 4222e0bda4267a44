/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The ossa developers
 */
#ifndef __OSSA_JOB_H__
#define __OSSA_JOB_H__

#include <drm/gpu_scheduler.h>

struct dma_fence_chain;
struct drm_device;
struct drm_file;
struct drm_syncobj;
struct ossa_bo_mapping;
struct ossa_ctx;
struct ossa_device;
struct ossa_queue;

/**
 * struct ossa_fence - the fence of one run of a job on a queue
 * @base: the fence; first, as dma_fence_free() frees the whole
 * @queue: the queue whose timeline it is on
 */
struct ossa_fence {
	struct dma_fence base;
	struct ossa_queue *queue;
};

/**
 * struct ossa_job_signal - a syncobj that receives a job's fence
 * @syncobj: the syncobj (a reference is held)
 * @chain: for a timeline point, the chain link to add it with, allocated at
 *	SUBMIT; NULL for a binary syncobj
 * @point: the timeline point, 0 for a binary syncobj
 */
struct ossa_job_signal {
	struct drm_syncobj *syncobj;
	struct dma_fence_chain *chain;
	u64 point;
};

/**
 * struct ossa_job - a job: a command stream run on a queue
 * @base: scheduler job
 * @queue: the queue it runs on
 * @ctx: the context it runs in (a reference is held)
 * @cmd_va: device VA of the command stream
 * @cmd_size: its length
 * @maps: the BO mappings it uses (a reference to each is held)
 * @bo_flags: DRM_OSSA_BO_REF_* of each of @maps
 * @bo_count: entries in @maps
 * @signals: the syncobjs to receive its fence
 * @signal_count: entries in @signals
 * @fence_mem: memory for @hw_fence, allocated at SUBMIT; NULL once used
 * @hw_fence: the fence of its run on the device, once run_job made it
 */
struct ossa_job {
	struct drm_sched_job base;
	struct ossa_queue *queue;
	struct ossa_ctx *ctx;
	u64 cmd_va;
	u32 cmd_size;
	struct ossa_bo_mapping **maps;
	u32 *bo_flags;
	u32 bo_count;
	struct ossa_job_signal *signals;
	u32 signal_count;
	struct ossa_fence *fence_mem;
	struct dma_fence *hw_fence;
};

int ossa_sched_init(struct ossa_device *odev);
u32 ossa_job_status_from_error(int error);
void ossa_job_release(struct ossa_job *job);
void ossa_job_discard(struct ossa_job *job);
int ossa_submit_ioctl(struct drm_device *drm, void *data,
		      struct drm_file *file);

#endif /* __OSSA_JOB_H__ */
