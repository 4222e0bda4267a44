// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: device bring-up, reset and interrupts
 *
 * The device's coherent DMA memory (context table, rings) and its reset on
 * the way out are device-managed: they go when the driver unbinds, after
 * ossa_remove() has failed every job on the rings, while files may stay
 * open. Every access to the registers or to that memory after probe is
 * inside drm_dev_enter(), in an interrupt handler, or in ossa_remove()
 * and the device-managed teardown after it.
 *
 * Copyright (c) 2026 The ossa developers
 */

#include <linux/bitfield.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/pci.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "ossa_ctx.h"
#include "ossa_drv.h"
#include "ossa_hw.h"
#include "ossa_job.h"
#include "ossa_queue.h"

#define OSSA_CTX_TABLE_SIZE	(OSSA_NUM_CONTEXTS * OSSA_CTX_ENTRY_SIZE)
#define OSSA_RING_BYTES		(OSSA_RING_ENTRIES * OSSA_DESC_SIZE)

static int ossa_hw_identify(struct ossa_device *odev)
{
	u32 id = ossa_reg_read(odev, OSSA_REG_ID);
	u32 caps, major, dma_bits;

	if (id != OSSA_ID_MAGIC) {
		drm_err(&odev->drm, "identity register reads 0x%08x, expected 0x%08x\n",
			id, OSSA_ID_MAGIC);
		return -ENODEV;
	}

	odev->hw_version = ossa_reg_read(odev, OSSA_REG_VERSION);
	major = FIELD_GET(OSSA_VERSION_MAJOR_MASK, odev->hw_version);
	if (major != OSSA_VERSION_MAJOR) {
		drm_err(&odev->drm, "interface version %u.%u not supported (want %u.x)\n",
			major, FIELD_GET(OSSA_VERSION_MINOR_MASK, odev->hw_version),
			OSSA_VERSION_MAJOR);
		return -ENODEV;
	}

	caps = ossa_reg_read(odev, OSSA_REG_CAPS);
	if (FIELD_GET(OSSA_CAPS_NUM_QUEUES_MASK, caps) < OSSA_NUM_QUEUES ||
	    FIELD_GET(OSSA_CAPS_CONTEXTS_LOG2_MASK, caps) < OSSA_CONTEXTS_LOG2) {
		drm_err(&odev->drm, "capabilities 0x%08x: too few queues or contexts\n",
			caps);
		return -ENODEV;
	}
	odev->fault_injection = caps & OSSA_CAPS_FAULT_INJECTION;

	/* Interface 1.0 leaves DMA_BITS 0: such a device drives 64 bits. */
	dma_bits = FIELD_GET(OSSA_CAPS_DMA_BITS_MASK, caps) ?: 64;
	if (dma_bits < OSSA_DMA_BITS_MIN || dma_bits > OSSA_DMA_BITS_MAX) {
		drm_err(&odev->drm, "CAPS.DMA_BITS %u is outside %u..%u\n",
			dma_bits, OSSA_DMA_BITS_MIN, OSSA_DMA_BITS_MAX);
		return -ENODEV;
	}
	/* Page-table entries hold 52-bit bus addresses, whatever the bus. */
	odev->dma_bits = min_t(u32, dma_bits, OSSA_PTE_ADDR_BITS);
	return 0;
}

/*
 * Programs the registers a reset clears: context table, rings, interrupts;
 * the queues are enabled by ossa_queue_restart().
 */
static void ossa_hw_start(struct ossa_device *odev)
{
	unsigned int i;

	ossa_reg_write(odev, OSSA_REG_CTX_TABLE_LO, lower_32_bits(odev->ctx_table_dma));
	ossa_reg_write(odev, OSSA_REG_CTX_TABLE_HI, upper_32_bits(odev->ctx_table_dma));

	for (i = 0; i < OSSA_NUM_QUEUES; i++) {
		struct ossa_queue *q = &odev->queues[i];

		ossa_queue_reg_write(q, OSSA_REG_Q_BASE_LO, lower_32_bits(q->ring_dma));
		ossa_queue_reg_write(q, OSSA_REG_Q_BASE_HI, upper_32_bits(q->ring_dma));
		ossa_queue_reg_write(q, OSSA_REG_Q_SIZE, OSSA_RING_SIZE_LOG2);
	}

	ossa_reg_write(odev, OSSA_REG_IRQ_STATUS, OSSA_IRQ_ALL);
	ossa_reg_write(odev, OSSA_REG_IRQ_MASK, OSSA_IRQ_ALL);
}

