// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossa: device page tables (datasheet, section 7.2)
 *
 * Each context's address space is a tree of 4 KiB tables of 512 entries in
 * coherent DMA memory: level 2 (the root), level 1, level 0 (pages). Tables
 * are allocated as mappings need them and freed with the address space, or
 * when the device goes away (ossa_mmu_teardown()).
 *
 * The device reads each level-0 table once per slice of work and reuses it
 * for the rest of the slice: an update takes effect at the next slice, and
 * a job on the device may still reach a page unmapped here until it ends.
 * So callers free what they unmap only once the context's jobs then on the
 * device are done (ossa_ctx_when_idle()).
 *
 * Copyright (c) 2026 The ossa developers
 */

#include <linux/dma-mapping.h>
#include <linux/slab.h>

#include "ossa_mmu.h"
#include "ossa_regs.h"

#define OSSA_PT_SIZE	(OSSA_PT_ENTRIES * sizeof(u64))

/**
 * struct ossa_pt - one page table
 * @entries: its 512 entries, as the device reads them
 * @dma: bus address of @entries
 * @children: for level 2 and 1 tables, the table each entry points to
 */
struct ossa_pt {
	__le64 *entries;
	dma_addr_t dma;
	struct ossa_pt **children;
};

static struct ossa_pt *ossa_pt_alloc(struct device *dev, bool leaf)
{
	struct ossa_pt *pt = kzalloc_obj(*pt);

	if (!pt)
		return NULL;
	pt->entries = dma_alloc_coherent(dev, OSSA_PT_SIZE, &pt->dma,
					 GFP_KERNEL);
	if (!pt->entries)
		goto err_free;
	if (!leaf) {
		pt->children = kzalloc_objs(*pt->children, OSSA_PT_ENTRIES);
		if (!pt->children)
			goto err_entries;
	}
	return pt;

err_entries:
	dma_free_coherent(dev, OSSA_PT_SIZE, pt->entries, pt->dma);
err_free:
	kfree(pt);
	return NULL;
}

static void ossa_pt_free(struct device *dev, struct ossa_pt *pt, int level)
{
	unsigned int i;

	if (!pt)
		return;
	if (level > 0) {
		for (i = 0; i < OSSA_PT_ENTRIES; i++)
			ossa_pt_free(dev, pt->children[i], level - 1);
		kfree(pt->children);
	}
	dma_free_coherent(dev, OSSA_PT_SIZE, pt->entries, pt->dma);
	kfree(pt);
}

static unsigned int ossa_pt_index(u64 va, int level)
{
	return (va >> (OSSA_PAGE_SHIFT + OSSA_PT_INDEX_BITS * level)) &
	       (OSSA_PT_ENTRIES - 1);
}

/*
 * Returns the level-0 table covering @va, allocating the tables on the way
 * when @alloc is set; NULL if it does not exist or cannot be allocated.
 */
static struct ossa_pt *ossa_mmu_leaf(struct ossa_mmu *mmu, u64 va, bool alloc)
{
	struct ossa_pt *pt = mmu->root;
	int level;

	lockdep_assert_held(&mmu->lock);

	if (!pt)
		return NULL;
	for (level = OSSA_PT_LEVELS - 1; level > 0; level--) {
		unsigned int i = ossa_pt_index(va, level);
		struct ossa_pt *child = pt->children[i];

		if (!child) {
			if (!alloc)
				return NULL;
			child = ossa_pt_alloc(mmu->dev, level == 1);
			if (!child)
				return NULL;
			pt->children[i] = child;
			WRITE_ONCE(pt->entries[i],
				   cpu_to_le64(child->dma | OSSA_PTE_VALID));
		}
		pt = child;
	}
	return pt;
}

/**
 * ossa_mmu_init() - create an empty address space
 * @mmu: the address space
 * @dev: the device that walks it
 *
 * Return: 0 or -ENOMEM.
 */
int ossa_mmu_init(struct ossa_mmu *mmu, struct device *dev)
{
	mmu->dev = dev;
	mutex_init(&mmu->lock);
	mmu->root = ossa_pt_alloc(dev, false);
	if (!mmu->root) {
		mutex_destroy(&mmu->lock);
		return -ENOMEM;
	}
	return 0;
}

