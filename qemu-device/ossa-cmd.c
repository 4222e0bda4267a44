/*
 * ossa: command execution (docs/specs/ossa.rst, section 6)
 *
 * A job's commands run one after the other, each in as many slices as its
 * size needs; a command's progress lives in its queue, so that a slice can
 * end anywhere and the state migrates.
 *
 * Copyright (c) 2026 The ossa developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/crc32c.h"
#include "qemu/units.h"
#include "fpu/softfloat.h"
#include "system/dma.h"
#include "ossa.h"
#include "trace.h"

/* Elements of FMA_F32 per chunk: four arrays of them fit the bounce buffer */
#define OSSA_FMA_CHUNK  (OSSA_BOUNCE_SIZE / 4 / sizeof(uint32_t))

typedef enum OssaCmdResult {
    OSSA_CMD_MORE,      /* budget used up, the command goes on */
    OSSA_CMD_OK,        /* the command completed */
    OSSA_CMD_FAULT,     /* an access faulted; the fault is in *fault */
    OSSA_CMD_STALE,     /* its interrupt reset or unrealized the device */
} OssaCmdResult;

static uint32_t arg32(const OssaQueue *q, unsigned offset)
{
    return ldl_le_p(q->cmd + offset);
}

static uint64_t arg64(const OssaQueue *q, unsigned offset)
{
    return ldq_le_p(q->cmd + offset);
}

static unsigned ossa_cmd_size(uint32_t opcode)
{
    switch (opcode) {
    case OSSA_CMD_NOP:
        return OSSA_CMD_NOP_SIZE;
    case OSSA_CMD_COPY:
        return OSSA_CMD_COPY_SIZE;
    case OSSA_CMD_FILL:
        return OSSA_CMD_FILL_SIZE;
    case OSSA_CMD_CRC32C:
        return OSSA_CMD_CRC32C_SIZE;
    case OSSA_CMD_FMA_F32:
        return OSSA_CMD_FMA_F32_SIZE;
    case OSSA_CMD_FENCE:
        return OSSA_CMD_FENCE_SIZE;
    case OSSA_CMD_TIMESTAMP:
        return OSSA_CMD_TIMESTAMP_SIZE;
    default:
        return 0;
    }
}

/* Whether [a, a + n) and [b, b + n) overlap, without overflow. */
static bool ossa_overlap(uint64_t a, uint64_t b, uint64_t n)
{
    return n && (a - b < n || b - a < n);
}

/* Checks the loaded command's fields (docs/specs/ossa.rst, 6). */
static bool ossa_cmd_valid(const OssaQueue *q)
{
    uint64_t size;

    switch (arg32(q, 0)) {
    case OSSA_CMD_NOP:
        return !arg32(q, 4);
    case OSSA_CMD_COPY:
        size = arg64(q, 24);
        return !arg32(q, 4) && size <= OSSA_DATA_SIZE_MAX &&
               !ossa_overlap(arg64(q, 8), arg64(q, 16), size);
    case OSSA_CMD_FILL:
        size = arg64(q, 16);
        return size <= OSSA_DATA_SIZE_MAX && !(size % 4) &&
               !(arg64(q, 8) % 4);
    case OSSA_CMD_CRC32C:
        return arg64(q, 16) <= OSSA_DATA_SIZE_MAX && !(arg64(q, 24) % 4);
    case OSSA_CMD_FMA_F32:
        return arg32(q, 4) <= OSSA_FMA_COUNT_MAX && !(arg64(q, 8) % 4) &&
               !(arg64(q, 16) % 4) && !(arg64(q, 24) % 4) &&
               !(arg64(q, 32) % 4);
    case OSSA_CMD_FENCE:
        return !(arg32(q, 4) & ~OSSA_CMD_FENCE_FLAG_IRQ) &&
               !(arg64(q, 8) % 8);
    case OSSA_CMD_TIMESTAMP:
        return !arg32(q, 4) && !(arg64(q, 8) % 8);
    default:
        return false;
    }
}

