// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: the SUBMIT ioctl
 *
 * A submission is all or nothing. In order:
 *   1. every job is checked and gathers its BOs, syncobjs and explicit
 *      dependencies (ossa_job_create());
 *   2. every BO of the batch is locked once and gets a fence slot for each
 *      job that lists it; a signal can interrupt only this step;
 *   3. under the file's submit_lock, each job in turn gets its implicit
 *      dependencies (fences already on its BOs, and the jobs of the batch
 *      before it on the other queue that it must follow) and is armed;
 *   4. only then is anything published: the fences go to the BOs and the
 *      out-syncobjs; the BOs are unlocked, and the jobs are pushed, in
 *      array order. Nothing in this step can fail. The BOs are unlocked
 *      before the first push: a pushed job can finish and drop the last
 *      reference to a BO that another thread closed meanwhile.
 * A failure in steps 1-3 drops every job, armed or not, before any fence
 * was published or any job queued.
 *
 * Ordering: drm_sched and dma_resv take a later fence of a fence context to
 * stand for the earlier ones. Holding ossa_file.submit_lock from the first
 * arm to the last push makes the jobs of a file reach each queue in the
 * order of their fences, however many threads submit on the file.
 *
 * Locking: the BOs' reservation locks (ww) are taken before submit_lock;
 * they are released, still under submit_lock, before the first push.
 *
 * Copyright (c) 2026 The ossa developers
 */

#include <linux/bsearch.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_syncobj.h>
#include <uapi/drm/ossa_accel.h>

#include "ossa_ctx.h"
#include "ossa_drv.h"
#include "ossa_gem.h"
#include "ossa_job.h"

#define OSSA_MAX_BO_REFS	256
#define OSSA_MAX_IN_SYNCOBJS	64

/* Checking one job */

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

	job = kzalloc_obj(*job);
	if (!job)
		return -ENOMEM;
	atomic_inc(&odev->job_count);
	job->queue = &odev->queues[args->queue];
	job->ctx = ossa_ctx_get(ofile->ctx);
	job->cmd_va = args->cmd_va;
	job->cmd_size = args->cmd_size;
	/* run_job, on the way to the device, must not allocate. */
	job->fence_mem = kzalloc_obj(*job->fence_mem);
	if (!job->fence_mem) {
		ret = -ENOMEM;
		goto err_put;
	}

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
	ossa_job_release(job);
	return ret;
}

/* The batch */

/**
 * struct ossa_batch_bo - one BO of a batch, however many jobs list it
 * @obj: the BO
 * @refs: the jobs of the batch that list it
 * @writer: per queue, the index + 1 of the latest job so far that writes it
 *	(0: none)
 * @reader: the same for jobs that only read it
 */
struct ossa_batch_bo {
	struct drm_gem_object *obj;
	u32 refs;
	u32 writer[OSSA_NUM_QUEUES];
	u32 reader[OSSA_NUM_QUEUES];
};

/**
 * struct ossa_batch - the jobs of one SUBMIT, checked
 * @jobs: the jobs, in array order
 * @count: entries in @jobs
 * @bos: each BO of the batch once, sorted by address
 * @nbos: entries in @bos
 * @objs: the BOs of @bos again, for drm_gem_lock_reservations()
 * @ticket: the reservation locks' acquire context
 */
struct ossa_batch {
	struct ossa_job **jobs;
	u32 count;
	struct ossa_batch_bo *bos;
	struct drm_gem_object **objs;
	u32 nbos;
	struct ww_acquire_ctx ticket;
};

static struct drm_gem_object *ossa_job_obj(struct ossa_job *job, u32 i)
{
	return &job->maps[i]->bo->base.base;
}

static int ossa_batch_bo_cmp(const void *a, const void *b)
{
	const struct ossa_batch_bo *x = a, *y = b;

	return x->obj < y->obj ? -1 : x->obj > y->obj;
}

