// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: jobs on the device: their fences, scheduling, completion and recovery
 * (the SUBMIT ioctl that makes them is in ossa_submit.c)
 *
 * Each hardware queue has a drm_gpu_scheduler; each file has an entity on
 * each. A job's run writes its descriptor into the queue's ring and rings
 * the doorbell; the queue's interrupt completes it from the descriptor's
 * status (ossa_queue.c). A job that does not complete in time stops its
 * queue: it fails with -ETIMEDOUT, its context is banned, and the jobs
 * after it on that queue run; the other queue goes on untouched. No job
 * runs twice: drm_sched never runs a job again here.
 *
 * Locking: ossa_queue.lock (a spinlock, taken in the interrupt handler)
 * protects a ring. ossa_device.reset_lock serialises a queue's recovery
 * with a reset of the whole device; the timeout handlers of both queues
 * run one at a time on one ordered workqueue.
 *
 * Copyright (c) 2026 The ossa developers
 */

#include <linux/dma-fence.h>
#include <linux/dma-fence-chain.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/wait_bit.h>
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
#include "ossa_queue.h"

/* How often the device's release says it still waits for jobs. */
#define OSSA_JOBS_WAIT_WARN	(10 * HZ)

/* Longest job_timeout_ms: ten minutes. */
#define OSSA_JOB_TIMEOUT_MAX_MS	600000

static unsigned int ossa_job_timeout_ms = 2000;

/* 0 would time every job out at once: refused, as is above the maximum. */
static int ossa_job_timeout_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, OSSA_JOB_TIMEOUT_MAX_MS);
}

static const struct kernel_param_ops ossa_job_timeout_ops = {
	.set = ossa_job_timeout_set,
	.get = param_get_uint,
};

module_param_cb(job_timeout_ms, &ossa_job_timeout_ops, &ossa_job_timeout_ms,
		0444);
MODULE_PARM_DESC(job_timeout_ms,
		 "time a job may run before it is stopped and fails (ms, 1 to 600000)");

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
	return container_of(fence, struct ossa_fence, base)->queue->name;
}

static const struct dma_fence_ops ossa_fence_ops = {
	.get_driver_name = ossa_fence_driver_name,
	.get_timeline_name = ossa_fence_timeline_name,
};

/*
 * Makes the job's hardware fence, in memory allocated at SUBMIT: nothing
 * on the way to the device allocates. A job put on the ring gets the next
 * seqno of the queue's timeline, whose fences signal in order as the ring
 * completes; one that does not run signals at once, before jobs ahead of
 * it on the ring, so it gets a timeline of its own. Called with q->lock
 * held.
 */
static struct dma_fence *ossa_job_fence_init(struct ossa_job *job, bool runs)
{
	struct ossa_queue *q = job->queue;
	struct dma_fence *fence = &job->fence_mem->base;

	job->fence_mem->queue = q;
	job->fence_mem = NULL;
	if (runs)
		dma_fence_init(fence, &ossa_fence_ops, &q->lock,
			       q->fence_context, ++q->seqno);
	else
		dma_fence_init(fence, &ossa_fence_ops, &q->lock,
			       dma_fence_context_alloc(1), 1);
	job->hw_fence = dma_fence_get(fence);
	return fence;
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
	int error = 0;
	int idx;

	/* A job that does not run gets a fence that has failed. */
	if (sched_job->s_fence->finished.error || ossa_ctx_banned(job->ctx))
		error = -ECANCELED;
	else if (!drm_dev_enter(&odev->drm, &idx))
		error = -ENODEV;

	spin_lock_irqsave(&q->lock, flags);
	fence = ossa_job_fence_init(job, !error);
	if (error) {
		dma_fence_set_error(fence, error);
		dma_fence_signal_locked(fence);
	} else {
		ossa_queue_push_locked(q, job);
	}
	spin_unlock_irqrestore(&q->lock, flags);

	if (!error)
		drm_dev_exit(idx);
	return fence;
}

static const char *const ossa_recovery_what[] = {
	[OSSA_RECOVERY_TIMEOUT] = "a job timed out; its context is banned",
	[OSSA_RECOVERY_QUEUE_ERROR] = "it had stopped on a queue error; the job it ran failed",
	[OSSA_RECOVERY_LATE] = "the job completed as it timed out; the next one, stopped, failed",
};

static enum drm_gpu_sched_stat ossa_job_timedout(struct drm_sched_job *sched_job)
{
	struct ossa_job *job = to_ossa_job(sched_job);
	struct ossa_queue *q = job->queue;
	struct ossa_device *odev = q->odev;
	enum ossa_recovery found;
	int idx;

