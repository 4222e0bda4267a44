/**
 * Parts of `npm test` that run on their own, each building only what its
 * tests need: the host's tests, each guest lane, and the groups `guest`
 * (every lane) and `device` (the device's qtests). The CI workflows run the
 * host and the lanes as a matrix (.github/workflows/ci.yml, .gitlab-ci.yml);
 * together they run every file `npm test` runs, each once.
 */

export interface Subset {
  /** What it runs, in a few words. */
  what: string;
  /** The flags of ci/build.ts: the builds its tests need, beyond the default ones. */
  build: readonly string[];
  /** vitest file filters (a file runs when its path contains one). */
  files: readonly string[];
  /** Files the filters match but that are not part of it (vitest --exclude). */
  exclude?: readonly string[];
}

/** Each guest lane's file: a vitest file that boots one guest and reports its tests. */
const LANE_FILES = {
  default: 'ci/tests/guest.test.ts',
  debug: 'ci/tests/guest-debug.test.ts',
  'intel-iommu': 'ci/tests/guest-intel-iommu.test.ts',
  intx: 'ci/tests/guest-intx.test.ts',
  'virtio-iommu': 'ci/tests/guest-virtio-iommu.test.ts',
  'kernel-tree': 'ci/tests/guest-kernel-tree.test.ts',
} as const;

/** The matrix of the CI workflows: the host, then each guest lane. */
export const MATRIX = {
  host: {
    what: "the host's tests: CI tooling and reports, patches and style, the device's qtests and fuzz targets, the library without a device",
    build: ['--asan', '--fuzz', '--newest-kernel', '--newest-qemu', '--linux-tree'],
    files: ['ci/tests/', 'qemu-device/tests/', 'userspace/tests/host/'],
    exclude: Object.values(LANE_FILES),
  },
  default: { what: 'the guest suite: Debian stable\'s kernel on QEMU 10.0.2', build: [], files: [LANE_FILES.default] },
  debug: { what: 'the driver\'s tests on the debug kernel (KASAN, lockdep, kmemleak, gcov)', build: ['--debug-kernel'], files: [LANE_FILES.debug] },
  'intel-iommu': {
    what: 'the guest suite on the newest kernel and QEMU, behind intel-iommu',
    build: ['--newest-kernel', '--newest-qemu'],
    files: [LANE_FILES['intel-iommu']],
  },
  intx: { what: "the driver's tests with INTx and 32-bit DMA", build: [], files: [LANE_FILES.intx] },
  'virtio-iommu': { what: "the driver's tests behind virtio-iommu, on QEMU with ASan and gcov", build: ['--asan'], files: [LANE_FILES['virtio-iommu']] },
  'kernel-tree': {
    what: "the driver's tests on a kernel built from a Linux source tree (OSSA_KERNEL_TREE, else the newest kernel's)",
    build: ['--kernel-tree'],
    files: [LANE_FILES['kernel-tree']],
  },
} as const satisfies Record<string, Subset>;

export type MatrixEntry = keyof typeof MATRIX;

const union = (parts: readonly Subset[]): string[] => [...new Set(parts.flatMap((s) => s.build))];

/** Every subset: the matrix's entries and the groups. */
export const SUBSETS: Record<string, Subset> = {
  ...MATRIX,
  guest: {
    what: 'every guest lane, one after the other',
    build: union(Object.keys(LANE_FILES).map((l) => MATRIX[l as keyof typeof LANE_FILES])),
    files: Object.values(LANE_FILES),
  },
  device: { what: "the device's qtests, on QEMU with ASan and gcov", build: ['--asan'], files: ['qemu-device/tests/'] },
};

/** The vitest arguments that run a subset. */
export function vitestArgs(s: Subset): string[] {
  return ['run', ...s.files, ...(s.exclude ?? []).flatMap((e) => ['--exclude', e])];
}
