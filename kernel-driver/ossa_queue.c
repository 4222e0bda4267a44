// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: the hardware queues' rings: pushing jobs, completing them, and
 * recovering a queue or the whole device without running a job twice
 *
 * A queue runs its ring's jobs in order, one at a time (datasheet,
 * 5.1): when a queue is stopped, the jobs below Q_HEAD are complete, the
 * job at Q_HEAD may have started (it is abandoned, its effects so far
 * remain), and the jobs after it have not started. Recovery therefore
 * completes the first, fails the second, and writes the third into the
 * ring again with their existing hardware fences: no job runs twice, and
 * a job that did not start is not lost (uapi guide, "Recovery").
 *
 * Locking: ossa_queue.lock protects a ring (indices, slots, the queue's
 * registers other than reads of Q_HEAD and Q_STATUS) and is the lock of
 * the queue's hardware fences; it is taken in interrupt handlers, so
 * everything here runs with interrupts off and does not sleep.
 *
 * Copyright (c) 2026 The ossa developers
 */

#include <linux/dma-fence.h>
#include <linux/string.h>
#include <drm/drm_print.h>

#include "ossa_ctx.h"
#include "ossa_drv.h"
#include "ossa_job.h"
#include "ossa_queue.h"

/* Writes @job's descriptor in slot @index of the ring. */
static void ossa_queue_write_desc(struct ossa_queue *q, u32 index,
				  struct ossa_job *job)
{
	u32 slot = index % OSSA_RING_ENTRIES;

	q->ring[slot] = (struct ossa_desc) {
		.flags = cpu_to_le32(OSSA_DESC_FLAG_IRQ),
		.context = cpu_to_le32(job->ctx->id),
		.cmd_addr = cpu_to_le64(job->cmd_va),
		.cmd_size = cpu_to_le32(job->cmd_size),
		.user_data = cpu_to_le64(job->hw_fence->seqno),
	};
	q->jobs[slot] = job;
}

/**
 * ossa_queue_push_locked() - put a job on the ring and ring the doorbell
 * @q: the queue, its lock held
 * @job: the job, its hardware fence set
 *
 * The scheduler's credit limit keeps the ring from overflowing. While the
 * queue is stopped for a reset, the doorbell waits for the restart.
 */
void ossa_queue_push_locked(struct ossa_queue *q, struct ossa_job *job)
{
	struct dma_fence **last = &job->ctx->ring_fence[q->index];

	lockdep_assert_held(&q->lock);
	ossa_queue_write_desc(q, q->tail, job);
	q->tail++;
	/* A ring completes in order: this fence stands for all before it. */
	dma_fence_put(*last);
	*last = dma_fence_get(job->hw_fence);
	/* writel() orders the descriptor's stores before the doorbell. */
	if (!q->stopped)
		ossa_queue_reg_write(q, OSSA_REG_Q_TAIL, q->tail);
}

/* Signals @job's hardware fence, with @error unless it is 0. */
static void ossa_queue_signal(struct ossa_job *job, int error)
{
	if (error)
		dma_fence_set_error(job->hw_fence, error);
	dma_fence_signal_locked(job->hw_fence);
}

/* The fence error for a job status of the device (datasheet, 5.4). */
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
	/* The driver invalidates the entry of a banned context only. */
	case OSSA_JOB_INVALID_CONTEXT:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

/*
 * Completes the jobs below Q_HEAD from their descriptors; nothing while
 * the queue is stopped, when Q_HEAD may have been reset.
 */
static void ossa_queue_harvest_locked(struct ossa_queue *q)
{
	u32 head;

	if (q->stopped)
		return;
	head = ossa_queue_reg_read(q, OSSA_REG_Q_HEAD);
	/*
	 * HEAD never passes TAIL (datasheet, 5.1): a value outside the
	 * driver's head..tail is not the running device's (all ones: it is
	 * gone; or a reset the driver did not make), and completes nothing.
	 */
	if (head - q->head > q->tail - q->head)
		return;
	/* Read the descriptors' results only after HEAD says they are there. */
	dma_rmb();
	while (q->head != head) {
		u32 slot = q->head % OSSA_RING_ENTRIES;
		struct ossa_job *job = q->jobs[slot];
		u32 status = le32_to_cpu(q->ring[slot].status);
		u64 start = le64_to_cpu(q->ring[slot].start_ns);
		u64 end = le64_to_cpu(q->ring[slot].end_ns);

		q->jobs[slot] = NULL;
		q->head++;
		/* A device that wrote no times (or went back) adds nothing. */
		if (end > start)
			atomic64_add(end - start, &job->ctx->busy_ns[q->index]);
		if (status == OSSA_JOB_MMU_FAULT)
			ossa_ctx_ban(job->ctx);
		ossa_queue_signal(job, ossa_error_from_hw_status(status));
	}
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

	spin_lock_irqsave(&q->lock, flags);
	ossa_queue_harvest_locked(q);
	spin_unlock_irqrestore(&q->lock, flags);
}

