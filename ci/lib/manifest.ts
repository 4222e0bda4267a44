import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { manifestPath } from './paths.js';

/** A guest kernel other than Debian stable's, and its image. */
export interface GuestKernelBuild {
  kernelRelease: string;
  vmlinuz: string;
  initrd: string;
}

/** The debug lane: the debug kernel and its image (npm test only). */
export interface DebugGuest extends GuestKernelBuild {
  /** The driver's build folder: its sources and gcov notes (.gcno). */
  driverBuild: string;
}

/** The newest kernel (Debian sid's): its guest build and what builds for it. */
export interface NewestKernelBuild extends GuestKernelBuild {
  /** The sid root its modules are built in (its headers and compiler are there). */
  sidRoot: string;
  /** Its pristine source tree as a git repository, when asked for (--linux-tree): what the Linux patch series is made against. */
  linuxTree?: { dir: string; version: string; key: string };
}

/** A kernel built from a Linux source tree (ci/lib/own-kernel.ts), its driver and its image. */
export interface OwnKernelBuild extends GuestKernelBuild {
  /** The tree given (OSSA_KERNEL_TREE, or the newest kernel's pristine tree). */
  source: string;
  /** The version its Makefile gives. */
  version: string;
  /** Where its config came from: tinyconfig, OSSA_KERNEL_CONFIG or the tree's .config. */
  configFrom: string;
  /** Whether the tree holds the driver (built by the kernel's build, not out of tree). */
  driverInTree: boolean;
}

/** A QEMU built from a source tree with the device's series applied (ci/lib/qemu-build.ts). */
export interface TreeQemuBuild {
  version: string;
  binary: string;
  /** The tree given (the newest QEMU's pristine tree, or OSSA_QEMU_TREE). */
  source: string;
  /** The copy it was built in: the tree with the upstream series applied. */
  tree: string;
  /** The series' qtest (tests/qtest/ossa-test), built with it. */
  qtest: string;
  /** The series it was built from (empty when the tree held the device already). */
  series: string;
}

/** What `ci/build.ts` built, for the runners. */
export interface BuildManifest {
  qemu: string;
  /** QEMU built with AddressSanitizer, when the build was asked for it (--asan). */
  qemuAsan?: string;
  /** QEMU's libFuzzer binary with the device's generic-fuzz targets, when asked for (--fuzz). */
  qemuFuzz?: string;
  /** QEMU's version (of qemu, qemuAsan and qemuFuzz). */
  qemuVersion: string;
  /** Its source tree with the device added (scripts/checkpatch.pl, ...). */
  qemuTree: string;
  /** The newest QEMU the archive serves, with the device, when asked for (--newest-qemu). */
  qemuNewest?: TreeQemuBuild;
  /** QEMU from a lab's own tree (OSSA_QEMU_TREE), run in place of the plain stable one. */
  qemuOwn?: TreeQemuBuild;
  kernelRelease: string;
  /** The guest kernel's uapi headers, for checking layouts against them. */
  kernelUapi: string;
  /** The guest kernel's build headers (KDIR for the driver). */
  kernelHeaders: string;
  vmlinuz: string;
  initrd: string;
  probeInitrd: string;
  nativeBinding: string;
  /** The library's npm package: its staged folder and the tarball npm pack made of it. */
  package: { stage: string; tarball: string };
  /** Present when the build was asked for the debug lane (--debug-kernel). */
  debug?: DebugGuest;
  /** Present when the build was asked for the newest kernel (--newest-kernel): Debian sid's. */
  newest?: NewestKernelBuild;
  /** A kernel from a Linux source tree: OSSA_KERNEL_TREE's, or the newest kernel's tree (--kernel-tree). */
  ownKernel?: OwnKernelBuild;
  /** Input hash of each part. */
  keys: Record<string, string>;
  /** Parts this build had to make (the rest came from the cache). */
  built: string[];
}

export async function writeManifest(m: BuildManifest): Promise<void> {
  await mkdir(dirname(manifestPath), { recursive: true });
  await writeFile(manifestPath, `${JSON.stringify(m, null, 2)}\n`);
}

export async function readManifest(): Promise<BuildManifest> {
  if (!existsSync(manifestPath)) {
    throw new Error(`${manifestPath} not found: run \`npm run build\` (npm test and npm start do it first)`);
  }
  return JSON.parse(await readFile(manifestPath, 'utf8')) as BuildManifest;
}
