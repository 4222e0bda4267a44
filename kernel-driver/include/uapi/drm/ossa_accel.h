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
	DRM_IOW(DRM_COMMAND_BASE + DRM_OSSA_SUBMIT, struct drm_ossa_submit)
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
	/**
	 * @DRM_OSSA_PARAM_JOB_TIMEOUT_MS: how long a job may run, in ms,
	 * before it is stopped, fails with -ETIMEDOUT and its context is
	 * banned (the driver's job_timeout_ms, rounded up to the kernel's
	 * clock tick). A job that may run longer must be split.
	 */
	DRM_OSSA_PARAM_JOB_TIMEOUT_MS = 6,
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
 * struct drm_ossa_obj_array - an array of structures in user memory
 *
 * Arrays of structures that may grow carry their element size, so that
 * userspace built against another version of this header keeps working:
 * the kernel reads each element with copy_struct_from_user(). An element
 * shorter than the kernel's structure (down to its first version) is
 * extended with zeros; a longer one must have only zeros beyond what the
 * kernel knows, else the ioctl fails with -E2BIG.
 *
 * Errors: -EINVAL for a @stride below the element's first version or not
 * a multiple of 8; -E2BIG for a @stride above 4096; -EFAULT for an array
 * that is not readable.
 */
struct drm_ossa_obj_array {
	/** @array: in, pointer to the first element */
	__u64 array;
	/** @count: in, number of elements */
	__u32 count;
	/**
	 * @stride: in, bytes from one element to the next: the size of the
	 * element's structure as userspace knows it, at least its first
	 * version's size, a multiple of 8, at most 4096
	 */
	__u32 stride;
};

/**
 * enum drm_ossa_bo_ref_flags - how a job uses a BO (&struct drm_ossa_bo_ref)
 */
enum drm_ossa_bo_ref_flags {
	/** @DRM_OSSA_BO_REF_READ: the job reads the BO */
	DRM_OSSA_BO_REF_READ = 0x1,
	/**
	 * @DRM_OSSA_BO_REF_WRITE: the job writes the BO; refused with
	 * -EINVAL for a BO created with DRM_OSSA_BO_DEVICE_READ_ONLY
	 */
	DRM_OSSA_BO_REF_WRITE = 0x2,
};

/**
 * struct drm_ossa_bo_ref - a BO that a job uses
 *
 * The job keeps the BO alive until it completes, waits for the fences of
 * earlier jobs on it (implicit sync: a reader waits for writers, a writer
 * for everyone) and publishes its own. A job reaches only the BOs it
 * lists: the others of its file are in its address space, but its access
 * to them is not ordered against other jobs and their pages may go away.
 */
struct drm_ossa_bo_ref {
	/** @handle: the BO, listed once per job */
	__u32 handle;
	/** @flags: &enum drm_ossa_bo_ref_flags, READ and/or WRITE, not 0 */
	__u32 flags;
};

/**
 * enum drm_ossa_sync_flags - what a job does with a syncobj
 * (&struct drm_ossa_sync); exactly one of them
 */
enum drm_ossa_sync_flags {
	/**
	 * @DRM_OSSA_SYNC_WAIT: the job runs after the syncobj's fence (at
	 * @point of &struct drm_ossa_sync for a timeline) signals. The fence
	 * must exist when the ioctl is called: a fence that only a job of the
	 * same submission will add does not yet (order such jobs by the BOs
	 * they share instead). A fence that signals with an error does not
	 * keep the job from running: check it first if that matters.
	 */
	DRM_OSSA_SYNC_WAIT = 0x1,
	/**
	 * @DRM_OSSA_SYNC_SIGNAL: the job's fence replaces the syncobj's
	 * fence, or, for a non-zero @point of &struct drm_ossa_sync, is added
	 * to the syncobj's timeline at that point
	 */
	DRM_OSSA_SYNC_SIGNAL = 0x2,
};

/**
 * struct drm_ossa_sync - a syncobj a job waits for or signals
 */
struct drm_ossa_sync {
	/** @handle: the syncobj */
	__u32 handle;
	/** @flags: one of &enum drm_ossa_sync_flags */
	__u32 flags;
	/**
	 * @point: the timeline point of a timeline syncobj; 0 for a binary
	 * syncobj
	 */
	__u64 point;
};

/**
 * struct drm_ossa_job - one job of a DRM_IOCTL_OSSA_SUBMIT
 *
 * The command stream is @cmd_size bytes at device VA @cmd_va, which must
 * lie in one of the job's BOs (@bos); that BO needs DRM_OSSA_BO_REF_READ
 * only.
 */
