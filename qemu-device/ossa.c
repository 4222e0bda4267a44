/*
 * ossa: Open-Source-userspace Sample Accelerator, a PCI compute accelerator
 *
 * The PCI function: registers, interrupts, reset, fault injection and
 * migration. Queues and jobs are in ossa-queue.c, commands in ossa-cmd.c
 * and the device MMU in ossa-mmu.c. The programming interface is described
 * in docs/specs/ossa.rst; its constants are in ossa_regs.h.
 *
 * Copyright (c) 2026 The ossa developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "ossa.h"
#include "trace.h"

#define OSSA_REG_QUEUES_END     OSSA_REG_QUEUE(OSSA_NUM_QUEUES)

/* The bits a register can hold (docs/specs/ossa.rst, 7.4 and 12). */
#define OSSA_FAULT_INFO_BITS    (OSSA_FAULT_INFO_CONTEXT_MASK | \
                                 OSSA_FAULT_INFO_QUEUE_MASK | \
                                 OSSA_FAULT_INFO_WRITE | \
                                 OSSA_FAULT_INFO_CAUSE_MASK | \
                                 OSSA_FAULT_INFO_VALID)
#define OSSA_INJECT_HANG_BITS   ((1U << OSSA_NUM_QUEUES) - 1)
#define OSSA_INJECT_FAULT_BITS  (OSSA_INJECT_FAULT_ENABLE | \
                                 ((1ULL << OSSA_VA_BITS) - OSSA_PAGE_SIZE))

/* Device time: QEMU's virtual clock (docs/specs/ossa.rst, 4.4). */
uint64_t ossa_time_ns(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

static unsigned ossa_irq_vector(uint32_t cause)
{
    unsigned q;

    for (q = 0; q < OSSA_NUM_QUEUES; q++) {
        if (cause == OSSA_IRQ_QUEUE_JOB(q)) {
            return OSSA_MSIX_VECTOR_QUEUE(q);
        }
    }
    return OSSA_MSIX_VECTOR_MISC;
}

static void ossa_update_intx(OssaState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    bool level = !msix_enabled(pdev) && !msi_enabled(pdev) &&
                 (s->irq_status & s->irq_mask);

    pci_set_irq(pdev, level);
}

/* Sends the message for each cause in @causes (docs/specs/ossa.rst, 8). */
static void ossa_notify(OssaState *s, uint32_t causes)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint32_t generation = s->generation;
    uint32_t cause;

    for (cause = 1; cause && cause <= causes; cause <<= 1) {
        if (!(causes & cause)) {
            continue;
        }
        trace_ossa_irq(cause, ossa_irq_vector(cause));
        if (msix_enabled(pdev)) {
            msix_notify(pdev, ossa_irq_vector(cause));
        } else if (msi_enabled(pdev)) {
            msi_notify(pdev, 0);
        }
        /* The message's write may have reset or removed the device. */
        if (s->generation != generation) {
            return;
        }
    }
    ossa_update_intx(s);
}

/* An event of @cause happened. */
void ossa_raise_irq(OssaState *s, uint32_t cause)
{
    s->irq_status |= cause;
    ossa_notify(s, cause & s->irq_mask);
}

static uint64_t ossa_inject_read(OssaState *s, hwaddr addr)
{
    switch (addr) {
    case OSSA_REG_INJECT_HANG:
        return s->inject_hang;
    case OSSA_REG_INJECT_FAIL:
        return s->inject_fail;
    case OSSA_REG_INJECT_DELAY_US:
        return s->inject_delay_us;
    case OSSA_REG_INJECT_FAULT_LO:
        return (uint32_t)s->inject_fault;
    case OSSA_REG_INJECT_FAULT_HI:
        return s->inject_fault >> 32;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: read of unknown register 0x%" HWADDR_PRIx "\n",
                      addr);
        return 0;
    }
}

