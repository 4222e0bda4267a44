/** Errors of the userspace driver (VFIO, UIO, sysfs, the device): OssaErrors with the errno named, not numbered. */
import { readSync } from 'node:fs';
import { constants } from 'node:os';
import { OssaError } from '../errors.js';

export type ErrnoName = keyof typeof constants.errno;

/** An OssaError for `code` (an errno name) raised by `what` (an ioctl or system call). */
export function userDriverError(message: string, code: ErrnoName, what: string, options?: ErrorOptions): OssaError {
  return new OssaError(message, constants.errno[code], code, what, options);
}

/** A failed file-system call of Node's as an error naming its errno (EIO when Node gives none it knows), `what` and `context`. */
export function systemError(err: unknown, what: string, context: string): OssaError {
  const e = err as NodeJS.ErrnoException;
  const code = (e.code && e.code in constants.errno ? e.code : 'EIO') as ErrnoName;
  return userDriverError(`${what} ${context}: ${e.message}`, code, what, { cause: err });
}

/** Runs a file-system call of Node's (open, pread, pwrite, write); its failure is a systemError(). */
export function sysCall<T>(fn: () => T, what: string, context: string): T {
  try {
    return fn();
  } catch (err) {
    throw systemError(err, what, context);
  }
}

/**
 * Reads an interrupt counter from a non-blocking fd (an eventfd, /dev/uioN)
 * into `into`: false when there is none to read (EAGAIN).
 */
export function readCounter(fd: number, into: Buffer, context: string): boolean {
  try {
    readSync(fd, into, 0, into.length, null);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return false;
    throw systemError(err, 'read', context);
  }
}
