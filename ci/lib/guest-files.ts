/**
 * Which guest test files a lane runs: every file, or the driver's tests
 * alone. The lanes that change what the driver runs on (the debug
 * kernel, INTx, a vIOMMU) run the driver's tests; the library's, the
 * tools' and QEMU's own files run on the default lane and on the newest
 * kernel and QEMU, where a change of platform reaches them.
 */

/** 'all': every guest test file; 'driver': the conformance suite and usage statistics (fdinfo). */
export type GuestFiles = 'all' | 'driver';

/**
 * The driver's tests, as parts of a file's path in the guest suite: the
 * conformance suite (every ioctl, command, fault and lifetime rule, and
 * every cell of the coverage matrix) and fdinfo's usage statistics.
 */
const DRIVER_TESTS = ['conformance/', 'usage.test.js'];

/**
 * The guest runner's file filter (each entry a part of a file's path), or
 * undefined for every file. A filter the user gave (OSSA_GUEST_FILTER)
 * wins over the lane's own choice: it names the files to run on this lane.
 */
export function guestFileFilter(files: GuestFiles, userFilter: string | undefined): string[] | undefined {
  if (userFilter) return userFilter.split(',').filter(Boolean);
  return files === 'all' ? undefined : DRIVER_TESTS;
}