static struct ossa_batch_bo *ossa_batch_find(struct ossa_batch *b,
					     struct drm_gem_object *obj)
{
	struct ossa_batch_bo key = { .obj = obj };

	return bsearch(&key, b->bos, b->nbos, sizeof(key), ossa_batch_bo_cmp);
}

/* Each BO of the batch once, with the number of jobs that list it. */
static int ossa_batch_gather_bos(struct ossa_batch *b)
{
	u32 i, j, refs = 0, n = 0;

	for (i = 0; i < b->count; i++)
		refs += b->jobs[i]->bo_count;
	b->bos = kvcalloc(refs, sizeof(*b->bos), GFP_KERNEL);
	if (!b->bos)
		return -ENOMEM;
	for (i = 0; i < b->count; i++) {
		for (j = 0; j < b->jobs[i]->bo_count; j++)
			b->bos[n++].obj = ossa_job_obj(b->jobs[i], j);
	}
	sort(b->bos, refs, sizeof(*b->bos), ossa_batch_bo_cmp, NULL);

	for (i = 0, n = 0; i < refs; i++) {
		if (n && b->bos[n - 1].obj == b->bos[i].obj) {
			b->bos[n - 1].refs++;
			continue;
		}
		b->bos[n] = b->bos[i];
		b->bos[n++].refs = 1;
	}
	b->nbos = n;

	b->objs = kvmalloc_array(n, sizeof(*b->objs), GFP_KERNEL);
	if (!b->objs)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		b->objs[i] = b->bos[i].obj;
	return 0;
}

/*
 * Locks every BO of the batch and reserves a fence slot per job that lists
 * it. Interruptible; on failure nothing is locked.
 */
static int ossa_batch_lock(struct ossa_batch *b)
{
	u32 i;
	int ret;

	ret = drm_gem_lock_reservations(b->objs, b->nbos, &b->ticket);
	if (ret)
		return ret;
	for (i = 0; i < b->nbos; i++) {
		ret = dma_resv_reserve_fences(b->objs[i]->resv, b->bos[i].refs);
		if (ret) {
			drm_gem_unlock_reservations(b->objs, b->nbos, &b->ticket);
			return ret;
		}
	}
	return 0;
}

/*
 * The implicit dependencies of job @k: the fences its BOs held before this
 * batch, and the latest earlier job of the batch on each other queue that
 * must run before it (a writer of a BO it uses, or a reader of a BO it
 * writes). Earlier jobs on its own queue run before it anyway. The earlier
 * jobs are armed.
 */
static int ossa_batch_add_deps(struct ossa_batch *b, u32 k)
{
	struct ossa_job *job = b->jobs[k];
	u32 after[OSSA_NUM_QUEUES] = {};
	u32 i, q, own = job->queue->index;
	int ret;

	for (i = 0; i < job->bo_count; i++) {
		bool write = job->bo_flags[i] & DRM_OSSA_BO_REF_WRITE;
		struct ossa_batch_bo *bo = ossa_batch_find(b, ossa_job_obj(job, i));

		ret = drm_sched_job_add_implicit_dependencies(&job->base, bo->obj,
							      write);
		if (ret)
			return ret;
		for (q = 0; q < OSSA_NUM_QUEUES; q++) {
			after[q] = max(after[q], bo->writer[q]);
			if (write)
				after[q] = max(after[q], bo->reader[q]);
		}
	}
	for (q = 0; q < OSSA_NUM_QUEUES; q++) {
		struct dma_fence *fence;

		if (q == own || !after[q])
			continue;
		fence = dma_fence_get(&b->jobs[after[q] - 1]->base.s_fence->finished);
		ret = drm_sched_job_add_dependency(&job->base, fence);
		if (ret)
			return ret;
	}
	return 0;
}

