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
 *      syncobjs the jobs signal; the BOs are unlocked, and the jobs are pushed, in
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
#include <linux/dma-fence-chain.h>
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
#define OSSA_MAX_SYNCS		64
/* Beyond any element struct's growth: a larger stride is -E2BIG. */
#define OSSA_MAX_STRIDE		4096

/* User arrays */

/**
 * ossa_array_check() - check an array's count and stride
 * @a: the array, as userspace gave it
 * @ksize: the size of the kernel's element structure, which is also its
 *	first version's: every element structure is still at version 1
 * @max: the most elements it may have
 *
 * Return: 0; -EINVAL for too many elements, or a stride below @ksize or
 * not a multiple of 8 (the elements stay 64-bit aligned); -E2BIG for a
 * stride above OSSA_MAX_STRIDE; -EFAULT for an array that wraps around
 * the end of the address space.
 */
static int ossa_array_check(const struct drm_ossa_obj_array *a, size_t ksize,
			    u32 max)
{
	u64 len, end;

	if (a->count > max)
		return -EINVAL;
	if (!a->count)
		return 0;
	if (a->stride < ksize || a->stride % 8)
		return -EINVAL;
	if (a->stride > OSSA_MAX_STRIDE)
		return -E2BIG;
	if (check_mul_overflow((u64)a->count, (u64)a->stride, &len) ||
	    check_add_overflow(a->array, len, &end))
		return -EFAULT;
	return 0;
}

/*
 * Copies element @i of @a (checked) into @dst, @ksize bytes: the bytes
 * beyond @ksize that a newer userspace gave must be zero (-E2BIG).
 */
static int ossa_array_get(void *dst, size_t ksize,
			  const struct drm_ossa_obj_array *a, u32 i)
{
	u64 at = a->array + (u64)i * a->stride;

	return copy_struct_from_user(dst, ksize, u64_to_user_ptr(at), a->stride);
}

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

static int ossa_job_lookup_bo(struct ossa_job *job, struct drm_file *file,
			      const struct drm_ossa_bo_ref *ref, u32 i)
{
	struct drm_gem_object *obj;
	struct ossa_bo *bo;

	if (!ref->flags ||
	    ref->flags & ~(DRM_OSSA_BO_REF_READ | DRM_OSSA_BO_REF_WRITE))
		return -EINVAL;
	obj = drm_gem_object_lookup(file, ref->handle);
	if (!obj)
		return -ENOENT;
	bo = to_ossa_bo(obj);
	if (ref->flags & DRM_OSSA_BO_REF_WRITE &&
	    bo->flags & DRM_OSSA_BO_DEVICE_READ_ONLY) {
		drm_gem_object_put(obj);
		return -EINVAL;
	}
	job->maps[i] = ossa_bo_mapping_get(bo, job->ctx);
	drm_gem_object_put(obj);
	if (!job->maps[i])
		return -ENOENT;
	job->bo_flags[i] = ref->flags;
	return 0;
}

static int ossa_job_lookup_bos(struct ossa_job *job, struct drm_file *file,
			       const struct drm_ossa_obj_array *bos)
{
	struct drm_ossa_bo_ref ref;
	u32 i, j;
	int ret;

	job->maps = kvcalloc(bos->count, sizeof(*job->maps), GFP_KERNEL);
	job->bo_flags = kvmalloc_array(bos->count, sizeof(u32), GFP_KERNEL);
	if (!job->maps || !job->bo_flags)
		return -ENOMEM;
	job->bo_count = bos->count;

	for (i = 0; i < bos->count; i++) {
		ret = ossa_array_get(&ref, sizeof(ref), bos, i);
		if (ret)
			return ret;
		ret = ossa_job_lookup_bo(job, file, &ref, i);
		if (ret)
			return ret;
		/* Each BO once: one mapping per BO and context. */
		for (j = 0; j < i; j++)
			if (job->maps[j] == job->maps[i])
				return -EINVAL;
	}
	return ossa_job_cmd_in_bo(job) ? 0 : -EINVAL;
}

static int ossa_job_add_signal(struct ossa_job *job, struct drm_file *file,
			       const struct drm_ossa_sync *sync)
{
	struct ossa_job_signal *sig = &job->signals[job->signal_count];

	sig->syncobj = drm_syncobj_find(file, sync->handle);
	if (!sig->syncobj)
		return -ENOENT;
	job->signal_count++;
	sig->point = sync->point;
	if (sync->point) {
		/* Publishing cannot fail: the chain link is allocated now. */
		sig->chain = dma_fence_chain_alloc();
		if (!sig->chain)
			return -ENOMEM;
	}
	return 0;
}

/*
 * Adds the fence of the syncobj @sync names (at its point, for a timeline)
 * as a dependency of @job. The fence must be there already: no waiting
 * for a submission (-EINVAL).
 */
