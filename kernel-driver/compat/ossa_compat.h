/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ossa: what the driver uses of the newest kernel's interfaces, for older
 * kernels. Not part of the driver that goes upstream (docs/upstream.md):
 * the out-of-tree Makefile force-includes this header into every file of
 * the driver, so that the driver's own files are written once, against
 * the newest interfaces. What it covers, each part where the kernel's
 * headers show it is needed:
 * - DRM_GPU_SCHED_STAT_NO_HANG (6.17) and, with it,
 *   MODULE_IMPORT_NS() taking a string (6.13): OSSA_COMPAT_SCHED_STAT,
 *   set by the Makefile when drm_sched lacks that value;
 * - kzalloc_obj() and kzalloc_objs() (7.0): where slab.h has no such
 *   macro;
 * - the core's refusal of GET_UNIQUE and GET_MAGIC to files of accel
 *   nodes (linux-fixes/, in no released kernel yet):
 *   OSSA_COMPAT_MASTER_IOCTLS, set by the Makefile unless LINUX_FIXES=y
 *   says the kernel has the fix.
 * The driver needs no &drm_sched_backend_ops.cancel_job (6.17): its
 * schedulers are finished only once every job is freed (ossa_jobs_wait()).
 *
 * Copyright (c) 2026 The ossa developers
 */
#ifndef __OSSA_COMPAT_H__
#define __OSSA_COMPAT_H__

#include <linux/list.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <drm/drm_accel.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/gpu_scheduler.h>

#ifdef OSSA_COMPAT_SCHED_STAT
/*
 * DRM_GPU_SCHED_STAT_NO_HANG: the timeout handler did not reset the
 * device; the job goes back on the scheduler's pending list, which is
 * where drm_sched frees it once its fence has signalled. Older schedulers
 * forget the job instead, so the driver's timeout handler is wrapped and
 * does, for this value, what drm_sched_job_reinsert_on_false_timeout()
 * does in 6.17.
 */
#define DRM_GPU_SCHED_STAT_NO_HANG \
	((enum drm_gpu_sched_stat)(DRM_GPU_SCHED_STAT_ENODEV + 1))

/* The driver's own ops: one driver, one set of scheduler ops. */
static inline const struct drm_sched_backend_ops **ossa_compat_driver_ops(void)
{
	static const struct drm_sched_backend_ops *ops;

	return &ops;
}

static inline enum drm_gpu_sched_stat
ossa_compat_timedout_job(struct drm_sched_job *job)
{
	struct drm_gpu_scheduler *sched = job->sched;
	enum drm_gpu_sched_stat stat;
	struct drm_sched_job *first;

	stat = (*ossa_compat_driver_ops())->timedout_job(job);
	if (stat != DRM_GPU_SCHED_STAT_NO_HANG)
		return stat;

	spin_lock(&sched->job_list_lock);
	list_add(&job->list, &sched->pending_list);
	first = list_first_entry(&sched->pending_list, struct drm_sched_job,
				 list);
	/* Its fence may have signalled while it was off the list. */
	if (dma_fence_is_signaled(&first->s_fence->finished) &&
	    !READ_ONCE(sched->pause_submit))
		queue_work(sched->submit_wq, &sched->work_free_job);
	spin_unlock(&sched->job_list_lock);
	return DRM_GPU_SCHED_STAT_NOMINAL;
}

static inline int ossa_compat_sched_init(struct drm_gpu_scheduler *sched,
					 const struct drm_sched_init_args *args)
{
	static struct drm_sched_backend_ops ops;
	struct drm_sched_init_args wrapped = *args;

	/* Filled by the first scheduler's init, before any can time out. */
	if (!*ossa_compat_driver_ops()) {
		*ossa_compat_driver_ops() = args->ops;
		ops = *args->ops;
		ops.timedout_job = ossa_compat_timedout_job;
	}
	wrapped.ops = &ops;
	return (drm_sched_init)(sched, &wrapped);
}

#define drm_sched_init(sched, args) ossa_compat_sched_init(sched, args)

/* The namespace as a string, as from 6.13 on. */
#undef MODULE_IMPORT_NS
#define MODULE_IMPORT_NS(ns) MODULE_INFO(import_ns, ns)
#endif /* OSSA_COMPAT_SCHED_STAT */

#ifndef kzalloc_obj
/* As the driver uses them: without a GFP argument, which means GFP_KERNEL. */
#define kzalloc_obj(P) kzalloc(sizeof(P), GFP_KERNEL)
#define kzalloc_objs(P, COUNT) kcalloc(COUNT, sizeof(P), GFP_KERNEL)
#endif

#ifdef OSSA_COMPAT_MASTER_IOCTLS
/*
 * GET_UNIQUE and GET_MAGIC read the file's DRM master. Files of an accel
 * node have none, yet the core lets any file call these two (their flags
 * are 0) and dereferences the missing master. linux-fixes/ makes the core
 * refuse them with -EACCES; on a kernel without that fix the driver's file
 * operations refuse them the same way. They are matched by number alone,
 * as drm_ioctl() matches them: a caller's size and direction bits do not
 * change which handler runs.
 */
static inline bool ossa_compat_needs_master(unsigned int cmd)
{
	unsigned int nr = _IOC_NR(cmd);

	return _IOC_TYPE(cmd) == DRM_IOCTL_BASE &&
	       (nr == _IOC_NR(DRM_IOCTL_GET_UNIQUE) ||
		nr == _IOC_NR(DRM_IOCTL_GET_MAGIC));
}

static inline long ossa_compat_ioctl(struct file *filp, unsigned int cmd,
				     unsigned long arg)
{
	if (ossa_compat_needs_master(cmd))
		return -EACCES;
	return drm_ioctl(filp, cmd, arg);
}

#ifdef CONFIG_COMPAT
static inline long ossa_compat_compat_ioctl(struct file *filp,
					    unsigned int cmd,
					    unsigned long arg)
{
	if (ossa_compat_needs_master(cmd))
		return -EACCES;
	return drm_compat_ioctl(filp, cmd, arg);
}
#else
#define ossa_compat_compat_ioctl NULL
#endif

/* DRM_ACCEL_FOPS, but for the two ioctl entries. */
#undef DRM_ACCEL_FOPS
#define DRM_ACCEL_FOPS \
	.open = accel_open, \
	.release = drm_release, \
	.unlocked_ioctl = ossa_compat_ioctl, \
	.compat_ioctl = ossa_compat_compat_ioctl, \
	.poll = drm_poll, \
	.read = drm_read, \
	.llseek = noop_llseek, \
	.mmap = drm_gem_mmap, \
	.fop_flags = FOP_UNSIGNED_OFFSET
#endif /* OSSA_COMPAT_MASTER_IOCTLS */

#endif /* __OSSA_COMPAT_H__ */