static uint64_t ossa_regs_read(void *opaque, hwaddr addr, unsigned size)
{
    OssaState *s = opaque;
    uint64_t val = 0;
    uint64_t now;

    switch (addr) {
    case OSSA_REG_ID:
        val = OSSA_ID_MAGIC;
        break;
    case OSSA_REG_VERSION:
        val = OSSA_VERSION_VALUE;
        break;
    case OSSA_REG_CAPS:
        val = OSSA_NUM_QUEUES |
              OSSA_CONTEXTS_LOG2 << OSSA_CAPS_CONTEXTS_LOG2_SHIFT |
              OSSA_VA_BITS << OSSA_CAPS_VA_BITS_SHIFT |
              (s->fault_injection ? OSSA_CAPS_FAULT_INJECTION : 0) |
              (uint32_t)s->dma_bits << OSSA_CAPS_DMA_BITS_SHIFT;
        break;
    case OSSA_REG_RESET:
        break;
    case OSSA_REG_SCRATCH:
        val = s->scratch;
        break;
    case OSSA_REG_TIME_LO:
        now = ossa_time_ns();
        s->time_hi_latch = now >> 32;
        val = (uint32_t)now;
        break;
    case OSSA_REG_TIME_HI:
        val = s->time_hi_latch;
        break;
    case OSSA_REG_IRQ_STATUS:
        val = s->irq_status;
        break;
    case OSSA_REG_IRQ_MASK:
        val = s->irq_mask;
        break;
    case OSSA_REG_CTX_TABLE_LO:
        val = (uint32_t)s->ctx_table;
        break;
    case OSSA_REG_CTX_TABLE_HI:
        val = s->ctx_table >> 32;
        break;
    case OSSA_REG_CTX_STOPPED_LO:
        val = (uint32_t)s->ctx_stopped;
        break;
    case OSSA_REG_CTX_STOPPED_HI:
        val = s->ctx_stopped >> 32;
        break;
    case OSSA_REG_FAULT_ADDR_LO:
        val = (uint32_t)s->fault_addr;
        break;
    case OSSA_REG_FAULT_ADDR_HI:
        val = s->fault_addr >> 32;
        break;
    case OSSA_REG_FAULT_INFO:
        val = s->fault_info;
        break;
    case OSSA_REG_FAULT_COUNT:
        val = s->fault_count;
        break;
    case OSSA_REG_INJECT_HANG ... OSSA_REG_INJECT_FAULT_HI:
        if (s->fault_injection) {
            val = ossa_inject_read(s, addr);
            break;
        }
        goto unknown;
    case OSSA_REG_QUEUE(0) ... OSSA_REG_QUEUES_END - 1:
        val = ossa_queue_read(&s->queues[(addr - OSSA_REG_QUEUE(0)) /
                                         OSSA_QUEUE_REGS_SIZE],
                              addr % OSSA_QUEUE_REGS_SIZE);
        break;
    default:
    unknown:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: read of unknown register 0x%" HWADDR_PRIx "\n",
                      addr);
        break;
    }

    trace_ossa_reg_read(addr, val);
    return val;
}

static void ossa_kick_all(OssaState *s)
{
    unsigned q;

    for (q = 0; q < OSSA_NUM_QUEUES; q++) {
        ossa_queue_kick(&s->queues[q]);
    }
}

/* The queues do no work while the VM is stopped: they go on now. */
static void ossa_vm_state_change(void *opaque, bool running, RunState state)
{
    if (running) {
        ossa_kick_all(opaque);
    }
}

static void ossa_set_inject_hang(OssaState *s, uint32_t val)
{
    if (val & ~OSSA_INJECT_HANG_BITS) {
        qemu_log_mask(LOG_GUEST_ERROR, "ossa: INJECT_HANG bits 0x%x ignored\n",
                      val & ~OSSA_INJECT_HANG_BITS);
    }
    s->inject_hang = val & OSSA_INJECT_HANG_BITS;
    ossa_kick_all(s);
}

static void ossa_set_inject_delay(OssaState *s, uint32_t val)
{
    if (val > OSSA_INJECT_DELAY_MAX_US) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: INJECT_DELAY_US %u clamped to %u\n", val,
                      OSSA_INJECT_DELAY_MAX_US);
        val = OSSA_INJECT_DELAY_MAX_US;
    }
    s->inject_delay_us = val;
}

static void ossa_set_inject_fault(OssaState *s, uint64_t val)
{
    uint64_t ignored = val & ~OSSA_INJECT_FAULT_BITS;

    if (ignored) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: INJECT_FAULT bits 0x%" PRIx64 " ignored\n",
                      ignored);
    }
    s->inject_fault = val & OSSA_INJECT_FAULT_BITS;
}

