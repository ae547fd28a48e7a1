/**
 * Shares one in-flight computation among concurrent callers with the same key.
 * The shared work gets its own AbortSignal, aborted only when every caller waiting for it has given up,
 * so one request's deadline does not fail the others.
 */
interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
}

export class Coalescer<T> {
  private readonly flights = new Map<string, Flight<T>>();

  /** Number of computations running now. */
  get inflight(): number {
    return this.flights.size;
  }

  /** Runs `work` for `key`, or joins the run already in flight. `shared` tells whether it was joined. */
  run(key: string, signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): { promise: Promise<T>; shared: boolean } {
    let flight = this.flights.get(key);
    const shared = flight !== undefined;
    if (!flight) {
      const controller = new AbortController();
      const created: Flight<T> = { controller, waiters: 0, promise: Promise.resolve(undefined as T) };
      created.promise = (async () => {
        try {
          return await work(controller.signal);
        } finally {
          if (this.flights.get(key) === created) this.flights.delete(key);
        }
      })();
      created.promise.catch(() => undefined); // callers observe the rejection; never unhandled here
      this.flights.set(key, created);
      flight = created;
    }
    const f = flight;
    f.waiters++;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      signal.removeEventListener('abort', leave);
      if (--f.waiters === 0 && signal.aborted) {
        // the last caller gave up: stop the work and let the next caller start afresh
        if (this.flights.get(key) === f) this.flights.delete(key);
        f.controller.abort(signal.reason);
      }
    };
    if (signal.aborted) queueMicrotask(leave);
    else signal.addEventListener('abort', leave, { once: true });
    const promise = f.promise.finally(leave);
    return { promise, shared };
  }
}
