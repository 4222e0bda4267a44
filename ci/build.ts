/**
 * Builds whatever is missing, each part cached under the cache folder by a
 * hash of its inputs: QEMU with the ossa device, the guest kernel, the
 * driver, the native binding, the compiled userspace and the guest image.
 * Writes out/build.json, which the runners read.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa, ExecaError } from 'execa';
import { buildImage } from '../images/image.js';
import { cached, type CachedOutput, hashInputs, usedEntries } from './lib/cache.js';
import { pruneCache, pruneLimits } from './lib/cache-prune.js';
import { buildDebugKernel } from './lib/debug-kernel.js';
import { DRIVER_INPUTS, DRIVER_RECIPE, stageDriver } from './lib/driver-source.js';
import { fetchKernel, fetchNewestKernel, selectKernelRelease, selectNewestKernelRelease } from './lib/kernel.js';
import { INTREE_PACKAGES } from './lib/linux-intree.js';
import { newestLinuxTree } from './lib/linux-tree.js';
import { type BuildManifest, type DebugGuest, type NewestKernelBuild, type OwnKernelBuild, writeManifest } from './lib/manifest.js';
import { buildOwnKernel, checkKernelConfig, checkLinuxTree, type LinuxTreeDir } from './lib/own-kernel.js';
import { cacheDir, ownKernelConfig, ownKernelTreeDir, ownQemuTreeDir, repoRoot } from './lib/paths.js';
import { checkQemuTree, qemuFromTree, qemuToolchain, stableQemu, type TreeQemu } from './lib/qemu-build.js';
import { selectNewestQemu } from './lib/qemu-source.js';
import { newestQemuTree } from './lib/qemu-tree.js';
import { BuildError, formatSeconds, log, step } from './lib/progress.js';
import { buildInSidRoot, SID_RECIPE, sidRoot, updateSidLists } from './lib/sid.js';

/**
 * The recipe of the entries whose commands are written here (their flags,
 * their steps): a change to this file rebuilds them. Each cached() call
 * names its recipe; see Inputs.recipe in lib/cache.ts.
 */
const RECIPE = 'ci/build.ts';