static void ossa_inject_write(OssaState *s, hwaddr addr, uint32_t val)
{
    switch (addr) {
    case OSSA_REG_INJECT_HANG:
        ossa_set_inject_hang(s, val);
        break;
    case OSSA_REG_INJECT_FAIL:
        if (val & ~OSSA_INJECT_FAIL_NEXT) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "ossa: INJECT_FAIL bits 0x%x ignored\n",
                          val & ~OSSA_INJECT_FAIL_NEXT);
        }
        s->inject_fail = val & OSSA_INJECT_FAIL_NEXT;
        break;
    case OSSA_REG_INJECT_DELAY_US:
        ossa_set_inject_delay(s, val);
        break;
    case OSSA_REG_INJECT_FAULT_LO:
        ossa_set_inject_fault(s, deposit64(s->inject_fault, 0, 32, val));
        break;
    case OSSA_REG_INJECT_FAULT_HI:
        ossa_set_inject_fault(s, deposit64(s->inject_fault, 32, 32, val));
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: write of 0x%x to unknown register 0x%"
                      HWADDR_PRIx "\n", val, addr);
        break;
    }
}

/*
 * Soft reset (docs/specs/ossa.rst, 10): everything but the PCI function's own
 * state and the fault-injection settings.
 */
static void ossa_soft_reset(OssaState *s)
{
    unsigned q;

    trace_ossa_reset();
    s->generation++;
    for (q = 0; q < OSSA_NUM_QUEUES; q++) {
        ossa_queue_reset(&s->queues[q]);
    }
    s->scratch = 0;
    s->time_hi_latch = 0;
    s->irq_status = 0;
    s->irq_mask = 0;
    s->ctx_table = 0;
    s->ctx_stopped = 0;
    s->fault_addr = 0;
    s->fault_info = 0;
    s->fault_count = 0;
    s->inject_hang = 0;
    s->inject_fail = 0;
    ossa_update_intx(s);
}

static void ossa_regs_write(void *opaque, hwaddr addr, uint64_t val64,
                            unsigned size)
{
    OssaState *s = opaque;
    uint32_t val = val64;
    uint32_t old;

    trace_ossa_reg_write(addr, val);

    switch (addr) {
    case OSSA_REG_RESET:
        if (val == OSSA_RESET_MAGIC) {
            ossa_soft_reset(s);
        } else {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "ossa: RESET written with 0x%x, not the reset "
                          "value 0x%x: ignored\n", val, OSSA_RESET_MAGIC);
        }
        break;
    case OSSA_REG_SCRATCH:
        s->scratch = val;
        break;
    case OSSA_REG_IRQ_STATUS:
        s->irq_status &= ~val;
        ossa_update_intx(s);
        break;
    case OSSA_REG_IRQ_MASK:
        old = s->irq_mask;
        s->irq_mask = val & OSSA_IRQ_ALL;
        ossa_notify(s, s->irq_mask & ~old & s->irq_status);
        break;
    case OSSA_REG_CTX_TABLE_LO:
        s->ctx_table = deposit64(s->ctx_table, 0, 32,
                                 val & ~(OSSA_CTX_TABLE_ALIGN - 1));
        break;
    case OSSA_REG_CTX_TABLE_HI:
        s->ctx_table = deposit64(s->ctx_table, 32, 32, val);
        break;
    case OSSA_REG_CTX_STOPPED_LO:
        s->ctx_stopped &= ~(uint64_t)val;
        break;
    case OSSA_REG_CTX_STOPPED_HI:
        s->ctx_stopped &= ~((uint64_t)val << 32);
        break;
    case OSSA_REG_FAULT_INFO:
        if (val & OSSA_FAULT_INFO_VALID) {
            s->fault_info = 0;
            s->fault_addr = 0;
        }
        break;
    case OSSA_REG_INJECT_HANG ... OSSA_REG_INJECT_FAULT_HI:
        if (s->fault_injection) {
            ossa_inject_write(s, addr, val);
            break;
        }
        goto unknown;
    case OSSA_REG_QUEUE(0) ... OSSA_REG_QUEUES_END - 1:
        ossa_queue_write(&s->queues[(addr - OSSA_REG_QUEUE(0)) /
                                    OSSA_QUEUE_REGS_SIZE],
                         addr % OSSA_QUEUE_REGS_SIZE, val);
        break;
    case OSSA_REG_ID:
    case OSSA_REG_VERSION:
    case OSSA_REG_CAPS:
    case OSSA_REG_TIME_LO:
    case OSSA_REG_TIME_HI:
    case OSSA_REG_FAULT_ADDR_LO:
    case OSSA_REG_FAULT_ADDR_HI:
    case OSSA_REG_FAULT_COUNT:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: write of 0x%x to read-only register 0x%"
                      HWADDR_PRIx "\n", val, addr);
        break;
    default:
    unknown:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: write of 0x%x to unknown register 0x%"
                      HWADDR_PRIx "\n", val, addr);
        break;
    }
}

