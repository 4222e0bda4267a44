/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The ossa developers
 */
#ifndef __OSSA_MMU_H__
#define __OSSA_MMU_H__

#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/types.h>

struct ossa_pt;

/**
 * struct ossa_mmu - a device address space: three levels of page tables
 * @dev: the device the tables are DMA-mapped for
 * @root: the level-2 table; NULL once torn down
 * @lock: protects every table of this address space
 */
struct ossa_mmu {
	struct device *dev;
	struct ossa_pt *root;
	struct mutex lock; /* protects the tables */
};

int ossa_mmu_init(struct ossa_mmu *mmu, struct device *dev);
void ossa_mmu_teardown(struct ossa_mmu *mmu);
void ossa_mmu_fini(struct ossa_mmu *mmu);
dma_addr_t ossa_mmu_root_dma(struct ossa_mmu *mmu);
int ossa_mmu_map(struct ossa_mmu *mmu, u64 va, struct sg_table *sgt, u64 size,
		 bool writable);
void ossa_mmu_unmap(struct ossa_mmu *mmu, u64 va, u64 size);

#endif /* __OSSA_MMU_H__ */
