/**
 * The guest suite on Debian's kernel booted with pci=nomsi: no MSI or
 * MSI-X, so the driver takes one INTx for every cause (completions of both
 * queues, queue errors, MMU faults), as on a machine or bus without MSI.
 */
import { defineGuestSuite } from '../lib/guest-suite.js';

await defineGuestSuite('debian', 'intx');