struct drm_ossa_job {
	/** @cmd_va: in, device VA of the command stream, 8-byte aligned */
	__u64 cmd_va;
	/** @cmd_size: in, its length: a multiple of 8, 8 to DRM_OSSA_PARAM_MAX_CMD_SIZE */
	__u32 cmd_size;
	/** @queue: in, the hardware queue, below DRM_OSSA_PARAM_NUM_QUEUES */
	__u32 queue;
	/**
	 * @bos: in, the BOs the job uses: &struct drm_ossa_bo_ref, 1 to 256,
	 * each BO once
	 */
	struct drm_ossa_obj_array bos;
	/**
	 * @syncs: in, the syncobjs it waits for and signals: &struct
	 * drm_ossa_sync, 0 to 64
	 */
	struct drm_ossa_obj_array syncs;
	/** @flags: must be zero */
	__u32 flags;
	/**
	 * @status: out, written once the jobs are read: 0 when the job was
	 * queued; otherwise the negative errno that rejected it, or
	 * -ECANCELED when another job of the same submission was rejected
	 * (then no job of it was queued). Its value on input is ignored. A
	 * SUBMIT refused before the jobs are read (a bad @jobs array, flags,
	 * a banned context) leaves it as it was.
	 */
	__s32 status;
};

/**
 * struct drm_ossa_submit - queue one or more jobs
 *
 * Every job is checked before any is queued: either all are queued, or
 * none is, the ioctl fails with the first job's error and each job's
 * @status says what was wrong with it. A signal can interrupt the ioctl
 * only before any job is queued: it then fails with -EINTR, and a retry
 * (as libdrm's drmIoctl() does) queues every job once. Jobs on
 * one queue run in the order given. A job's fence signals when it
 * completes; its error is 0 for success, -EFAULT for a device MMU fault,
 * -EINVAL for a command the device refused, -EIO for another device error,
 * -ETIMEDOUT when it hung and the device was reset, -ECANCELED when it was
 * not run because its context was banned after a fault or hang, -ENODEV
 * when the device was unplugged.
 *
 * Errors: -EINVAL for a @jobs count of 0 or above 64, a bad stride
 * (&struct drm_ossa_obj_array), non-zero @flags or @pad, or a bad job,
 * among them a syncobj to wait for that has no fence yet, or no such
 * timeline point, or a non-zero point on a binary syncobj; -E2BIG for a
 * stride above 4096 or non-zero bytes beyond the structures the kernel
 * knows; -EFAULT for a bad pointer, or a @status that cannot be written
 * (the jobs were then not queued); -ENOENT for an unknown BO or syncobj
 * handle; -ENOMEM; -ECANCELED when this file's context is banned; -EINTR
 * when a signal came before any job was queued; -ENODEV after unplug.
 */
struct drm_ossa_submit {
	/** @jobs: in, the jobs: &struct drm_ossa_job */
	struct drm_ossa_obj_array jobs;
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
	 * @DRM_OSSA_JOB_STATUS_ERROR: stopped by a reset or queue error,
	 * another device error, or the device's unplug (the fence's -EIO or
	 * -ENODEV)
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
 * Waits for every job that uses the BO, until @timeout_ns. The timeout is
 * absolute, so that a wait interrupted by a signal and restarted ends when
 * the first would have.
 *
 * Errors: -ENOENT for an unknown @handle; -EINVAL for non-zero @flags or
 * @pad; -ETIMEDOUT when jobs still use the BO at the timeout; -EINTR on a
 * signal whose handler was installed without SA_RESTART (with it, the
 * kernel restarts the call). A retry with the same @timeout_ns ends when
 * the first call would have.
 */
struct drm_ossa_bo_wait {
	/** @handle: in, the BO */
	__u32 handle;
	/** @flags: must be zero */
	__u32 flags;
	/**
	 * @timeout_ns: in, absolute timeout, CLOCK_MONOTONIC in ns; a time
	 * already past (0, for one) only polls
	 */
	__s64 timeout_ns;
	/**
	 * @job_status: out, when the wait succeeded: the &enum
	 * drm_ossa_job_status of the last job that listed the BO with
	 * DRM_OSSA_BO_REF_WRITE (whether it wrote it or not);
	 * DRM_OSSA_JOB_STATUS_SUCCESS when no job did
	 */
	__u32 job_status;
	/** @pad: must be zero */
	__u32 pad;
};

#if defined(__cplusplus)
}
#endif

#endif /* __UAPI_OSSA_ACCEL_H__ */
