/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The ossa developers
 */
#ifndef __OSSA_DRV_H__
#define __OSSA_DRV_H__

#include <linux/io.h>
#include <drm/drm_device.h>

#define DRIVER_NAME	"ossa"
#define DRIVER_DESC	"Open-Source-userspace Sample Accelerator"

/**
 * struct ossa_device - ossa device instance
 * @drm: DRM device, the base of this structure
 * @regs: BAR0 register window
 * @hw_version: value of the VERSION register read at probe
 */
struct ossa_device {
	struct drm_device drm;
	void __iomem *regs;
	u32 hw_version;
};

static inline struct ossa_device *to_ossa_device(struct drm_device *drm)
{
	return container_of(drm, struct ossa_device, drm);
}

static inline u32 ossa_reg_read(struct ossa_device *odev, u32 reg)
{
	return readl(odev->regs + reg);
}

static inline void ossa_reg_write(struct ossa_device *odev, u32 reg, u32 val)
{
	writel(val, odev->regs + reg);
}

#endif /* __OSSA_DRV_H__ */
