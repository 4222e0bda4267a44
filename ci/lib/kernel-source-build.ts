/**
 * A guest kernel built from a Linux source tree: configured from a base
 * (tinyconfig, or a config given) with kernel/configs/kvm_guest.config and
 * ossa's fragments merged on top, the driver's Kconfig hooked into
 * drivers/accel so that its selects are honoured, compiled, and installed
 * into an output folder the way the image builder and the driver's build
 * take a Debian kernel: vmlinuz, lib/modules/<release> with modules.dep, and
 * the headers for out-of-tree modules (scripts/package/install-extmod-build).
 * Used by the debug kernel (ci/lib/debug-kernel.ts) and by a lab's own tree
 * (ci/lib/own-kernel.ts).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { execa, ExecaError } from 'execa';
import { repoRoot } from './paths.js';
import { BuildError, log } from './progress.js';

/** What every guest kernel built from source needs (the machine, what Node.js calls, DRM accel, tracing). */
export const GUEST_CONFIG = 'images/guest.config';
/** The driver's Kconfig, hooked into a tree that does not hold the driver. */
export const DRIVER_KCONFIG = 'kernel-driver/Kconfig';
/** The recipe of every kernel built here: this file's commands. */
export const KERNEL_SOURCE_RECIPE = 'ci/lib/kernel-source-build.ts';

/** A kernel built and installed by compileKernel(). */
export interface KernelBuild {
  /** Its release string (uname -r). */
  release: string;
  vmlinuz: string;
  /** lib/modules/<release>, with modules.dep. */
  modulesDir: string;
  /** KDIR for out-of-tree module builds. */
  headersDir: string;
  /** The final .config. */
  config: string;
}

/** The compiler the host builds kernels with, as it names itself: a new one rebuilds. */
export async function compilerVersion(): Promise<string> {
  const { stdout } = await execa('gcc', ['--version']);
  return stdout.split('\n')[0] ?? 'unknown';
}

/**
 * The environment of a kernel build: PATH, HOME and TMPDIR only, so that
 * what a user's shell sets for kbuild (KBUILD_OUTPUT, ARCH, CROSS_COMPILE,
 * LLVM, KCFLAGS, ...) neither redirects the build nor changes what the
 * cache key does not name.
 */
function buildEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR'].flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k] as string]]));
  return { ...Object.fromEntries(keep), LC_ALL: 'C' };
}

/** Runs one step of a kernel build; on failure, the end of its output, with `what` saying which kernel. */
export async function runStep(what: string, step: string, cmd: string, args: string[], cwd: string): Promise<string> {
  try {
    const r = await execa(cmd, args, { cwd, all: true, extendEnv: false, env: buildEnv() });
    return r.stdout;
  } catch (err) {
    if (err instanceof ExecaError) {
      const tail = String(err.all ?? '').split('\n').slice(-40).join('\n');
      throw new BuildError(`${what}: ${step} failed (${cmd} exited with ${err.exitCode ?? err.signal}):\n${tail}`);
    }
    throw err;
  }
}

/** A config fragment's settings: CONFIG_X=v and "# CONFIG_X is not set" lines. */
export function fragmentSettings(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line);
    const unset = /^# (CONFIG_[A-Z0-9_]+) is not set$/.exec(line);
    if (set) out.set(set[1] as string, set[2] as string);
    else if (unset) out.set(unset[1] as string, 'n');
  }
  return out;
}

/** Settings of the fragment that the final .config does not have (Kconfig dropped them). */
export function droppedSettings(fragment: Map<string, string>, config: string): string[] {
  const final = fragmentSettings(config);
  const dropped: string[] = [];
  for (const [sym, want] of fragment) {
    const have = final.get(sym) ?? 'n';
    if (have !== want) dropped.push(`${sym}=${want} (got ${have})`);
  }
  return dropped;
}

/**
 * Hooks the driver's Kconfig into the tree `src` as drivers/accel/ossa/,
 * as the upstream series does, so that CONFIG_DRM_ACCEL_OSSA=m selects
 * what the driver needs (the GPU scheduler, the GEM shmem helpers).
 */
export async function hookDriverKconfig(src: string, what: string): Promise<void> {
  const accelKconfig = join(src, 'drivers/accel/Kconfig');
  if (!existsSync(accelKconfig)) throw new BuildError(`${what}: ${accelKconfig} missing: the tree has no DRM accel subsystem (Linux 6.2 or later)`);
  await mkdir(join(src, 'drivers/accel/ossa'), { recursive: true });
  await copyFile(join(repoRoot, DRIVER_KCONFIG), join(src, 'drivers/accel/ossa/Kconfig'));
  const text = await readFile(accelKconfig, 'utf8');
  const line = 'source "drivers/accel/ossa/Kconfig"\n';
  if (text.includes(line)) return;
  // Beside the other drivers: before the menu's closing endif, if it has one.
  const end = /^endif\b.*\n?$(?![\s\S]*^\S)/m.exec(text);
  const body = text.endsWith('\n') ? text : `${text}\n`;
  await writeFile(accelKconfig, end ? `${text.slice(0, end.index).replace(/\n+$/, '\n')}${line}\n${text.slice(end.index)}` : `${body}${line}`);
}