static const MemoryRegionOps ossa_regs_ops = {
    .read = ossa_regs_read,
    .write = ossa_regs_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

static void ossa_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val,
                              int len)
{
    pci_default_write_config(pdev, addr, val, len);
    pcie_cap_flr_write_config(pdev, addr, val, len);
    /* Enabling MSI or MSI-X, or INTx Disable, changes the INTx level */
    ossa_update_intx(OSSA(pdev));
}

/* Logs an access that fails as a bus error, out of the device's reach. */
void ossa_dma_out_of_reach(OssaQueue *q, dma_addr_t addr, dma_addr_t len)
{
    qemu_log_mask(LOG_GUEST_ERROR, "ossa: queue %u: DMA at 0x%" PRIx64
                  " (%" PRIu64 " bytes) is beyond the %u-bit bus addresses "
                  "the device drives (dma-bits)\n", q->index, (uint64_t)addr,
                  (uint64_t)len, q->dev->dma_bits);
}

static void ossa_realize(PCIDevice *pdev, Error **errp)
{
    OssaState *s = OSSA(pdev);
    unsigned i;

    if (s->dma_bits < OSSA_DMA_BITS_MIN || s->dma_bits > OSSA_DMA_BITS_MAX) {
        error_setg(errp, "ossa: dma-bits=%u is outside %u..%u", s->dma_bits,
                   OSSA_DMA_BITS_MIN, OSSA_DMA_BITS_MAX);
        return;
    }
    pci_config_set_interrupt_pin(pdev->config, 1);

    memory_region_init_io(&s->regs, OBJECT(s), &ossa_regs_ops, s,
                          "ossa-regs", OSSA_REGS_SIZE);
    pci_register_bar(pdev, OSSA_BAR_REGS,
                     PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &s->regs);

    /* msix=off: a function without MSI-X (and BAR4), for MSI-only hosts. */
    if (s->msix) {
        if (msix_init_exclusive_bar(pdev, OSSA_MSIX_VECTORS, OSSA_BAR_MSIX,
                                    errp)) {
            return;
        }
        for (i = 0; i < OSSA_MSIX_VECTORS; i++) {
            msix_vector_use(pdev, i);
        }
    }
    if (msi_init(pdev, 0, 1, true, false, errp)) {
        goto err_msix;
    }
    if (pcie_endpoint_cap_init(pdev, 0) < 0) {
        error_setg(errp, "ossa: cannot add the PCIe capability");
        goto err_msi;
    }
    pcie_cap_flr_init(pdev);

    for (i = 0; i < OSSA_NUM_QUEUES; i++) {
        ossa_queue_init(s, i);
    }
    s->vm_state = qemu_add_vm_change_state_handler(ossa_vm_state_change, s);
    return;

err_msi:
    msi_uninit(pdev);
err_msix:
    msix_uninit_exclusive_bar(pdev);
}

/*
 * Unrealize may come from a slice's own access (a hot-unplug through the
 * root port's Slot Control): the slice then stops (ossa_slice_stale()),
 * and what it uses is freed only at finalize.
 */
static void ossa_exit(PCIDevice *pdev)
{
    OssaState *s = OSSA(pdev);
    unsigned i;

    s->generation++;
    qemu_del_vm_change_state_handler(s->vm_state);
    for (i = 0; i < OSSA_NUM_QUEUES; i++) {
        ossa_queue_stop(&s->queues[i]);
    }
    msi_uninit(pdev);
    msix_uninit_exclusive_bar(pdev);
}

static void ossa_instance_finalize(Object *obj)
{
    OssaState *s = OSSA(obj);
    unsigned i;

    for (i = 0; i < OSSA_NUM_QUEUES; i++) {
        ossa_queue_cleanup(&s->queues[i]);
    }
}

/* PCI reset and FLR (pci_device_reset) come here. */
static void ossa_reset_hold(Object *obj, ResetType type)
{
    ossa_soft_reset(OSSA(obj));
}