/**
 * ossa_hw_reset() - reset the device
 * @odev: the device
 *
 * The job each queue was running fails with -EIO (it is not run again);
 * the jobs after it stay on the ring and run once the queue is enabled
 * again (uapi guide, "Recovery").
 */
void ossa_hw_reset(struct ossa_device *odev)
{
	unsigned int i;

	mutex_lock(&odev->reset_lock);
	/* Counted before the jobs fail: their waiters see the count. */
	atomic_inc(&odev->reset_count);
	for (i = 0; i < OSSA_NUM_QUEUES; i++)
		ossa_queue_stop(&odev->queues[i]);
	ossa_reg_write(odev, OSSA_REG_RESET, OSSA_RESET_MAGIC);
	ossa_hw_start(odev);
	for (i = 0; i < OSSA_NUM_QUEUES; i++)
		ossa_queue_restart(&odev->queues[i]);
	drm_warn(&odev->drm, "device reset\n");
	mutex_unlock(&odev->reset_lock);
}

static void ossa_hw_fini_action(void *odev)
{
	ossa_hw_fini(odev);
}

/**
 * ossa_hw_init() - identify the device, allocate its DMA memory, reset it
 * @odev: the device, its BAR mapped and DMA enabled
 *
 * Return: 0 or a negative errno.
 */
int ossa_hw_init(struct ossa_device *odev)
{
	struct device *dev = odev->drm.dev;
	unsigned int i;
	int ret;

	ret = ossa_hw_identify(odev);
	if (ret)
		return ret;

	/* Before the first allocation for the device: its rings and tables. */
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(odev->dma_bits));
	if (ret) {
		drm_err(&odev->drm, "no usable %u-bit DMA mask\n", odev->dma_bits);
		return ret;
	}

	odev->ctx_table = dmam_alloc_coherent(dev, OSSA_CTX_TABLE_SIZE,
					      &odev->ctx_table_dma, GFP_KERNEL);
	if (!odev->ctx_table)
		return -ENOMEM;
	for (i = 0; i < OSSA_NUM_QUEUES; i++) {
		struct ossa_queue *q = &odev->queues[i];

		q->ring = dmam_alloc_coherent(dev, OSSA_RING_BYTES, &q->ring_dma,
					      GFP_KERNEL);
		if (!q->ring)
			return -ENOMEM;
	}

	/* From reset, whatever state an earlier driver left it in. */
	ossa_reg_write(odev, OSSA_REG_RESET, OSSA_RESET_MAGIC);
	ossa_hw_start(odev);
	for (i = 0; i < OSSA_NUM_QUEUES; i++)
		ossa_queue_restart(&odev->queues[i]);
	/* Before the memory is freed, also when probe fails later. */
	return devm_add_action_or_reset(dev, ossa_hw_fini_action, odev);
}

/**
 * ossa_hw_fini() - stop the device: no more interrupts or DMA
 * @odev: the device
 */
void ossa_hw_fini(struct ossa_device *odev)
{
	ossa_reg_write(odev, OSSA_REG_IRQ_MASK, 0);
	ossa_reg_write(odev, OSSA_REG_RESET, OSSA_RESET_MAGIC);
}

/* Queue errors and MMU faults. */
static void ossa_hw_handle_misc(struct ossa_device *odev, u32 status)
{
	unsigned int i;

	if (status & OSSA_IRQ_MMU_FAULT) {
		u32 info = ossa_reg_read(odev, OSSA_REG_FAULT_INFO);
		u64 addr = ossa_reg_read(odev, OSSA_REG_FAULT_ADDR_LO) |
			   (u64)ossa_reg_read(odev, OSSA_REG_FAULT_ADDR_HI) << 32;

		/*
		 * The faulting job's status bans its context; the id here may
		 * already be another file's.
		 */
		if (info & OSSA_FAULT_INFO_VALID) {
			/* A fault is userspace's doing: not worth more than debug. */
			drm_dbg_driver(&odev->drm,
				       "MMU fault: context %u queue %u %s at 0x%llx, cause %u\n",
				       FIELD_GET(OSSA_FAULT_INFO_CONTEXT_MASK, info),
				       FIELD_GET(OSSA_FAULT_INFO_QUEUE_MASK, info),
				       info & OSSA_FAULT_INFO_WRITE ? "write" : "read",
				       addr,
				       FIELD_GET(OSSA_FAULT_INFO_CAUSE_MASK, info));
			ossa_reg_write(odev, OSSA_REG_FAULT_INFO, OSSA_FAULT_INFO_VALID);
		}
	}

	for (i = 0; i < OSSA_NUM_QUEUES; i++) {
		struct ossa_queue *q = &odev->queues[i];
		u32 qstatus;

		if (!(status & OSSA_IRQ_QUEUE_ERROR(i)) ||
		    !ossa_queue_recover_error(q, &qstatus))
			continue;
		drm_err_ratelimited(&odev->drm, "%s recovered: it had stopped on a queue error (status 0x%08x); the job it ran failed\n",
				    q->name, qstatus);
	}
}

