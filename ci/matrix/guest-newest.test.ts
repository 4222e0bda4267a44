/**
 * Kernel × QEMU matrix: the guest suite on the newest kernel Debian serves
 * (sid's, chosen at build time, its driver built by sid's compiler against
 * its headers) in the newest QEMU the archive serves: what a driver author
 * submitting upstream builds against.
 */
import { defineGuestSuite } from '../lib/guest-suite.js';

await defineGuestSuite({ kernel: 'newest', qemu: 'newest' });
