/**
 * Tier 1 of the conformance suite: the DRM accel core, as every
 * /dev/accel driver answers it. Each test gets the device node and, for
 * the tests that need a buffer, the driver's adapter; nothing here knows
 * which driver it runs against. Failures are node:assert errors.
 */
import assert from 'node:assert/strict';
import { fstatSync, readFileSync } from 'node:fs';
import {
  DRM_IOCTL_GEM_CLOSE,
  DRM_IOCTL_PRIME_FD_TO_HANDLE,
  DRM_IOCTL_PRIME_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_CREATE,
  DRM_IOCTL_SYNCOBJ_DESTROY,
  DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
  DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_RESET,
  DRM_IOCTL_SYNCOBJ_SIGNAL,
  DRM_IOCTL_SYNCOBJ_WAIT,
  DRM_IOCTL_VERSION,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  DrmGemClose,
  DrmPrimeHandle,
  DrmSyncobjArray,
  DrmSyncobjCreate,
  DrmSyncobjDestroy,
  DrmSyncobjHandle,
  DrmSyncobjWait,
  DrmVersion,
} from '../drm.js';
import { DRM_IOCTL_BASE, iowr } from '../ioctl.js';
import { native } from '../native.js';
import { Struct } from '../struct.js';
import type { LoadedAdapter } from './adapter.js';
import { runChildren } from './children.js';
import { AccelFile, BAD_POINTER, errnoOf, raw, u32Array } from './file.js';
import {
  exportBuffer,
  gemClose,
  importBuffer,
  openFdsOf,
  SYNCOBJ_FD,
  syncobjCreate,
  syncobjDestroy,
  syncobjExport,
  syncobjImport,
  syncobjImportSyncFile,
  syncobjReset,
  syncobjSignal,
  syncobjWait,
} from './objects.js';

/** What a run of the tier is given. */
export interface CoreContext {
  /** The accel node under test. */
  readonly node: string;
  /** The driver's adapter; without one, the tests that need a buffer are skipped. */
  readonly adapter?: LoadedAdapter;
  /**
   * Call GET_UNIQUE and GET_MAGIC. On an accel file they dereference a DRM
   * master that does not exist: every released kernel oopses there unless
   * the driver guards them (ossa does), so only a run that asks calls them.
   */
  readonly masterIoctls?: boolean;
  /** Aborted when the test's time is up: its child processes are killed and its loops end. */
  readonly signal?: AbortSignal;
}

/** What a test that needs buffers is given. */
export interface BufferContext extends CoreContext {
  readonly adapter: LoadedAdapter;
}

/**
 * What a test exercises: DRM core ioctls (by the name after DRM_IOCTL_),
 * the adapter's calls, and how (good use, bad input, object lifetime,
 * concurrency, failure, leaks).
 */
export interface CoreClaims {
  readonly ioctls: readonly string[];
  readonly adapter?: ReadonlyArray<'createBuffer' | 'mmapOffset'>;
  readonly kind: 'good' | 'bad-input' | 'lifetime' | 'concurrency' | 'fault' | 'leak';
}

/** What a test needs besides an accel file and, with `buffers`, an adapter. */
export type Need = 'syncobj' | 'master-ioctls';

interface TestBase {
  readonly group: string;
  readonly name: string;
  readonly claims?: CoreClaims;
  readonly needs?: readonly Need[];
}

export type CoreTest =
  | (TestBase & { readonly buffers?: false; run(ctx: CoreContext): void | Promise<void> })
  | (TestBase & { readonly buffers: true; run(ctx: BufferContext): void | Promise<void> });

/** Why a test that needs buffers did not run. */
export const NO_ADAPTER = 'needs buffers: no adapter for this driver (give one with --adapter)';

/** Why a test with a need the run lacks did not run. */
export const UNMET: Record<Need, string> = {
  syncobj: 'needs syncobjs: the driver does not set DRIVER_SYNCOBJ (SYNCOBJ_CREATE is EOPNOTSUPP)',
  'master-ioctls': 'calls GET_UNIQUE and GET_MAGIC, which oops a kernel without the DRM core fix unless the driver guards them: run with --master-ioctls to call them',
};

/** The CPU's page size, from the kernel's own account of this process's mappings. */
function readPageSize(): number {
  const m = /^KernelPageSize:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/smaps', 'utf8'));
  return m ? Number(m[1]) * 1024 : 4096;
}
let pageSize: number | undefined;
/** Buffer sizes are whole pages, whatever the page size. */
const pages = (n: number): number => n * (pageSize ??= readPageSize());

