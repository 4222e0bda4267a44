// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: driver for the Open-Source-userspace Sample Accelerator
 *
 * Copyright (c) 2026 The ossa developers
 */

#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/pci.h>

#include <drm/drm_accel.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_print.h>

#include "ossa_drv.h"
#include "ossa_regs.h"

DEFINE_DRM_ACCEL_FOPS(ossa_accel_fops);

static const struct drm_driver ossa_drm_driver = {
	.driver_features = DRIVER_COMPUTE_ACCEL,
	.fops = &ossa_accel_fops,
	.name = DRIVER_NAME,
	.desc = DRIVER_DESC,
	.major = 0,
	.minor = 1,
};

static int ossa_hw_identify(struct ossa_device *odev)
{
	u32 id = ossa_reg_read(odev, OSSA_REG_ID);
	u32 major;

	if (id != OSSA_ID_MAGIC) {
		drm_err(&odev->drm, "identity register reads 0x%08x, expected 0x%08x\n",
			id, OSSA_ID_MAGIC);
		return -ENODEV;
	}

	odev->hw_version = ossa_reg_read(odev, OSSA_REG_VERSION);
	major = odev->hw_version >> OSSA_VERSION_MAJOR_SHIFT;
	if (major != OSSA_VERSION_MAJOR) {
		drm_err(&odev->drm, "interface version %u.%u not supported (want %u.x)\n",
			major, odev->hw_version & OSSA_VERSION_MINOR_MASK,
			OSSA_VERSION_MAJOR);
		return -ENODEV;
	}

	return 0;
}

static int ossa_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct ossa_device *odev;
	int nvec, ret;

	odev = devm_drm_dev_alloc(&pdev->dev, &ossa_drm_driver,
				  struct ossa_device, drm);
	if (IS_ERR(odev))
		return PTR_ERR(odev);

	pci_set_drvdata(pdev, odev);

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;

	odev->regs = pcim_iomap_region(pdev, OSSA_BAR_REGS, DRIVER_NAME);
	if (IS_ERR(odev->regs))
		return dev_err_probe(&pdev->dev, PTR_ERR(odev->regs),
				     "cannot map BAR%d\n", OSSA_BAR_REGS);

	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return dev_err_probe(&pdev->dev, ret, "no usable DMA mask\n");

	pci_set_master(pdev);

	ret = ossa_hw_identify(odev);
	if (ret)
		return ret;

	/* Released by pcim_enable_device()'s devres on unbind. */
	nvec = pci_alloc_irq_vectors(pdev, 1, OSSA_MSIX_VECTORS, PCI_IRQ_ALL_TYPES);
	if (nvec < 0)
		return dev_err_probe(&pdev->dev, nvec, "cannot allocate interrupts\n");

	ret = drm_dev_register(&odev->drm, 0);
	if (ret)
		return ret;

	drm_info(&odev->drm, "ossa interface %u.%u, %d interrupt vector(s)\n",
		 odev->hw_version >> OSSA_VERSION_MAJOR_SHIFT,
		 odev->hw_version & OSSA_VERSION_MINOR_MASK, nvec);
	return 0;
}

static void ossa_remove(struct pci_dev *pdev)
{
	struct ossa_device *odev = pci_get_drvdata(pdev);

	drm_dev_unplug(&odev->drm);
}

static const struct pci_device_id ossa_pci_ids[] = {
	{ PCI_DEVICE(OSSA_PCI_VENDOR_ID, OSSA_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, ossa_pci_ids);

static struct pci_driver ossa_pci_driver = {
	.name = KBUILD_MODNAME,
	.id_table = ossa_pci_ids,
	.probe = ossa_probe,
	.remove = ossa_remove,
};
module_pci_driver(ossa_pci_driver);

MODULE_AUTHOR("The ossa developers");
MODULE_DESCRIPTION(DRIVER_DESC);
MODULE_LICENSE("GPL");
