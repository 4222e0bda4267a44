/*
 * ossa: Open-Source-userspace Sample Accelerator, a PCI compute accelerator
 *
 * The device's programming interface is described in docs/hardware.md of the
 * ossa project; the register constants come from ossa_regs.h.
 *
 * Copyright (c) 2026 The ossa developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/pcie.h"
#include "hw/pci/msix.h"
#include "migration/vmstate.h"
#include "qom/object.h"
#include "trace.h"
#include "ossa_regs.h"

#define TYPE_OSSA "ossa"
OBJECT_DECLARE_SIMPLE_TYPE(OssaState, OSSA)

struct OssaState {
    PCIDevice parent_obj;

    MemoryRegion regs;
};

static uint64_t ossa_regs_read(void *opaque, hwaddr addr, unsigned size)
{
    uint64_t val;

    switch (addr) {
    case OSSA_REG_ID:
        val = OSSA_ID_MAGIC;
        break;
    case OSSA_REG_VERSION:
        val = OSSA_VERSION_VALUE;
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: read of unknown register 0x%" HWADDR_PRIx "\n",
                      addr);
        val = 0;
        break;
    }

    trace_ossa_reg_read(addr, size, val);
    return val;
}

static void ossa_regs_write(void *opaque, hwaddr addr, uint64_t val,
                            unsigned size)
{
    trace_ossa_reg_write(addr, size, val);

    switch (addr) {
    case OSSA_REG_ID:
    case OSSA_REG_VERSION:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: write of 0x%" PRIx64 " to read-only register "
                      "0x%" HWADDR_PRIx "\n", val, addr);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ossa: write of 0x%" PRIx64 " to unknown register "
                      "0x%" HWADDR_PRIx "\n", val, addr);
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

static void ossa_realize(PCIDevice *pdev, Error **errp)
{
    OssaState *s = OSSA(pdev);

    pci_config_set_interrupt_pin(pdev->config, 1);

    memory_region_init_io(&s->regs, OBJECT(s), &ossa_regs_ops, s,
                          "ossa-regs", OSSA_REGS_SIZE);
    pci_register_bar(pdev, OSSA_BAR_REGS,
                     PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &s->regs);

    if (msix_init_exclusive_bar(pdev, OSSA_MSIX_VECTORS, OSSA_BAR_MSIX,
                                errp)) {
        return;
    }

    if (pci_is_express(pdev)) {
        pcie_endpoint_cap_init(pdev, 0x80);
    }
}

static void ossa_exit(PCIDevice *pdev)
{
    msix_uninit_exclusive_bar(pdev);
}

static void ossa_reset_hold(Object *obj, ResetType type)
{
    PCIDevice *pdev = PCI_DEVICE(obj);

    trace_ossa_reset();
    msix_unuse_all_vectors(pdev);
}

static const VMStateDescription vmstate_ossa = {
    .name = TYPE_OSSA,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, OssaState),
        VMSTATE_MSIX(parent_obj, OssaState),
        VMSTATE_END_OF_LIST()
    },
};

static void ossa_class_init(ObjectClass *oc, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *pc = PCI_DEVICE_CLASS(oc);
    ResettableClass *rc = RESETTABLE_CLASS(oc);

    pc->realize = ossa_realize;
    pc->exit = ossa_exit;
    pc->vendor_id = OSSA_PCI_VENDOR_ID;
    pc->device_id = OSSA_PCI_DEVICE_ID;
    pc->revision = OSSA_PCI_REVISION;
    pc->class_id = OSSA_PCI_CLASS_ACCELERATOR;

    rc->phases.hold = ossa_reset_hold;
    dc->desc = "ossa compute accelerator";
    dc->vmsd = &vmstate_ossa;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo ossa_types[] = {
    {
        .name = TYPE_OSSA,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(OssaState),
        .class_init = ossa_class_init,
        .interfaces = (const InterfaceInfo[]) {
            { INTERFACE_PCIE_DEVICE },
            { INTERFACE_CONVENTIONAL_PCI_DEVICE },
            { }
        },
    },
};

DEFINE_TYPES(ossa_types)
