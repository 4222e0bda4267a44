/**
 * A fence of another driver that a test signals when it chooses: a write
 * fence vgem (the kernel's virtual GEM driver, loaded by the image's init)
 * attaches to one of its buffers (DRM_IOCTL_VGEM_FENCE_ATTACH). A job made
 * to wait for it stays queued until the test calls signal(), or until vgem
 * signals it by itself 10 s after it was made. Layouts from
 * <drm/vgem_drm.h>, <drm/drm_mode.h> and <linux/dma-buf.h> (x86_64).
 */
import { readdirSync, realpathSync } from 'node:fs';
import { DRM_CLOEXEC, DRM_IOCTL_PRIME_HANDLE_TO_FD, DRM_RDWR, DrmPrimeHandle } from '../../../src/drm.js';
import { DRM_IOCTL_BASE, iow, iowr } from '../../../src/ioctl.js';
import { native } from '../../../src/native.js';
import { defineStruct, Struct } from '../../../src/struct.js';

const DrmModeCreateDumb = defineStruct('drm_mode_create_dumb', [
  ['height', 'u32'],
  ['width', 'u32'],
  ['bpp', 'u32'],
  ['flags', 'u32'],
  ['handle', 'u32'],
  ['pitch', 'u32'],
  ['size', 'u64'],
]);
const VgemFenceAttach = defineStruct('drm_vgem_fence_attach', [
  ['handle', 'u32'],
  ['flags', 'u32'],
  ['out_fence', 'u32'],
  ['pad', 'u32'],
]);
const VgemFenceSignal = defineStruct('drm_vgem_fence_signal', [
  ['fence', 'u32'],
  ['flags', 'u32'],
]);
const DmaBufExportSyncFile = defineStruct('dma_buf_export_sync_file', [
  ['flags', 'u32'],
  ['fd', 's32'],
]);

const DRM_IOCTL_MODE_CREATE_DUMB = iowr(DRM_IOCTL_BASE, 0xb2, DrmModeCreateDumb.size);
const DRM_IOCTL_VGEM_FENCE_ATTACH = iowr(DRM_IOCTL_BASE, 0x41, VgemFenceAttach.size);
const DRM_IOCTL_VGEM_FENCE_SIGNAL = iow(DRM_IOCTL_BASE, 0x42, VgemFenceSignal.size);
const DMA_BUF_IOCTL_EXPORT_SYNC_FILE = iowr('b'.charCodeAt(0), 2, DmaBufExportSyncFile.size);
const VGEM_FENCE_WRITE = 0x1;
const DMA_BUF_SYNC_READ = 0x1;
const O_RDWR = 0o2;
const O_CLOEXEC = 0o2000000;

/** /dev/dri/cardN of vgem, found through its platform device in sysfs. */
function vgemNode(): string {
  for (const card of readdirSync('/sys/class/drm').filter((n) => /^card\d+$/.test(n))) {
    if (realpathSync(`/sys/class/drm/${card}/device`).endsWith('/vgem')) return `/dev/dri/${card}`;
  }
  throw new Error('no vgem device: the guest image loads the vgem module at boot');
}

export class VgemFence implements Disposable {
  readonly #fd: number;
  readonly #fence: number;
  readonly #dmabuf: number;
  #signalled = false;
  #closed = false;

  constructor() {
    const n = native();
    this.#fd = n.open(vgemNode(), O_RDWR | O_CLOEXEC);
    try {
      const dumb = Struct.from(DrmModeCreateDumb, { width: 1024, height: 1, bpp: 32 });
      n.ioctl(this.#fd, DRM_IOCTL_MODE_CREATE_DUMB, dumb.bytes);
      const attach = Struct.from(VgemFenceAttach, { handle: dumb.num('handle'), flags: VGEM_FENCE_WRITE });
      n.ioctl(this.#fd, DRM_IOCTL_VGEM_FENCE_ATTACH, attach.bytes);
      this.#fence = attach.num('out_fence');
      const prime = Struct.from(DrmPrimeHandle, { handle: dumb.num('handle'), flags: DRM_CLOEXEC | DRM_RDWR, fd: -1 });
      n.ioctl(this.#fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, prime.bytes);
      this.#dmabuf = prime.num('fd');
    } catch (err) {
      n.close(this.#fd);
      throw err;
    }
  }

  /** A new sync_file fd holding the fence; the caller closes it. */
  syncFile(): number {
    const s = Struct.from(DmaBufExportSyncFile, { flags: DMA_BUF_SYNC_READ, fd: -1 });
    native().ioctl(this.#dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, s.bytes);
    return s.num('fd');
  }

  /** Signals the fence (once). */
  signal(): void {
    if (this.#signalled) return;
    native().ioctl(this.#fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, Struct.from(VgemFenceSignal, { fence: this.#fence }).bytes);
    this.#signalled = true;
  }

  /**
   * Signals the fence, so that nothing waits on it for vgem's 10 s (ETIME
   * from vgem once its timer has signalled it is no error here), and
   * closes vgem's files.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.signal();
    } catch {
      // Signalled by vgem's timer already.
    } finally {
      native().close(this.#dmabuf);
      native().close(this.#fd);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