/*
 * How far the loaded command's progress goes (q->cmd_progress): bytes or
 * elements; 0 for a command done in one go.
 */
static uint64_t ossa_cmd_extent(const OssaQueue *q)
{
    switch (arg32(q, 0)) {
    case OSSA_CMD_COPY:
        return arg64(q, 24);
    case OSSA_CMD_FILL:
    case OSSA_CMD_CRC32C:
        return arg64(q, 16);
    case OSSA_CMD_FMA_F32:
        return arg32(q, 4);
    default:
        return 0;
    }
}

/*
 * Whether a command in progress, as a migration stream brought it, is one
 * the device could have loaded at q->cmd_offset and got as far as
 * q->cmd_progress in. The job's own fields are checked already.
 */
bool ossa_cmd_loaded_valid(const OssaQueue *q)
{
    unsigned size = ossa_cmd_size(arg32(q, 0));

    return size && size <= q->job_cmd_size - q->cmd_offset &&
           ossa_cmd_valid(q) && q->cmd_progress <= ossa_cmd_extent(q);
}

/*
 * Moves @n bytes from bus address @src to @dst; @sva/@dva name them. Plain
 * RAM on both sides is copied directly; anything else goes through the
 * bounce buffer a page at a time, so that a failed access is reported in
 * the page that failed (docs/specs/ossa.rst, 7.5).
 */
static bool ossa_xfer(OssaQueue *q, dma_addr_t src, dma_addr_t dst,
                      uint64_t n, uint64_t sva, uint64_t dva,
                      OssaFault *fault)
{
    void *from = ossa_map_ram(q, src, n, DMA_DIRECTION_TO_DEVICE);
    void *to = from ? ossa_map_ram(q, dst, n, DMA_DIRECTION_FROM_DEVICE) :
                      NULL;
    uint64_t done, l;

    if (to) {
        /* Distinct VAs may share pages: the two may overlap. */
        memmove(to, from, n);
        ossa_unmap_ram(q, to, n, DMA_DIRECTION_FROM_DEVICE);
        ossa_unmap_ram(q, from, n, DMA_DIRECTION_TO_DEVICE);
        return true;
    }
    if (from) {
        ossa_unmap_ram(q, from, n, DMA_DIRECTION_TO_DEVICE);
    }
    for (done = 0; done < n; done += l) {
        l = MIN(MIN(n - done, OSSA_BOUNCE_SIZE),
                MIN(ossa_page_left(src + done), ossa_page_left(dst + done)));
        if (ossa_dma_read(q, src + done, q->bounce, l) != MEMTX_OK) {
            return ossa_fault(fault, sva + done, false, OSSA_FAULT_BUS_ERROR);
        }
        if (ossa_dma_write(q, dst + done, q->bounce, l) != MEMTX_OK) {
            return ossa_fault(fault, dva + done, true, OSSA_FAULT_BUS_ERROR);
        }
    }
    return true;
}

/*
 * Each side is translated a run of bus-contiguous pages at a time, and a
 * run is used up before the next is translated: a page is translated at
 * most twice (once more when it ends a run), however the two sides' runs
 * fall.
 */
static OssaCmdResult ossa_cmd_copy(OssaQueue *q, uint64_t *budget,
                                   OssaFault *fault)
{
    uint64_t src = arg64(q, 8), dst = arg64(q, 16), size = arg64(q, 24);
    uint64_t srun = 0, drun = 0;    /* bytes left of each side's run */
    dma_addr_t sbus = 0, dbus = 0;  /* where they start */

    while (q->cmd_progress < size) {
        uint64_t n = MIN(size - q->cmd_progress, *budget);
        uint64_t sva = src + q->cmd_progress, dva = dst + q->cmd_progress;

        if (!n) {
            return OSSA_CMD_MORE;
        }
        if ((!srun && !ossa_mmu_run(q, sva, n, false, &sbus, &srun, fault)) ||
            (!drun && !ossa_mmu_run(q, dva, MIN(n, srun), true, &dbus, &drun,
                                    fault))) {
            return OSSA_CMD_FAULT;
        }
        n = MIN(n, MIN(srun, drun));
        if (!ossa_xfer(q, sbus, dbus, n, sva, dva, fault)) {
            return OSSA_CMD_FAULT;
        }
        q->cmd_progress += n;
        *budget -= n;
        sbus += n;
        srun -= n;
        dbus += n;
        drun -= n;
    }
    return OSSA_CMD_OK;
}

