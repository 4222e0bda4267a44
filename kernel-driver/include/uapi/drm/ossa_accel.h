/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * Copyright (c) 2026 The ossa developers
 */

#ifndef __UAPI_OSSA_ACCEL_H__
#define __UAPI_OSSA_ACCEL_H__

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/**
 * DOC: ossa uapi
 *
 * The ossa accelerator runs jobs: command streams that userspace writes
 * into buffer objects (BOs), in the format of the datasheet, section 6.
 * Each open file of /dev/accel/accelN has its own device address space: a
 * BO gets a device virtual address (VA) in a file's address space when a
 * handle to it is created in that file, by DRM_IOCTL_OSSA_BO_CREATE or a
 * PRIME import, and loses it when the last handle in that file is closed.
 * A job can only reach the BOs of the file that submitted it.
 *
 * All structures are 64-bit aligned, with explicit padding. Fields marked
 * "must be zero" (padding, reserved fields and unknown flags) are checked:
 * a non-zero value fails with -EINVAL, so that they can be given a meaning
 * later.
 */

#define DRM_OSSA_GET_PARAM              0x00
#define DRM_OSSA_BO_CREATE              0x01
#define DRM_OSSA_BO_MMAP_OFFSET         0x02
#define DRM_OSSA_BO_INFO                0x03
#define DRM_OSSA_SUBMIT                 0x04
#define DRM_OSSA_BO_WAIT                0x05

#define DRM_IOCTL_OSSA_GET_PARAM \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_OSSA_GET_PARAM, struct drm_ossa_get_param)
#define DRM_IOCTL_OSSA_BO_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_OSSA_BO_CREATE, struct drm_ossa_bo_create)
#define DRM_IOCTL_OSSA_BO_MMAP_OFFSET \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_OSSA_BO_MMAP_OFFSET, \
		 struct drm_ossa_bo_mmap_offset)
#define DRM_IOCTL_OSSA_BO_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_OSSA_BO_INFO, struct drm_ossa_bo_info)
#define DRM_IOCTL_OSSA_SUBMIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_OSSA_SUBMIT, struct drm_ossa_submit)
#define DRM_IOCTL_OSSA_BO_WAIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_OSSA_BO_WAIT, struct drm_ossa_bo_wait)

/**
 * enum drm_ossa_param - parameters of DRM_IOCTL_OSSA_GET_PARAM
 */
enum drm_ossa_param {
	/**
	 * @DRM_OSSA_PARAM_HW_VERSION: the device's VERSION register
	 * (major << 16 | minor)
	 */
	DRM_OSSA_PARAM_HW_VERSION = 0,
	/**
	 * @DRM_OSSA_PARAM_NUM_QUEUES: number of hardware queues a job can
	 * choose from
	 */
	DRM_OSSA_PARAM_NUM_QUEUES = 1,
	/** @DRM_OSSA_PARAM_VA_START: lowest device VA given to a BO */
	DRM_OSSA_PARAM_VA_START = 2,
	/** @DRM_OSSA_PARAM_VA_SIZE: size of the VA range BOs are placed in */
	DRM_OSSA_PARAM_VA_SIZE = 3,
	/** @DRM_OSSA_PARAM_MAX_CMD_SIZE: largest command stream of a job, bytes */
	DRM_OSSA_PARAM_MAX_CMD_SIZE = 4,
	/** @DRM_OSSA_PARAM_MAX_BO_SIZE: largest BO, bytes */
	DRM_OSSA_PARAM_MAX_BO_SIZE = 5,
	/** @DRM_OSSA_PARAM_CONTEXT_ID: the hardware context of this file */
	DRM_OSSA_PARAM_CONTEXT_ID = 6,
	/**
	 * @DRM_OSSA_PARAM_FAULT_INJECTION: 1 if the device offers fault
	 * injection
	 */
	DRM_OSSA_PARAM_FAULT_INJECTION = 7,
	/**
	 * @DRM_OSSA_PARAM_JOB_TIMEOUT_MS: how long a job may run, in ms,
	 * before it is stopped, fails with -ETIMEDOUT and its context is
	 * banned (the driver's job_timeout_ms, rounded up to the kernel's
	 * clock tick). A job that may run longer must be split.
	 */
	DRM_OSSA_PARAM_JOB_TIMEOUT_MS = 8,
};

/**
 * struct drm_ossa_get_param - query a device or file parameter
 *
 * Errors: -EINVAL for an unknown @param or non-zero @pad.
 */
