/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The ossa developers
 */
#ifndef __OSSA_DEBUGFS_H__
#define __OSSA_DEBUGFS_H__

struct drm_minor;

#if defined(CONFIG_DEBUG_FS)
void ossa_debugfs_init(struct drm_minor *minor);
#else
static inline void ossa_debugfs_init(struct drm_minor *minor)
{
}
#endif

#endif /* __OSSA_DEBUGFS_H__ */
