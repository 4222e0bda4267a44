/** Errors of the ossa library: each carries errno, its code and the ioctl. */
import { AccelError } from './accel-core/file.js';
import { isNativeError } from './native.js';

/**
 * An error of the library: an AccelError (the accel-core kit's, for any
 * DRM accel file) of an ossa call.
 */
export class OssaError extends AccelError {
  override readonly name: string = 'OssaError';
}

/**
 * Turns an error thrown by the native binding into an OssaError naming
 * `what` (an ioctl or system call); other errors pass through unchanged.
 */
export function wrapNativeError(err: unknown, what: string, context = ''): unknown {
  if (!isNativeError(err)) return err;
  const where = context ? `${what} (${context})` : what;
  return new OssaError(`${where}: ${err.message} (${err.code})`, err.errno, err.code, what, { cause: err });
}

/**
 * Whether an error says that the device is gone (unbound or unplugged):
 * every call on its files then fails with ENODEV, and closing a handle
 * has nothing left to do.
 */
export function isDeviceGone(err: unknown): boolean {
  return err instanceof OssaError && err.code === 'ENODEV';
}

/** A DRM_IOCTL_OSSA_SUBMIT that queued nothing, with each job's status. */
export class SubmitError extends OssaError {
  constructor(
    cause: OssaError,
    /** Per job: 0, the negative errno that rejected it, or -ECANCELED. */
    readonly statuses: number[],
  ) {
    super(`${cause.message}; job statuses: [${statuses.join(', ')}]`, cause.errno, cause.code, cause.ioctl, {
      cause,
    });
  }
}
