// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: driver for the Open-Source-userspace Sample Accelerator
 *
 * The PCI driver, the DRM driver and its per-file state. The device is
 * described in its datasheet (QEMU's docs/specs/ossa.rst), the uapi in
 * include/uapi/drm/ossa_accel.h and its guide, Documentation/accel/ossa/.
 *
 * Copyright (c) 2026 The ossa developers
 */

#include <linux/bitfield.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include <drm/drm_accel.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>
#include <uapi/drm/ossa_accel.h>

#include "ossa_ctx.h"
#include "ossa_debugfs.h"
#include "ossa_drv.h"
#include "ossa_gem.h"
#include "ossa_hw.h"
#include "ossa_job.h"
#include "ossa_queue.h"

static int ossa_open(struct drm_device *drm, struct drm_file *file)
{
	struct ossa_device *odev = to_ossa_device(drm);
	struct drm_gpu_scheduler *sched;
	struct ossa_file *ofile;
	unsigned int i;
	int ret;

	ofile = kzalloc_obj(*ofile);
	if (!ofile)
		return -ENOMEM;
	ofile->odev = odev;
	mutex_init(&ofile->submit_lock);

	ofile->ctx = ossa_ctx_create(odev, file->client_id);
	if (IS_ERR(ofile->ctx)) {
		ret = PTR_ERR(ofile->ctx);
		goto err_free;
	}

	for (i = 0; i < OSSA_NUM_QUEUES; i++) {
		sched = &odev->queues[i].sched;
		ret = drm_sched_entity_init(&ofile->entities[i],
					    DRM_SCHED_PRIORITY_NORMAL, &sched,
					    1, NULL);
		if (ret)
			goto err_entities;
	}

	file->driver_priv = ofile;
	return 0;

err_entities:
	while (i--)
		drm_sched_entity_destroy(&ofile->entities[i]);
	ossa_ctx_put(ofile->ctx);
err_free:
	mutex_destroy(&ofile->submit_lock);
	kfree(ofile);
	return ret;
}

/*
 * Jobs still queued are flushed (within the scheduler's timeout) or
 * dropped; jobs on the device keep the context alive until they are done.
 */
static void ossa_postclose(struct drm_device *drm, struct drm_file *file)
{
	struct ossa_file *ofile = file->driver_priv;
	unsigned int i;

	for (i = 0; i < OSSA_NUM_QUEUES; i++)
		drm_sched_entity_destroy(&ofile->entities[i]);
	ossa_ctx_put(ofile->ctx);
	mutex_destroy(&ofile->submit_lock);
	kfree(ofile);
}

static int ossa_get_param_ioctl(struct drm_device *drm, void *data,
				struct drm_file *file)
{
	struct ossa_device *odev = to_ossa_device(drm);
	struct drm_ossa_get_param *args = data;

	if (args->pad)
		return -EINVAL;

	switch (args->param) {
	case DRM_OSSA_PARAM_HW_VERSION:
		args->value = odev->hw_version;
		break;
	case DRM_OSSA_PARAM_NUM_QUEUES:
		args->value = OSSA_NUM_QUEUES;
		break;
	case DRM_OSSA_PARAM_VA_START:
		args->value = OSSA_VA_START;
		break;
	case DRM_OSSA_PARAM_VA_SIZE:
		args->value = OSSA_VA_END - OSSA_VA_START;
		break;
	case DRM_OSSA_PARAM_MAX_CMD_SIZE:
		args->value = OSSA_CMD_SIZE_MAX;
		break;
	case DRM_OSSA_PARAM_MAX_BO_SIZE:
		args->value = OSSA_MAX_BO_SIZE;
		break;
	case DRM_OSSA_PARAM_JOB_TIMEOUT_MS:
		/* Every queue's scheduler has the same timeout. */
		args->value = jiffies_to_msecs(odev->queues[0].sched.timeout);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static const struct drm_ioctl_desc ossa_ioctls[] = {
	DRM_IOCTL_DEF_DRV(OSSA_GET_PARAM, ossa_get_param_ioctl, 0),
	DRM_IOCTL_DEF_DRV(OSSA_BO_CREATE, ossa_bo_create_ioctl, 0),
	DRM_IOCTL_DEF_DRV(OSSA_BO_MMAP_OFFSET, ossa_bo_mmap_offset_ioctl, 0),
	DRM_IOCTL_DEF_DRV(OSSA_BO_INFO, ossa_bo_info_ioctl, 0),
	DRM_IOCTL_DEF_DRV(OSSA_SUBMIT, ossa_submit_ioctl, 0),
	DRM_IOCTL_DEF_DRV(OSSA_BO_WAIT, ossa_bo_wait_ioctl, 0),
};

/*
 * fdinfo, as Documentation/gpu/drm-usage-stats.rst describes it: the
 * file's buffers (drm-total-memory and the rest), and each queue's busy
 * time as drm-engine-queueN, the device time the file's finished jobs ran
 * there (ossa_ctx.busy_ns).
 */
static void ossa_show_fdinfo(struct drm_printer *p, struct drm_file *file)
{
	struct ossa_file *ofile = file->driver_priv;
	unsigned int i;

	drm_show_memory_stats(p, file);
	for (i = 0; i < OSSA_NUM_QUEUES; i++)
		drm_printf(p, "drm-engine-queue%u:\t%llu ns\n", i,
			   (u64)atomic64_read(&ofile->ctx->busy_ns[i]));
}

static const struct file_operations ossa_accel_fops = {
	.owner = THIS_MODULE,
	DRM_ACCEL_FOPS,
	.show_fdinfo = drm_show_fdinfo,
};

static const struct drm_driver ossa_drm_driver = {
	.driver_features = DRIVER_COMPUTE_ACCEL | DRIVER_GEM | DRIVER_SYNCOBJ |
			   DRIVER_SYNCOBJ_TIMELINE,
	.open = ossa_open,
	.postclose = ossa_postclose,
	.show_fdinfo = ossa_show_fdinfo,
	.gem_create_object = ossa_gem_create_object,
	.gem_prime_import = ossa_gem_prime_import,
	.gem_prime_import_sg_table = ossa_gem_prime_import_sg_table,
	.ioctls = ossa_ioctls,
	.num_ioctls = ARRAY_SIZE(ossa_ioctls),
	.fops = &ossa_accel_fops,
	.name = DRIVER_NAME,
	.desc = DRIVER_DESC,
	.major = 2,
	.minor = 0,
};

static int ossa_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct ossa_device *odev;
	int ret;

	odev = devm_drm_dev_alloc(&pdev->dev, &ossa_drm_driver,
				  struct ossa_device, drm);
	if (IS_ERR(odev))
		return PTR_ERR(odev);
	pci_set_drvdata(pdev, odev);
	INIT_LIST_HEAD(&odev->bos);
	ret = drmm_mutex_init(&odev->drm, &odev->bo_lock);
	if (ret)
		return ret;
	ret = drmm_mutex_init(&odev->drm, &odev->reset_lock);
	if (ret)
		return ret;
	ret = ossa_ctx_init(odev);
	if (ret)
		return ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;

	odev->regs = pcim_iomap_region(pdev, OSSA_BAR_REGS, DRIVER_NAME);
	if (IS_ERR(odev->regs))
		return dev_err_probe(&pdev->dev, PTR_ERR(odev->regs),
				     "cannot map BAR%d\n", OSSA_BAR_REGS);

	/*
	 * The device MMU maps each page on its own (ossa_mmu_map() walks the
	 * table page by page), so a DMA segment may be of any length.
	 */
	dma_set_max_seg_size(&pdev->dev, UINT_MAX);
	pci_set_master(pdev);

	ret = ossa_sched_init(odev);
	if (ret)
		return ret;

	ret = ossa_hw_init(odev);
	if (ret)
		return ret;

	ret = ossa_hw_irq_init(odev);
	if (ret)
		return dev_err_probe(&pdev->dev, ret, "cannot set up interrupts\n");

	ossa_debugfs_init(odev);

	ret = drm_dev_register(&odev->drm, 0);
	if (ret)
		return ret;

	drm_info(&odev->drm, "ossa interface %u.%u, %d interrupt vector(s), %u-bit DMA%s%s\n",
		 FIELD_GET(OSSA_VERSION_MAJOR_MASK, odev->hw_version),
		 FIELD_GET(OSSA_VERSION_MINOR_MASK, odev->hw_version), odev->nvec,
		 odev->dma_bits,
		 dma_addressing_limited(&pdev->dev) ? " (buffers from ZONE_DMA32)" : "",
		 odev->fault_injection ? ", fault injection" : "");
	return 0;
}

/*
 * The device goes away: calls into it return -ENODEV from now on, every
 * job on a ring fails with -ENODEV (the jobs it finished keep their
 * status), and it does no more DMA and raises no more interrupts. Its
 * files may stay open.
 */
static void ossa_unplug(struct ossa_device *odev)
{
	unsigned int i;

	if (drm_dev_is_unplugged(&odev->drm))
		return;
	/* Waits for every drm_dev_enter() section, run_job's among them. */
	drm_dev_unplug(&odev->drm);
	for (i = 0; i < OSSA_NUM_QUEUES; i++)
		ossa_queue_fail_all(&odev->queues[i]);
	ossa_hw_fini(odev);
}

static void ossa_remove(struct pci_dev *pdev)
{
	struct ossa_device *odev = pci_get_drvdata(pdev);

	ossa_unplug(odev);
	/*
	 * The DMA memory the device used goes with it; the rings and the
	 * context table are device-managed (ossa_hw_init()).
	 */
	ossa_ctx_teardown_all(odev);
	ossa_gem_unmap_all(odev);
}

static void ossa_shutdown(struct pci_dev *pdev)
{
	ossa_unplug(pci_get_drvdata(pdev));
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
	.shutdown = ossa_shutdown,
};
module_pci_driver(ossa_pci_driver);

/* ossa_gem_unmap_all() undoes imported BOs' dma-buf mappings. */
MODULE_IMPORT_NS("DMA_BUF");
MODULE_AUTHOR("The ossa developers");
MODULE_DESCRIPTION(DRIVER_DESC);
MODULE_LICENSE("GPL");