static OssaCmdResult ossa_cmd_fill(OssaQueue *q, uint64_t *budget,
                                   OssaFault *fault)
{
    uint32_t value = cpu_to_le32(arg32(q, 4));
    uint64_t dst = arg64(q, 8), size = arg64(q, 16);
    uint64_t i;

    for (i = 0; i < OSSA_BOUNCE_SIZE / 4; i++) {
        memcpy(q->bounce + i * 4, &value, 4);
    }
    while (q->cmd_progress < size) {
        /* Runs start and end on multiples of 4: dst, size and pages are */
        uint64_t n = MIN(size - q->cmd_progress, MAX(*budget & ~3ULL, 4));

        uint64_t va = dst + q->cmd_progress, done, l;
        dma_addr_t bus;
        void *ptr;

        if (!*budget) {
            return OSSA_CMD_MORE;
        }

        if (!ossa_mmu_run(q, va, n, true, &bus, &n, fault)) {
            return OSSA_CMD_FAULT;
        }
        ptr = ossa_map_ram(q, bus, n, DMA_DIRECTION_FROM_DEVICE);
        if (ptr) {
            for (done = 0; done < n; done += OSSA_BOUNCE_SIZE) {
                memcpy((uint8_t *)ptr + done, q->bounce,
                       MIN(n - done, OSSA_BOUNCE_SIZE));
            }
            ossa_unmap_ram(q, ptr, n, DMA_DIRECTION_FROM_DEVICE);
        } else {
            /* A page at a time: a failure is reported in its page (7.5). */
            for (done = 0; done < n; done += l) {
                l = MIN(MIN(n - done, OSSA_BOUNCE_SIZE),
                        ossa_page_left(bus + done));
                if (ossa_dma_write(q, bus + done, q->bounce, l)) {
                    ossa_fault(fault, va + done, true, OSSA_FAULT_BUS_ERROR);
                    return OSSA_CMD_FAULT;
                }
            }
        }
        q->cmd_progress += n;
        *budget -= MIN(*budget, n);
    }
    return OSSA_CMD_OK;
}

/* q->cmd_crc holds the raw CRC register: ~seed at the start. */
static OssaCmdResult ossa_cmd_crc32c(OssaQueue *q, uint64_t *budget,
                                     OssaFault *fault)
{
    uint64_t src = arg64(q, 8), size = arg64(q, 16);
    uint32_t result;

    while (q->cmd_progress < size) {
        uint64_t n = MIN(size - q->cmd_progress, *budget);
        uint64_t va = src + q->cmd_progress, done, l;
        dma_addr_t bus;
        void *ptr;

        if (!n) {
            return OSSA_CMD_MORE;
        }
        if (!ossa_mmu_run(q, va, n, false, &bus, &n, fault)) {
            return OSSA_CMD_FAULT;
        }
        ptr = ossa_map_ram(q, bus, n, DMA_DIRECTION_TO_DEVICE);
        if (ptr) {
            q->cmd_crc = ~crc32c(q->cmd_crc, ptr, n);
            ossa_unmap_ram(q, ptr, n, DMA_DIRECTION_TO_DEVICE);
        } else {
            /* A page at a time: a failure is reported in its page (7.5). */
            for (done = 0; done < n; done += l) {
                l = MIN(MIN(n - done, OSSA_BOUNCE_SIZE),
                        ossa_page_left(bus + done));
                if (ossa_dma_read(q, bus + done, q->bounce, l)) {
                    ossa_fault(fault, va + done, false, OSSA_FAULT_BUS_ERROR);
                    return OSSA_CMD_FAULT;
                }
                q->cmd_crc = ~crc32c(q->cmd_crc, q->bounce, l);
            }
        }
        q->cmd_progress += n;
        *budget -= n;
    }
    result = cpu_to_le32(~q->cmd_crc);
    return ossa_vm_write(q, arg64(q, 24), &result, 4, fault) ?
           OSSA_CMD_OK : OSSA_CMD_FAULT;
}

