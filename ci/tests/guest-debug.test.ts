/**
 * The guest suite on the debug kernel (KASAN, lockdep, kmemleak,
 * DEBUG_OBJECTS, DMA-API debugging, gcov): every report fails the test
 * that was running, and kmemleak is scanned after every file.
 */
import { defineGuestSuite } from '../lib/guest-suite.js';

await defineGuestSuite({ kernel: 'debug' });
