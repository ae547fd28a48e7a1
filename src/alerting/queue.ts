/**
 * A bounded in-memory work queue with a fixed number of workers. `push` refuses (returns false) when full, so
 * the caller can count and log the drop. `drain` waits a bounded time, then aborts in-flight work and hands
 * back what was never started.
 */

export type Worker<T> = (job: T, signal: AbortSignal) => Promise<void>;

export class BoundedQueue<T> {
  private readonly pending: T[] = [];
  private running = 0;
  private readonly abort = new AbortController();
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly worker: Worker<T>,
    private readonly maxPending: number,
    private readonly concurrency: number,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  get inFlight(): number {
    return this.running;
  }

  /** Queues a job; false when the queue is full or stopped (the job was not taken). */
  push(job: T): boolean {
    if (this.abort.signal.aborted || this.pending.length >= this.maxPending) return false;
    this.pending.push(job);
    this.pump();
    return true;
  }

  private pump(): void {
    while (this.running < this.concurrency && this.pending.length > 0 && !this.abort.signal.aborted) {
      const job = this.pending.shift() as T;
      this.running++;
      void this.worker(job, this.abort.signal)
        .catch(() => undefined) // workers report their own failures
        .finally(() => {
          this.running--;
          this.pump();
          this.notifyIfIdle();
        });
    }
    this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.running === 0 && this.pending.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.running === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Waits up to `timeoutMs` for the queue to empty. Then stops: in-flight jobs see their signal abort,
   * and jobs never started are returned. No job is accepted afterwards.
   */
  async drain(timeoutMs: number): Promise<T[]> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.abort.abort();
    const abandoned = this.pending.splice(0);
    if (this.running > 0) await this.idle(); // aborted workers finish promptly
    return abandoned;
  }
}