struct drm_ossa_get_param {
	/** @param: in, one of &enum drm_ossa_param */
	__u32 param;
	/** @pad: must be zero */
	__u32 pad;
	/** @value: out, the parameter's value */
	__u64 value;
};

/**
 * enum drm_ossa_bo_flags - flags of DRM_IOCTL_OSSA_BO_CREATE
 */
enum drm_ossa_bo_flags {
	/**
	 * @DRM_OSSA_BO_DEVICE_READ_ONLY: the device may read the BO but not
	 * write it. Its pages are mapped without WRITE in the device MMU: a
	 * job that writes it faults. The CPU mapping stays writable.
	 */
	DRM_OSSA_BO_DEVICE_READ_ONLY = 0x1,
};

/**
 * struct drm_ossa_bo_create - create a buffer object
 *
 * Creates a shmem-backed BO of @size bytes (rounded up to the page size),
 * zero-filled, returns a handle to it and maps it into this file's device
 * address space.
 *
 * Errors: -EINVAL for a zero @size, a @size above
 * DRM_OSSA_PARAM_MAX_BO_SIZE, or unknown @flags; -ENOMEM when memory is
 * exhausted; -ENOSPC when this file's device address space is full.
 */
struct drm_ossa_bo_create {
	/** @size: in, bytes; out, the size given (a multiple of the page size) */
	__u64 size;
	/** @flags: in, &enum drm_ossa_bo_flags */
	__u32 flags;
	/** @handle: out, the new handle */
	__u32 handle;
	/** @va: out, the BO's device VA in this file's address space */
	__u64 va;
};

/**
 * struct drm_ossa_bo_mmap_offset - get the offset to mmap() a BO at
 *
 * Errors: -ENOENT for an unknown @handle; -EINVAL for non-zero @pad.
 */
struct drm_ossa_bo_mmap_offset {
	/** @handle: in, the BO */
	__u32 handle;
	/** @pad: must be zero */
	__u32 pad;
	/** @offset: out, the fake offset to pass to mmap() on this file */
	__u64 offset;
};

/**
 * struct drm_ossa_bo_info - describe a BO
 *
 * Errors: -ENOENT for an unknown @handle.
 */
struct drm_ossa_bo_info {
	/** @handle: in, the BO */
	__u32 handle;
	/** @flags: out, the &enum drm_ossa_bo_flags it was created with */
	__u32 flags;
	/** @size: out, bytes */
	__u64 size;
	/** @va: out, the BO's device VA in this file's address space */
	__u64 va;
};

/**
 * enum drm_ossa_bo_ref_flags - how a job uses a BO (&struct drm_ossa_bo_ref)
 */
enum drm_ossa_bo_ref_flags {
	/** @DRM_OSSA_BO_REF_READ: the job reads the BO */
	DRM_OSSA_BO_REF_READ = 0x1,
	/** @DRM_OSSA_BO_REF_WRITE: the job writes the BO */
	DRM_OSSA_BO_REF_WRITE = 0x2,
};

/**
 * struct drm_ossa_bo_ref - a BO that a job uses
 *
 * The job keeps the BO alive until it completes, waits for the fences of
 * earlier jobs on it (implicit sync: a reader waits for writers, a writer
 * for everyone) and publishes its own.
 */
struct drm_ossa_bo_ref {
	/** @handle: the BO */
	__u32 handle;
	/** @flags: &enum drm_ossa_bo_ref_flags, READ and/or WRITE, not 0 */
	__u32 flags;
};

/**
 * struct drm_ossa_job - one job of a DRM_IOCTL_OSSA_SUBMIT
 *
 * The command stream is @cmd_size bytes at device VA @cmd_va, which must
 * lie in one of the job's BOs (@bos).
 */
struct drm_ossa_job {
	/** @cmd_va: in, device VA of the command stream, 8-byte aligned */
	__u64 cmd_va;
	/** @cmd_size: in, its length: a multiple of 8, 8 to DRM_OSSA_PARAM_MAX_CMD_SIZE */
	__u32 cmd_size;
	/** @queue: in, the hardware queue, below DRM_OSSA_PARAM_NUM_QUEUES */
	__u32 queue;
	/** @bos: in, pointer to an array of struct drm_ossa_bo_ref */
	__u64 bos;
	/** @bo_count: in, entries in @bos, at least 1 */
	__u32 bo_count;
	/** @in_syncobj_count: in, entries in @in_syncobjs */
	__u32 in_syncobj_count;
	/**
	 * @in_syncobjs: in, pointer to an array of __u32 syncobj handles to
	 * wait for; each must hold a fence when the ioctl is called (a
	 * syncobj that only a job of the same submission will signal does
	 * not yet: order such jobs by the buffers they share instead)
	 */
	__u64 in_syncobjs;
	/** @out_syncobj: in, a syncobj that receives the job's fence; 0 for none */
	__u32 out_syncobj;
	/**
	 * @status: out, 0 when the job was queued; otherwise the negative
	 * errno that rejected it, or -ECANCELED when another job of the same
	 * submission was rejected (then no job of it was queued)
	 */
	__s32 status;
	/** @flags: must be zero */
	__u32 flags;
	/** @pad: must be zero */
	__u32 pad;
};

