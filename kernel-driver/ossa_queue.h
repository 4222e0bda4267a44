/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The ossa developers
 */
#ifndef __OSSA_QUEUE_H__
#define __OSSA_QUEUE_H__

#include <linux/types.h>

struct dma_fence;
struct ossa_ctx;
struct ossa_job;
struct ossa_queue;

/**
 * enum ossa_recovery - what ossa_queue_recover() found
 * @OSSA_RECOVERY_NONE: the job had completed; nothing was done
 * @OSSA_RECOVERY_TIMEOUT: the job hung; it failed and its context is banned
 * @OSSA_RECOVERY_QUEUE_ERROR: the queue had stopped on an error; its job failed
 * @OSSA_RECOVERY_LATE: the job completed as its queue was stopped; the
 *	next job, which the stop may have cut short, failed instead
 */
enum ossa_recovery {
	OSSA_RECOVERY_NONE,
	OSSA_RECOVERY_TIMEOUT,
	OSSA_RECOVERY_QUEUE_ERROR,
	OSSA_RECOVERY_LATE,
};

void ossa_queue_push_locked(struct ossa_queue *q, struct ossa_job *job);
void ossa_queue_complete(struct ossa_queue *q);
enum ossa_recovery ossa_queue_recover(struct ossa_queue *q,
				      struct ossa_job *job);
bool ossa_queue_recover_error(struct ossa_queue *q, u32 *status);
void ossa_queue_stop(struct ossa_queue *q);
void ossa_queue_fail_all(struct ossa_queue *q);
struct dma_fence *ossa_queue_ctx_fence(struct ossa_queue *q,
				       struct ossa_ctx *ctx);
void ossa_queue_restart(struct ossa_queue *q);

#endif /* __OSSA_QUEUE_H__ */