/* Records armed job @k as the latest user of its BOs. */
static void ossa_batch_note(struct ossa_batch *b, u32 k)
{
	struct ossa_job *job = b->jobs[k];
	u32 i, q = job->queue->index;

	for (i = 0; i < job->bo_count; i++) {
		struct ossa_batch_bo *bo = ossa_batch_find(b, ossa_job_obj(job, i));

		if (job->bo_flags[i] & DRM_OSSA_BO_REF_WRITE)
			bo->writer[q] = k + 1;
		else
			bo->reader[q] = k + 1;
	}
}

/* Publishes the fence of armed job @k: nothing here can fail. */
static void ossa_batch_publish(struct ossa_batch *b, u32 k)
{
	struct ossa_job *job = b->jobs[k];
	struct dma_fence *done = &job->base.s_fence->finished;
	u32 i;

	for (i = 0; i < job->bo_count; i++)
		dma_resv_add_fence(ossa_job_obj(job, i)->resv, done,
				   job->bo_flags[i] & DRM_OSSA_BO_REF_WRITE ?
				   DMA_RESV_USAGE_WRITE : DMA_RESV_USAGE_READ);
	if (job->out_syncobj)
		drm_syncobj_replace_fence(job->out_syncobj, done);
}

/*
 * Steps 2-4 of the header comment. On success the jobs belong to the
 * scheduler; on failure none was queued and the caller drops them all.
 */
static int ossa_batch_queue(struct ossa_file *ofile, struct ossa_batch *b)
{
	u32 k;
	int ret;

	ret = ossa_batch_gather_bos(b);
	if (ret)
		return ret;
	ret = ossa_batch_lock(b);
	if (ret)
		return ret;

	mutex_lock(&ofile->submit_lock);
	for (k = 0; k < b->count; k++) {
		ret = ossa_batch_add_deps(b, k);
		if (ret)
			break;
		drm_sched_job_arm(&b->jobs[k]->base);
		ossa_batch_note(b, k);
	}
	if (!ret) {
		for (k = 0; k < b->count; k++)
			ossa_batch_publish(b, k);
	}
	drm_gem_unlock_reservations(b->objs, b->nbos, &b->ticket);
	if (!ret) {
		for (k = 0; k < b->count; k++)
			drm_sched_entity_push_job(&b->jobs[k]->base);
	}
	mutex_unlock(&ofile->submit_lock);
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
	struct ossa_batch b = { .count = args->job_count };
	int ret = 0, first = 0;
	u32 i;

	if (args->flags || args->pad || !args->job_count ||
	    args->job_count > OSSA_MAX_JOBS_PER_SUBMIT ||
	    args->job_stride < sizeof(struct drm_ossa_job))
		return -EINVAL;
	if (ossa_ctx_banned(ofile->ctx))
		return -ECANCELED;

	b.jobs = kzalloc_objs(*b.jobs, args->job_count);
	if (!b.jobs)
		return -ENOMEM;

	/* Check every job before queueing any. */
	for (i = 0; i < args->job_count; i++) {
		struct drm_ossa_job job_args;
		u64 at = args->jobs + (u64)i * args->job_stride;

		if (copy_from_user(&job_args, u64_to_user_ptr(at),
				   sizeof(job_args)))
			ret = -EFAULT;
		else
			ret = ossa_job_create(file, &job_args, &b.jobs[i]);
		if (ret && !first)
			first = ret;
		if (ossa_submit_report(args, i, ret) && !first)
			first = -EFAULT;
	}

	/* A bad job: the good ones are canceled. Else memory or a signal. */
	ret = first ?: ossa_batch_queue(ofile, &b);
	if (ret) {
		for (i = 0; i < args->job_count; i++) {
			if (!b.jobs[i])
				continue;
			if (!first)
				ossa_submit_report(args, i, ret);
			else
				ossa_submit_report(args, i, -ECANCELED);
			ossa_job_discard(b.jobs[i]);
		}
	}
	kvfree(b.objs);
	kvfree(b.bos);
	kfree(b.jobs);
	return ret;
}