/*
 * Stops the queue: completes what it finished, and fails the job it was
 * running, which is not run again: with @error if it is the job @guilty,
 * whose context is then banned, else with -EIO (a reset or queue error it
 * did not cause stopped it). Returns the job that was failed, or NULL if the queue was idle.
 */
static struct ossa_job *ossa_queue_stop_locked(struct ossa_queue *q,
					       struct ossa_job *guilty,
					       int error)
{
	struct ossa_job *job;
	u32 slot;

	ossa_queue_reg_write(q, OSSA_REG_Q_CONTROL, 0);
	/* Q_HEAD keeps its value until the queue is enabled again. */
	ossa_queue_harvest_locked(q);
	q->stopped = true;
	if (q->head == q->tail)
		return NULL;

	slot = q->head % OSSA_RING_ENTRIES;
	job = q->jobs[slot];
	q->jobs[slot] = NULL;
	q->head++;
	/*
	 * Banned before the restart, so that its later jobs do not run, and
	 * before its fence signals, so that a waiter's next SUBMIT is refused.
	 */
	if (job == guilty)
		ossa_ctx_ban(job->ctx);
	ossa_queue_signal(job, job == guilty ? error : -EIO);
	return job;
}

/* Reverses the job slots [@from, @to). */
static void ossa_queue_reverse_slots(struct ossa_queue *q, u32 from, u32 to)
{
	for (; from + 1 < to; from++, to--)
		swap(q->jobs[from], q->jobs[to - 1]);
}

/*
 * Enables the stopped queue again (the device sets Q_HEAD = Q_TAIL = 0)
 * and writes the jobs that were after the one it ran into the ring again,
 * from slot 0, in their order, with their hardware fences. The jobs of a
 * banned context among them complete without running (ossa_ctx_ban()).
 */
static void ossa_queue_restart_locked(struct ossa_queue *q)
{
	u32 first = q->head % OSSA_RING_ENTRIES;
	u32 i, n = q->tail - q->head;

	/* Rotate the slots in place so that the first job is in slot 0. */
	ossa_queue_reverse_slots(q, 0, first);
	ossa_queue_reverse_slots(q, first, OSSA_RING_ENTRIES);
	ossa_queue_reverse_slots(q, 0, OSSA_RING_ENTRIES);

	ossa_queue_reg_write(q, OSSA_REG_Q_CONTROL, OSSA_Q_CONTROL_ENABLE);
	q->head = 0;
	q->tail = 0;
	q->stopped = false;
	for (i = 0; i < n; i++)
		ossa_queue_write_desc(q, q->tail++, q->jobs[i]);
	if (q->tail)
		ossa_queue_reg_write(q, OSSA_REG_Q_TAIL, q->tail);
}

/* Q_STATUS says the queue stopped on an error, and the device is there. */
static bool ossa_queue_in_error(struct ossa_queue *q)
{
	u32 status = ossa_queue_reg_read(q, OSSA_REG_Q_STATUS);

	return status != U32_MAX && (status & OSSA_Q_STATUS_ERROR);
}

/**
 * ossa_queue_recover() - recover a queue whose job timed out
 * @q: the queue
 * @job: the job the scheduler timed out
 *
 * If the queue stopped on a queue error (whose interrupt may have been
 * lost), the job it ran fails with -EIO and no context is banned. Else, if
 * @job has completed meanwhile, nothing is done. Else the queue is
 * stopped: @job, which the queue was running, fails with -ETIMEDOUT and
 * its context is banned. Either way the jobs queued after the stopped one
 * run as if nothing happened, and the other queue is not touched. Called
 * from the timeout handler, with &ossa_device.reset_lock held; does not
 * sleep.
 *
 * Return: what was found.
 */
