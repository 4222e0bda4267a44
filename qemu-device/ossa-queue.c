/*
 * ossa: queues and jobs (docs/specs/ossa.rst, section 5)
 *
 * Each queue runs in a bottom half of the main loop, guarded by the device's
 * memory reentrancy guard, never in the vCPU thread that rang the doorbell.
 * Work goes in slices (OSSA_SLICE_BYTES, OSSA_SLICE_COMMANDS): a run does
 * one, or several while no other queue has work (at most OSSA_RUN_NS), and
 * schedules itself again while there is more, so that the two queues
 * interleave and no job stalls the main loop.
 *
 * The guard covers the device's own BARs only: a slice's DMA or interrupt
 * message may still reach the function's config space (FLR) or its root
 * port's (hot-unplug), and reset or unrealize the device. Every DMA of a
 * slice goes through ossa_dma_rw(), which fails once the slice is stale
 * (ossa_slice_stale()), and the slice checks after each interrupt it
 * raises; a stale slice returns without touching the device again. The
 * device is not freed before the slice has returned.
 *
 * Copyright (c) 2026 The ossa developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/units.h"
#include "migration/vmstate.h"
#include "system/dma.h"
#include "system/runstate.h"
#include "ossa.h"
#include "trace.h"

static uint32_t ossa_queue_entries(const OssaQueue *q)
{
    return 1U << q->size_log2;
}

static dma_addr_t ossa_queue_slot(const OssaQueue *q)
{
    return q->base + (dma_addr_t)(q->head & (ossa_queue_entries(q) - 1)) *
                     OSSA_DESC_SIZE;
}

/*
 * Whether the queue has work it may do now: not while the VM is stopped
 * (paused, or being migrated); it is kicked when the VM runs again.
 */
static bool ossa_queue_runnable(const OssaQueue *q)
{
    return q->enabled && q->head != q->tail &&
           !(q->dev->inject_hang & (1U << q->index)) &&
           runstate_is_running();
}

static void ossa_queue_abandon(OssaQueue *q)
{
    q->job_active = false;
    q->cmd_loaded = false;
    qemu_bh_cancel(q->bh);
    timer_del(q->delay_timer);
}

/* Disables the queue; an injected hang lasts until then (section 12). */
static void ossa_queue_disable(OssaQueue *q)
{
    ossa_queue_abandon(q);
    q->enabled = false;
    q->dev->inject_hang &= ~(1U << q->index);
}

/* Stops the queue on a queue error (docs/specs/ossa.rst, 5.2). */
static void ossa_queue_error(OssaQueue *q, uint32_t code)
{
    trace_ossa_queue_error(q->index, code);
    ossa_queue_disable(q);
    q->error = code;
    ossa_raise_irq(q->dev, OSSA_IRQ_QUEUE_ERROR(q->index));
}

/* Writes the job's results into its descriptor, then advances HEAD. */
static void ossa_queue_complete(OssaQueue *q)
{
    uint8_t result[OSSA_DESC_RESULT_SIZE] = { 0 };

    stl_le_p(result + (OSSA_DESC_STATUS - OSSA_DESC_RESULT), q->job_status);
    stl_le_p(result + (OSSA_DESC_ERROR_OFFSET - OSSA_DESC_RESULT),
             q->job_error_offset);
    stq_le_p(result + (OSSA_DESC_START_NS - OSSA_DESC_RESULT),
             q->job_start_ns);
    stq_le_p(result + (OSSA_DESC_END_NS - OSSA_DESC_RESULT), ossa_time_ns());

    trace_ossa_job_end(q->index, q->head, q->job_status, q->job_error_offset);
    q->job_active = false;
    q->cmd_loaded = false;
    if (ossa_dma_write(q, ossa_queue_slot(q) + OSSA_DESC_RESULT, result,
                       sizeof(result)) != MEMTX_OK) {
        if (!ossa_slice_stale(q)) {
            ossa_queue_error(q, OSSA_Q_ERR_RING_DMA);
        }
        return;
    }
    q->head++;
    if (q->job_flags & OSSA_DESC_FLAG_IRQ) {
        ossa_raise_irq(q->dev, OSSA_IRQ_QUEUE_JOB(q->index));
    }
}

