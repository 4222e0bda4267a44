/*
 * ossa: Open-Source-userspace Sample Accelerator, a PCI compute accelerator
 *
 * State shared by the device's files: ossa.c (PCI function, registers,
 * interrupts, reset, migration), ossa-queue.c (rings and jobs), ossa-cmd.c
 * (commands) and ossa-mmu.c (device address translation and faults).
 *
 * The programming interface is docs/specs/ossa.rst; its constants are in
 * ossa_regs.h.
 *
 * Copyright (c) 2026 The ossa developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_OSSA_OSSA_H
#define HW_OSSA_OSSA_H

#include "hw/pci/pci_device.h"
#include "system/dma.h"
#include "qemu/timer.h"
#include "system/runstate.h"
#include "qom/object.h"
#include "ossa_regs.h"

#define TYPE_OSSA "ossa"
OBJECT_DECLARE_SIMPLE_TYPE(OssaState, OSSA)

/* Work done per scheduling slice of a queue (docs/specs/ossa.rst, 11). */
#define OSSA_SLICE_BYTES        (1 * MiB)
#define OSSA_SLICE_COMMANDS     64

/*
 * Host time a run of a queue's bottom half may go on for, slice after
 * slice, while no other queue has work: it holds the BQL meanwhile.
 */
#define OSSA_RUN_NS             (200 * SCALE_US)

/* The largest command (FMA_F32), in bytes. */
#define OSSA_CMD_MAX_BYTES      OSSA_CMD_FMA_F32_SIZE

/* Size of each queue's bounce buffer for DMA that cannot be mapped. */
#define OSSA_BOUNCE_SIZE        (64 * KiB)

/* An MMU fault, as the device records it (docs/specs/ossa.rst, 7.4). */
typedef struct OssaFault {
    uint64_t va;
    uint32_t cause;
    bool write;
} OssaFault;

/* Outcome of a step of a job. */
typedef enum OssaStep {
    OSSA_STEP_MORE,         /* budget used up; the job goes on */
    OSSA_STEP_DONE,         /* the job ended; its status is in job_status */
    OSSA_STEP_STALE,        /* the device was reset or unrealized meanwhile */
} OssaStep;

/* Level-0 tables a slice keeps: one for each array of FMA_F32. */
#define OSSA_WALK_TABLES        4

/*
 * The level-0 tables of the 2 MiB regions the current slice needed, as
 * read when it first needed each (docs/specs/ossa.rst, 7.2): reused for the
 * rest of the slice, dropped at the start of the next. One for each stream
 * of a command (COPY's two, FMA_F32's four), so that they do not evict
 * each other's while each stays in its region; a stream that crosses into
 * another region may evict one, which is then read again.
 */
typedef struct OssaWalkCache {
    unsigned next;              /* the entry to replace next */
    struct {
        bool valid;
        uint64_t region;        /* VA >> 21 */
        uint64_t pte[OSSA_PT_ENTRIES];
    } table[OSSA_WALK_TABLES];
} OssaWalkCache;

typedef struct OssaQueue {
    struct OssaState *dev;
    unsigned index;

    /* Registers */
    uint64_t base;
    uint32_t size_log2;
    bool enabled;
    uint32_t tail;
    uint32_t head;
    uint32_t error;             /* queue error code, 0 if none */

    /* The job in progress, if job_active */
    bool job_active;
    uint32_t job_flags;
    uint32_t job_context;
    uint64_t job_root;          /* bus address of the level-2 table */
    uint64_t job_cmd_addr;
    uint32_t job_cmd_size;
    uint64_t job_start_ns;
    uint32_t job_status;
    uint32_t job_error_offset;

    /* The command in progress, if cmd_loaded */
    bool cmd_loaded;
    uint32_t cmd_offset;        /* of the command in the stream */
    uint8_t cmd[OSSA_CMD_MAX_BYTES];
    uint64_t cmd_progress;      /* bytes or elements done */
    uint32_t cmd_crc;           /* running CRC32C register */

    OssaWalkCache walk_cache;   /* not migrated: dropped every slice */
    uint32_t slice_generation;  /* not migrated: set at every slice start */

    QEMUBH *bh;
    QEMUTimer *delay_timer;     /* INJECT_DELAY_US before a slice */
    uint8_t *bounce;
} OssaQueue;

struct OssaState {
    PCIDevice parent_obj;

    MemoryRegion regs;

    /* Properties */
    bool fault_injection;
    bool msix;                  /* MSI-X capability and BAR4 */
    uint8_t dma_bits;           /* bus address bits it drives (4.3) */

    /* Registers */
    uint32_t scratch;
    uint32_t time_hi_latch;
    uint32_t irq_status;
    uint32_t irq_mask;
    uint64_t ctx_table;
    uint64_t ctx_stopped;
    uint64_t fault_addr;
    uint32_t fault_info;
    uint32_t fault_count;

