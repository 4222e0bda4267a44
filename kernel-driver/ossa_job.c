// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: jobs, their scheduling, completion and recovery
 *
 * Each hardware queue has a drm_gpu_scheduler; each file has an entity on
 * each. A job's run writes its descriptor into the queue's ring and rings
 * the doorbell; the queue's interrupt completes it from the descriptor's
 * status. A job that does not complete in time resets the device: its
 * context is banned, its fence fails with -ETIMEDOUT, and the other jobs on
 * the rings are run again.
 *
 * Locking: ossa_queue.lock (a spinlock, taken in the interrupt handler)
 * protects a ring's indices and job slots. ossa_device.reset_lock
 * serialises resets, which stop every scheduler before touching the device.
 *
 * Copyright (c) 2026 The ossa developers
 */

#include <linux/dma-fence.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>
#include <drm/drm_syncobj.h>
#include <uapi/drm/ossa_accel.h>

#include "ossa_ctx.h"
#include "ossa_drv.h"
#include "ossa_gem.h"
#include "ossa_hw.h"
#include "ossa_job.h"

#define OSSA_MAX_BO_REFS	256
#define OSSA_MAX_IN_SYNCOBJS	64

static unsigned int ossa_job_timeout_ms = 2000;
module_param_named(job_timeout_ms, ossa_job_timeout_ms, uint, 0444);
MODULE_PARM_DESC(job_timeout_ms, "time a job may run before the device is reset (ms)");

static struct ossa_job *to_ossa_job(struct drm_sched_job *job)
{
	return container_of(job, struct ossa_job, base);
}

/* Hardware fences: one per run of a job on a queue. */

static const char *ossa_fence_driver_name(struct dma_fence *fence)
{
	return DRIVER_NAME;
}

static const char *ossa_fence_timeline_name(struct dma_fence *fence)
{
	struct ossa_queue *q = container_of(fence->lock, struct ossa_queue, lock);

	return q->name;
}

static const struct dma_fence_ops ossa_fence_ops = {
	.get_driver_name = ossa_fence_driver_name,
	.get_timeline_name = ossa_fence_timeline_name,
};

/* Called with q->lock held. */
static struct dma_fence *ossa_fence_create(struct ossa_queue *q)
{
	struct dma_fence *fence = kzalloc(sizeof(*fence), GFP_ATOMIC);

	if (!fence)
		return NULL;
	dma_fence_init(fence, &ossa_fence_ops, &q->lock, q->fence_context,
		       ++q->seqno);
	return fence;
}

/* A fence that is already signalled with @error: the job does not run. */
static struct dma_fence *ossa_fence_failed(struct ossa_queue *q, int error)
{
	struct dma_fence *fence;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	fence = ossa_fence_create(q);
	if (fence) {
		dma_fence_set_error(fence, error);
		dma_fence_signal_locked(fence);
	}
	spin_unlock_irqrestore(&q->lock, flags);
	return fence ?: ERR_PTR(-ENOMEM);
}

