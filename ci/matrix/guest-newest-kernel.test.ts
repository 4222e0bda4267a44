/** Kernel × QEMU matrix: the newest kernel (Debian sid's) in QEMU 10.0.2. */
import { defineGuestSuite } from '../lib/guest-suite.js';

await defineGuestSuite({ kernel: 'newest' });
