/**
 * Waiting for a file descriptor on the event loop: no thread is held while
 * a job runs. What becomes ready is a sync_file or an eventfd (readable
 * once its fence signals) or a dma-buf (writable once its buffer is idle).
 */
import { native } from './native.js';

/** Whether fd became ready (true) or timeoutMs passed (false); throws the reason of an aborted signal. */
export async function waitFd(
  fd: number,
  ready: 'readable' | 'writable',
  timeoutMs: number,
  signals: ReadonlyArray<AbortSignal | undefined>,
): Promise<boolean> {
  for (const s of signals) s?.throwIfAborted();
  const { id, done } = native().pollStart(fd, ready === 'writable', Math.max(0, timeoutMs));
  const cancel = (): void => {
    native().pollCancel(id);
  };
  for (const s of signals) s?.addEventListener('abort', cancel, { once: true });
  try {
    const result = await done;
    if (result < 0) {
      for (const s of signals) s?.throwIfAborted();
    }
    return result > 0;
  } finally {
    for (const s of signals) s?.removeEventListener('abort', cancel);
  }
}
