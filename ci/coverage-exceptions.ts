/**
 * The line-coverage goals, and every line of the driver and the device
 * that no test runs with why: `npm test` fails when a part falls below
 * its goal, when a line never run is not explained here, and when an
 * entry here explains no line (then a test reaches it: delete the entry;
 * entries marked `race` may be reached or not).
 * Entries name the function and, within it, text of the lines.
 */
import type { CoverageException, CoverageGoals } from './lib/coverage-gate.js';

/** Percent of lines run, per part. */
export const COVERAGE_GOALS: CoverageGoals = { driver: 90, device: 95 };

/** The device's identity checks: they guard against another device on the ID. */
const OTHER_DEVICE = 'the ossa device model always reports the datasheet\'s identity, version and capabilities; only a different device would fail these checks';

/** Probe failures: the sweep that would make them (alloc-sweep probe) is not run by the suite. */
const PROBE_FAILURE =
  "a failed probe: the allocation sweep of the probe (userspace/tests/guest/tools/alloc-sweep.c, path probe) reaches defects of Linux 6.12's DRM core and ACPICA error paths first (an oops and a KASAN use-after-free, described there), so the suite does not run it";

/** The queue-error interrupt: its one cause a test can make also loses the interrupt. */
const QUEUE_ERROR_IRQ =
  "a queue error's interrupt: BAD_RING and TAIL_OVERRUN come only from a driver that programs its ring wrongly; RING_DMA, which the suite makes by turning bus mastering off (faults.test.ts), loses its MSI-X message with bus mastering, so in the debug lane (MSI-X, where coverage is measured) the job timeout finds the stopped queue (ossa_queue_recover); the INTx lane (ci/tests/guest-intx.test.ts) runs this path, unmeasured";

/** A job that completes within the few register accesses of its queue's stop. */
const LATE_COMPLETION =
  'a job that completes between the timeout handler harvesting its queue and disabling it (a few register accesses): a race no test can make certain';