/*
 * FMA_F32 arithmetic (docs/specs/ossa.rst, 6): exact product and sum rounded
 * once to nearest even, subnormals kept, every NaN result the default NaN
 * 0x7fc00000; in softfloat, so that the results are the same on any host.
 */
static const float_status ossa_fma_status = {
    .float_rounding_mode = float_round_nearest_even,
    .default_nan_mode = true,
    .default_nan_pattern = 0x40,    /* quiet, positive: OSSA_FMA_NAN */
};

static OssaCmdResult ossa_cmd_fma_f32(OssaQueue *q, uint64_t *budget,
                                      OssaFault *fault)
{
    uint32_t count = arg32(q, 4);
    uint32_t *a = (uint32_t *)q->bounce;
    uint32_t *b = a + OSSA_FMA_CHUNK;
    uint32_t *c = b + OSSA_FMA_CHUNK;
    uint32_t *d = c + OSSA_FMA_CHUNK;
    float_status status = ossa_fma_status;   /* its flags are not used */

    while (q->cmd_progress < count) {
        uint64_t n = MIN(count - q->cmd_progress, OSSA_FMA_CHUNK);
        uint64_t at = q->cmd_progress * 4, i;

        if (!*budget) {
            return OSSA_CMD_MORE;
        }
        if (!ossa_vm_read(q, arg64(q, 8) + at, a, n * 4, fault) ||
            !ossa_vm_read(q, arg64(q, 16) + at, b, n * 4, fault) ||
            !ossa_vm_read(q, arg64(q, 24) + at, c, n * 4, fault)) {
            return OSSA_CMD_FAULT;
        }
        for (i = 0; i < n; i++) {
            float32 r = float32_muladd(make_float32(le32_to_cpu(a[i])),
                                       make_float32(le32_to_cpu(b[i])),
                                       make_float32(le32_to_cpu(c[i])), 0,
                                       &status);

            d[i] = cpu_to_le32(float32_val(r));
        }
        if (!ossa_vm_write(q, arg64(q, 32) + at, d, n * 4, fault)) {
            return OSSA_CMD_FAULT;
        }
        q->cmd_progress += n;
        *budget -= MIN(*budget, n * 16);
    }
    return OSSA_CMD_OK;
}

static OssaCmdResult ossa_cmd_exec(OssaQueue *q, uint64_t *budget,
                                   OssaFault *fault)
{
    uint64_t value;

    switch (arg32(q, 0)) {
    case OSSA_CMD_COPY:
        return ossa_cmd_copy(q, budget, fault);
    case OSSA_CMD_FILL:
        return ossa_cmd_fill(q, budget, fault);
    case OSSA_CMD_CRC32C:
        return ossa_cmd_crc32c(q, budget, fault);
    case OSSA_CMD_FMA_F32:
        return ossa_cmd_fma_f32(q, budget, fault);
    case OSSA_CMD_FENCE:
        value = cpu_to_le64(arg64(q, 16));
        if (!ossa_vm_write(q, arg64(q, 8), &value, 8, fault)) {
            return OSSA_CMD_FAULT;
        }
        if (arg32(q, 4) & OSSA_CMD_FENCE_FLAG_IRQ) {
            ossa_raise_irq(q->dev, OSSA_IRQ_QUEUE_JOB(q->index));
        }
        /* The interrupt's message may have reset the device. */
        return ossa_slice_stale(q) ? OSSA_CMD_STALE : OSSA_CMD_OK;
    case OSSA_CMD_TIMESTAMP:
        value = cpu_to_le64(ossa_time_ns());
        return ossa_vm_write(q, arg64(q, 8), &value, 8, fault) ?
               OSSA_CMD_OK : OSSA_CMD_FAULT;
    default:
        return OSSA_CMD_OK;     /* NOP */
    }
}