/* Ends the job at once with @status, as none of its commands ran. */
static void ossa_queue_reject(OssaQueue *q, uint32_t status)
{
    q->job_status = status;
    q->job_error_offset = 0;
    ossa_queue_complete(q);
}

/* Reads the context entry of the job (docs/specs/ossa.rst, 7.1). */
static bool ossa_queue_load_context(OssaQueue *q)
{
    OssaState *s = q->dev;
    uint64_t entry[2];

    if (q->job_context >= OSSA_NUM_CONTEXTS ||
        ossa_dma_read(q, s->ctx_table + q->job_context * OSSA_CTX_ENTRY_SIZE,
                      entry, sizeof(entry)) != MEMTX_OK) {
        return false;
    }
    q->job_root = le64_to_cpu(entry[0]);
    return (q->job_root & OSSA_CTX_ROOT_VALID) &&
           !(q->job_root & ~(OSSA_CTX_ROOT_VALID | OSSA_PTE_ADDR_MASK)) &&
           !entry[1];
}

/* The job's flags and command stream, as its descriptor gave them (5.3). */
static bool ossa_queue_desc_valid(const OssaQueue *q)
{
    return !(q->job_flags & ~OSSA_DESC_FLAG_IRQ) &&
           q->job_cmd_size && !(q->job_cmd_size % 8) &&
           q->job_cmd_size <= OSSA_CMD_SIZE_MAX && !(q->job_cmd_addr % 8);
}

/*
 * Fetches and checks the descriptor at HEAD. Returns true when the job is
 * to run; false when it was completed at once or the queue stopped.
 */
static bool ossa_queue_start_job(OssaQueue *q)
{
    OssaState *s = q->dev;
    uint8_t desc[OSSA_DESC_RESULT];

    if (ossa_dma_read(q, ossa_queue_slot(q), desc,
                      sizeof(desc)) != MEMTX_OK) {
        if (!ossa_slice_stale(q)) {
            ossa_queue_error(q, OSSA_Q_ERR_RING_DMA);
        }
        return false;
    }
    q->job_active = true;
    q->job_start_ns = ossa_time_ns();
    q->job_flags = ldl_le_p(desc + OSSA_DESC_FLAGS);
    q->job_context = ldl_le_p(desc + OSSA_DESC_CONTEXT);
    q->job_cmd_addr = ldq_le_p(desc + OSSA_DESC_CMD_ADDR);
    q->job_cmd_size = ldl_le_p(desc + OSSA_DESC_CMD_SIZE);
    q->cmd_offset = 0;
    q->cmd_loaded = false;
    trace_ossa_job_start(q->index, q->head, q->job_context, q->job_cmd_addr,
                         q->job_cmd_size);

    if (s->inject_fail & OSSA_INJECT_FAIL_NEXT) {
        s->inject_fail &= ~OSSA_INJECT_FAIL_NEXT;
        ossa_queue_reject(q, OSSA_JOB_INJECTED_ERROR);
        return false;
    }
    if (ldl_le_p(desc + OSSA_DESC_RESERVED) || !ossa_queue_desc_valid(q)) {
        ossa_queue_reject(q, OSSA_JOB_INVALID_DESCRIPTOR);
        return false;
    }
    if (q->job_context >= OSSA_NUM_CONTEXTS) {
        ossa_queue_reject(q, OSSA_JOB_INVALID_CONTEXT);
        return false;
    }
    if (s->ctx_stopped & (1ULL << q->job_context)) {
        ossa_queue_reject(q, OSSA_JOB_CONTEXT_STOPPED);
        return false;
    }
    if (!ossa_queue_load_context(q)) {
        if (!ossa_slice_stale(q)) {
            ossa_queue_reject(q, OSSA_JOB_INVALID_CONTEXT);
        }
        return false;
    }
    q->job_root &= OSSA_PTE_ADDR_MASK;
    ossa_mmu_new_slice(q);
    return true;
}

/*
 * Runs the queue soon if it has work, unless it is waiting out an injected
 * delay after its last slice.
 */
void ossa_queue_kick(OssaQueue *q)
{
    /* Not once unrealized, when the queue's registers stay as they were. */
    if (ossa_queue_runnable(q) && DEVICE(q->dev)->realized &&
        !timer_pending(q->delay_timer)) {
        qemu_bh_schedule(q->bh);
    }
}

