/**
 * The driver's source as it sits in drivers/accel/ossa/ of a kernel tree:
 * kernel-driver/ with the register header beside it. The header belongs to
 * the hardware side (qemu-device/ossa_regs.h, the C rendering of
 * docs/hardware.md); the driver builds from a copy, as it would upstream.
 */
import { copyFile, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/** The hardware side's register header, shared by the device and the driver. */
export const REGS_HEADER = 'qemu-device/ossa_regs.h';

/** What a driver build depends on, as cache inputs. */
export const DRIVER_INPUTS = ['kernel-driver', REGS_HEADER];
/** How the driver's source is staged for a build (Inputs.recipe). */
export const DRIVER_RECIPE = 'ci/lib/driver-source.ts';

/** Copies the driver's source to `dest`, without build products of an earlier in-place build. */
export async function stageDriver(dest: string): Promise<void> {
  await cp(join(repoRoot, 'kernel-driver'), dest, { recursive: true, filter: (f) => !/\.(o|ko|mod|cmd)$|\.mod\.c$/.test(f) });
  await copyFile(join(repoRoot, REGS_HEADER), join(dest, 'ossa_regs.h'));
}
