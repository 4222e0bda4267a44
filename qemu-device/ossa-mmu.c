/*
 * ossa: device MMU (docs/specs/ossa.rst, section 7)
 *
 * Every data access of a job goes through its context's three-level page
 * table, walked with PCI DMA reads, so that a vIOMMU applies to the walk as
 * to the data. A slice reads each level-0 table it needs whole and keeps
 * the last few (OssaWalkCache) until the slice ends; the next slice reads
 * the tables again.
 *
 * Copyright (c) 2026 The ossa developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/rcu.h"
#include "system/dma.h"
#include "ossa.h"
#include "trace.h"

#define OSSA_VA_LIMIT           (1ULL << OSSA_VA_BITS)
#define OSSA_PAGE_MASK          (~(uint64_t)(OSSA_PAGE_SIZE - 1))
#define OSSA_PTE_TABLE_BITS     (OSSA_PTE_VALID | OSSA_PTE_ADDR_MASK)
#define OSSA_PTE_LEAF_BITS      (OSSA_PTE_VALID | OSSA_PTE_READ | \
                                 OSSA_PTE_WRITE | OSSA_PTE_ADDR_MASK)

/* Fills in @fault; returns false, for "return ossa_fault(...)". */
bool ossa_fault(OssaFault *fault, uint64_t va, bool write, uint32_t cause)
{
    fault->va = va;
    fault->write = write;
    fault->cause = cause;
    return false;
}

/*
 * The level-0 table of the 2 MiB region holding @va: from the walk cache,
 * or walked to through levels 2 and 1 and read whole into it. NULL on a
 * fault, described in *@fault.
 */
static const uint64_t *ossa_mmu_level0(OssaQueue *q, uint64_t va,
                                       bool write, OssaFault *fault)
{
    OssaWalkCache *c = &q->walk_cache;
    uint64_t table = q->job_root;
    uint64_t pte;
    unsigned i;
    int level;

    for (i = 0; i < OSSA_WALK_TABLES; i++) {
        if (c->table[i].valid && c->table[i].region == va >> 21) {
            return c->table[i].pte;
        }
    }
    for (level = OSSA_PT_LEVELS - 1; level > 0; level--) {
        unsigned shift = OSSA_PAGE_SHIFT + OSSA_PT_INDEX_BITS * level;
        uint64_t index = (va >> shift) & (OSSA_PT_ENTRIES - 1);

        if (ossa_dma_read(q, table + index * 8, &pte,
                          sizeof(pte)) != MEMTX_OK) {
            ossa_fault(fault, va, write, OSSA_FAULT_WALK_ERROR);
            return NULL;
        }
        pte = le64_to_cpu(pte);
        if (!(pte & OSSA_PTE_VALID)) {
            ossa_fault(fault, va, write, OSSA_FAULT_NOT_PRESENT);
            return NULL;
        }
        if (pte & ~OSSA_PTE_TABLE_BITS) {
            ossa_fault(fault, va, write, OSSA_FAULT_RESERVED);
            return NULL;
        }
        table = pte & OSSA_PTE_ADDR_MASK;
    }
    i = c->next;
    c->next = (i + 1) % OSSA_WALK_TABLES;
    c->table[i].valid = false;
    trace_ossa_mmu_table(q->index, va, table);
    if (ossa_dma_read(q, table, c->table[i].pte,
                      sizeof(c->table[i].pte)) != MEMTX_OK) {
        ossa_fault(fault, va, write, OSSA_FAULT_WALK_ERROR);
        return NULL;
    }
    c->table[i].valid = true;
    c->table[i].region = va >> 21;
    return c->table[i].pte;
}

/*
 * Translates the page holding @va. On success, *@bus is the bus address
 * of @va; on a fault, *@fault says why and false is returned.
 */
static bool ossa_mmu_translate(OssaQueue *q, uint64_t va, bool write,
                               dma_addr_t *bus, OssaFault *fault)
{
    OssaState *s = q->dev;
    const uint64_t *level0;
    uint64_t pte;

    if (va >= OSSA_VA_LIMIT) {
        return ossa_fault(fault, va, write, OSSA_FAULT_RANGE);
    }
    if ((s->inject_fault & OSSA_INJECT_FAULT_ENABLE) &&
        (va & OSSA_PAGE_MASK) == (s->inject_fault & OSSA_PAGE_MASK)) {
        return ossa_fault(fault, va, write, OSSA_FAULT_INJECTED);
    }

    trace_ossa_mmu_translate(q->index, va, write);
    level0 = ossa_mmu_level0(q, va, write, fault);
    if (!level0) {
        return false;
    }
    pte = le64_to_cpu(level0[(va >> OSSA_PAGE_SHIFT) & (OSSA_PT_ENTRIES - 1)]);
    if (!(pte & OSSA_PTE_VALID)) {
        return ossa_fault(fault, va, write, OSSA_FAULT_NOT_PRESENT);
    }
    if (pte & ~OSSA_PTE_LEAF_BITS) {
        return ossa_fault(fault, va, write, OSSA_FAULT_RESERVED);
    }
    if (!(pte & (write ? OSSA_PTE_WRITE : OSSA_PTE_READ))) {
        return ossa_fault(fault, va, write, OSSA_FAULT_PERMISSION);
    }
    *bus = (pte & OSSA_PTE_ADDR_MASK) | (va & ~OSSA_PAGE_MASK);
    return true;
}

/* Forgets the level-0 tables read so far: at every slice and job start. */
void ossa_mmu_new_slice(OssaQueue *q)
{
    unsigned i;

    for (i = 0; i < OSSA_WALK_TABLES; i++) {
        q->walk_cache.table[i].valid = false;
    }
}

