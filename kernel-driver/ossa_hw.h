/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The ossa developers
 */
#ifndef __OSSA_HW_H__
#define __OSSA_HW_H__

struct ossa_device;

int ossa_hw_init(struct ossa_device *odev);
int ossa_hw_irq_init(struct ossa_device *odev);
void ossa_hw_reset(struct ossa_device *odev);
void ossa_hw_fini(struct ossa_device *odev);

#endif /* __OSSA_HW_H__ */
