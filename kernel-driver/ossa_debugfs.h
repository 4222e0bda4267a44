/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The ossa developers
 */
#ifndef __OSSA_DEBUGFS_H__
#define __OSSA_DEBUGFS_H__

struct ossa_device;

#if defined(CONFIG_DEBUG_FS)
void ossa_debugfs_init(struct ossa_device *odev);
#else
static inline void ossa_debugfs_init(struct ossa_device *odev)
{
}
#endif

#endif /* __OSSA_DEBUGFS_H__ */
