/**
 * Settles like `work`, or rejects with `onAbort()` as soon as `signal` aborts — even when `work` ignores the
 * signal — so nothing outlives the admission deadline. `mapError` rewrites `work`'s own rejection.
 * `work` is always observed, so a late rejection never becomes an unhandled rejection.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal, onAbort: () => Error, mapError: (err: unknown) => unknown = (e) => e): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(onAbort());
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(mapError(err));
      },
    );
  });
}
