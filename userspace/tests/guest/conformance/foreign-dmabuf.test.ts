/**
 * Tier 2, ossa: a dma-buf of another exporter (udmabuf over a memfd), used
 * by a job in both directions (tools/foreign-dmabuf; docs/uapi.md,
 * PRIME_FD_TO_HANDLE). Two ways to lose data, both seen on Linux 6.12:
 * - the device keeps an imported buffer mapped for the buffer's whole
 *   life, with no point at which to sync the mapping: pages beyond the
 *   device's DMA reach would be bounced through swiotlb, and what the CPU
 *   writes after the import, or the device at any time, would never reach
 *   the other side. Such a dma-buf must be refused;
 * - udmabuf describes each page of a large folio (shmem's huge pages,
 *   shmem_enabled=within_size on Debian's kernel) by the folio and an
 *   offset into it, and the kernel's DMA page iterator counts pages from
 *   that offset: a driver walking the table with it maps the wrong pages.
 * Any dma-buf that is imported must carry data both ways.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { covers } from '../../../../ci/lib/coverage.js';
import { OSSA_CONSTANTS } from '../../../src/uapi.js';
import { ossaNode } from '../support/ossa.js';
import { ossaPciAddress } from '../support/pci.js';
import { runTool } from '../support/tool.js';

const TOOL = '/ossa/tools/foreign-dmabuf';
const SIZE_MIB = 16;

describe('PRIME import of another exporter', () => {
  test(covers('PRIME_FD_TO_HANDLE', 'good', 'a udmabuf carries data both ways, or is refused when the device cannot reach its pages'), async () => {
    const device = join('/sys/bus/pci/devices', ossaPciAddress());
    const bits = Number(readFileSync(join(device, 'dma_mask_bits'), 'utf8'));
    const translated = existsSync(join(device, 'iommu_group'));
    const { stdout } = await runTool(TOOL, [ossaNode(), String(SIZE_MIB)]);
    const out = stdout.trim();
    console.log(`foreign-dmabuf (${bits}-bit DMA mask, ${translated ? 'behind an IOMMU' : 'no IOMMU'}): ${out}`);
    const m = /^import (\S+) highest 0x([0-9a-f]+)(?: read-errors (\d+) write-errors (\d+) status (\d+))?$/.exec(out);
    if (!m) throw new Error(`foreign-dmabuf printed ${JSON.stringify(out)}`);
    // Without an IOMMU the device sees physical addresses; with one, any page.
    const reachable = translated || bits >= 64 || BigInt(`0x${m[2]}`) < 1n << BigInt(bits);
    if (!reachable) {
      expect(m[1], 'the import of a dma-buf with pages beyond the DMA mask').toBe('EOPNOTSUPP');
      return;
    }
    expect(m[1], 'the import of a dma-buf the device reaches').toBe('ok');
    expect(Number(m[5]), "the job's status").toBe(OSSA_CONSTANTS.DRM_OSSA_JOB_STATUS_SUCCESS);
    expect(Number(m[3]), 'words the device read that differ from what the CPU wrote after the import').toBe(0);
    expect(Number(m[4]), 'words the CPU sees that the device did not fill').toBe(0);
  });
});