/*
 * What is wrong with the device's state as a migration stream brought it,
 * or NULL: a value no register sequence can produce is refused. The
 * queues' states are checked as they load (ossa_queue_post_load()).
 */
static const char *ossa_load_error(const OssaState *s)
{
    if (s->irq_status & ~OSSA_IRQ_ALL) {
        return "IRQ_STATUS has bits that are no interrupt cause";
    }
    if (s->irq_mask & ~OSSA_IRQ_ALL) {
        return "IRQ_MASK has bits that are no interrupt cause";
    }
    if (s->ctx_table % OSSA_CTX_TABLE_ALIGN) {
        return "CTX_TABLE is not 4 KiB aligned";
    }
    if (s->fault_info & ~OSSA_FAULT_INFO_BITS) {
        return "FAULT_INFO has reserved bits";
    }
    if (s->inject_hang & ~OSSA_INJECT_HANG_BITS) {
        return "INJECT_HANG names a queue the device does not have";
    }
    if (s->inject_fail & ~OSSA_INJECT_FAIL_NEXT) {
        return "INJECT_FAIL has reserved bits";
    }
    if (s->inject_delay_us > OSSA_INJECT_DELAY_MAX_US) {
        return "INJECT_DELAY_US is above its maximum";
    }
    if (s->inject_fault & ~OSSA_INJECT_FAULT_BITS) {
        return "INJECT_FAULT has reserved bits";
    }
    return NULL;
}

static int ossa_post_load(void *opaque, int version_id)
{
    OssaState *s = opaque;
    const char *error = ossa_load_error(s);

    if (error) {
        error_report("ossa: migrated state refused: %s", error);
        return -EINVAL;
    }
    ossa_update_intx(s);
    /* The queues go on once the VM runs (ossa_vm_state_change()). */
    return 0;
}

static const VMStateDescription vmstate_ossa = {
    .name = TYPE_OSSA,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ossa_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, OssaState),
        VMSTATE_MSIX(parent_obj, OssaState),
        VMSTATE_UINT32(scratch, OssaState),
        VMSTATE_UINT32(time_hi_latch, OssaState),
        VMSTATE_UINT32(irq_status, OssaState),
        VMSTATE_UINT32(irq_mask, OssaState),
        VMSTATE_UINT64(ctx_table, OssaState),
        VMSTATE_UINT64(ctx_stopped, OssaState),
        VMSTATE_UINT64(fault_addr, OssaState),
        VMSTATE_UINT32(fault_info, OssaState),
        VMSTATE_UINT32(fault_count, OssaState),
        VMSTATE_UINT32(inject_hang, OssaState),
        VMSTATE_UINT32(inject_fail, OssaState),
        VMSTATE_UINT32(inject_delay_us, OssaState),
        VMSTATE_UINT64(inject_fault, OssaState),
        VMSTATE_STRUCT_ARRAY(queues, OssaState, OSSA_NUM_QUEUES, 1,
                             vmstate_ossa_queue, OssaQueue),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * Fault-injection QOM properties: views of the INJECT_* registers
 * (docs/specs/ossa.rst, 12). Unlike a register write, which drops what the
 * register cannot hold, a value the register could not hold is an error
 * and changes nothing.
 */

static void ossa_get_inject_hang(Object *obj, Visitor *v, const char *name,
                                 void *opaque, Error **errp)
{
    uint32_t val = OSSA(obj)->inject_hang;

    visit_type_uint32(v, name, &val, errp);
}

static void ossa_set_inject_hang_prop(Object *obj, Visitor *v,
                                      const char *name, void *opaque,
                                      Error **errp)
{
    uint32_t val;

    if (!visit_type_uint32(v, name, &val, errp)) {
        return;
    }
    if (val & ~OSSA_INJECT_HANG_BITS) {
        error_setg(errp, "ossa: %s: 0x%x names a queue the device does not "
                   "have (bits 0x%x are the queues)", name, val,
                   OSSA_INJECT_HANG_BITS);
        return;
    }
    ossa_set_inject_hang(OSSA(obj), val);
}

static void ossa_get_inject_fail(Object *obj, Visitor *v, const char *name,
                                 void *opaque, Error **errp)
{
    uint32_t val = OSSA(obj)->inject_fail;

    visit_type_uint32(v, name, &val, errp);
}