/** The errno code of an mmap that must fail, or 'ok' (then the mapping is undone at once). */
function mmapCode(file: AccelFile, offset: bigint, length: number): string {
  let mapped: Uint8Array | undefined;
  const code = errnoOf(() => (mapped = file.mmap(offset, length)));
  if (mapped) native().munmap(mapped.buffer as ArrayBuffer);
  return code;
}

/** A buffer's size as the driver made it: its dma-buf's size. */
function bufferSize(file: AccelFile, handle: number): number {
  const fd = exportBuffer(file, handle);
  try {
    return fstatSync(fd).size;
  } finally {
    native().close(fd);
  }
}
/** A buffer of the driver's and its CPU mapping; disposing unmaps it. */
class Mapped implements Disposable {
  constructor(readonly bytes: Uint8Array) {}

  [Symbol.dispose](): void {
    native().munmap(this.bytes.buffer as ArrayBuffer);
  }
}

function map(ctx: BufferContext, file: AccelFile, handle: number, size: number): Mapped {
  return new Mapped(file.mmap(ctx.adapter.adapter.mmapOffset(file, handle), size));
}

const open = (ctx: CoreContext): AccelFile => AccelFile.open(ctx.node);
const buffer = (ctx: BufferContext, file: AccelFile, size: number): number => ctx.adapter.adapter.createBuffer(file, size);

/**
 * What the children of a test can use besides id, report and released:
 * `native` (the binding), `kit` (this kit) and `node` (the node under
 * test); `adapter`, when the run has one.
 */
function childOptions(ctx: CoreContext): { prelude: string; env: Record<string, string>; signal?: AbortSignal } {
  return {
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    prelude: `
const { native } = await import(process.env.ACCEL_NATIVE);
const kit = await import(process.env.ACCEL_KIT);
const node = process.env.ACCEL_NODE;
const adapter = process.env.ACCEL_ADAPTER ? (await import(process.env.ACCEL_ADAPTER)).adapter : undefined;
`,
    env: {
      ACCEL_NATIVE: new URL('../native.js', import.meta.url).href,
      ACCEL_KIT: new URL('index.js', import.meta.url).href,
      ACCEL_NODE: ctx.node,
      ...(ctx.adapter ? { ACCEL_ADAPTER: ctx.adapter.module } : {}),
    },
  };
}

/** <drm/drm.h>'s numbers of DRM_IOCTL_GET_UNIQUE and DRM_IOCTL_GET_MAGIC. */
const GET_UNIQUE = 0x01;
const GET_MAGIC = 0x02;

/**
 * The answer (errno code or 'ok') of each DRM ioctl number `which` picks,
 * called as _IO() (no argument copied in or out: each handler gets its
 * struct zeroed) on the file, from a child process: a handler that oopses
 * kills the task that called it, and the parent then sees the child die.
 */
async function coreIoctls(ctx: CoreContext, file: AccelFile, which: (nr: number) => boolean): Promise<Record<number, string>> {
  const numbers = Array.from({ length: 0x100 }, (_, nr) => nr).filter(which);
  const script = `
    report('ready');
    const answers = {};
    for (const nr of ${JSON.stringify(numbers)}) {
      try {
        native().ioctl(3, (${DRM_IOCTL_BASE} << 8) | nr, null);
        answers[nr] = 'ok';
      } catch (err) {
        answers[nr] = err.code;
      }
    }
    report(answers);
  `;
  const [answers] = (await runChildren(script, 1, { ...childOptions(ctx), fds: [file.fd] })) as [Record<number, string>];
  return answers;
}

const VERSION = 'accel core: VERSION';
const CORE = "accel core: the DRM core's ioctls";
const GEM = 'accel core: GEM_CLOSE';
const PRIME = 'accel core: PRIME';
const SYNCOBJ = 'accel core: syncobj';
const MMAP = 'accel core: mmap offsets';

/** A wait in the past: SYNCOBJ_WAIT polls; returns its errno code or 'ok'. */
function pollWait(file: AccelFile, handles: readonly number[], flags = 0): string {
  const arr = u32Array(handles);
  return raw(file, 'SYNCOBJ_WAIT', DRM_IOCTL_SYNCOBJ_WAIT, DrmSyncobjWait, { handles: arr.addr, count_handles: handles.length, timeout_nsec: 0n, flags }).code;
}

const closeCode = (file: AccelFile, handle: number): string => raw(file, 'GEM_CLOSE', DRM_IOCTL_GEM_CLOSE, DrmGemClose, { handle }).code;

const destroyCode = (file: AccelFile, handle: number): string =>
  raw(file, 'SYNCOBJ_DESTROY', DRM_IOCTL_SYNCOBJ_DESTROY, DrmSyncobjDestroy, { handle }).code;