    /* Fault injection (docs/specs/ossa.rst, 12) */
    uint32_t inject_hang;
    uint32_t inject_fail;
    uint32_t inject_delay_us;
    uint64_t inject_fault;

    OssaQueue queues[OSSA_NUM_QUEUES];
    VMChangeStateEntry *vm_state;   /* kicks the queues when the VM runs */

    /*
     * Bumped by every reset and by unrealize, which a slice's own access
     * can cause: a DMA write, or an MSI message, reaching the function's
     * Initiate FLR or its slot's Slot Control through MMCONFIG, or an
     * emulated IOMMU's event write on a failed translation. The slice
     * then stops (ossa_slice_stale()).
     */
    uint32_t generation;
};

/* Bytes from bus address or VA @addr to the end of its page. */
static inline uint64_t ossa_page_left(uint64_t addr)
{
    return OSSA_PAGE_SIZE - (addr & (OSSA_PAGE_SIZE - 1));
}

/* Whether the device was reset or unrealized since @q's slice began. */
static inline bool ossa_slice_stale(const OssaQueue *q)
{
    return q->dev->generation != q->slice_generation;
}

/*
 * Whether the device can put [@addr, @addr + @len) on the bus: it does not
 * drive a bus address at or above 2^dma-bits (docs/specs/ossa.rst, 9).
 */
static inline bool ossa_dma_in_reach(const OssaState *s, dma_addr_t addr,
                                     dma_addr_t len)
{
    if (!len || s->dma_bits >= 64) {
        return true;
    }
    return !((addr | (addr + len - 1)) >> s->dma_bits);
}

void ossa_dma_out_of_reach(OssaQueue *q, dma_addr_t addr, dma_addr_t len);

/*
 * Every DMA of a slice: refused once the slice is stale, and failed if it
 * made the slice stale, so that nothing the slice does after such an
 * access reaches the bus.
 */
static inline MemTxResult ossa_dma_rw(OssaQueue *q, dma_addr_t addr,
                                      void *buf, dma_addr_t len,
                                      DMADirection dir)
{
    MemTxResult r;

    if (ossa_slice_stale(q)) {
        return MEMTX_ERROR;
    }
    if (!ossa_dma_in_reach(q->dev, addr, len)) {
        ossa_dma_out_of_reach(q, addr, len);
        return MEMTX_DECODE_ERROR;
    }
    r = pci_dma_rw(PCI_DEVICE(q->dev), addr, buf, len, dir,
                   MEMTXATTRS_UNSPECIFIED);
    return ossa_slice_stale(q) ? MEMTX_ERROR : r;
}

static inline MemTxResult ossa_dma_read(OssaQueue *q, dma_addr_t addr,
                                        void *buf, dma_addr_t len)
{
    return ossa_dma_rw(q, addr, buf, len, DMA_DIRECTION_TO_DEVICE);
}

static inline MemTxResult ossa_dma_write(OssaQueue *q, dma_addr_t addr,
                                         const void *buf, dma_addr_t len)
{
    return ossa_dma_rw(q, addr, (void *)buf, len, DMA_DIRECTION_FROM_DEVICE);
}

/* ossa.c */
uint64_t ossa_time_ns(void);
void ossa_raise_irq(OssaState *s, uint32_t cause);

/* ossa-queue.c */
void ossa_queue_init(OssaState *s, unsigned index);
void ossa_queue_stop(OssaQueue *q);
void ossa_queue_cleanup(OssaQueue *q);
void ossa_queue_reset(OssaQueue *q);
void ossa_queue_kick(OssaQueue *q);
uint64_t ossa_queue_read(OssaQueue *q, hwaddr reg);
void ossa_queue_write(OssaQueue *q, hwaddr reg, uint32_t val);
extern const VMStateDescription vmstate_ossa_queue;

/* ossa-cmd.c */
OssaStep ossa_cmd_step(OssaQueue *q, uint64_t *budget, unsigned *commands);
bool ossa_cmd_loaded_valid(const OssaQueue *q);

/* ossa-mmu.c */
bool ossa_fault(OssaFault *fault, uint64_t va, bool write, uint32_t cause);
void ossa_mmu_new_slice(OssaQueue *q);
bool ossa_mmu_run(OssaQueue *q, uint64_t va, uint64_t len, bool write,
                  dma_addr_t *bus, uint64_t *run, OssaFault *fault);
bool ossa_vm_read(OssaQueue *q, uint64_t va, void *buf, uint64_t len,
                  OssaFault *fault);
bool ossa_vm_write(OssaQueue *q, uint64_t va, const void *buf, uint64_t len,
                   OssaFault *fault);
void *ossa_map_ram(OssaQueue *q, dma_addr_t bus, dma_addr_t len,
                   DMADirection dir);
void ossa_unmap_ram(OssaQueue *q, void *ptr, dma_addr_t len,
                    DMADirection dir);
void ossa_mmu_record_fault(OssaQueue *q, const OssaFault *fault);

#endif /* HW_OSSA_OSSA_H */