/* After a slice: the next one now, or after INJECT_DELAY_US (slow DMA). */
static void ossa_queue_next_slice(OssaQueue *q)
{
    uint32_t delay_us = q->dev->inject_delay_us;

    if (!ossa_queue_runnable(q)) {
        return;
    }
    if (delay_us) {
        timer_mod(q->delay_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                                  (int64_t)delay_us * SCALE_US);
    } else {
        qemu_bh_schedule(q->bh);
    }
}

static void ossa_queue_unref(void *opaque)
{
    object_unref(opaque);
}

/* One slice of the queue's work (docs/specs/ossa.rst, 11). */
static void ossa_queue_slice(OssaQueue *q)
{
    uint64_t budget = OSSA_SLICE_BYTES;
    unsigned commands = OSSA_SLICE_COMMANDS;

    q->slice_generation = q->dev->generation;
    ossa_mmu_new_slice(q);
    while (budget && commands && !ossa_slice_stale(q) &&
           ossa_queue_runnable(q)) {
        if (!q->job_active && !ossa_queue_start_job(q)) {
            commands--;
            continue;
        }
        if (ossa_cmd_step(q, &budget, &commands) == OSSA_STEP_DONE) {
            ossa_queue_complete(q);
        }
    }
}

/*
 * Whether the queue's next slice may follow in the same run of the bottom
 * half: only while no other queue has work (they alternate, section 11), no
 * delay is injected and the run is short, since it holds the BQL.
 */
static bool ossa_queue_run_on(OssaQueue *q, int64_t deadline)
{
    OssaState *s = q->dev;
    unsigned i;

    if (ossa_slice_stale(q) || !ossa_queue_runnable(q) ||
        s->inject_delay_us ||
        qemu_clock_get_ns(QEMU_CLOCK_REALTIME) >= deadline) {
        return false;
    }
    for (i = 0; i < OSSA_NUM_QUEUES; i++) {
        if (i != q->index && ossa_queue_runnable(&s->queues[i])) {
            return false;
        }
    }
    return true;
}

/* Slices of the queue's work, as many as ossa_queue_run_on() allows. */
static void ossa_queue_run(void *opaque)
{
    OssaQueue *q = opaque;
    Object *obj = OBJECT(q->dev);
    int64_t deadline = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + OSSA_RUN_NS;

    /* Held across the slices, which may unrealize the device. */
    object_ref(obj);
    do {
        ossa_queue_slice(q);
    } while (ossa_queue_run_on(q, deadline));
    if (!ossa_slice_stale(q)) {
        ossa_queue_next_slice(q);
    }
    if (DEVICE(obj)->realized) {
        object_unref(obj);
        return;
    }
    /*
     * Unrealized by the slice: the reference may be the last one, so it
     * is dropped only after this bottom half, as aio_bh_call() still
     * writes the device's reentrancy guard when the callback returns.
     */
    aio_bh_schedule_oneshot(qemu_get_aio_context(), ossa_queue_unref, obj);
}

static void ossa_queue_delay_expired(void *opaque)
{
    OssaQueue *q = opaque;

    qemu_bh_schedule(q->bh);
}

static void ossa_queue_enable(OssaQueue *q, bool enable)
{
    if (enable == q->enabled) {
        return;
    }
    trace_ossa_queue_enable(q->index, enable);
    if (!enable) {
        ossa_queue_disable(q);
        return;
    }
    ossa_queue_abandon(q);
    q->error = 0;
    q->head = 0;
    q->tail = 0;
    if (q->size_log2 < OSSA_Q_SIZE_MIN || q->size_log2 > OSSA_Q_SIZE_MAX) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: queue %u enabled with Q_SIZE %u, not in %u..%u\n",
                      q->index, q->size_log2, OSSA_Q_SIZE_MIN,
                      OSSA_Q_SIZE_MAX);
        ossa_queue_error(q, OSSA_Q_ERR_BAD_RING);
        return;
    }
    q->enabled = true;
}

