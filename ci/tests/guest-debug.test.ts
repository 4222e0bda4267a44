/**
 * The driver's guest tests on the debug kernel (KASAN, lockdep, kmemleak,
 * DEBUG_OBJECTS, DMA-API debugging, gcov): every report fails the test
 * that was running, and kmemleak is scanned after every file. The
 * library's and tools' files run on the other lanes: here each file costs
 * about four times as much as on Debian's kernel. QEMU is the plain build,
 * as the ASan one would double that again; the virtio-iommu lane runs the
 * device with ASan.
 */
import { defineGuestSuite } from '../lib/guest-suite.js';

await defineGuestSuite({ kernel: 'debug', files: 'driver' });
