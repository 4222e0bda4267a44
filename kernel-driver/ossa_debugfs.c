// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: debugfs, under /sys/kernel/debug/accel/<PCI address>/
 *
 *   stats     objects alive (for leak checks), device resets and queue recoveries
 *   queues    each queue's ring state, as the driver and the device see it
 *   contexts  hardware contexts in use, each with the DRM client id of its
 *             file (the drm-client-id of the file's fdinfo)
 *   device_time
 *             the device's clock (TIME_LO/TIME_HI) against the kernel's
 *             CLOCK_MONOTONIC: lines "BEFORE DEVICE AFTER" in ns, each a
 *             read of the device's time between two reads of the kernel's
 *             (ossa trace places the device's events with them)
 *   reset     write 1 to reset the device (running jobs fail, queued ones run)
 *   inject_*  the device's fault-injection registers, when it has them
 *
 * Copyright (c) 2026 The ossa developers
 */

#include <linux/debugfs.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/timekeeping.h>
#include <drm/drm_debugfs.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_managed.h>

#include "ossa_ctx.h"
#include "ossa_debugfs.h"
#include "ossa_drv.h"
#include "ossa_hw.h"

static int ossa_stats_show(struct seq_file *m, void *unused)
{
	struct drm_debugfs_entry *entry = m->private;
	struct ossa_device *odev = to_ossa_device(entry->dev);

	seq_printf(m, "bos %d\n", atomic_read(&odev->bo_count));
	seq_printf(m, "contexts %d\n", atomic_read(&odev->ctx_count));
	seq_printf(m, "jobs %d\n", atomic_read(&odev->job_count));
	seq_printf(m, "resets %d\n", atomic_read(&odev->reset_count));
	seq_printf(m, "recoveries %d\n", atomic_read(&odev->recovery_count));
	return 0;
}

static int ossa_queues_show(struct seq_file *m, void *unused)
{
	struct drm_debugfs_entry *entry = m->private;
	struct ossa_device *odev = to_ossa_device(entry->dev);
	unsigned int i;
	int idx;

	for (i = 0; i < OSSA_NUM_QUEUES; i++) {
		struct ossa_queue *q = &odev->queues[i];
		unsigned long flags;
		u32 head, tail;

		spin_lock_irqsave(&q->lock, flags);
		head = q->head;
		tail = q->tail;
		spin_unlock_irqrestore(&q->lock, flags);
		seq_printf(m, "queue %u: head %u tail %u", i, head, tail);
		if (drm_dev_enter(&odev->drm, &idx)) {
			seq_printf(m, " hw-head %u hw-status 0x%08x",
				   ossa_queue_reg_read(q, OSSA_REG_Q_HEAD),
				   ossa_queue_reg_read(q, OSSA_REG_Q_STATUS));
			drm_dev_exit(idx);
		}
		seq_puts(m, "\n");
	}
	return 0;
}

static int ossa_contexts_show(struct seq_file *m, void *unused)
{
	struct drm_debugfs_entry *entry = m->private;
	struct ossa_device *odev = to_ossa_device(entry->dev);
	struct ossa_ctx *ctx;
	unsigned long id;

	xa_lock(&odev->ctx_ids);
	xa_for_each(&odev->ctx_ids, id, ctx)
		seq_printf(m, "context %lu client %llu%s\n", id,
			   ctx->client_id, ossa_ctx_banned(ctx) ? " banned" : "");
	xa_unlock(&odev->ctx_ids);
	return 0;
}

/* Samples of the device's time, each bracketed by CLOCK_MONOTONIC. */
#define OSSA_TIME_SAMPLES 8

/*
 * Serialises readers of device_time: a read of TIME_LO latches TIME_HI for
 * the whole device, so two readers could pair one's low half with the
 * other's high half. The driver reads the time nowhere else.
 */
static DEFINE_MUTEX(ossa_time_lock);

static int ossa_device_time_show(struct seq_file *m, void *unused)
{
	struct drm_debugfs_entry *entry = m->private;
	struct ossa_device *odev = to_ossa_device(entry->dev);
	u64 before, after, device;
	unsigned int i;
	int idx;

	if (!drm_dev_enter(&odev->drm, &idx))
		return -ENODEV;
	mutex_lock(&ossa_time_lock);
	for (i = 0; i < OSSA_TIME_SAMPLES; i++) {
		before = ktime_get_ns();
		/* TIME_LO latches TIME_HI: read it first (datasheet, 4.4). */
		device = ossa_reg_read(odev, OSSA_REG_TIME_LO);
		device |= (u64)ossa_reg_read(odev, OSSA_REG_TIME_HI) << 32;
		after = ktime_get_ns();
		seq_printf(m, "%llu %llu %llu\n", before, device, after);
	}
	mutex_unlock(&ossa_time_lock);
	drm_dev_exit(idx);
	return 0;
}

static const struct drm_debugfs_info ossa_debugfs_list[] = {
	{ "stats", ossa_stats_show, 0 },
	{ "queues", ossa_queues_show, 0 },
	{ "contexts", ossa_contexts_show, 0 },
	{ "device_time", ossa_device_time_show, 0 },
};

static ssize_t ossa_reset_write(struct file *file, const char __user *buf,
				size_t len, loff_t *pos)
{
	struct ossa_device *odev = file->private_data;
	bool reset;
	int ret, idx;

	ret = kstrtobool_from_user(buf, len, &reset);
	if (ret)
		return ret;
	if (!reset)
		return len;
	if (!drm_dev_enter(&odev->drm, &idx))
		return -ENODEV;
	ossa_hw_reset(odev);
	drm_dev_exit(idx);
	return len;
}

static const struct file_operations ossa_reset_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = ossa_reset_write,
};

/* The fault-injection registers, one file each (datasheet, 12). */
struct ossa_inject_file {
	struct ossa_device *odev;
	u32 reg;
};

static int ossa_inject_get(void *data, u64 *val)
{
	struct ossa_inject_file *f = data;
	int idx;

	if (!drm_dev_enter(&f->odev->drm, &idx))
		return -ENODEV;
	*val = ossa_reg_read(f->odev, f->reg);
	drm_dev_exit(idx);
	return 0;
}

static int ossa_inject_set(void *data, u64 val)
{
	struct ossa_inject_file *f = data;
	int idx;

	if (val > U32_MAX)
		return -EINVAL;
	if (!drm_dev_enter(&f->odev->drm, &idx))
		return -ENODEV;
	ossa_reg_write(f->odev, f->reg, val);
	drm_dev_exit(idx);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(ossa_inject_fops, ossa_inject_get, ossa_inject_set,
			 "0x%llx\n");

static void ossa_debugfs_inject_init(struct ossa_device *odev,
				     struct dentry *root)
{
	static const struct {
		const char *name;
		u32 reg;
	} regs[] = {
		{ "inject_hang", OSSA_REG_INJECT_HANG },
		{ "inject_fail", OSSA_REG_INJECT_FAIL },
		{ "inject_delay_us", OSSA_REG_INJECT_DELAY_US },
	};
	struct ossa_inject_file *files;
	unsigned int i;

	files = drmm_kcalloc(&odev->drm, ARRAY_SIZE(regs), sizeof(*files),
			     GFP_KERNEL);
	if (!files)
		return;
	for (i = 0; i < ARRAY_SIZE(regs); i++) {
		files[i].odev = odev;
		files[i].reg = regs[i].reg;
		debugfs_create_file_unsafe(regs[i].name, 0600, root, &files[i],
					   &ossa_inject_fops);
	}
}

/**
 * ossa_debugfs_init() - create the driver's debugfs files
 * @odev: the device, before drm_dev_register()
 *
 * Accel devices get their debugfs folder when the DRM device is created;
 * the DRM core does not call &drm_driver.debugfs_init for them.
 */
void ossa_debugfs_init(struct ossa_device *odev)
{
	struct dentry *root = odev->drm.debugfs_root;

	drm_debugfs_add_files(&odev->drm, ossa_debugfs_list,
			      ARRAY_SIZE(ossa_debugfs_list));
	debugfs_create_file("reset", 0200, root, odev, &ossa_reset_fops);
	if (odev->fault_injection)
		ossa_debugfs_inject_init(odev, root);
}