static void ossa_queue_doorbell(OssaQueue *q, uint32_t tail)
{
    if (!q->enabled) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: doorbell of disabled queue %u ignored\n",
                      q->index);
        return;
    }
    trace_ossa_queue_doorbell(q->index, tail, q->head);
    if (tail - q->head > ossa_queue_entries(q)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: queue %u Q_TAIL %u overruns HEAD %u (size %u)\n",
                      q->index, tail, q->head, ossa_queue_entries(q));
        ossa_queue_error(q, OSSA_Q_ERR_TAIL_OVERRUN);
        return;
    }
    q->tail = tail;
    ossa_queue_kick(q);
}

uint64_t ossa_queue_read(OssaQueue *q, hwaddr reg)
{
    switch (reg) {
    case OSSA_REG_Q_BASE_LO:
        return (uint32_t)q->base;
    case OSSA_REG_Q_BASE_HI:
        return q->base >> 32;
    case OSSA_REG_Q_SIZE:
        return q->size_log2;
    case OSSA_REG_Q_CONTROL:
        return q->enabled ? OSSA_Q_CONTROL_ENABLE : 0;
    case OSSA_REG_Q_TAIL:
        return q->tail;
    case OSSA_REG_Q_HEAD:
        return q->head;
    case OSSA_REG_Q_STATUS:
        return (q->enabled ? OSSA_Q_STATUS_ENABLED : 0) |
               (q->enabled && q->head != q->tail ? OSSA_Q_STATUS_BUSY : 0) |
               (q->error ? OSSA_Q_STATUS_ERROR |
                           q->error << OSSA_Q_STATUS_CODE_SHIFT : 0);
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: read of unknown queue %u register 0x%" HWADDR_PRIx
                      "\n", q->index, reg);
        return 0;
    }
}

static bool ossa_queue_config_writable(OssaQueue *q, hwaddr reg)
{
    if (q->enabled) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: queue %u register 0x%" HWADDR_PRIx
                      " written while enabled, ignored\n", q->index, reg);
        return false;
    }
    return true;
}

void ossa_queue_write(OssaQueue *q, hwaddr reg, uint32_t val)
{
    switch (reg) {
    case OSSA_REG_Q_BASE_LO:
        if (ossa_queue_config_writable(q, reg)) {
            q->base = deposit64(q->base, 0, 32,
                                val & ~(uint32_t)(OSSA_Q_BASE_ALIGN - 1));
        }
        break;
    case OSSA_REG_Q_BASE_HI:
        if (ossa_queue_config_writable(q, reg)) {
            q->base = deposit64(q->base, 32, 32, val);
        }
        break;
    case OSSA_REG_Q_SIZE:
        if (ossa_queue_config_writable(q, reg)) {
            q->size_log2 = val;
        }
        break;
    case OSSA_REG_Q_CONTROL:
        if (val & ~OSSA_Q_CONTROL_ENABLE) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "ossa: queue %u Q_CONTROL reserved bits 0x%x "
                          "ignored\n", q->index, val & ~OSSA_Q_CONTROL_ENABLE);
        }
        ossa_queue_enable(q, val & OSSA_Q_CONTROL_ENABLE);
        break;
    case OSSA_REG_Q_TAIL:
        ossa_queue_doorbell(q, val);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: write of 0x%x to %s queue %u register 0x%"
                      HWADDR_PRIx "\n", val,
                      reg == OSSA_REG_Q_HEAD || reg == OSSA_REG_Q_STATUS ?
                      "read-only" : "unknown", q->index, reg);
        break;
    }
}

/* Returns the queue to its reset state (docs/specs/ossa.rst, 10). */
void ossa_queue_reset(OssaQueue *q)
{
    ossa_queue_abandon(q);
    q->base = 0;
    q->size_log2 = 0;
    q->enabled = false;
    q->tail = 0;
    q->head = 0;
    q->error = 0;
}

/* At realize; a device realized again keeps what its first realize made. */
void ossa_queue_init(OssaState *s, unsigned index)
{
    OssaQueue *q = &s->queues[index];

    if (q->bh) {
        return;
    }
    q->dev = s;
    q->index = index;
    q->bh = qemu_bh_new_guarded(ossa_queue_run, q,
                                &DEVICE(s)->mem_reentrancy_guard);
    q->delay_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL,
                                  ossa_queue_delay_expired, q);
    q->bounce = g_malloc(OSSA_BOUNCE_SIZE);
}

