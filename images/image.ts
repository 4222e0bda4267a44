/**
 * The guest image builder: an uncompressed initramfs (QEMU loads it with
 * -initrd; no decompression in a TCG guest) holding busybox, the kernel
 * modules the driver needs, the driver, Node.js with its libraries, and the
 * userspace with its guest suite.
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { BuildError } from '../ci/lib/progress.js';

export interface ImageInputs {
  /** Unpacked kernel modules: /lib/modules/<release> of the guest kernel. */
  modulesDir: string;
  /** The built driver. */
  driverKo: string;
  /** Compiled userspace, guest suite and guest runner (tsc output). */
  stageDir: string;
  /** The native binding. */
  nativeBinding: string;
  /** node_modules to ship (the guest runner's dependencies). */
  nodeModules: string;
  /** Static benchmark programs (nvme-read, ioctl-loop), for /ossa/bench. */
  benchTools: string;
  /** Static programs of the conformance suite (alloc-sweep), for /ossa/tools. */
  testTools: string;
  /** The guest's /init and the probe image's /init. */
  init: string;
  probeInit: string;
}

const BUSYBOX = '/bin/busybox';
/**
 * Left out of the guest to keep the image small (the kernel unpacks every
 * byte of it at boot): host-only packages, and the TypeScript and CSS
 * transformers that vite loads only for .ts and .css files, which the
 * guest suite (compiled JavaScript) has none of.
 */
const GUEST_SKIPPED_MODULES = [
  'typescript', '@types', 'tsx', 'execa', '.cache',
  'esbuild', '@esbuild', 'lightningcss', 'lightningcss-linux-x64-gnu',
];
const NODE = process.execPath;

/** The modules `roots` need and the roots themselves, in load order, from modules.dep. */
async function moduleClosure(modulesDir: string, roots: string[], neededBy: string): Promise<string[]> {
  const dep = await readFile(join(modulesDir, 'modules.dep'), 'utf8');
  const deps = new Map<string, string[]>();
  for (const line of dep.split('\n')) {
    const [mod, rest] = line.split(':');
    if (mod) deps.set(basename(mod).replace(/\.ko(\.xz|\.zst|\.gz)?$/, ''), (rest ?? '').trim().split(/\s+/).filter(Boolean));
  }
  const paths = new Map<string, string>();
  for (const line of dep.split('\n')) {
    const mod = line.split(':')[0];
    if (mod) paths.set(basename(mod).replace(/\.ko(\.xz|\.zst|\.gz)?$/, ''), mod);
  }
  // Built into the kernel (the debug kernel has most of them so): nothing to load.
  const builtinPath = join(modulesDir, 'modules.builtin');
  const builtin = new Set(
    existsSync(builtinPath)
      ? (await readFile(builtinPath, 'utf8')).split('\n').filter(Boolean).map((m) => basename(m).replace(/\.ko$/, '').replace(/-/g, '_'))
      : [],
  );
  const order: string[] = [];
  const visit = (name: string): void => {
    const n = name.replace(/-/g, '_');
    const key = paths.has(n) ? n : name;
    if (order.includes(key)) return;
    if (!paths.has(key) && builtin.has(n)) return;
    const path = paths.get(key);
    if (!path) throw new BuildError(`kernel module ${name}, needed by ${neededBy}, is not in ${modulesDir}`);
    for (const d of deps.get(key) ?? []) visit(basename(d).replace(/\.ko(\.xz|\.zst|\.gz)?$/, ''));
    order.push(key);
  };
  for (const name of roots) visit(name);
  return order.map((k) => paths.get(k) as string);
}

/** Whether the kernel has module `name` as a loadable module (not built in, not absent). */
async function hasModule(modulesDir: string, name: string): Promise<boolean> {
  const dep = await readFile(join(modulesDir, 'modules.dep'), 'utf8');
  return dep.split('\n').some((l) => basename(l.split(':')[0] ?? '').replace(/\.ko(\.xz|\.zst|\.gz)?$/, '').replace(/-/g, '_') === name);
}

