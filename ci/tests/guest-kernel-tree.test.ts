/**
 * The driver's guest tests on a kernel built from a Linux source tree, the
 * way a lab brings its own (OSSA_KERNEL_TREE, npm start -- --kernel DIR;
 * ci/lib/own-kernel.ts): the tree recorded without a write to it, the
 * driver's Kconfig hooked in, tinyconfig + kvm_guest.config +
 * images/guest.config, the kernel compiled, the driver built out of tree
 * against it. With OSSA_KERNEL_TREE unset, the tree is the newest kernel's
 * pristine source (Debian sid's linux-source, the tree the Linux series of
 * npm run patches is made against), so that npm test proves the path a lab
 * takes on the newest kernel, built by the host's own compiler.
 */
import { defineGuestSuite } from '../lib/guest-suite.js';

await defineGuestSuite({ kernel: 'own', files: 'driver' });