/**
 * ossa_mmu_teardown() - free all tables of an address space now
 * @mmu: the address space, which the device no longer walks
 *
 * For a device that is going away: its DMA memory goes with it, while the
 * context may live on with its file. Later maps fail with -ENODEV and
 * unmaps do nothing.
 */
void ossa_mmu_teardown(struct ossa_mmu *mmu)
{
	mutex_lock(&mmu->lock);
	ossa_pt_free(mmu->dev, mmu->root, OSSA_PT_LEVELS - 1);
	mmu->root = NULL;
	mutex_unlock(&mmu->lock);
}

/**
 * ossa_mmu_fini() - free an address space and all its tables
 * @mmu: the address space, which no job may use any more
 */
void ossa_mmu_fini(struct ossa_mmu *mmu)
{
	ossa_mmu_teardown(mmu);
	mutex_destroy(&mmu->lock);
}

/**
 * ossa_mmu_root_dma() - bus address of the level-2 table
 * @mmu: the address space
 *
 * Return: the address to put in the context table entry.
 */
dma_addr_t ossa_mmu_root_dma(struct ossa_mmu *mmu)
{
	return mmu->root->dma;
}

/**
 * ossa_mmu_map() - map pages at a device VA
 * @mmu: the address space
 * @va: page-aligned device VA
 * @sgt: DMA-mapped pages to map
 * @size: bytes to map from the start of @sgt, page-aligned
 * @writable: whether the device may write them
 *
 * The DMA segments of @sgt are walked by their bus address and length
 * alone. The DMA page iterator is not used: it counts a segment's pages
 * from its CPU-side offset, which an exporter may set past the first page
 * (udmabuf's sg_set_folio() of a page inside a large folio), and would
 * then map pages that are not the buffer's.
 *
 * Return: 0; -EINVAL with nothing mapped for a segment that does not
 * start and end on a device page boundary, or for fewer bytes than @size;
 * -ENOMEM with nothing left mapped; -ENODEV once the tables are torn down.
 */
int ossa_mmu_map(struct ossa_mmu *mmu, u64 va, struct sg_table *sgt, u64 size,
		 bool writable)
{
	u64 flags = OSSA_PTE_VALID | OSSA_PTE_READ |
		    (writable ? OSSA_PTE_WRITE : 0);
	struct scatterlist *sg;
	unsigned int i;
	u64 done = 0;
	int ret = 0;

	mutex_lock(&mmu->lock);
	if (!mmu->root) {
		mutex_unlock(&mmu->lock);
		return -ENODEV;
	}
	for_each_sgtable_dma_sg(sgt, sg, i) {
		dma_addr_t addr = sg_dma_address(sg);
		u64 len = sg_dma_len(sg);

		if (!IS_ALIGNED(addr, OSSA_PAGE_SIZE) ||
		    !IS_ALIGNED(len, OSSA_PAGE_SIZE)) {
			ret = -EINVAL;
			break;
		}
		for (; len && done < size; addr += OSSA_PAGE_SIZE,
		     len -= OSSA_PAGE_SIZE, done += OSSA_PAGE_SIZE) {
			struct ossa_pt *leaf = ossa_mmu_leaf(mmu, va + done,
							     true);

			if (!leaf) {
				ret = -ENOMEM;
				break;
			}
			WRITE_ONCE(leaf->entries[ossa_pt_index(va + done, 0)],
				   cpu_to_le64((addr & OSSA_PTE_ADDR_MASK) |
					       flags));
		}
		if (ret || done >= size)
			break;
	}
	if (!ret && done < size)
		ret = -EINVAL;
	mutex_unlock(&mmu->lock);
	if (ret)
		ossa_mmu_unmap(mmu, va, done);
	return ret;
}

/**
 * ossa_mmu_unmap() - unmap a range of device VAs
 * @mmu: the address space
 * @va: page-aligned device VA
 * @size: bytes, page-aligned
 *
 * The tables themselves stay until the address space is freed.
 */
void ossa_mmu_unmap(struct ossa_mmu *mmu, u64 va, u64 size)
{
	u64 done;

	mutex_lock(&mmu->lock);
	for (done = 0; done < size; done += OSSA_PAGE_SIZE) {
		struct ossa_pt *leaf = ossa_mmu_leaf(mmu, va + done, false);

		if (leaf)
			WRITE_ONCE(leaf->entries[ossa_pt_index(va + done, 0)], 0);
	}
	mutex_unlock(&mmu->lock);
}