/**
 * struct drm_ossa_submit - queue one or more jobs
 *
 * Every job is checked before any is queued: either all are queued, or
 * none is, the ioctl fails with the first job's error and each job's
 * @status says what was wrong with it. Jobs on one queue run in the order
 * given. A job's fence signals when it completes; its error is 0 for
 * success, -EFAULT for a device MMU fault, -EINVAL for a command the device
 * refused, -EIO for another device error, -ETIMEDOUT when it hung and the
 * device was reset, -ECANCELED when it was not run because its context was
 * banned after a fault or hang.
 *
 * Errors: -EINVAL for a zero @job_count, a @job_stride smaller than
 * struct drm_ossa_job, non-zero @flags or @pad, or a bad job; -EFAULT for a
 * bad pointer; -ENOENT for an unknown BO or syncobj handle; -ENOMEM;
 * -ECANCELED when this file's context is banned; -ENODEV after unplug.
 */
struct drm_ossa_submit {
	/** @jobs: in, pointer to an array of struct drm_ossa_job */
	__u64 jobs;
	/** @job_count: in, entries in @jobs, 1 to 64 */
	__u32 job_count;
	/** @job_stride: in, sizeof(struct drm_ossa_job) as userspace knows it */
	__u32 job_stride;
	/** @flags: must be zero */
	__u32 flags;
	/** @pad: must be zero */
	__u32 pad;
};

/**
 * enum drm_ossa_job_status - how a job ended, as DRM_IOCTL_OSSA_BO_WAIT
 * reports it
 */
enum drm_ossa_job_status {
	/** @DRM_OSSA_JOB_STATUS_SUCCESS: the job completed successfully */
	DRM_OSSA_JOB_STATUS_SUCCESS = 0,
	/** @DRM_OSSA_JOB_STATUS_MMU_FAULT: it faulted in the device MMU */
	DRM_OSSA_JOB_STATUS_MMU_FAULT = 1,
	/** @DRM_OSSA_JOB_STATUS_INVALID: the device refused a command */
	DRM_OSSA_JOB_STATUS_INVALID = 2,
	/**
	 * @DRM_OSSA_JOB_STATUS_ERROR: stopped by a reset or queue error, or
	 * another device error
	 */
	DRM_OSSA_JOB_STATUS_ERROR = 3,
	/**
	 * @DRM_OSSA_JOB_STATUS_TIMEOUT: it hung and was stopped; its context
	 * is banned
	 */
	DRM_OSSA_JOB_STATUS_TIMEOUT = 4,
	/** @DRM_OSSA_JOB_STATUS_CANCELED: not run: its context was banned */
	DRM_OSSA_JOB_STATUS_CANCELED = 5,
};

/**
 * struct drm_ossa_bo_wait - wait until no job uses a BO
 *
 * Waits for every job that uses the BO, up to @timeout_ns.
 *
 * Errors: -ENOENT for an unknown @handle; -EINVAL for non-zero @flags or
 * @pad, or a negative @timeout_ns; -ETIMEDOUT when jobs still use the BO
 * at the timeout; -ERESTARTSYS (restarted by the C library) on a signal.
 * An interrupted wait leaves in @timeout_ns the time it had left, so that
 * the restarted call, or a retry of one that failed with -EINTR, ends when
 * the first would have.
 */
struct drm_ossa_bo_wait {
	/** @handle: in, the BO */
	__u32 handle;
	/** @flags: must be zero */
	__u32 flags;
	/**
	 * @timeout_ns: in, relative timeout in ns; 0 only polls. Out, when
	 * interrupted by a signal: the time that was left
	 */
	__s64 timeout_ns;
	/**
	 * @job_status: out, the &enum drm_ossa_job_status of the last job
	 * that wrote the BO, when the wait succeeded
	 */
	__u32 job_status;
	/** @pad: must be zero */
	__u32 pad;
};

#if defined(__cplusplus)
}
#endif

#endif /* __UAPI_OSSA_ACCEL_H__ */