/** The modules a built .ko depends on (modinfo), in load order. */
async function dependenciesOf(modulesDir: string, ko: string): Promise<string[]> {
  const { stdout } = await execa('modinfo', ['-F', 'depends', ko]);
  const roots = stdout.split(',').map((x) => x.trim()).filter(Boolean);
  return moduleClosure(modulesDir, roots, basename(ko));
}

/** Copies modules into root/lib/modules, decompressed (busybox insmod takes plain .ko). */
async function installModules(modulesDir: string, rels: string[], root: string): Promise<string[]> {
  const names: string[] = [];
  for (const rel of rels) {
    const name = basename(rel).replace(/\.(xz|zst|gz)$/, '');
    const src = join(modulesDir, rel);
    const tool = rel.endsWith('.xz') ? ['xz', '-dc'] : rel.endsWith('.zst') ? ['zstd', '-dcq'] : rel.endsWith('.gz') ? ['gzip', '-dc'] : ['cat'];
    await execa(tool[0] as string, [...tool.slice(1), src], { stdout: { file: join(root, 'lib/modules', name) } });
    names.push(name);
  }
  return names;
}

/** Shared libraries that `binaries` load, as absolute paths (from ldd). */
async function sharedLibraries(binaries: string[]): Promise<string[]> {
  const libs = new Set<string>();
  for (const bin of binaries) {
    const { stdout } = await execa('ldd', [bin]);
    for (const m of stdout.matchAll(/(\/\S+\.so[^\s]*)/g)) libs.add(m[1] as string);
  }
  return [...libs];
}

async function findFiles(dir: string, suffix: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(suffix)) out.push(join(e.parentPath, e.name));
  }
  return out;
}

async function copyInto(root: string, file: string): Promise<void> {
  const dest = join(root, file);
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(file, dest);
}

async function baseTree(root: string, init: string): Promise<void> {
  for (const d of ['bin', 'dev', 'proc', 'sys', 'tmp', 'etc/ossa', 'lib/modules', 'sys/kernel/debug']) {
    await mkdir(join(root, d), { recursive: true });
  }
  await copyFile(BUSYBOX, join(root, 'bin/busybox'));
  await copyFile(init, join(root, 'init'));
  await chmod(join(root, 'init'), 0o755);
}

async function cpio(root: string, out: string): Promise<void> {
  // newc format, files sorted so that the archive is reproducible.
  const { stdout } = await execa('find', ['.', '-mindepth', '1'], { cwd: root });
  const list = stdout.split('\n').sort().join('\n');
  await execa('cpio', ['-o', '-H', 'newc', '--quiet', '--reproducible', '-R', '0:0', '-O', out], {
    cwd: root,
    input: `${list}\n`,
  });
}