	/*
	 * Unplugged: the job failed with -ENODEV (ossa_queue_fail_all()), or
	 * will before the device is gone; drm_sched frees it then.
	 */
	if (!drm_dev_enter(&odev->drm, &idx))
		return DRM_GPU_SCHED_STAT_NO_HANG;
	mutex_lock(&odev->reset_lock);
	found = ossa_queue_recover(q, job);
	if (found != OSSA_RECOVERY_NONE)
		drm_warn(&odev->drm, "%s recovered: %s (context %u)\n", q->name,
			 ossa_recovery_what[found], job->ctx->id);
	mutex_unlock(&odev->reset_lock);
	drm_dev_exit(idx);
	/*
	 * The device was not reset, and the job's hardware fence is signalled
	 * (failed or completed): drm_sched keeps it to free it.
	 */
	return DRM_GPU_SCHED_STAT_NO_HANG;
}

/**
 * ossa_job_release() - drop what a job holds and free it
 * @job: a job whose scheduler part is cleaned up, or was never set up
 */
void ossa_job_release(struct ossa_job *job)
{
	struct ossa_device *odev = job->queue->odev;
	u32 i;

	for (i = 0; i < job->bo_count; i++)
		if (job->maps[i])
			ossa_bo_mapping_put(job->maps[i]);
	kvfree(job->maps);
	kvfree(job->bo_flags);
	for (i = 0; i < job->signal_count; i++) {
		drm_syncobj_put(job->signals[i].syncobj);
		dma_fence_chain_free(job->signals[i].chain);
	}
	kvfree(job->signals);
	kfree(job->fence_mem);
	dma_fence_put(job->hw_fence);
	/*
	 * Neither a context nor a mapping holds the device: the device's
	 * release is never run from here, where it would wait for this job.
	 */
	ossa_ctx_put(job->ctx);
	kfree(job);
	/* The device's release may be waiting for its last job. */
	if (atomic_dec_and_test(&odev->job_count))
		wake_up_var(&odev->job_count);
}

/**
 * ossa_job_discard() - drop a job that was never queued
 * @job: a job set up with drm_sched_job_init(), armed or not, never pushed
 *	and with no fence published
 *
 * drm_sched asks that an armed job be pushed. A failed SUBMIT drops the
 * jobs it armed instead, as panthor does: their scheduler fences were
 * never published (no BO or syncobj holds them; only later jobs of the
 * same batch, dropped with them, hold them as dependencies), so nothing
 * waits on them or has a callback on them, and drm_sched_job_cleanup()
 * puts them.
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

static void ossa_timeout_wq_destroy(struct drm_device *drm, void *arg)
{
	destroy_workqueue(arg);
}

static void ossa_sched_fini(struct drm_device *drm, void *arg)
{
	struct ossa_queue *q = arg;

	drm_sched_fini(&q->sched);
}

/*
 * Jobs outlive the files that made them and the device's removal:
 * drm_sched frees a job on a scheduler's pending list from the scheduler's
 * work once its fence has signalled, and a job whose entity dropped it
 * (drm_sched_entity_kill(), when its process was killed) from system_wq
 * once its dependencies have signalled, which may be fences of other
 * drivers. Both free it through its scheduler, and it holds its context
 * and mappings: the device's release waits here for the last job to be
 * freed, before the schedulers and the rest of the device go. Every fence
 * of this device has signalled by then (ossa_unplug()), so the wait ends
 * once the last foreign fence a dropped job waits for has signalled; it
 * blocks whoever drops the last reference to the device (the unbind, the
 * last close of a file or of an exported buffer) until then.
 */
static void ossa_jobs_wait(struct drm_device *drm, void *arg)
{
	struct ossa_device *odev = arg;

	while (!wait_var_event_timeout(&odev->job_count,
				       !atomic_read(&odev->job_count),
				       OSSA_JOBS_WAIT_WARN))
		drm_warn(drm, "release waits for %d job(s) still waiting on fences of other drivers\n",
			 atomic_read(&odev->job_count));
}

/**
 * ossa_sched_init() - set up the queues and their schedulers
 * @odev: the device
 *
 * Return: 0 or a negative errno.
 */
int ossa_sched_init(struct ossa_device *odev)
{
	struct workqueue_struct *timeout_wq;
	unsigned int i;
	int ret;

	/* Before the schedulers, so that it is destroyed after them. */
	timeout_wq = alloc_ordered_workqueue("ossa-timeout", 0);
	if (!timeout_wq)
		return -ENOMEM;
	ret = drmm_add_action_or_reset(&odev->drm, ossa_timeout_wq_destroy,
				       timeout_wq);
	if (ret)
		return ret;

	for (i = 0; i < OSSA_NUM_QUEUES; i++) {
		struct ossa_queue *q = &odev->queues[i];
		struct drm_sched_init_args args = {
			.ops = &ossa_sched_ops,
			.timeout_wq = timeout_wq,
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
	/* After the schedulers, so that it runs before they are finished. */
	return drmm_add_action_or_reset(&odev->drm, ossa_jobs_wait, odev);
}