static irqreturn_t ossa_hw_irq_misc(int irq, void *arg)
{
	struct ossa_device *odev = arg;
	u32 status = ossa_reg_read(odev, OSSA_REG_IRQ_STATUS) &
		     ~(OSSA_IRQ_QUEUE_JOB(0) | OSSA_IRQ_QUEUE_JOB(1));

	if (!status)
		return IRQ_NONE;
	ossa_reg_write(odev, OSSA_REG_IRQ_STATUS, status);
	ossa_hw_handle_misc(odev, status);
	return IRQ_HANDLED;
}

static irqreturn_t ossa_hw_irq_queue(int irq, void *arg)
{
	struct ossa_queue *q = arg;

	ossa_reg_write(q->odev, OSSA_REG_IRQ_STATUS, OSSA_IRQ_QUEUE_JOB(q->index));
	ossa_queue_complete(q);
	return IRQ_HANDLED;
}

/* MSI or INTx: one interrupt for every cause. */
static irqreturn_t ossa_hw_irq_single(int irq, void *arg)
{
	struct ossa_device *odev = arg;
	u32 status = ossa_reg_read(odev, OSSA_REG_IRQ_STATUS);
	unsigned int i;

	if (!status)
		return IRQ_NONE;
	ossa_reg_write(odev, OSSA_REG_IRQ_STATUS, status);
	for (i = 0; i < OSSA_NUM_QUEUES; i++)
		if (status & OSSA_IRQ_QUEUE_JOB(i))
			ossa_queue_complete(&odev->queues[i]);
	ossa_hw_handle_misc(odev, status);
	return IRQ_HANDLED;
}

/**
 * ossa_hw_irq_init() - allocate interrupt vectors and install handlers
 * @odev: the device
 *
 * MSI-X with one vector per queue and one for errors, all three or none;
 * else MSI or INTx with a single handler. Vectors and handlers are
 * device-managed.
 *
 * Return: 0 or a negative errno.
 */
int ossa_hw_irq_init(struct ossa_device *odev)
{
	struct pci_dev *pdev = to_pci_dev(odev->drm.dev);
	unsigned int i;
	int ret;

	/*
	 * The device sends queue completions on MSI-X vectors 1 and 2: with
	 * fewer vectors than three they would be lost, so MSI or INTx then.
	 */
	odev->nvec = pci_alloc_irq_vectors(pdev, OSSA_MSIX_VECTORS,
					   OSSA_MSIX_VECTORS, PCI_IRQ_MSIX);
	if (odev->nvec < 0)
		odev->nvec = pci_alloc_irq_vectors(pdev, 1, 1,
						   PCI_IRQ_MSI | PCI_IRQ_INTX);
	if (odev->nvec < 0)
		return odev->nvec;

	if (odev->nvec < OSSA_MSIX_VECTORS)
		return devm_request_irq(&pdev->dev, pci_irq_vector(pdev, 0),
					ossa_hw_irq_single, IRQF_SHARED,
					DRIVER_NAME, odev);

	ret = devm_request_irq(&pdev->dev,
			       pci_irq_vector(pdev, OSSA_MSIX_VECTOR_MISC),
			       ossa_hw_irq_misc, 0, DRIVER_NAME, odev);
	for (i = 0; !ret && i < OSSA_NUM_QUEUES; i++)
		ret = devm_request_irq(&pdev->dev,
				       pci_irq_vector(pdev, OSSA_MSIX_VECTOR_QUEUE(i)),
				       ossa_hw_irq_queue, 0, odev->queues[i].name,
				       &odev->queues[i]);
	return ret;
}
