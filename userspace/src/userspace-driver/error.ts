/** Errors of the userspace driver (VFIO, UIO, sysfs, the device): OssaErrors with the errno named, not numbered. */
import { constants } from 'node:os';
import { OssaError } from '../errors.js';

export type ErrnoName = keyof typeof constants.errno;

/** An OssaError for `code` (an errno name) raised by `what` (an ioctl or system call). */
export function userDriverError(message: string, code: ErrnoName, what: string, options?: ErrorOptions): OssaError {
  return new OssaError(message, constants.errno[code], code, what, options);
}