static OssaStep ossa_cmd_fail(OssaQueue *q, uint32_t status)
{
    q->job_status = status;
    q->job_error_offset = q->cmd_offset;
    return OSSA_STEP_DONE;
}

/* Fetches the command at q->cmd_offset into q->cmd and checks it. */
static OssaStep ossa_cmd_load(OssaQueue *q, OssaFault *fault)
{
    uint64_t va = q->job_cmd_addr + q->cmd_offset;
    uint32_t opcode;
    unsigned size;

    if (!ossa_vm_read(q, va, q->cmd, 8, fault)) {
        return OSSA_STEP_MORE;
    }
    opcode = arg32(q, 0);
    size = ossa_cmd_size(opcode);
    if (!size || size > q->job_cmd_size - q->cmd_offset) {
        trace_ossa_cmd_invalid(q->index, q->cmd_offset, opcode);
        return ossa_cmd_fail(q, OSSA_JOB_INVALID_COMMAND);
    }
    if (!ossa_vm_read(q, va + 8, q->cmd + 8, size - 8, fault)) {
        return OSSA_STEP_MORE;
    }
    if (!ossa_cmd_valid(q)) {
        trace_ossa_cmd_invalid(q->index, q->cmd_offset, opcode);
        return ossa_cmd_fail(q, OSSA_JOB_INVALID_COMMAND);
    }
    trace_ossa_cmd(q->index, q->cmd_offset, opcode);
    q->cmd_loaded = true;
    q->cmd_progress = 0;
    q->cmd_crc = opcode == OSSA_CMD_CRC32C ? ~arg32(q, 4) : 0;
    return OSSA_STEP_MORE;
}

/*
 * Runs the queue's job on until it ends or the slice's budget (bytes of
 * data, commands) is used up. When it ends, q->job_status and
 * q->job_error_offset hold its outcome. An access or interrupt that
 * reset or unrealized the device ends the step at once: OSSA_STEP_STALE.
 */
OssaStep ossa_cmd_step(OssaQueue *q, uint64_t *budget, unsigned *commands)
{
    OssaFault fault = { 0 };

    while (*commands) {
        if (q->cmd_offset == q->job_cmd_size) {
            q->job_status = OSSA_JOB_OK;
            q->job_error_offset = 0;
            return OSSA_STEP_DONE;
        }
        if (!q->cmd_loaded) {
            fault.cause = 0;
            if (ossa_cmd_load(q, &fault) == OSSA_STEP_DONE) {
                return OSSA_STEP_DONE;
            }
            if (fault.cause) {
                goto fault;
            }
            (*commands)--;
        }
        switch (ossa_cmd_exec(q, budget, &fault)) {
        case OSSA_CMD_MORE:
            return OSSA_STEP_MORE;
        case OSSA_CMD_FAULT:
            goto fault;
        case OSSA_CMD_STALE:
            return OSSA_STEP_STALE;
        case OSSA_CMD_OK:
            q->cmd_offset += ossa_cmd_size(arg32(q, 0));
            q->cmd_loaded = false;
            break;
        }
        if (!*budget) {
            return OSSA_STEP_MORE;
        }
    }
    return OSSA_STEP_MORE;

fault:
    /* An access that made the slice stale fails; it is no fault. */
    if (ossa_slice_stale(q)) {
        return OSSA_STEP_STALE;
    }
    ossa_mmu_record_fault(q, &fault);
    /* The fault's interrupt message may have reset the device. */
    if (ossa_slice_stale(q)) {
        return OSSA_STEP_STALE;
    }
    return ossa_cmd_fail(q, OSSA_JOB_MMU_FAULT);
}