/* At unrealize: no slice is scheduled any more (ossa_queue_kick()). */
void ossa_queue_stop(OssaQueue *q)
{
    qemu_bh_cancel(q->bh);
    timer_del(q->delay_timer);
}

/*
 * At finalize, which comes after any slice has returned (it holds a
 * reference); also for an object that was never realized.
 */
void ossa_queue_cleanup(OssaQueue *q)
{
    if (!q->bh) {
        return;
    }
    qemu_bh_delete(q->bh);
    timer_free(q->delay_timer);
    g_free(q->bounce);
}

/*
 * What is wrong with a queue's state as a migration stream brought it, or
 * NULL: a state no register sequence can produce is refused, so that the
 * run loop never sees one.
 */
static const char *ossa_queue_load_error(const OssaQueue *q)
{
    if (q->base % OSSA_Q_BASE_ALIGN) {
        return "Q_BASE is not 64-byte aligned";
    }
    if (q->enabled && (q->size_log2 < OSSA_Q_SIZE_MIN ||
                       q->size_log2 > OSSA_Q_SIZE_MAX)) {
        return "Q_SIZE of an enabled queue is out of range";
    }
    if (q->enabled && q->tail - q->head > ossa_queue_entries(q)) {
        return "Q_TAIL is more than the ring holds past Q_HEAD";
    }
    if (q->error > OSSA_Q_ERR_RING_DMA || (q->error && q->enabled)) {
        return "error code unknown, or on an enabled queue";
    }
    if (q->job_active &&
        (!q->enabled || !ossa_queue_desc_valid(q) ||
         q->job_context >= OSSA_NUM_CONTEXTS ||
         q->cmd_offset > q->job_cmd_size || q->cmd_offset % 8)) {
        return "job in progress that the device would not have started";
    }
    if (q->cmd_loaded && !q->job_active) {
        return "job: none, but a command in progress";
    }
    if (q->cmd_loaded && !ossa_cmd_loaded_valid(q)) {
        return "command in progress that the device would not have loaded";
    }
    return NULL;
}

static int ossa_queue_post_load(void *opaque, int version_id)
{
    OssaQueue *q = opaque;
    const char *error = ossa_queue_load_error(q);

    if (error) {
        error_report("ossa: migrated state refused: queue %u: %s", q->index,
                     error);
        return -EINVAL;
    }
    return 0;
}

static bool ossa_queue_delay_needed(void *opaque)
{
    OssaQueue *q = opaque;

    return timer_pending(q->delay_timer);
}

/* A queue waiting out INJECT_DELAY_US goes on waiting on the destination. */
static const VMStateDescription vmstate_ossa_queue_delay = {
    .name = "ossa-queue/delay",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = ossa_queue_delay_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_TIMER_PTR(delay_timer, OssaQueue),
        VMSTATE_END_OF_LIST()
    },
};

const VMStateDescription vmstate_ossa_queue = {
    .name = "ossa-queue",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ossa_queue_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(base, OssaQueue),
        VMSTATE_UINT32(size_log2, OssaQueue),
        VMSTATE_BOOL(enabled, OssaQueue),
        VMSTATE_UINT32(tail, OssaQueue),
        VMSTATE_UINT32(head, OssaQueue),
        VMSTATE_UINT32(error, OssaQueue),
        VMSTATE_BOOL(job_active, OssaQueue),
        VMSTATE_UINT32(job_flags, OssaQueue),
        VMSTATE_UINT32(job_context, OssaQueue),
        VMSTATE_UINT64(job_root, OssaQueue),
        VMSTATE_UINT64(job_cmd_addr, OssaQueue),
        VMSTATE_UINT32(job_cmd_size, OssaQueue),
        VMSTATE_UINT64(job_start_ns, OssaQueue),
        VMSTATE_BOOL(cmd_loaded, OssaQueue),
        VMSTATE_UINT32(cmd_offset, OssaQueue),
        VMSTATE_UINT8_ARRAY(cmd, OssaQueue, OSSA_CMD_MAX_BYTES),
        VMSTATE_UINT64(cmd_progress, OssaQueue),
        VMSTATE_UINT32(cmd_crc, OssaQueue),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_ossa_queue_delay,
        NULL
    },
};