export const CORE_TESTS: readonly CoreTest[] = [
  {
    group: VERSION,
    name: 'name, description and version',
    claims: { ioctls: ['VERSION'], kind: 'good' },
    run(ctx) {
      using file = open(ctx);
      const v = file.version();
      assert.ok(v.name.length > 0, 'the driver has a name');
      assert.ok(v.desc.length > 0, 'the driver has a description');
      assert.ok(v.major >= 0, 'the major version is not negative');
    },
  },
  {
    group: VERSION,
    name: 'a bad string pointer is EFAULT; too short a buffer is truncated, not overrun',
    claims: { ioctls: ['VERSION'], kind: 'bad-input' },
    run(ctx) {
      using file = open(ctx);
      const { out } = raw(file, 'VERSION', DRM_IOCTL_VERSION, DrmVersion, {});
      assert.ok(out.num('name_len') > 0);
      assert.equal(raw(file, 'VERSION', DRM_IOCTL_VERSION, DrmVersion, { name_len: 8, name: BAD_POINTER }).code, 'EFAULT');
      const both = Buffer.alloc(12, 0x7e);
      const r = raw(file, 'VERSION', DRM_IOCTL_VERSION, DrmVersion, { name_len: 2, name: native().address(both) });
      assert.equal(r.code, 'ok');
      assert.ok(both.subarray(2).every((b) => b === 0x7e), 'nothing written past the 2 bytes given');
    },
  },
  {
    group: VERSION,
    name: 'many files of one device answer alike, 32 calls queued at once on the thread pool',
    claims: { ioctls: ['VERSION'], kind: 'concurrency' },
    async run(ctx) {
      using first = open(ctx);
      const want = first.version();
      const files = Array.from({ length: 8 }, () => open(ctx));
      try {
        // 8 files x 4 calls, all queued on libuv's thread pool together
        // (as many in the kernel at once as the pool has threads).
        const got = await Promise.all(files.flatMap((f) => Array.from({ length: 4 }, () => f.versionAsync())));
        assert.deepEqual(got, Array.from({ length: 32 }, () => want));
      } finally {
        for (const f of files) f.close();
      }
    },
  },
  {
    group: VERSION,
    name: 'an ioctl of another type is ENOTTY; the file still works',
    claims: { ioctls: ['VERSION'], kind: 'good' },
    run(ctx) {
      using file = open(ctx);
      assert.equal(errnoOf(() => file.ioctl('x', iowr('x'.charCodeAt(0), 1, 16), Buffer.alloc(16))), 'ENOTTY');
      // A DRM-type number above both the core's table and the driver range.
      assert.equal(errnoOf(() => file.ioctl('d-0xff', iowr(DRM_IOCTL_BASE, 0xff, 16), Buffer.alloc(16))), 'EINVAL');
      assert.ok(file.version().name.length > 0, 'the file still answers VERSION');
    },
  },
  {
    group: VERSION,
    name: 'the fd works in 3 child processes that inherit it, calling at once with the parent',
    claims: { ioctls: ['VERSION'], kind: 'concurrency' },
    async run(ctx) {
      using file = open(ctx);
      const want = file.version().name;
      // Raw ioctls on the inherited fd 3: no open of its own in the child.
      const f = DrmVersion.fields;
      const script = `
        report('ready');
        await released();
        const names = {};
        for (let i = 0; i < 100; i++) {
          const b = Buffer.alloc(${DrmVersion.size});
          native().ioctl(3, ${DRM_IOCTL_VERSION}, b);
          const name = Buffer.alloc(Number(b.readBigUInt64LE(${f.name_len.offset})));
          b.writeBigUInt64LE(native().address(name), ${f.name.offset});
          native().ioctl(3, ${DRM_IOCTL_VERSION}, b);
          names[name.toString()] = (names[name.toString()] ?? 0) + 1;
        }
        report(names);
      `;
      // The parent keeps calling on the same open file meanwhile.
      let stop = false;
      let parentCalls = 0;
      let parent: Promise<void> = Promise.resolve();
      const results = await runChildren(script, 3, {
        ...childOptions(ctx),
        fds: [file.fd],
        whileHeld: () => {
          parent = (async () => {
            for (; !stop; parentCalls++) assert.equal((await file.versionAsync()).name, want);
          })();
          parent.catch(() => {}); // awaited below
        },
      }).finally(() => (stop = true));
      await parent;
      assert.deepEqual(results, [{ [want]: 100 }, { [want]: 100 }, { [want]: 100 }]);
      assert.ok(parentCalls > 0, 'the parent called meanwhile');
    },
  },
  {
    group: CORE,
    name: 'every core ioctl number answers an accel file with a result or an errno, not an oops (GET_UNIQUE and GET_MAGIC: the next test)',
    async run(ctx) {
      using file = open(ctx);
      const answers = await coreIoctls(ctx, file, (nr) => nr !== GET_UNIQUE && nr !== GET_MAGIC && (nr < 0x40 || nr >= 0xa0));
      assert.equal(Object.keys(answers).length, 0x40 + 0x60 - 2);
      for (const [nr, code] of Object.entries(answers)) assert.match(code, /^(ok|E[A-Z0-9]+)$/, `core ioctl 0x${Number(nr).toString(16)}`);
      assert.ok(file.version().name.length > 0, 'the file still works');
    },
  },
  {
    group: CORE,
    name: 'GET_UNIQUE and GET_MAGIC are EACCES, as on a render node',
    needs: ['master-ioctls'],
    async run(ctx) {
      using file = open(ctx);
      // An accel file has no DRM master, whose unique name and magic map
      // these ioctls read.
      const answers = await coreIoctls(ctx, file, (nr) => nr === GET_UNIQUE || nr === GET_MAGIC);
      assert.deepEqual({ getUnique: answers[GET_UNIQUE], getMagic: answers[GET_MAGIC] }, { getUnique: 'EACCES', getMagic: 'EACCES' });
      assert.ok(file.version().name.length > 0, 'the file still works');
    },
  },
  {
    group: GEM,
    name: 'closes a buffer handle; the handle is gone',
    claims: { ioctls: ['GEM_CLOSE'], kind: 'good' },
    buffers: true,
    run(ctx) {
      using file = open(ctx);
      const h = buffer(ctx, file, pages(1));
      assert.equal(closeCode(file, h), 'ok');
      assert.equal(closeCode(file, h), 'EINVAL');
    },
  },
  {
    group: GEM,
    name: 'handle 0 and an unknown handle are EINVAL',
    claims: { ioctls: ['GEM_CLOSE'], kind: 'bad-input' },
    run(ctx) {
      using file = open(ctx);
      assert.equal(closeCode(file, 0), 'EINVAL');
      assert.equal(closeCode(file, 0x7fff_fff0), 'EINVAL');
    },
  },
  {
    group: GEM,
    name: "a handle of one file is not another's",
    claims: { ioctls: ['GEM_CLOSE'], kind: 'lifetime' },
    buffers: true,
    run(ctx) {
      using a = open(ctx);
      using b = open(ctx);
      const h = buffer(ctx, a, pages(1));
      assert.equal(closeCode(b, h), 'EINVAL');
      // Still a's: it maps and closes there.
      using m = map(ctx, a, h, pages(1));
      assert.equal(m.bytes.length, pages(1));
      gemClose(a, h);
    },
  },
  {
    group: PRIME,
    name: 'export and import back gives the same handle; another file gets its own',
    claims: { ioctls: ['PRIME_HANDLE_TO_FD', 'PRIME_FD_TO_HANDLE'], kind: 'good' },
    buffers: true,
    run(ctx) {
      using a = open(ctx);
      using b = open(ctx);
      const h = buffer(ctx, a, pages(2));
      const fd = exportBuffer(a, h);
      try {
        const self = raw(a, 'PRIME_FD_TO_HANDLE', DRM_IOCTL_PRIME_FD_TO_HANDLE, DrmPrimeHandle, { fd });
        assert.equal(self.code, 'ok');
        assert.equal(self.out.num('handle'), h);
        // A dma-buf's size is its file's: at least the buffer's.
        assert.ok(fstatSync(fd).size >= pages(2), `dma-buf of ${fstatSync(fd).size} bytes for ${pages(2)}`);
        const imported = importBuffer(b, fd);
        using mine = map(ctx, a, h, pages(2));
        using theirs = map(ctx, b, imported, pages(2));
        mine.bytes[100] = 0x42;
        assert.equal(theirs.bytes[100], 0x42);
      } finally {
        native().close(fd);
      }
    },
  },
  {
    group: PRIME,
    name: 'unknown handle, bad flags, a non-dma-buf fd',
    claims: { ioctls: ['PRIME_HANDLE_TO_FD', 'PRIME_FD_TO_HANDLE'], kind: 'bad-input' },
    run(ctx) {
      using file = open(ctx);
      assert.equal(raw(file, 'PRIME_HANDLE_TO_FD', DRM_IOCTL_PRIME_HANDLE_TO_FD, DrmPrimeHandle, { handle: 0x7fff_fff0, fd: -1 }).code, 'ENOENT');
      // drm_prime_handle_to_fd_ioctl() checks the flags before the handle.
      assert.equal(raw(file, 'PRIME_HANDLE_TO_FD', DRM_IOCTL_PRIME_HANDLE_TO_FD, DrmPrimeHandle, { handle: 0x7fff_fff0, flags: 0x40, fd: -1 }).code, 'EINVAL');
      // dma_buf_get() refuses an open fd that is not a dma-buf with EINVAL.
      assert.equal(raw(file, 'PRIME_FD_TO_HANDLE', DRM_IOCTL_PRIME_FD_TO_HANDLE, DrmPrimeHandle, { fd: file.fd }).code, 'EINVAL');
      assert.equal(raw(file, 'PRIME_FD_TO_HANDLE', DRM_IOCTL_PRIME_FD_TO_HANDLE, DrmPrimeHandle, { fd: 100_000 }).code, 'EBADF');
    },
  },
  {
    group: PRIME,
    name: 'the dma-buf keeps the buffer alive after every handle is closed',
    claims: { ioctls: ['PRIME_HANDLE_TO_FD', 'PRIME_FD_TO_HANDLE', 'GEM_CLOSE'], kind: 'lifetime' },
    buffers: true,
    run(ctx) {
      using a = open(ctx);
      using b = open(ctx);
      const h = buffer(ctx, a, pages(1));
      {
        using m = map(ctx, a, h, pages(1));
        m.bytes[7] = 0x99;
      }
      const fd = exportBuffer(a, h);
      // No handle and no mapping left: only the dma-buf holds the buffer.
      gemClose(a, h);
      try {
        const back = importBuffer(b, fd);
        using m = map(ctx, b, back, pages(1));
        assert.equal(m.bytes[7], 0x99);
      } finally {
        native().close(fd);
      }
    },
  },
  {
    group: PRIME,
    name: 'the same dma-buf imported at once by 3 processes and by 4 files of this one',
    claims: { ioctls: ['PRIME_FD_TO_HANDLE'], kind: 'concurrency' },
    buffers: true,
    async run(ctx) {
      using a = open(ctx);
      const h = buffer(ctx, a, pages(1));
      using view = map(ctx, a, h, pages(1));
      view.bytes[0] = 0x11;
      const fd = exportBuffer(a, h);
      // Each child imports the inherited dma-buf (fd 3) into a file of its
      // own, again and again; one import of a dma-buf per file is one handle.
      const script = `
        report('ready');
        await released();
        const file = kit.AccelFile.open(node);
        const handles = new Set();
        for (let i = 0; i < 50; i++) handles.add(kit.importBuffer(file, 3));
        const [handle] = handles;
        const bytes = file.mmap(adapter.mmapOffset(file, handle), ${pages(1)});
        bytes[1 + id] = 0x20 + id;
        report({ handles: handles.size, seen: bytes[0] });
        native().munmap(bytes.buffer);
        file.close();
      `;
      const files = Array.from({ length: 4 }, () => open(ctx));
      try {
        let imports: Promise<number[]> = Promise.resolve([]);
        const results = await runChildren(script, 3, {
          ...childOptions(ctx),
          fds: [fd],
          // Meanwhile this process imports into its 4 files on the thread pool.
          whileHeld: () => {
            imports = Promise.all(
              files.map(async (f) => {
                const p = Struct.from(DrmPrimeHandle, { fd });
                await f.ioctlAsync('DRM_IOCTL_PRIME_FD_TO_HANDLE', DRM_IOCTL_PRIME_FD_TO_HANDLE, p.bytes);
                return p.num('handle');
              }),
            );
            imports.catch(() => {}); // awaited below
          },
        });
        assert.deepEqual(results, [0, 1, 2].map(() => ({ handles: 1, seen: 0x11 })));
        const handles = await imports;
        assert.ok(handles.every((x) => x > 0), 'every import got a handle');
        // Every child's write is in the one buffer, seen through each import.
        assert.deepEqual(Array.from(view.bytes.subarray(0, 4)), [0x11, 0x20, 0x21, 0x22]);
        for (const [i, f] of files.entries()) {
          using m = map(ctx, f, handles[i] as number, pages(1));
          assert.deepEqual(Array.from(m.bytes.subarray(0, 4)), [0x11, 0x20, 0x21, 0x22]);
        }
      } finally {
        for (const f of files) f.close();
        native().close(fd);
      }
    },
  },
  {
    group: SYNCOBJ,
    needs: ['syncobj'],
    name: 'create, signal, wait, reset, destroy',
    claims: { ioctls: ['SYNCOBJ_CREATE', 'SYNCOBJ_SIGNAL', 'SYNCOBJ_WAIT', 'SYNCOBJ_RESET', 'SYNCOBJ_DESTROY'], kind: 'good' },
    async run(ctx) {
      using file = open(ctx);
      const s = syncobjCreate(file);
      syncobjSignal(file, [s]);
      assert.equal(await syncobjWait(file, [s], 1000), 'ok');
      syncobjReset(file, [s]);
      assert.equal(pollWait(file, [s]), 'EINVAL', 'no fence, no WAIT_FOR_SUBMIT');
      assert.equal(await syncobjWait(file, [s], 10, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT), 'ETIME');
      const t = syncobjCreate(file, true);
      assert.equal(pollWait(file, [t]), 'ok');
      syncobjDestroy(file, t);
      syncobjDestroy(file, s);
    },
  },
  {
    group: SYNCOBJ,
    needs: ['syncobj'],
    name: 'bad flags, bad handles, bad pointers, non-zero pad',
    claims: { ioctls: ['SYNCOBJ_CREATE', 'SYNCOBJ_DESTROY', 'SYNCOBJ_SIGNAL', 'SYNCOBJ_RESET', 'SYNCOBJ_WAIT'], kind: 'bad-input' },
    run(ctx) {
      using file = open(ctx);
      const s = syncobjCreate(file);
      const bad = u32Array([0x7fff_fff0]);
      const one = u32Array([s]);
      const cases: Array<[string, string, string]> = [
        ['CREATE unknown flag', raw(file, 'SYNCOBJ_CREATE', DRM_IOCTL_SYNCOBJ_CREATE, DrmSyncobjCreate, { flags: 0x80 }).code, 'EINVAL'],
        ['DESTROY unknown handle', destroyCode(file, 0x7fff_fff0), 'EINVAL'],
        ['DESTROY pad', raw(file, 'SYNCOBJ_DESTROY', DRM_IOCTL_SYNCOBJ_DESTROY, DrmSyncobjDestroy, { handle: s, pad: 1 }).code, 'EINVAL'],
        ['SIGNAL unknown handle', raw(file, 'SYNCOBJ_SIGNAL', DRM_IOCTL_SYNCOBJ_SIGNAL, DrmSyncobjArray, { handles: bad.addr, count_handles: 1 }).code, 'ENOENT'],
        ['SIGNAL pad', raw(file, 'SYNCOBJ_SIGNAL', DRM_IOCTL_SYNCOBJ_SIGNAL, DrmSyncobjArray, { handles: one.addr, count_handles: 1, pad: 1 }).code, 'EINVAL'],
        ['SIGNAL no handles', raw(file, 'SYNCOBJ_SIGNAL', DRM_IOCTL_SYNCOBJ_SIGNAL, DrmSyncobjArray, { handles: one.addr, count_handles: 0 }).code, 'EINVAL'],
        ['RESET bad pointer', raw(file, 'SYNCOBJ_RESET', DRM_IOCTL_SYNCOBJ_RESET, DrmSyncobjArray, { handles: BAD_POINTER, count_handles: 1 }).code, 'EFAULT'],
        ['RESET unknown handle', raw(file, 'SYNCOBJ_RESET', DRM_IOCTL_SYNCOBJ_RESET, DrmSyncobjArray, { handles: bad.addr, count_handles: 1 }).code, 'ENOENT'],
        ['WAIT unknown flag', pollWait(file, [s], 0x100), 'EINVAL'],
        ['WAIT unknown handle', pollWait(file, [0x7fff_fff0]), 'ENOENT'],
      ];
      for (const [what, got, want] of cases) assert.deepEqual({ what, got }, { what, got: want });
    },
  },
  {
    group: SYNCOBJ,
    needs: ['syncobj'],
    name: 'a syncobj fd shared with another file, and a sync_file round trip',
    claims: { ioctls: ['SYNCOBJ_HANDLE_TO_FD', 'SYNCOBJ_FD_TO_HANDLE'], kind: 'good' },
    async run(ctx) {
      using a = open(ctx);
      using b = open(ctx);
      const s = syncobjCreate(a);
      const fd = syncobjExport(a, s);
      const t = syncobjImport(b, fd);
      native().close(fd);
      syncobjSignal(a, [s]);
      assert.equal(await syncobjWait(b, [t], 1000), 'ok');
      const sf = syncobjExport(a, s, true);
      try {
        syncobjImportSyncFile(b, sf, t);
      } finally {
        native().close(sf);
      }
      assert.equal(pollWait(b, [t]), 'ok');
    },
  },
  {
    group: SYNCOBJ,
    needs: ['syncobj'],
    name: 'bad handle, bad flags, a non-syncobj fd',
    claims: { ioctls: ['SYNCOBJ_HANDLE_TO_FD', 'SYNCOBJ_FD_TO_HANDLE'], kind: 'bad-input' },
    run(ctx) {
      using file = open(ctx);
      // drm_syncobj_handle_to_fd() answers an unknown handle with EINVAL.
      assert.equal(raw(file, 'SYNCOBJ_HANDLE_TO_FD', DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, DrmSyncobjHandle, { handle: 0x7fff_fff0, fd: -1 }).code, 'EINVAL');
      const s = syncobjCreate(file);
      assert.equal(raw(file, 'SYNCOBJ_HANDLE_TO_FD', DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, DrmSyncobjHandle, { handle: s, flags: 0x80, fd: -1 }).code, 'EINVAL');
      assert.equal(raw(file, 'SYNCOBJ_HANDLE_TO_FD', DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, DrmSyncobjHandle, { handle: s, pad: 1, fd: -1 }).code, 'EINVAL');
      assert.equal(raw(file, 'SYNCOBJ_FD_TO_HANDLE', DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, DrmSyncobjHandle, { fd: file.fd }).code, 'EINVAL');
    },
  },
  {
    group: SYNCOBJ,
    needs: ['syncobj'],
    name: 'an exported syncobj outlives its handle; a destroyed handle is gone',
    claims: { ioctls: ['SYNCOBJ_CREATE', 'SYNCOBJ_DESTROY', 'SYNCOBJ_HANDLE_TO_FD', 'SYNCOBJ_FD_TO_HANDLE', 'SYNCOBJ_WAIT', 'SYNCOBJ_SIGNAL'], kind: 'lifetime' },
    async run(ctx) {
      using a = open(ctx);
      using b = open(ctx);
      const s = syncobjCreate(a);
      const fd = syncobjExport(a, s);
      syncobjDestroy(a, s);
      assert.equal(destroyCode(a, s), 'EINVAL');
      const t = syncobjImport(b, fd);
      native().close(fd);
      syncobjSignal(b, [t]);
      assert.equal(await syncobjWait(b, [t], 1000), 'ok');
    },
  },
  {
    group: SYNCOBJ,
    needs: ['syncobj'],
    name: 'waiters in several files wake on one signal',
    claims: { ioctls: ['SYNCOBJ_WAIT', 'SYNCOBJ_SIGNAL', 'SYNCOBJ_FD_TO_HANDLE'], kind: 'concurrency' },
    async run(ctx) {
      using a = open(ctx);
      const s = syncobjCreate(a);
      const fd = syncobjExport(a, s);
      const files = Array.from({ length: 4 }, () => open(ctx));
      try {
        let woken = 0;
        // Each a SYNCOBJ_WAIT (WAIT_FOR_SUBMIT) asleep in the kernel on a
        // thread of the pool, in its own file.
        const waits = files.map((f) => syncobjWait(f, [syncobjImport(f, fd)], 10_000, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT).finally(() => woken++));
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(woken, 0, 'nothing is signalled yet: every waiter is still asleep');
        syncobjSignal(a, [s]);
        assert.deepEqual(await Promise.all(waits), ['ok', 'ok', 'ok', 'ok']);
      } finally {
        for (const f of files) f.close();
        native().close(fd);
      }
    },
  },
  {
    group: SYNCOBJ,
    needs: ['syncobj'],
    name: 'a wait that times out says so (ETIME), and a wait in the past polls',
    claims: { ioctls: ['SYNCOBJ_WAIT'], kind: 'fault' },
    async run(ctx) {
      using file = open(ctx);
      const s = syncobjCreate(file);
      assert.equal(await syncobjWait(file, [s], 20, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT), 'ETIME');
      assert.equal(pollWait(file, [s], DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT), 'ETIME');
      syncobjSignal(file, [s]);
      assert.equal(pollWait(file, [s]), 'ok');
    },
  },
  {
    // No count of syncobjs is exposed (the DRM core keeps none): a kernel
    // with kmemleak catches a syncobj that is never freed. This test does
    // the work that would leak, and checks what any kernel shows: handles
    // gone when destroyed, the handle table empty again, imports that are
    // the same syncobj, and no syncobj fd left open.
    group: SYNCOBJ,
    needs: ['syncobj'],
    name: '1000 syncobjs created, exported, imported and destroyed; files closed with 300 alive',
    claims: { ioctls: ['SYNCOBJ_CREATE', 'SYNCOBJ_DESTROY', 'SYNCOBJ_HANDLE_TO_FD', 'SYNCOBJ_FD_TO_HANDLE'], kind: 'leak' },
    async run(ctx) {
      const fdsBefore = openFdsOf(SYNCOBJ_FD);
      {
        using a = open(ctx);
        using b = open(ctx);
        const firstHandle = syncobjCreate(a);
        syncobjDestroy(a, firstHandle);
        for (let i = 0; i < 1000; i++) {
          const s = syncobjCreate(a);
          const fd = syncobjExport(a, s);
          // Into the same file and into another: two more references.
          const t = syncobjImport(a, fd);
          const u = syncobjImport(b, fd);
          native().close(fd);
          if (i % 100 === 0) {
            // The imports are the syncobj itself: a signal through one is seen by the others.
            assert.notEqual(t, s);
            syncobjSignal(b, [u]);
            assert.deepEqual([pollWait(a, [s]), pollWait(a, [t])], ['ok', 'ok']);
          }
          syncobjDestroy(a, t);
          syncobjDestroy(a, s);
          syncobjDestroy(b, u);
          if (i % 100 === 0) {
            // Destroyed handles are gone, in both files.
            assert.deepEqual([destroyCode(a, s), destroyCode(a, t), destroyCode(b, u)], ['EINVAL', 'EINVAL', 'EINVAL']);
            assert.equal(pollWait(b, [u]), 'ENOENT');
          }
        }
        // Every handle was destroyed: the table hands out the first one again.
        assert.equal(syncobjCreate(a), firstHandle);
        assert.equal(openFdsOf(SYNCOBJ_FD), fdsBefore);
      }

      // Files closed with their syncobjs alive: 200 created in c, 100 of them
      // exported and imported into d; c closes first, then d.
      const held: number[] = [];
      {
        using c = open(ctx);
        using d = open(ctx);
        const imported: number[] = [];
        for (let i = 0; i < 200; i++) {
          const s = syncobjCreate(c, i % 2 === 0);
          if (i % 2 === 1) continue;
          const fd = syncobjExport(c, s);
          held.push(fd);
          imported.push(syncobjImport(d, fd));
        }
        // Each exported fd is open until it is closed: the count sees them.
        assert.equal(openFdsOf(SYNCOBJ_FD), fdsBefore + 100);
        for (const fd of held.splice(0, 50)) native().close(fd);
        assert.equal(openFdsOf(SYNCOBJ_FD), fdsBefore + 50);
        c.close();
        // d's imports outlive c's file: still signalled, still waitable.
        assert.equal(pollWait(d, imported, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL), 'ok');
      }
      // The other 50 fds outlive both files: each still imports and works.
      {
        using e = open(ctx);
        for (const fd of held) {
          const s = syncobjImport(e, fd);
          assert.equal(await syncobjWait(e, [s], 0), 'ok');
          syncobjDestroy(e, s);
          native().close(fd);
        }
      }
      assert.equal(openFdsOf(SYNCOBJ_FD), fdsBefore);
    },
  },
  {
    group: MMAP,
    name: 'the offset is page-aligned, stable, and distinct per buffer',
    claims: { ioctls: [], adapter: ['mmapOffset'], kind: 'good' },
    buffers: true,
    run(ctx) {
      using file = open(ctx);
      const a = buffer(ctx, file, pages(1));
      const b = buffer(ctx, file, pages(1));
      const offset = (h: number): bigint => ctx.adapter.adapter.mmapOffset(file, h);
      const oa = offset(a);
      assert.equal(oa % BigInt(pages(1)), 0n);
      assert.equal(offset(a), oa);
      assert.notEqual(offset(b), oa);
    },
  },
  {
    // No claim: the bad input goes to mmap(2), which is not an ioctl.
    group: MMAP,
    name: 'mmap at an offset of no buffer, or past its end, fails',
    buffers: true,
    run(ctx) {
      using file = open(ctx);
      const a = buffer(ctx, file, pages(1));
      const off = ctx.adapter.adapter.mmapOffset(file, a);
      // drm_gem_mmap(): no buffer at the offset, or one smaller than the mapping.
      assert.equal(mmapCode(file, off + 0x1000_0000n, pages(1)), 'EINVAL');
      assert.equal(mmapCode(file, off, bufferSize(file, a) + pages(1)), 'EINVAL');
    },
  },
  {
    group: MMAP,
    name: "a mapping outlives the handle; another file cannot map the buffer's offset",
    claims: { ioctls: ['GEM_CLOSE'], adapter: ['mmapOffset'], kind: 'lifetime' },
    buffers: true,
    run(ctx) {
      using file = open(ctx);
      using other = open(ctx);
      const a = buffer(ctx, file, pages(1));
      const off = ctx.adapter.adapter.mmapOffset(file, a);
      using view = map(ctx, file, a, pages(1));
      view.bytes[0] = 5;
      // The offset exists, but this file has no handle for it.
      assert.equal(mmapCode(other, off, pages(1)), 'EACCES');
      // Close the handle only: the CPU mapping stays valid until it is unmapped.
      assert.equal(closeCode(file, a), 'ok');
      view.bytes[1] = 6;
      assert.equal((view.bytes[0] ?? 0) + (view.bytes[1] ?? 0), 11);
    },
  },
];