static int ossa_job_add_wait(struct ossa_job *job, struct drm_file *file,
			     const struct drm_ossa_sync *sync)
{
	struct dma_fence *fence;
	int ret;

	/* Not drm_sched_job_add_syncobj_dependency(): its point is a u32. */
	ret = drm_syncobj_find_fence(file, sync->handle, sync->point, 0, &fence);
	if (ret)
		return ret;
	return drm_sched_job_add_dependency(&job->base, fence);
}

/*
 * The job's syncobjs: each one it waits for becomes a dependency; each one
 * it signals is looked up, to receive its fence once it is armed.
 * @job->signals has room for every entry, waits included.
 */
static int ossa_job_add_syncs(struct ossa_job *job, struct drm_file *file,
			      const struct drm_ossa_obj_array *syncs)
{
	struct drm_ossa_sync sync;
	u32 i;
	int ret;

	if (!syncs->count)
		return 0;
	job->signals = kvcalloc(syncs->count, sizeof(*job->signals), GFP_KERNEL);
	if (!job->signals)
		return -ENOMEM;
	for (i = 0; i < syncs->count; i++) {
		ret = ossa_array_get(&sync, sizeof(sync), syncs, i);
		if (ret)
			return ret;
		if (sync.flags == DRM_OSSA_SYNC_WAIT)
			ret = ossa_job_add_wait(job, file, &sync);
		else if (sync.flags == DRM_OSSA_SYNC_SIGNAL)
			ret = ossa_job_add_signal(job, file, &sync);
		else
			ret = -EINVAL;
		if (ret)
			return ret;
	}
	return 0;
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

	if (args->flags || args->queue >= OSSA_NUM_QUEUES ||
	    !args->cmd_size || args->cmd_size % 8 ||
	    args->cmd_size > OSSA_CMD_SIZE_MAX || args->cmd_va % 8 ||
	    !args->bos.count)
		return -EINVAL;
	ret = ossa_array_check(&args->bos, sizeof(struct drm_ossa_bo_ref),
			       OSSA_MAX_BO_REFS) ?:
	      ossa_array_check(&args->syncs, sizeof(struct drm_ossa_sync),
			       OSSA_MAX_SYNCS);
	if (ret)
		return ret;

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

	ret = ossa_job_lookup_bos(job, file, &args->bos);
	if (ret)
		goto err_put;

	ret = drm_sched_job_init(&job->base, &ofile->entities[args->queue], 1,
				 ofile, file->client_id);
	if (ret)
		goto err_put;
	ret = ossa_job_add_syncs(job, file, &args->syncs);
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
	for (i = 0; i < job->signal_count; i++) {
		struct ossa_job_signal *sig = &job->signals[i];

		if (sig->chain) {
			drm_syncobj_add_point(sig->syncobj, sig->chain, done,
					      sig->point);
			sig->chain = NULL;
		} else {
			drm_syncobj_replace_fence(sig->syncobj, done);
		}
	}
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

static int ossa_submit_report(const struct drm_ossa_submit *args, u32 index,
			      s32 status)
{
	u64 at = args->jobs.array + (u64)index * args->jobs.stride +
		 offsetof(struct drm_ossa_job, status);

	return put_user(status, (s32 __user *)u64_to_user_ptr(at)) ? -EFAULT : 0;
}

int ossa_submit_ioctl(struct drm_device *drm, void *data,
		      struct drm_file *file)
{
	struct ossa_file *ofile = file->driver_priv;
	struct drm_ossa_submit *args = data;
	struct ossa_batch b = { .count = args->jobs.count };
	int ret = 0, first = 0;
	u32 i;

	if (args->flags || args->pad || !args->jobs.count)
		return -EINVAL;
	ret = ossa_array_check(&args->jobs, sizeof(struct drm_ossa_job),
			       OSSA_MAX_JOBS_PER_SUBMIT);
	if (ret)
		return ret;
	if (ossa_ctx_banned(ofile->ctx))
		return -ECANCELED;

	b.jobs = kzalloc_objs(*b.jobs, args->jobs.count);
	if (!b.jobs)
		return -ENOMEM;

	/* Check every job before queueing any. */
	for (i = 0; i < args->jobs.count; i++) {
		struct drm_ossa_job job_args;

		ret = ossa_array_get(&job_args, sizeof(job_args), &args->jobs, i);
		if (!ret)
			ret = ossa_job_create(file, &job_args, &b.jobs[i]);
		if (ret && !first)
			first = ret;
		if (ossa_submit_report(args, i, ret) && !first)
			first = -EFAULT;
	}

	/* A bad job: the good ones are canceled. Else memory or a signal. */
	ret = first ?: ossa_batch_queue(ofile, &b);
	if (ret) {
		for (i = 0; i < args->jobs.count; i++) {
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
