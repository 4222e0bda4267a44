/** Kernel × QEMU matrix: Debian stable's 6.12 in the newest QEMU the archive serves. */
import { defineGuestSuite } from '../lib/guest-suite.js';

await defineGuestSuite({ qemu: 'newest' });
