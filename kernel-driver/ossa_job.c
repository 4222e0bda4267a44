// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: jobs on the device: their fences, scheduling, completion and recovery
 * (the SUBMIT ioctl that makes them is in ossa_submit.c)
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

/**
 * ossa_job_release() - drop what a job holds and free it
 * @job: a job whose scheduler part is cleaned up, or was never set up
 */
void ossa_job_release(struct ossa_job *job)
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

/**
 * ossa_job_discard() - drop a job that was never queued
 * @job: a job set up with drm_sched_job_init(), armed or not, never pushed
 *	and with no fence published
 */
void ossa_job_discard(struct ossa_job *job)
{
	drm_sched_job_cleanup(&job->base);
	ossa_job_release(job);
}

static void ossa_job_free(struct drm_sched_job *sched_job)
{
	struct ossa_job *job = to_ossa_job(sched_job);

	drm_sched_job_cleanup(sched_job);
	ossa_job_release(job);
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