/** Builds `dir/initramfs.cpio` (the guest) and `dir/probe.cpio` (the probe). */
export async function buildImage(inputs: ImageInputs, dir: string): Promise<void> {
  if (!existsSync(BUSYBOX)) throw new BuildError(`${BUSYBOX} missing: install busybox-static`);

  const probe = join(dir, 'probe-root');
  await baseTree(probe, inputs.probeInit);
  await cpio(probe, join(dir, 'probe.cpio'));

  const root = join(dir, 'root');
  await baseTree(root, inputs.init);

  // Kernel modules in load order: virtio-iommu's, where the kernel has it
  // as a module, first (the devices behind it probe once it is loaded); the
  // driver's; vgem, whose fences the tests signal when they choose (a fence
  // of another driver); and, for benchmarks, NVMe's.
  const iommuMods = (await hasModule(inputs.modulesDir, 'virtio_iommu'))
    ? await moduleClosure(inputs.modulesDir, ['virtio-iommu'], 'the virtio-iommu lane')
    : [];
  // loaded by /init before it looks for the results port (etc/ossa/iommu-modules)
  await writeFile(join(root, 'etc/ossa/iommu-modules'), (await installModules(inputs.modulesDir, iommuMods, root)).map((n) => `${n}\n`).join(''));
  const mods = (await dependenciesOf(inputs.modulesDir, inputs.driverKo)).filter((m) => !iommuMods.includes(m));
  const testMods = (await moduleClosure(inputs.modulesDir, ['vgem'], 'the tests (a fence of another driver)')).filter((m) => !mods.includes(m));
  mods.push(...testMods);
  const names = await installModules(inputs.modulesDir, mods, root);
  // The userspace drivers' (userspace/src/userspace-driver/): vfio-pci with
  // the type1 IOMMU, and uio_pci_generic, where the kernel has them as
  // modules, each model's in a list of its own (etc/ossa/vfio-modules,
  // etc/ossa/uio-modules). The test that hands the device to one loads
  // them, so that no other test runs beside them.
  const userDriverMods: string[] = [];
  for (const [model, wanted] of [['vfio', ['vfio-pci', 'vfio_iommu_type1']], ['uio', ['uio_pci_generic']]] as const) {
    const own: string[] = [];
    for (const want of wanted) {
      if (!(await hasModule(inputs.modulesDir, want.replace(/-/g, '_')))) continue;
      for (const m of await moduleClosure(inputs.modulesDir, [want], 'the userspace-driver tests')) {
        if (!mods.includes(m) && !iommuMods.includes(m) && !own.includes(m)) own.push(m);
      }
    }
    // A module both need (none today) is copied once and listed in each.
    const fresh = own.filter((m) => !userDriverMods.includes(m));
    await installModules(inputs.modulesDir, fresh, root);
    userDriverMods.push(...fresh);
    await writeFile(join(root, `etc/ossa/${model}-modules`), own.map((m) => `${basename(m).replace(/\.(xz|zst|gz)$/, '')}\n`).join(''));
  }
  const benchMods = (await moduleClosure(inputs.modulesDir, ['nvme'], 'the NVMe benchmark peer')).filter((m) => !mods.includes(m));
  const benchNames = await installModules(inputs.modulesDir, benchMods, root);
  await writeFile(join(root, 'etc/ossa/bench-modules'), `${benchNames.join('\n')}\n`);
  // The driver, built out of tree or by a kernel tree that holds it (then compressed if its config says so).
  names.push(...(await installModules(dirname(inputs.driverKo), [basename(inputs.driverKo)], root)));
  await writeFile(join(root, 'etc/ossa/modules'), `${names.join('\n')}\n`);

  // Node.js and every shared library it or a native addon loads.
  await copyInto(root, '/usr/bin/node');
  if (NODE !== '/usr/bin/node') await copyFile(NODE, join(root, 'usr/bin/node'));
  // Without its symbol tables and debug info: 13 MB less to unpack.
  await execa('strip', ['--strip-all', join(root, 'usr/bin/node')]);
  const ossa = join(root, 'ossa');
  await cp(inputs.stageDir, ossa, { recursive: true });
  const skip = new Set(GUEST_SKIPPED_MODULES.map((m) => join(inputs.nodeModules, m)));
  await cp(inputs.nodeModules, join(ossa, 'node_modules'), {
    recursive: true,
    filter: (src) => !skip.has(src),
  });
  await cp(inputs.benchTools, join(ossa, 'bench'), { recursive: true });
  await cp(inputs.testTools, join(ossa, 'tools'), { recursive: true });
  await mkdir(join(ossa, 'native'), { recursive: true });
  await copyFile(inputs.nativeBinding, join(ossa, 'native/ossa_native.node'));
  await writeFile(join(ossa, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
  // The CLI on the PATH.
  await writeFile(
    join(root, 'bin/ossa'),
    '#!/bin/sh\nOSSA_NATIVE_BINDING=/ossa/native/ossa_native.node exec node /ossa/userspace/bin/ossa.js "$@"\n',
    { mode: 0o755 },
  );
  const addons = await findFiles(ossa, '.node');
  for (const lib of await sharedLibraries([NODE, ...addons])) await copyInto(root, lib);

  await cpio(root, join(dir, 'initramfs.cpio'));
  await execa('rm', ['-rf', root, probe]);
}