export interface ConfigureOptions {
  /** Which kernel, for messages. */
  what: string;
  /** The source tree, built in place. */
  src: string;
  /**
   * A full config to start from (a lab's, a distribution's); tinyconfig
   * when undefined. On a config given, only what the fragments turn on
   * (=y, =m) is merged and checked: their other lines trim tinyconfig's
   * build (no initramfs decompressors, 8 CPUs, no function tracer) and
   * are not ossa's to impose on someone's config.
   */
  base?: string;
  /** Fragments merged on top of the base and kvm_guest.config, relative to the checkout. */
  fragments: readonly string[];
}

/** The lines of a fragment that turn a symbol on (=y or =m). */
export function enablingLines(text: string): string {
  return [...fragmentSettings(text)].filter(([, v]) => v === 'y' || v === 'm').map(([k, v]) => `${k}=${v}\n`).join('');
}

/**
 * Writes the build's .config: the base, then kvm_guest.config and each
 * fragment merged on top (merge_config.sh), then olddefconfig. Fails
 * naming every setting of a fragment that Kconfig dropped (a symbol this
 * tree lacks, or one whose dependencies are unmet). Returns the .config.
 */
export async function configureKernel(o: ConfigureOptions): Promise<string> {
  const kvmGuest = join(o.src, 'kernel/configs/kvm_guest.config');
  if (!existsSync(kvmGuest)) throw new BuildError(`${o.what}: ${kvmGuest} missing`);
  const names = [o.base ? 'the config given' : 'tinyconfig', 'kvm_guest.config', ...o.fragments.map((f) => (o.base ? `what ${f} turns on` : f))];
  log(`${o.what}: configuring (${names.join(' + ')})`);
  if (o.base) await copyFile(o.base, join(o.src, '.config'));
  else await runStep(o.what, 'make tinyconfig', 'make', ['tinyconfig'], o.src);
  // Each fragment as merged: whole on tinyconfig, its enabling lines on a config given.
  const merged: Array<{ name: string; path: string; text: string }> = [];
  for (const f of o.fragments) {
    const whole = await readFile(join(repoRoot, f), 'utf8');
    if (!o.base) {
      merged.push({ name: f, path: join(repoRoot, f), text: whole });
      continue;
    }
    const path = join(o.src, `.ossa-${f.replace(/\//g, '-')}`);
    const text = enablingLines(whole);
    await writeFile(path, text);
    merged.push({ name: `${f}, what it turns on`, path, text });
  }
  await runStep(o.what, 'merge_config.sh', 'scripts/kconfig/merge_config.sh', ['-m', '.config', kvmGuest, ...merged.map((m) => m.path)], o.src);
  await runStep(o.what, 'make olddefconfig', 'make', ['olddefconfig'], o.src);
  const config = await readFile(join(o.src, '.config'), 'utf8');
  const dropped: string[] = [];
  for (const m of merged) {
    for (const d of droppedSettings(fragmentSettings(m.text), config)) dropped.push(`${d} [${m.name}]`);
  }
  if (dropped.length) {
    throw new BuildError(`${o.what}: Kconfig dropped settings ossa's guest needs (a symbol this tree lacks, or a missing dependency?):\n  ${dropped.join('\n  ')}`);
  }
  return config;
}

/**
 * Compiles the configured tree and installs into `dir`: vmlinuz, config,
 * root/lib/modules/<release>, build/ (the headers for out-of-tree modules)
 * and release.
 */
export async function compileKernel(what: string, src: string, dir: string): Promise<KernelBuild> {
  const jobs = String(Math.max(1, cpus().length));
  log(`${what}: compiling (make -j${jobs} bzImage modules)`);
  await runStep(what, 'make bzImage modules', 'make', [`-j${jobs}`, 'bzImage', 'modules'], src);
  const release = (await runStep(what, 'make kernelrelease', 'make', ['-s', 'kernelrelease'], src)).trim();
  await copyFile(join(src, 'arch/x86/boot/bzImage'), join(dir, 'vmlinuz'));
  await copyFile(join(src, '.config'), join(dir, 'config'));
  await runStep(what, 'make modules_install', 'make', ['modules_install', `INSTALL_MOD_PATH=${join(dir, 'root')}`], src);
  if (!existsSync(join(src, 'scripts/package/install-extmod-build'))) {
    throw new BuildError(`${what}: scripts/package/install-extmod-build missing: ossa builds Linux 6.6 or later`);
  }
  await runStep(what, 'install-extmod-build', 'make', [
    'run-command',
    `KBUILD_RUN_COMMAND=$(srctree)/scripts/package/install-extmod-build ${join(dir, 'build')}`,
  ], src);
  await writeFile(join(dir, 'release'), `${release}\n`);
  return readKernelBuild(what, dir);
}

/** A kernel compileKernel() installed into `dir`, checked. */
export async function readKernelBuild(what: string, dir: string): Promise<KernelBuild> {
  const release = (await readFile(join(dir, 'release'), 'utf8')).trim();
  const kernel: KernelBuild = {
    release,
    vmlinuz: join(dir, 'vmlinuz'),
    modulesDir: join(dir, 'root/lib/modules', release),
    headersDir: join(dir, 'build'),
    config: join(dir, 'config'),
  };
  for (const p of [kernel.vmlinuz, join(kernel.modulesDir, 'modules.dep'), join(kernel.headersDir, 'Module.symvers')]) {
    if (!existsSync(p)) throw new BuildError(`${what}: ${p} missing after the build`);
  }
  return kernel;
}