enum ossa_recovery ossa_queue_recover(struct ossa_queue *q,
				      struct ossa_job *job)
{
	enum ossa_recovery found = OSSA_RECOVERY_NONE;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	if (ossa_queue_in_error(q)) {
		/* Counted before a fence signals: its waiter sees the count. */
		atomic_inc(&q->odev->recovery_count);
		ossa_queue_stop_locked(q, NULL, 0);
		ossa_queue_restart_locked(q);
		found = OSSA_RECOVERY_QUEUE_ERROR;
		goto out;
	}
	/* A job that completed just as its time ran out is not blamed. */
	ossa_queue_harvest_locked(q);
	if (!job->hw_fence || dma_fence_is_signaled_locked(job->hw_fence))
		goto out;

	atomic_inc(&q->odev->recovery_count);
	if (ossa_queue_stop_locked(q, job, -ETIMEDOUT) == job)
		found = OSSA_RECOVERY_TIMEOUT;
	else
		found = OSSA_RECOVERY_LATE;
	ossa_queue_restart_locked(q);
out:
	spin_unlock_irqrestore(&q->lock, flags);
	return found;
}

/**
 * ossa_queue_recover_error() - restart a queue that stopped on an error
 * @q: the queue
 * @status: where its status register is stored
 *
 * A queue error (datasheet, 5.2) is the driver's or the bus's
 * doing, not a job's: the job the queue was running fails with -EIO, no
 * context is banned, and the jobs after it run. Called from the interrupt
 * handler; a queue stopped for a device reset, or restarted already by
 * the job timeout, is left alone.
 *
 * Return: true if the queue was restarted here; @status is then its
 * status before the restart.
 */
bool ossa_queue_recover_error(struct ossa_queue *q, u32 *status)
{
	unsigned long flags;
	bool recovered;

	spin_lock_irqsave(&q->lock, flags);
	*status = ossa_queue_reg_read(q, OSSA_REG_Q_STATUS);
	recovered = !q->stopped && ossa_queue_in_error(q);
	if (recovered) {
		/* Counted before a fence signals: its waiter sees the count. */
		atomic_inc(&q->odev->recovery_count);
		ossa_queue_stop_locked(q, NULL, 0);
		ossa_queue_restart_locked(q);
	}
	spin_unlock_irqrestore(&q->lock, flags);
	return recovered;
}

/**
 * ossa_queue_stop() - stop a queue for a device reset
 * @q: the queue
 *
 * The job it was running fails with -EIO; jobs pushed until
 * ossa_queue_restart() wait on the ring.
 */
void ossa_queue_stop(struct ossa_queue *q)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	ossa_queue_stop_locked(q, NULL, 0);
	spin_unlock_irqrestore(&q->lock, flags);
}

/**
 * ossa_queue_restart() - start a queue after a device reset
 * @q: the queue, its base and size programmed
 *
 * The jobs on its ring that had not started run now.
 */
void ossa_queue_restart(struct ossa_queue *q)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	ossa_queue_restart_locked(q);
	spin_unlock_irqrestore(&q->lock, flags);
}

/**
 * ossa_queue_ctx_fence() - the fence of a context's last job on the ring
 * @q: the queue
 * @ctx: the context
 *
 * Once it has signalled, no job of @ctx put on the ring before this call
 * runs on @q any more.
 *
 * Return: a reference to the fence, or NULL if @ctx never had a job on @q.
 */
struct dma_fence *ossa_queue_ctx_fence(struct ossa_queue *q,
				       struct ossa_ctx *ctx)
{
	struct dma_fence *fence;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	fence = dma_fence_get(ctx->ring_fence[q->index]);
	spin_unlock_irqrestore(&q->lock, flags);
	return fence;
}

/**
 * ossa_queue_fail_all() - stop a queue for good and fail every job on it
 * @q: the queue of a device that is going away
 *
 * The jobs the queue finished complete with their status; the others,
 * started or not, fail with -ENODEV. Nothing is put on the ring again:
 * run_job no longer gets past drm_dev_enter().
 */
void ossa_queue_fail_all(struct ossa_queue *q)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	if (!q->stopped)
		ossa_queue_reg_write(q, OSSA_REG_Q_CONTROL, 0);
	ossa_queue_harvest_locked(q);
	q->stopped = true;
	while (q->head != q->tail) {
		u32 slot = q->head++ % OSSA_RING_ENTRIES;

		ossa_queue_signal(q->jobs[slot], -ENODEV);
		q->jobs[slot] = NULL;
	}
	spin_unlock_irqrestore(&q->lock, flags);
}