export const COVERAGE_EXCEPTIONS: readonly CoverageException[] = [
  // --- The driver ---
  {
    file: 'kernel-driver/ossa_drv.c',
    function: 'ossa_probe',
    reason: PROBE_FAILURE,
  },
  { file: 'kernel-driver/ossa_job.c', function: 'ossa_sched_init', reason: PROBE_FAILURE },
  {
    file: 'kernel-driver/ossa_hw.c',
    function: 'ossa_hw_identify',
    lines: [
      '"identity register reads', 'id, OSSA_ID_MAGIC);\nreturn -ENODEV;',
      '"interface version', 'OSSA_VERSION_MAJOR);\nreturn -ENODEV;',
      '"capabilities 0x%08x', 'caps);\nreturn -ENODEV;',
      '"CAPS.DMA_BITS %u is outside', 'OSSA_DMA_BITS_MAX);\nreturn -ENODEV;',
    ],
    reason: OTHER_DEVICE,
  },
  {
    file: 'kernel-driver/ossa_gem.c',
    function: 'ossa_bo_create_ioctl',
    lines: ['mapping_set_gfp_mask(m, '],
    reason:
      'a device that cannot reach all of RAM: the INTx lane runs it (dma-bits=32, 5 GiB: ci/tests/guest-intx.test.ts), the debug lane, where coverage is measured, has a 64-bit device',
  },
  {
    file: 'kernel-driver/ossa_gem.c',
    function: 'ossa_gem_prime_import_sg_table',
    lines: ['drm_dbg_prime(drm,', 'return ERR_PTR(-EOPNOTSUPP);'],
    reason:
      "a dma-buf whose pages a device that cannot reach all of RAM would get bounced: the INTx lane refuses one (dma-bits=32, 5 GiB: foreign-dmabuf.test.ts), the debug lane, where coverage is measured, has a 64-bit device",
  },
  {
    file: 'kernel-driver/ossa_hw.c',
    function: 'ossa_hw_init',
    lines: ['"no usable %u-bit DMA mask', 'odev->dma_bits);\nreturn ret;'],
    reason: 'the DMA mask cannot fail on x86-64 for 32 bits or more (the device drives at least 32), with or without an IOMMU',
  },
  {
    file: 'kernel-driver/ossa_hw.c',
    function: 'ossa_hw_handle_misc',
    lines: ['!ossa_queue_recover_error(q, &qstatus))', 'drm_err_ratelimited(&odev->drm,'],
    reason: QUEUE_ERROR_IRQ,
  },
  { file: 'kernel-driver/ossa_queue.c', function: 'ossa_queue_recover_error', reason: QUEUE_ERROR_IRQ },
  {
    file: 'kernel-driver/ossa_queue.c',
    function: 'ossa_queue_harvest_locked',
    lines: ['if (head - q->head > q->tail - q->head)\nreturn;'],
    reason: "a Q_HEAD outside the driver's head..tail: all ones from a device that is gone, or a device reset under the driver; the suite reaches it only by chance (a completion interrupt that races an unbind)",
    race: true,
  },
  {
    file: 'kernel-driver/ossa_queue.c',
    function: 'ossa_queue_recover',
    lines: ['dma_fence_is_signaled_locked(job->hw_fence))\ngoto out;'],
    reason: 'a job that completes between its timeout firing and the handler harvesting its queue: a race no test can make certain',
    race: true,
  },
  {
    file: 'kernel-driver/ossa_queue.c',
    function: 'ossa_queue_recover',
    lines: ['found = OSSA_RECOVERY_LATE;'],
    reason: LATE_COMPLETION,
    race: true,
  },
  {
    file: 'kernel-driver/ossa_drv.c',
    function: 'ossa_open',
    lines: ['goto err_entities;', 'while (i--)', 'drm_sched_entity_destroy(', 'ossa_ctx_put('],
    reason: 'drm_sched_entity_init() fails only on invalid arguments (no scheduler list), which ossa_open() never passes',
  },
  {
    file: 'kernel-driver/ossa_job.c',
    function: 'ossa_job_run',
    lines: ['error = -ENODEV;'],
    reason: 'a job that reaches run_job after the device was unplugged: the unbind tests reach it only by chance (a job queued as the device goes)',
    race: true,
  },
  {
    file: 'kernel-driver/ossa_job.c',
    function: 'ossa_jobs_wait',
    lines: ['drm_warn(drm, "release waits for'],
    reason:
      "a dropped job whose foreign fence takes more than 10 s to signal: the suite's foreign fences are vgem's, which vgem itself signals 10 s after they are made, so a test would race vgem's timer (sw_sync, whose fences wait for ever, is not in Debian's kernel)",
  },
  {
    file: 'kernel-driver/ossa_submit.c',
    function: 'ossa_batch_add_deps',
    lines: ['write);\nif (ret)\nreturn ret;', 'ret = drm_sched_job_add_dependency(&job->base, fence);\nif (ret)\nreturn ret;'],
    reason:
      "drm_sched_job_add_dependency() fails only when xa_alloc() cannot get an xarray node, and xa_alloc() retries a failed node allocation with GFP_KERNEL (__xas_nomem), so the one failure fail-nth injects is absorbed (the allocation sweep's submit path injects it on every kind of dependency, and the call succeeds): only a kernel out of memory reaches these lines",
  },
  {
    file: 'kernel-driver/ossa_gem.c',
    function: 'ossa_bo_map',
    lines: ['goto err_free;', 'kfree(map);'],
    reason:
      "the file's device VA space (GET_PARAM VA_SIZE, 512 GiB) is full: even with BOs that share pages (udmabufs of one memfd) the device page tables for 512 GiB take about 1 GiB, more than the guest has",
  },

  {
    file: 'kernel-driver/ossa_ctx.c',
    function: 'ossa_ctx_create',
    lines: ['ret = -ENODEV;\ngoto err_free;'],
    reason: 'an open(2) that passed the DRM core\'s unplugged check just before the device went away: a race no test can make certain (an open after the removal fails in the DRM core)',
  },
  {
    file: 'kernel-driver/ossa_mmu.c',
    function: 'ossa_mmu_map',
    lines: ['if (!mmu->root) {\nmutex_unlock(&mmu->lock);', 'return -ENODEV;'],
    reason: 'a BO mapped by a call that entered the device just before its removal tore the page tables down: a race no test can make certain (later calls fail at drm_dev_enter())',
  },
  {
    file: 'kernel-driver/ossa_drv.c',
    function: 'ossa_shutdown',
    reason: 'runs when the guest powers off, after the runner has sent the driver\'s gcov data to the host',
  },

  // --- The device ---
  {
    file: 'qemu-device/ossa-mmu.c',
    function: 'ossa_map_ram',
    lines: ['dma_memory_unmap(as, ptr, plen, dir, 0);', 'dma_memory_unmap(as, ptr, plen, dir, 0);\nreturn NULL;'],
    reason:
      'dma_memory_map() repeats the address_space_translate() just before it on the same memory map under the same lock, so it cannot come back shorter unless the map or a vIOMMU mapping changes between the two calls from another thread',
  },
  {
    file: 'qemu-device/ossa.c',
    function: 'ossa_realize',
    lines: ['goto err_msix;', 'err_msix:', 'msix_uninit_exclusive_bar(pdev);'],
    reason: 'msi_init() fails only without an MSI-capable interrupt controller (msi_nonbroken), which every machine the suite uses has; with MSI-X on, msix_init_exclusive_bar() runs first and has failed already on that condition',
  },
  {
    file: 'qemu-device/ossa.c',
    function: 'ossa_realize',
    lines: ['error_setg(errp, "ossa: cannot add the PCIe capability");', 'goto err_msi;', 'err_msi:', 'msi_uninit(pdev);'],
    reason: 'pcie_endpoint_cap_init() fails only when config space has no room, and this device\'s capabilities are fixed and fit',
  },
];
