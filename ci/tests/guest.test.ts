/** The guest suite on Debian's kernel, as users run it. */
import { defineGuestSuite } from '../lib/guest-suite.js';

await defineGuestSuite();