/*
 * Translates the start of [@va, @va + @len) and extends it, page by page,
 * while the pages are contiguous on the bus. On success, *@bus and *@run
 * give the run (0 < *@run <= @len); a fault at @va returns false. A page
 * beyond the first that faults only ends the run: the caller meets the
 * fault when it gets there.
 */
bool ossa_mmu_run(OssaQueue *q, uint64_t va, uint64_t len, bool write,
                  dma_addr_t *bus, uint64_t *run, OssaFault *fault)
{
    uint64_t done;
    dma_addr_t next;

    assert(len > 0);
    if (!ossa_mmu_translate(q, va, write, bus, fault)) {
        return false;
    }
    done = MIN(len, OSSA_PAGE_SIZE - (va & ~OSSA_PAGE_MASK));
    while (done < len) {
        OssaFault ignored;

        if (!ossa_mmu_translate(q, va + done, write, &next, &ignored) ||
            next != *bus + done) {
            break;
        }
        done += MIN(len - done, OSSA_PAGE_SIZE);
    }
    *run = done;
    return true;
}

/*
 * Moves a page at a time, so that a failed access is reported in the page
 * that failed (docs/specs/ossa.rst, 7.5).
 */
static bool ossa_vm_rw(OssaQueue *q, uint64_t va, void *buf, uint64_t len,
                       bool write, OssaFault *fault)
{
    uint8_t *p = buf;

    while (len) {
        dma_addr_t bus;
        uint64_t run, done, l;

        if (!ossa_mmu_run(q, va, len, write, &bus, &run, fault)) {
            return false;
        }
        for (done = 0; done < run; done += l) {
            l = MIN(run - done, ossa_page_left(bus + done));
            if (ossa_dma_rw(q, bus + done, p + done, l,
                            write ? DMA_DIRECTION_FROM_DEVICE :
                                    DMA_DIRECTION_TO_DEVICE) != MEMTX_OK) {
                return ossa_fault(fault, va + done, write,
                                  OSSA_FAULT_BUS_ERROR);
            }
        }
        va += run;
        p += run;
        len -= run;
    }
    return true;
}

/* Reads @len bytes at @va of the job's context. */
bool ossa_vm_read(OssaQueue *q, uint64_t va, void *buf, uint64_t len,
                  OssaFault *fault)
{
    return ossa_vm_rw(q, va, buf, len, false, fault);
}

/* Writes @len bytes at @va of the job's context. */
bool ossa_vm_write(OssaQueue *q, uint64_t va, const void *buf, uint64_t len,
                   OssaFault *fault)
{
    return ossa_vm_rw(q, va, (void *)buf, len, true, fault);
}

/*
 * Maps @len bytes at bus address @bus for direct access, only if they are
 * plain RAM: anything else (MMIO, including this device's own BARs, or a
 * range an IOMMU refuses) returns NULL, and the caller goes through
 * pci_dma_rw(), which reports errors. Bounce-buffered mappings are never
 * used, since they would hide a failed access.
 */
void *ossa_map_ram(OssaQueue *q, dma_addr_t bus, dma_addr_t len,
                   DMADirection dir)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(q->dev));
    bool write = dir == DMA_DIRECTION_FROM_DEVICE;
    MemoryRegion *mr;
    hwaddr xlat, l = len;
    dma_addr_t plen = len;
    void *ptr;

    /* Out of reach, the page-wise fallback reports the bus error. */
    if (ossa_slice_stale(q) || !ossa_dma_in_reach(q->dev, bus, len)) {
        return NULL;
    }
    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(as, bus, &xlat, &l, write,
                                 MEMTXATTRS_UNSPECIFIED);
    if (l < len || !memory_access_is_direct(mr, write,
                                            MEMTXATTRS_UNSPECIFIED)) {
        return NULL;
    }
    ptr = dma_memory_map(as, bus, &plen, dir, MEMTXATTRS_UNSPECIFIED);
    /* A vIOMMU's translation may have made the slice stale. */
    if (ptr && (plen < len || ossa_slice_stale(q))) {
        dma_memory_unmap(as, ptr, plen, dir, 0);
        return NULL;
    }
    return ptr;
}

/* Unmaps what ossa_map_ram() mapped; all @len bytes count as accessed. */
void ossa_unmap_ram(OssaQueue *q, void *ptr, dma_addr_t len,
                    DMADirection dir)
{
    dma_memory_unmap(pci_get_address_space(PCI_DEVICE(q->dev)), ptr, len,
                     dir, len);
}

/*
 * Reports a fault of the queue's job (docs/specs/ossa.rst, 7.4): stops the
 * context, records the fault if none is recorded, counts it and raises
 * MMU_FAULT.
 */
void ossa_mmu_record_fault(OssaQueue *q, const OssaFault *fault)
{
    OssaState *s = q->dev;

    trace_ossa_mmu_fault(q->index, q->job_context, fault->va, fault->cause,
                         fault->write);
    s->ctx_stopped |= 1ULL << q->job_context;
    if (!(s->fault_info & OSSA_FAULT_INFO_VALID)) {
        s->fault_addr = fault->va;
        s->fault_info = OSSA_FAULT_INFO_VALID |
                        (fault->cause << OSSA_FAULT_INFO_CAUSE_SHIFT) |
                        (fault->write ? OSSA_FAULT_INFO_WRITE : 0) |
                        (q->index << OSSA_FAULT_INFO_QUEUE_SHIFT) |
                        q->job_context;
    }
    if (s->fault_count != UINT32_MAX) {
        s->fault_count++;
    }
    ossa_raise_irq(s, OSSA_IRQ_MMU_FAULT);
}