/* The fence error for a job status of the device (docs/hardware.md, 5.4). */
static int ossa_error_from_hw_status(u32 status)
{
	switch (status) {
	case OSSA_JOB_OK:
		return 0;
	case OSSA_JOB_MMU_FAULT:
		return -EFAULT;
	case OSSA_JOB_INVALID_COMMAND:
	case OSSA_JOB_INVALID_DESCRIPTOR:
		return -EINVAL;
	case OSSA_JOB_CONTEXT_STOPPED:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

/**
 * ossa_job_status_from_error() - the uapi job status for a fence error
 * @error: a job fence's error
 *
 * Return: a DRM_OSSA_JOB_STATUS_* value.
 */
u32 ossa_job_status_from_error(int error)
{
	switch (error) {
	case 0:
		return DRM_OSSA_JOB_STATUS_SUCCESS;
	case -EFAULT:
		return DRM_OSSA_JOB_STATUS_MMU_FAULT;
	case -EINVAL:
		return DRM_OSSA_JOB_STATUS_INVALID;
	case -ETIMEDOUT:
		return DRM_OSSA_JOB_STATUS_TIMEOUT;
	case -ECANCELED:
		return DRM_OSSA_JOB_STATUS_CANCELED;
	default:
		return DRM_OSSA_JOB_STATUS_ERROR;
	}
}

static struct dma_fence *ossa_job_run(struct drm_sched_job *sched_job)
{
	struct ossa_job *job = to_ossa_job(sched_job);
	struct ossa_queue *q = job->queue;
	struct ossa_device *odev = q->odev;
	struct dma_fence *fence;
	unsigned long flags;
	u8 *desc;
	u32 slot;
	int idx;

	if (job->hw_fence) {
		/* A run again after a reset: the earlier run is gone. */
		dma_fence_put(job->hw_fence);
		job->hw_fence = NULL;
	}
	if (job->timed_out)
		return ossa_fence_failed(q, -ETIMEDOUT);
	if (sched_job->s_fence->finished.error || ossa_ctx_banned(job->ctx))
		return ossa_fence_failed(q, -ECANCELED);
	if (!drm_dev_enter(&odev->drm, &idx))
		return ossa_fence_failed(q, -ENODEV);

	spin_lock_irqsave(&q->lock, flags);
	fence = ossa_fence_create(q);
	if (!fence) {
		spin_unlock_irqrestore(&q->lock, flags);
		drm_dev_exit(idx);
		return ERR_PTR(-ENOMEM);
	}
	job->hw_fence = dma_fence_get(fence);

	/* The scheduler's credit limit keeps the ring from overflowing. */
	slot = q->tail % OSSA_RING_ENTRIES;
	desc = (u8 *)q->ring + slot * OSSA_DESC_SIZE;
	memset(desc, 0, OSSA_DESC_SIZE);
	put_unaligned_le32(OSSA_DESC_FLAG_IRQ, desc + OSSA_DESC_FLAGS);
	put_unaligned_le32(job->ctx->id, desc + OSSA_DESC_CONTEXT);
	put_unaligned_le64(job->cmd_va, desc + OSSA_DESC_CMD_ADDR);
	put_unaligned_le32(job->cmd_size, desc + OSSA_DESC_CMD_SIZE);
	put_unaligned_le64(fence->seqno, desc + OSSA_DESC_USER_DATA);
	q->jobs[slot] = job;
	q->tail++;
	/* writel() orders the descriptor's stores before the doorbell. */
	ossa_queue_reg_write(q, OSSA_REG_Q_TAIL, q->tail);
	spin_unlock_irqrestore(&q->lock, flags);

	drm_dev_exit(idx);
	return fence;
}

/**
 * ossa_queue_complete() - complete the jobs the device has finished
 * @q: the queue
 *
 * Called from the queue's interrupt handler.
 */
void ossa_queue_complete(struct ossa_queue *q)
{
	unsigned long flags;
	u32 head;

	spin_lock_irqsave(&q->lock, flags);
	head = ossa_queue_reg_read(q, OSSA_REG_Q_HEAD);
	/* Read the descriptors' results only after HEAD says they are there. */
	dma_rmb();
	while (q->head != head && q->head != q->tail) {
		u32 slot = q->head % OSSA_RING_ENTRIES;
		u8 *desc = (u8 *)q->ring + slot * OSSA_DESC_SIZE;
		struct ossa_job *job = q->jobs[slot];
		u32 status = get_unaligned_le32(desc + OSSA_DESC_STATUS);
		int error = ossa_error_from_hw_status(status);

		q->jobs[slot] = NULL;
		q->head++;
		if (!job)
			continue;
		if (status == OSSA_JOB_MMU_FAULT)
			WRITE_ONCE(job->ctx->banned, true);
		if (error)
			dma_fence_set_error(job->hw_fence, error);
		dma_fence_signal_locked(job->hw_fence);
	}
	spin_unlock_irqrestore(&q->lock, flags);
}

/**
 * ossa_queue_clear() - forget the jobs on a ring after a device reset
 * @q: the queue, its scheduler stopped
 */
void ossa_queue_clear(struct ossa_queue *q)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	memset(q->jobs, 0, sizeof(q->jobs));
	q->head = 0;
	q->tail = 0;
	spin_unlock_irqrestore(&q->lock, flags);
}

/**
 * ossa_reset_device() - reset the device and run the innocent jobs again
 * @odev: the device
 * @bad: the job that hung, or NULL for a reset asked for by debugfs
 *
 * The bad job's context is banned and its fence fails with -ETIMEDOUT;
 * that context's other jobs are canceled; the jobs of other contexts that
 * were on the rings run again.
 */
void ossa_reset_device(struct ossa_device *odev, struct drm_sched_job *bad)
{
	unsigned int i;

	mutex_lock(&odev->reset_lock);
	for (i = 0; i < OSSA_NUM_QUEUES; i++)
		drm_sched_stop(&odev->queues[i].sched, bad);
	if (bad) {
		struct ossa_job *job = to_ossa_job(bad);

		job->timed_out = true;
		WRITE_ONCE(job->ctx->banned, true);
		drm_sched_increase_karma(bad);
	}

	ossa_hw_reset(odev);
	atomic_inc(&odev->reset_count);
	drm_warn(&odev->drm, "device reset%s\n",
		 bad ? " after a job timeout" : "");

	for (i = 0; i < OSSA_NUM_QUEUES; i++)
		drm_sched_resubmit_jobs(&odev->queues[i].sched);
	for (i = 0; i < OSSA_NUM_QUEUES; i++)
		drm_sched_start(&odev->queues[i].sched);
	mutex_unlock(&odev->reset_lock);
}

static enum drm_gpu_sched_stat ossa_job_timedout(struct drm_sched_job *sched_job)
{
	struct ossa_job *job = to_ossa_job(sched_job);
	struct ossa_device *odev = job->queue->odev;
	int idx;

	if (!drm_dev_enter(&odev->drm, &idx))
		return DRM_GPU_SCHED_STAT_ENODEV;
	ossa_reset_device(odev, sched_job);
	drm_dev_exit(idx);
	return DRM_GPU_SCHED_STAT_NOMINAL;
}

static void ossa_job_put_resources(struct ossa_job *job)
{
	u32 i;

	for (i = 0; i < job->bo_count; i++)
		if (job->maps[i])
			ossa_bo_mapping_put(job->maps[i]);
	kvfree(job->maps);
	kvfree(job->bo_flags);
	if (job->out_syncobj)
		drm_syncobj_put(job->out_syncobj);
	dma_fence_put(job->hw_fence);
	ossa_ctx_put(job->ctx);
	atomic_dec(&job->queue->odev->job_count);
	kfree(job);
}

/* Drops a job that was initialised but never armed: it will not run. */
static void ossa_job_discard(struct ossa_job *job)
{
	drm_sched_job_cleanup(&job->base);
	ossa_job_put_resources(job);
}

static void ossa_job_free(struct drm_sched_job *sched_job)
{
	struct ossa_job *job = to_ossa_job(sched_job);

	drm_sched_job_cleanup(sched_job);
	ossa_job_put_resources(job);
}

static const struct drm_sched_backend_ops ossa_sched_ops = {
	.run_job = ossa_job_run,
	.timedout_job = ossa_job_timedout,
	.free_job = ossa_job_free,
};

static void ossa_sched_fini(struct drm_device *drm, void *arg)
{
	struct ossa_queue *q = arg;

	drm_sched_fini(&q->sched);
}

/**
 * ossa_sched_init() - set up the queues and their schedulers
 * @odev: the device
 *
 * Return: 0 or a negative errno.
 */
int ossa_sched_init(struct ossa_device *odev)
{
	unsigned int i;
	int ret;

	for (i = 0; i < OSSA_NUM_QUEUES; i++) {
		struct ossa_queue *q = &odev->queues[i];
		struct drm_sched_init_args args = {
			.ops = &ossa_sched_ops,
			.num_rqs = DRM_SCHED_PRIORITY_COUNT,
			.credit_limit = OSSA_RING_ENTRIES,
			.timeout = msecs_to_jiffies(ossa_job_timeout_ms),
			.name = q->name,
			.dev = odev->drm.dev,
		};

		q->odev = odev;
		q->index = i;
		spin_lock_init(&q->lock);
		q->fence_context = dma_fence_context_alloc(1);
		snprintf(q->name, sizeof(q->name), "ossa-q%u", i);

		ret = drm_sched_init(&q->sched, &args);
		if (ret)
			return ret;
		ret = drmm_add_action_or_reset(&odev->drm, ossa_sched_fini, q);
		if (ret)
			return ret;
	}
	return 0;
}

/* SUBMIT */

static bool ossa_job_cmd_in_bo(struct ossa_job *job)
{
	u32 i;

	for (i = 0; i < job->bo_count; i++) {
		struct drm_mm_node *va = &job->maps[i]->va;
		u64 size = job->maps[i]->bo->base.base.size;

		if (job->cmd_va >= va->start &&
		    job->cmd_size <= size &&
		    job->cmd_va - va->start <= size - job->cmd_size)
			return true;
	}
	return false;
}

static int ossa_job_lookup_bos(struct ossa_job *job, struct drm_file *file,
			       const struct drm_ossa_job *args)
{
	struct drm_ossa_bo_ref *refs;
	u32 i, j;
	int ret = 0;

	refs = kvmalloc_array(args->bo_count, sizeof(*refs), GFP_KERNEL);
	job->maps = kvcalloc(args->bo_count, sizeof(*job->maps), GFP_KERNEL);
	job->bo_flags = kvmalloc_array(args->bo_count, sizeof(u32), GFP_KERNEL);
	if (!refs || !job->maps || !job->bo_flags) {
		ret = -ENOMEM;
		goto out;
	}
	job->bo_count = args->bo_count;
	if (copy_from_user(refs, u64_to_user_ptr(args->bos),
			   args->bo_count * sizeof(*refs))) {
		ret = -EFAULT;
		goto out;
	}

	for (i = 0; i < args->bo_count; i++) {
		u32 flags = refs[i].flags;
		struct drm_gem_object *obj;

		if (!flags || flags & ~(DRM_OSSA_BO_REF_READ | DRM_OSSA_BO_REF_WRITE)) {
			ret = -EINVAL;
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (refs[j].handle == refs[i].handle) {
				ret = -EINVAL;
				goto out;
			}
		}
		obj = drm_gem_object_lookup(file, refs[i].handle);
		if (!obj) {
			ret = -ENOENT;
			goto out;
		}
		job->maps[i] = ossa_bo_mapping_get(to_ossa_bo(obj), job->ctx);
		drm_gem_object_put(obj);
		if (!job->maps[i]) {
			ret = -ENOENT;
			goto out;
		}
		job->bo_flags[i] = flags;
	}
	if (!ossa_job_cmd_in_bo(job))
		ret = -EINVAL;
out:
	kvfree(refs);
	return ret;
}

static int ossa_job_add_syncobjs(struct ossa_job *job, struct drm_file *file,
				 const struct drm_ossa_job *args)
{
	u32 *handles;
	u32 i;
	int ret = 0;

	if (!args->in_syncobj_count)
		return 0;
	handles = kvmalloc_array(args->in_syncobj_count, sizeof(u32), GFP_KERNEL);
	if (!handles)
		return -ENOMEM;
	if (copy_from_user(handles, u64_to_user_ptr(args->in_syncobjs),
			   args->in_syncobj_count * sizeof(u32))) {
		ret = -EFAULT;
		goto out;
	}
	for (i = 0; i < args->in_syncobj_count && !ret; i++)
		ret = drm_sched_job_add_syncobj_dependency(&job->base, file,
							   handles[i], 0);
out:
	kvfree(handles);
	return ret;
}

/* Checks one job of a submission and gathers what it needs. */
static int ossa_job_create(struct drm_file *file,
			   const struct drm_ossa_job *args,
			   struct ossa_job **out)
{
	struct ossa_file *ofile = file->driver_priv;
	struct ossa_device *odev = ofile->odev;
	struct ossa_job *job;
	int ret;

	if (args->flags || args->pad || args->queue >= OSSA_NUM_QUEUES ||
	    !args->cmd_size || args->cmd_size % 8 ||
	    args->cmd_size > OSSA_CMD_SIZE_MAX || args->cmd_va % 8 ||
	    !args->bo_count || args->bo_count > OSSA_MAX_BO_REFS ||
	    args->in_syncobj_count > OSSA_MAX_IN_SYNCOBJS)
		return -EINVAL;

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		return -ENOMEM;
	atomic_inc(&odev->job_count);
	job->queue = &odev->queues[args->queue];
	job->ctx = ossa_ctx_get(ofile->ctx);
	job->cmd_va = args->cmd_va;
	job->cmd_size = args->cmd_size;

	ret = ossa_job_lookup_bos(job, file, args);
	if (ret)
		goto err_put;

	if (args->out_syncobj) {
		job->out_syncobj = drm_syncobj_find(file, args->out_syncobj);
		if (!job->out_syncobj) {
			ret = -ENOENT;
			goto err_put;
		}
	}

	ret = drm_sched_job_init(&job->base, &ofile->entities[args->queue], 1,
				 ofile, file->client_id);
	if (ret)
		goto err_put;
	ret = ossa_job_add_syncobjs(job, file, args);
	if (ret)
		goto err_cleanup;

	*out = job;
	return 0;

err_cleanup:
	ossa_job_discard(job);
	return ret;
err_put:
	ossa_job_put_resources(job);
	return ret;
}

/* Adds implicit dependencies, arms and queues a checked job. */
static int ossa_job_push(struct ossa_job *job)
{
	struct drm_gem_object **objs;
	struct ww_acquire_ctx ticket;
	u32 i;
	int ret;

	objs = kvmalloc_array(job->bo_count, sizeof(*objs), GFP_KERNEL);
	if (!objs)
		return -ENOMEM;
	for (i = 0; i < job->bo_count; i++)
		objs[i] = &job->maps[i]->bo->base.base;

	ret = drm_gem_lock_reservations(objs, job->bo_count, &ticket);
	if (ret)
		goto out;
	for (i = 0; i < job->bo_count && !ret; i++) {
		bool write = job->bo_flags[i] & DRM_OSSA_BO_REF_WRITE;

		ret = dma_resv_reserve_fences(objs[i]->resv, 1);
		if (!ret)
			ret = drm_sched_job_add_implicit_dependencies(&job->base,
								      objs[i],
								      write);
	}
	if (ret) {
		drm_gem_unlock_reservations(objs, job->bo_count, &ticket);
		goto out;
	}

	drm_sched_job_arm(&job->base);
	for (i = 0; i < job->bo_count; i++)
		dma_resv_add_fence(objs[i]->resv, &job->base.s_fence->finished,
				   job->bo_flags[i] & DRM_OSSA_BO_REF_WRITE ?
				   DMA_RESV_USAGE_WRITE : DMA_RESV_USAGE_READ);
	drm_gem_unlock_reservations(objs, job->bo_count, &ticket);

	if (job->out_syncobj)
		drm_syncobj_replace_fence(job->out_syncobj,
					  &job->base.s_fence->finished);
	drm_sched_entity_push_job(&job->base);
out:
	kvfree(objs);
	return ret;
}

static int ossa_submit_report(struct drm_ossa_submit *args, u32 index,
			      s32 status)
{
	u64 at = args->jobs + (u64)index * args->job_stride +
		 offsetof(struct drm_ossa_job, status);

	return put_user(status, (s32 __user *)u64_to_user_ptr(at)) ? -EFAULT : 0;
}

int ossa_submit_ioctl(struct drm_device *drm, void *data,
		      struct drm_file *file)
{
	struct ossa_file *ofile = file->driver_priv;
	struct drm_ossa_submit *args = data;
	struct ossa_job **jobs;
	int ret = 0, first = 0;
	u32 i;

	if (args->flags || args->pad || !args->job_count ||
	    args->job_count > OSSA_MAX_JOBS_PER_SUBMIT ||
	    args->job_stride < sizeof(struct drm_ossa_job))
		return -EINVAL;
	if (ossa_ctx_banned(ofile->ctx))
		return -ECANCELED;

	jobs = kcalloc(args->job_count, sizeof(*jobs), GFP_KERNEL);
	if (!jobs)
		return -ENOMEM;

	/* Check every job before queueing any. */
	for (i = 0; i < args->job_count; i++) {
		struct drm_ossa_job job_args;
		u64 at = args->jobs + (u64)i * args->job_stride;

		if (copy_from_user(&job_args, u64_to_user_ptr(at),
				   sizeof(job_args)))
			ret = -EFAULT;
		else
			ret = ossa_job_create(file, &job_args, &jobs[i]);
		if (ret && !first)
			first = ret;
		if (ossa_submit_report(args, i, ret) && !first)
			first = -EFAULT;
	}

	if (first) {
		for (i = 0; i < args->job_count; i++) {
			if (!jobs[i])
				continue;
			ossa_submit_report(args, i, -ECANCELED);
			ossa_job_discard(jobs[i]);
		}
		kfree(jobs);
		return first;
	}

	for (i = 0; i < args->job_count; i++) {
		ret = ossa_job_push(jobs[i]);
		if (ret) {
			/* Only -ENOMEM or a signal can get here: drop the rest. */
			for (; i < args->job_count; i++) {
				ossa_submit_report(args, i, ret);
				ossa_job_discard(jobs[i]);
			}
			break;
		}
	}
	kfree(jobs);
	return ret;
}