static void ossa_set_inject_fail_prop(Object *obj, Visitor *v,
                                      const char *name, void *opaque,
                                      Error **errp)
{
    uint32_t val;

    if (!visit_type_uint32(v, name, &val, errp)) {
        return;
    }
    if (val & ~OSSA_INJECT_FAIL_NEXT) {
        error_setg(errp, "ossa: %s: 0x%x has reserved bits (bit 0 is the "
                   "only one)", name, val);
        return;
    }
    OSSA(obj)->inject_fail = val;
}

static void ossa_get_inject_delay(Object *obj, Visitor *v, const char *name,
                                  void *opaque, Error **errp)
{
    uint32_t val = OSSA(obj)->inject_delay_us;

    visit_type_uint32(v, name, &val, errp);
}

static void ossa_set_inject_delay_prop(Object *obj, Visitor *v,
                                       const char *name, void *opaque,
                                       Error **errp)
{
    uint32_t val;

    if (!visit_type_uint32(v, name, &val, errp)) {
        return;
    }
    if (val > OSSA_INJECT_DELAY_MAX_US) {
        error_setg(errp, "ossa: %s: %u is above the maximum, %u", name, val,
                   OSSA_INJECT_DELAY_MAX_US);
        return;
    }
    OSSA(obj)->inject_delay_us = val;
}

static void ossa_get_inject_fault(Object *obj, Visitor *v, const char *name,
                                  void *opaque, Error **errp)
{
    uint64_t val = OSSA(obj)->inject_fault;

    visit_type_uint64(v, name, &val, errp);
}

static void ossa_set_inject_fault_prop(Object *obj, Visitor *v,
                                       const char *name, void *opaque,
                                       Error **errp)
{
    uint64_t val;

    if (!visit_type_uint64(v, name, &val, errp)) {
        return;
    }
    if (val & ~OSSA_INJECT_FAULT_BITS) {
        error_setg(errp, "ossa: %s: 0x%" PRIx64 " has reserved bits (ENABLE "
                   "is bit 0, the page VA bits 38:12)", name, val);
        return;
    }
    OSSA(obj)->inject_fault = val;
}

static const Property ossa_properties[] = {
    DEFINE_PROP_BOOL("fault-injection", OssaState, fault_injection, false),
    DEFINE_PROP_BOOL("msix", OssaState, msix, true),
    DEFINE_PROP_UINT8("dma-bits", OssaState, dma_bits, OSSA_DMA_BITS_MAX),
};

static void ossa_class_init(ObjectClass *oc, const void *data)
{
    static const struct {
        const char *name, *type;
        ObjectPropertyAccessor *get, *set;
    } inject[] = {
        { "inject-hang", "uint32", ossa_get_inject_hang,
          ossa_set_inject_hang_prop },
        { "inject-fail", "uint32", ossa_get_inject_fail,
          ossa_set_inject_fail_prop },
        { "inject-delay-us", "uint32", ossa_get_inject_delay,
          ossa_set_inject_delay_prop },
        { "inject-fault", "uint64", ossa_get_inject_fault,
          ossa_set_inject_fault_prop },
    };
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *pc = PCI_DEVICE_CLASS(oc);
    ResettableClass *rc = RESETTABLE_CLASS(oc);
    unsigned i;

    pc->realize = ossa_realize;
    pc->exit = ossa_exit;
    pc->config_write = ossa_write_config;
    pc->vendor_id = OSSA_PCI_VENDOR_ID;
    pc->device_id = OSSA_PCI_DEVICE_ID;
    pc->revision = OSSA_PCI_REVISION;
    pc->class_id = OSSA_PCI_CLASS_ACCELERATOR;

    rc->phases.hold = ossa_reset_hold;
    dc->desc = "ossa compute accelerator";
    dc->vmsd = &vmstate_ossa;
    device_class_set_props(dc, ossa_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);

    for (i = 0; i < ARRAY_SIZE(inject); i++) {
        object_class_property_add(oc, inject[i].name, inject[i].type,
                                  inject[i].get, inject[i].set, NULL, NULL);
        object_class_property_set_description(oc, inject[i].name,
            "fault injection (test only), see docs/specs/ossa.rst");
    }
}

static const TypeInfo ossa_types[] = {
    {
        .name = TYPE_OSSA,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(OssaState),
        .instance_finalize = ossa_instance_finalize,
        .class_init = ossa_class_init,
        .interfaces = (InterfaceInfo[]) {
            { INTERFACE_PCIE_DEVICE },
            { }
        },
    },
};

DEFINE_TYPES(ossa_types)