/** The file npm pack makes of the library's package: NAME-VERSION.tgz. */
function packageTarball(): string {
  const { name, version } = JSON.parse(readFileSync(join(repoRoot, 'userspace/package.json'), 'utf8')) as { name: string; version: string };
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/** Runs a build command; on failure, shows the end of its output. */
async function run(what: string, cmd: string, args: string[], cwd?: string): Promise<void> {
  try {
    await execa(cmd, args, { cwd, all: true, env: { LC_ALL: 'C' } });
  } catch (err) {
    if (err instanceof ExecaError) {
      const tail = String(err.all ?? '').split('\n').slice(-40).join('\n');
      throw new BuildError(`${what} failed (${cmd} exited with ${err.exitCode ?? err.signal}):\n${tail}`);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const start = performance.now();
  log(`cache: ${cacheDir()}`);

  // Each tree given to build from, checked before anything is built.
  if (process.env.OSSA_QEMU_TREE === '') throw new BuildError('OSSA_QEMU_TREE is set but empty: give the path of a QEMU source tree');
  const ownQemuTree = ownQemuTreeDir();
  const ownQemuDir = ownQemuTree ? await checkQemuTree(ownQemuTree, 'OSSA_QEMU_TREE') : undefined;
  for (const name of ['OSSA_KERNEL_TREE', 'OSSA_KERNEL_CONFIG']) {
    if (process.env[name] === '') throw new BuildError(`${name} is set but empty: give the path of a Linux source tree or of a kernel config`);
  }
  const ownKernelTree = ownKernelTreeDir();
  const ownKernelDir = ownKernelTree ? await checkLinuxTree(ownKernelTree, 'OSSA_KERNEL_TREE') : undefined;
  // The kernel-tree lane's kernel: OSSA_KERNEL_TREE's, else the newest kernel's pristine tree (--linux-tree).
  const kernelTreeLane = process.argv.includes('--kernel-tree');
  // OSSA_KERNEL_CONFIG is the config of OSSA_KERNEL_TREE, checked now rather than after the other builds.
  const kernelConfig = ownKernelConfig();
  if (kernelConfig && !ownKernelDir) throw new BuildError('OSSA_KERNEL_CONFIG is the config of OSSA_KERNEL_TREE: set OSSA_KERNEL_TREE too');
  if (kernelConfig) await checkKernelConfig(kernelConfig, 'OSSA_KERNEL_CONFIG');

  // The tools a QEMU build runs are named by version, so that a new compiler rebuilds.
  const toolchain = await qemuToolchain();
  const qemu = await stableQemu(toolchain);
  // An AddressSanitizer build of the same tree, for the device's random
  // test; only when asked for (npm test), as it takes a few minutes.
  const qemuAsan = process.argv.includes('--asan') ? await stableQemu(toolchain, 'asan') : undefined;
  // QEMU's libFuzzer binary (clang, ASan, UBSan) for the device's
  // generic-fuzz targets: npm run fuzz, and the short run of npm test.
  const qemuFuzz = process.argv.includes('--fuzz') ? await stableQemu(toolchain, 'fuzz') : undefined;

  // The newest QEMU the archive serves, with the same device; when asked
  // for. Built from its pristine tree as a lab's own tree is: the upstream
  // series (npm run patches) applied to a copy with git am, so that what is
  // sent is what the guests run on.
  let qemuNewest: TreeQemu | undefined;
  if (process.argv.includes('--newest-qemu')) {
    const source = await step('qemu: choosing the newest served source', selectNewestQemu);
    log(`qemu (newest): ${source.version} (${source.url})`);
    const tree = await newestQemuTree(source);
    qemuNewest = await qemuFromTree(await checkQemuTree(tree.dir, 'the newest QEMU'), 'qemu-newest', 'the newest QEMU', toolchain);
  }
  // A lab's own QEMU tree (OSSA_QEMU_TREE): the lanes that run the plain
  // stable QEMU run it instead (ci/lib/guest-session.ts).
  const qemuOwn = ownQemuDir ? await qemuFromTree(ownQemuDir, 'qemu-own', 'OSSA_QEMU_TREE', toolchain) : undefined;

  const release = await step('kernel: choosing a Debian 6.12 build', selectKernelRelease);
  log(`kernel: ${release}`);
  const kernel = await fetchKernel(release);

  // The driver, out of tree against a kernel's build headers; `extra`
  // make variables (GCOV_PROFILE=y and LINUX_FIXES=y for the debug kernel).
  const buildDriver = (name: string, kdir: string, kernelKey: string, extra: string[] = []): Promise<CachedOutput> =>
    cached(name, { files: DRIVER_INPUTS, recipe: [RECIPE, DRIVER_RECIPE], values: { kernel: kernelKey, make: extra.join(' ') } }, async (dir) => {
      const src = join(dir, 'src');
      await stageDriver(src);
      await run(`${name} build`, 'make', ['-C', src, `KDIR=${kdir}`, ...extra, 'modules']);
      await copyFile(join(src, 'ossa.ko'), join(dir, 'ossa.ko'));
    });
  const driver = await buildDriver('driver', kernel.headersDir, kernel.cache.key);

  const nodeHeaders = join(dirname(process.execPath), '..', 'include', 'node');
  const native = await cached(
    'native',
    { files: ['userspace/native'], recipe: [RECIPE], values: { node: process.version, headers: nodeHeaders } },
    async (dir) => {
      if (!existsSync(join(nodeHeaders, 'node_api.h'))) {
        throw new BuildError(`Node.js headers not found in ${nodeHeaders} (node_api.h): install Node's headers`);
      }
      await run('native binding build', 'cc', [
        '-O2', '-g', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared',
        '-DNAPI_VERSION=8', '-DNODE_GYP_MODULE_NAME=ossa_native',
        `-I${nodeHeaders}`,
        '-o', join(dir, 'ossa_native.node'),
        join(repoRoot, 'userspace/native/ossa_native.c'),
      ]);
    },
  );

  const userspace = await cached(
    'userspace',
    {
      files: ['userspace/src', 'userspace/bin', 'userspace/package.json', 'userspace/tests/guest', 'ci/guest', 'ci/lib/protocol.ts', 'ci/lib/coverage.ts', 'tsconfig.base.json', 'tsconfig.guest.json', 'package-lock.json'],
      recipe: [RECIPE],
    },
    async (dir) => {
      await run('TypeScript compile of the guest suite', join(repoRoot, 'node_modules/.bin/tsc'), [
        '-p', join(repoRoot, 'tsconfig.guest.json'), '--outDir', dir,
      ]);
      await cp(join(repoRoot, 'userspace/bin'), join(dir, 'userspace/bin'), { recursive: true });
      await copyFile(join(repoRoot, 'userspace/package.json'), join(dir, 'userspace/package.json'));
    },
  );

  // The library as an npm package (userspace/package.json): compiled with
  // its declarations, the addon prebuilt for linux-x64, packed by npm pack.
  const pkg = await cached(
    'package',
    {
      files: ['userspace/src', 'userspace/bin', 'userspace/package.json', 'userspace/README.md', 'userspace/tsconfig.package.json', 'userspace/native', 'tsconfig.base.json', 'package-lock.json'],
      recipe: [RECIPE],
      values: { native: native.key },
    },
    async (dir) => {
      const stage = join(dir, 'stage');
      await run('TypeScript compile of the package', join(repoRoot, 'node_modules/.bin/tsc'), [
        '-p', join(repoRoot, 'userspace/tsconfig.package.json'), '--outDir', join(stage, 'dist'),
      ]);
      await cp(join(repoRoot, 'userspace/bin'), join(stage, 'bin'), { recursive: true });
      await mkdir(join(stage, 'native'), { recursive: true });
      await mkdir(join(stage, 'prebuilds/linux-x64'), { recursive: true });
      for (const f of ['package.json', 'README.md', 'native/ossa_native.c']) await copyFile(join(repoRoot, 'userspace', f), join(stage, f));
      await copyFile(join(native.dir, 'ossa_native.node'), join(stage, 'prebuilds/linux-x64/ossa_native.node'));
      await run('npm pack of the package', 'npm', ['pack', '--silent', '--pack-destination', dir, stage]);
    },
  );

  // The benchmarks' guest programs, static so that the image needs no libc.
  const benchTools = await cached(
    'bench-tools',
    { files: ['ci/guest/bench', 'kernel-driver/include'], recipe: [RECIPE], values: { uapi: kernel.cache.key } },
    async (dir) => {
      const src = join(repoRoot, 'ci/guest/bench');
      const flags = ['-O2', '-static', '-Wall', '-Wextra', '-Werror'];
      await run('nvme-read build', 'cc', [...flags, '-o', join(dir, 'nvme-read'), join(src, 'nvme-read.c')]);
      const uapi = ['-D__user=', '-I', join(repoRoot, 'kernel-driver/include/uapi/drm'), '-I', join(kernel.uapiDir, 'drm')];
      for (const tool of ['ioctl-loop', 'nop-loop']) {
        await run(`${tool} build`, 'cc', [...flags, ...uapi, '-o', join(dir, tool), join(src, `${tool}.c`)]);
      }
    },
  );

  // The conformance suite's C tools (the allocation-failure sweep), static too.
  const testTools = await cached(
    'test-tools',
    { files: ['userspace/tests/guest/tools', 'kernel-driver/include', 'qemu-device/ossa_regs.h'], recipe: [RECIPE], values: { uapi: kernel.cache.key } },
    async (dir) => {
      const src = join(repoRoot, 'userspace/tests/guest/tools');
      const flags = ['-O2', '-static', '-Wall', '-Wextra', '-Werror', '-D__user='];
      const includes = ['-I', join(repoRoot, 'kernel-driver/include/uapi/drm'), '-I', join(kernel.uapiDir, 'drm'), '-I', join(repoRoot, 'qemu-device')];
      for (const file of readdirSync(src).filter((f) => f.endsWith('.c'))) {
        const tool = file.replace(/\.c$/, '');
        await run(`${tool} build`, 'cc', [...flags, ...includes, '-o', join(dir, tool), join(src, file)]);
      }
    },
  );

  // A guest image: a kernel's modules, the driver (`driverKo`, whose build is `driverKey`), the suite.
  const guestImage = (name: string, modulesDir: string, kernelKey: string, driverKo: string, driverKey: string): Promise<CachedOutput> =>
    cached(
      name,
      {
        files: ['images'],
        recipe: [RECIPE, 'images/image.ts'],
        values: {
          kernel: kernelKey,
          driver: driverKey,
          native: native.key,
          userspace: userspace.key,
          benchTools: benchTools.key,
          testTools: testTools.key,
          modules: modulesKey,
          node: process.version,
        },
      },
      (dir) =>
        buildImage(
          {
            modulesDir,
            driverKo,
            stageDir: userspace.dir,
            nativeBinding: join(native.dir, 'ossa_native.node'),
            nodeModules: join(repoRoot, 'node_modules'),
            benchTools: benchTools.dir,
            testTools: testTools.dir,
            init: join(repoRoot, 'images/init.sh'),
            probeInit: join(repoRoot, 'images/probe-init.sh'),
          },
          dir,
        ),
    );
  const modulesKey = await hashInputs({ files: ['package-lock.json'] });
  const image = await guestImage('image', kernel.modulesDir, kernel.cache.key, join(driver.dir, 'ossa.ko'), driver.key);

  // The debug kernel (KASAN, lockdep, kmemleak, gcov, ...), its driver
  // built with gcov, and its image; only when asked for (npm test).
  let debug: DebugGuest | undefined;
  const debugParts: Record<string, CachedOutput> = {};
  if (process.argv.includes('--debug-kernel')) {
    const dk = await buildDebugKernel(kernel);
    // Its kernel carries kernel-driver/linux-fixes/ (LINUX_FIXES=y).
    const debugDriver = await buildDriver('driver-debug', dk.headersDir, dk.cache.key, ['GCOV_PROFILE=y', 'LINUX_FIXES=y']);
    const debugImage = await guestImage('image-debug', dk.modulesDir, dk.cache.key, join(debugDriver.dir, 'ossa.ko'), debugDriver.key);
    Object.assign(debugParts, { debugKernel: dk.cache, debugDriver, debugImage });
    debug = {
      kernelRelease: dk.release,
      vmlinuz: dk.vmlinuz,
      initrd: join(debugImage.dir, 'initramfs.cpio'),
      driverBuild: join(debugDriver.dir, 'src'),
    };
  }

  // The newest kernel Debian serves (sid), its driver built in a sid root
  // with sid's compiler, and its image; only when asked for.
  let newest: NewestKernelBuild | undefined;
  const newestParts: Record<string, CachedOutput> = {};
  const linuxTree = process.argv.includes('--linux-tree') || (kernelTreeLane && !ownKernelDir);
  if (process.argv.includes('--newest-kernel') || linuxTree) {
    const newestRelease = await step('kernel: choosing the newest build in sid', selectNewestKernelRelease);
    log(`kernel (newest): ${newestRelease}`);
    // sid drops a kernel's packages once a newer one lands: lists up to a
    // day old may name one that is gone. Then fetch them and choose again.
    const nk = await fetchNewestKernel(newestRelease).catch(async (err: unknown) => {
      if (!(err instanceof BuildError) || process.env.OSSA_NEWEST_KERNEL_RELEASE) throw err;
      log(`kernel (newest): ${err.message.split('\n')[0]}; fetching sid's lists again`);
      await updateSidLists({ force: true });
      return fetchNewestKernel(await selectNewestKernelRelease());
    });
    // One root for the driver out of tree and in the kernel's tree (npm run patches).
    const root = await sidRoot('sid-root', [...INTREE_PACKAGES, ...nk.headerPackages]);
    const newestDriver = await cached(
      'driver-newest',
      { files: DRIVER_INPUTS, recipe: [RECIPE, DRIVER_RECIPE, SID_RECIPE], values: { kernel: nk.cache.key, root: root.key } },
      async (dir) => {
        const src = join(dir, 'src');
        await stageDriver(src);
        await buildInSidRoot(join(root.dir, 'root'), 'driver', src, [`KDIR=/usr/src/linux-headers-${nk.release}`, 'modules'], ['ossa.ko'], dir);
      },
    );
    const newestImage = await guestImage('image-newest', nk.modulesDir, nk.cache.key, join(newestDriver.dir, 'ossa.ko'), newestDriver.key);
    Object.assign(newestParts, { newestKernel: nk.cache, sidRoot: root, newestDriver, newestImage });
    newest = { kernelRelease: nk.release, vmlinuz: nk.vmlinuz, initrd: join(newestImage.dir, 'initramfs.cpio'), sidRoot: join(root.dir, 'root') };
    // Its pristine source, for the Linux patch series (npm run patches, npm test).
    if (linuxTree) {
      const tree = await newestLinuxTree(nk.release);
      newestParts.linuxTree = tree.cache;
      newest.linuxTree = { dir: tree.dir, version: tree.version, key: tree.cache.key };
    }
  }

  // A kernel built from a Linux source tree, as a lab builds its own: the
  // tree of OSSA_KERNEL_TREE, or for the kernel-tree lane (--kernel-tree)
  // the newest kernel's pristine tree; its driver, out of tree unless the
  // tree holds it, and its image. The lanes that boot Debian's kernel boot
  // OSSA_KERNEL_TREE's instead (ci/lib/guest-session.ts).
  let ownKernel: OwnKernelBuild | undefined;
  const ownParts: Record<string, CachedOutput> = {};
  // The newest kernel's tree moves with each sid kernel: one work area for all of them.
  const fromTree: { tree: LinuxTreeDir; what: string; area?: string } | undefined = ownKernelDir
    ? { tree: ownKernelDir, what: 'OSSA_KERNEL_TREE' }
    : kernelTreeLane && newest?.linuxTree
      ? { tree: await checkLinuxTree(newest.linuxTree.dir, "the newest kernel's tree"), what: "the newest kernel's tree", area: 'kernel-work-tree-newest' }
      : undefined;
  if (fromTree) {
    const ok = await buildOwnKernel(fromTree.tree, fromTree.what, kernelConfig, fromTree.area);
    let driverKo = ok.inTreeDriver;
    let driverKey = ok.cache.key;
    if (!driverKo) {
      const ownDriver = await buildDriver('driver-own', ok.headersDir, ok.cache.key);
      ownParts.driverOwn = ownDriver;
      driverKo = join(ownDriver.dir, 'ossa.ko');
      driverKey = ownDriver.key;
    }
    const ownImage = await guestImage('image-own', ok.modulesDir, ok.cache.key, driverKo, driverKey);
    // Named as their cache entries are (kernel-own, ...), for the bench's cold build times.
    Object.assign(ownParts, { kernelOwn: ok.cache, imageOwn: ownImage });
    ownKernel = {
      kernelRelease: ok.release,
      vmlinuz: ok.vmlinuz,
      initrd: join(ownImage.dir, 'initramfs.cpio'),
      source: fromTree.tree.dir,
      version: fromTree.tree.version,
      configFrom: ok.configFrom,
      driverInTree: ok.inTreeDriver !== undefined,
    };
  }

  const parts = {
    qemu,
    ...(qemuAsan ? { qemuAsan } : {}),
    ...(qemuFuzz ? { qemuFuzz } : {}),
    ...(qemuNewest ? { qemuNewest: qemuNewest.cache } : {}),
    ...(qemuOwn ? { qemuOwn: qemuOwn.cache } : {}),
    kernel: kernel.cache, driver, native, userspace, package: pkg, benchTools, testTools, image, ...debugParts, ...newestParts, ...ownParts };
  const manifest: BuildManifest = {
    qemu: join(qemu.dir, 'bin/qemu-system-x86_64'),
    kernelRelease: kernel.release,
    ...(qemuAsan ? { qemuAsan: join(qemuAsan.dir, 'bin', 'qemu-system-x86_64') } : {}),
    ...(qemuFuzz ? { qemuFuzz: join(qemuFuzz.dir, 'bin', 'qemu-fuzz-x86_64') } : {}),
    qemuVersion: (await readFile(join(qemu.dir, 'version'), 'utf8')).trim(),
    qemuTree: (await readFile(join(qemu.dir, 'source-tree'), 'utf8')).trim(),
    ...(qemuNewest ? { qemuNewest: qemuNewest.build } : {}),
    ...(qemuOwn ? { qemuOwn: qemuOwn.build } : {}),
    kernelUapi: kernel.uapiDir,
    kernelHeaders: kernel.headersDir,
    vmlinuz: kernel.vmlinuz,
    initrd: join(image.dir, 'initramfs.cpio'),
    probeInitrd: join(image.dir, 'probe.cpio'),
    nativeBinding: join(native.dir, 'ossa_native.node'),
    package: { stage: join(pkg.dir, 'stage'), tarball: join(pkg.dir, packageTarball()) },
    ...(debug ? { debug } : {}),
    ...(newest ? { newest } : {}),
    ...(ownKernel ? { ownKernel } : {}),
    keys: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v.key])),
    built: Object.entries(parts).filter(([, v]) => v.built).map(([k]) => k),
  };
  await mkdir(dirname(join(repoRoot, 'out')), { recursive: true });
  await writeManifest(manifest);
  await writeFile(join(cacheDir(), 'last-build.txt'), `${new Date().toISOString()} ${JSON.stringify(manifest.keys)}\n`);
  // Pruning is housekeeping: a failure of it does not fail the build.
  await pruneCache(cacheDir(), pruneLimits(), usedEntries).catch((err: unknown) => log(`cache: pruning failed: ${(err as Error).message}`));
  log(
    `build: ${manifest.built.length ? `rebuilt ${manifest.built.join(', ')}` : 'nothing to rebuild'} ` +
      `(${formatSeconds(performance.now() - start)})`,
  );
}

main().catch((err: unknown) => {
  if (err instanceof BuildError) {
    process.stderr.write(`ossa: error: ${err.message}\n`);
  } else {
    process.stderr.write(`ossa: build failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
