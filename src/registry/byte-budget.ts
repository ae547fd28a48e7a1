/**
 * Bounds on the registry data Imprimatur holds at once (issue 11, item 8): what hostile registries can make the
 * webhook buffer (~4 MiB manifests and indexes, blobs that stall half-way, JSON built to blow up when parsed).
 *
 * - One ByteBudget per process: every byte of a registry answer being received or held by a verification, plus an
 *   estimate of the memory its parsed JSON takes, is reserved in it. When it is spent, readers wait (backpressure:
 *   the socket is not read) until other verifications finish — bounded by their admission deadline.
 * - Each admission request gets a RequestBytes share: past it, the verification fails at once
 *   (`REQUEST_BYTES_LIMIT`), naming the limit.
 * - A verification's reservations form one BytesLease, released when the verification ends (its buffers are garbage
 *   then). The HTTP layer finds the lease through the AbortSignal the validator passes to the registry client (the
 *   signal the engine created for that verification); a call with any other signal gets a lease of its own, released
 *   when the response has been read.
 */
import { ImprimaturError } from '../errors.js';

const MiB = 1024 * 1024;

/** A counting semaphore of bytes with FIFO waiters. */
export class ByteBudget {
  private used = 0;
  private readonly waiters: Array<{ n: number; resolve: () => void; reject: (e: unknown) => void; signal: AbortSignal; onAbort: () => void }> = [];

  constructor(private limit: number) {}

  get inUse(): number {
    return this.used;
  }

  get capacity(): number {
    return this.limit;
  }

  /** A new limit (config reload); waiters that now fit proceed. */
  resize(limit: number): void {
    this.limit = limit;
    this.wake();
  }

  /** Reserves `n` bytes, waiting while the budget is spent. More than the whole budget is reserved when nothing else is. */
  acquire(n: number, signal: AbortSignal): Promise<void> {
    if (this.waiters.length === 0 && this.fits(n)) {
      this.used += n;
      return Promise.resolve();
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        n, resolve, reject, signal,
        onAbort: () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
          this.wake();
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
    this.wake();
  }

  private fits(n: number): boolean {
    // a single reservation larger than the budget may still go through alone, so it cannot wait forever
    return this.used + n <= this.limit || this.used === 0;
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.n)) {
      const w = this.waiters.shift()!;
      w.signal.removeEventListener('abort', w.onAbort);
      this.used += w.n;
      w.resolve();
    }
  }
}

/** The share of one admission request. */
export class RequestBytes {
  private used = 0;

  constructor(private readonly process: ByteBudget, readonly limit: number) {}

  async take(n: number, signal: AbortSignal, what: string): Promise<void> {
    if (this.used + n > this.limit) {
      throw new ImprimaturError(
        'REQUEST_BYTES_LIMIT',
        `the registry data for this admission request exceeded ${Math.round(this.limit / MiB)} MiB (while reading ${what}); ` +
          'a registry serving oversized signature data, or raise limits.bytesPerRequestMiB',
        { limit: this.limit },
      );
    }
    this.used += n;
    try {
      await this.process.acquire(n, signal);
    } catch (err) {
      this.used -= n;
      throw err;
    }
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
    this.process.release(n);
  }

  lease(): BytesLease {
    return new BytesLease(this);
  }
}

/** What one verification (or one stray call) holds. */
export class BytesLease {
  private held = 0;
  private closed = false;

  constructor(private readonly owner: RequestBytes) {}

  /** Reserves `n` more bytes. After releaseAll (the verification ended) a straggling read is stopped instead. */
  async take(n: number, signal: AbortSignal, what: string): Promise<void> {
    if (this.closed) throw new ImprimaturError('VERIFICATION_ENDED', `the verification reading ${what} has already ended`);
    if (n <= 0) return;
    await this.owner.take(n, signal, what);
    if (this.closed) {
      this.owner.give(n);
      throw new ImprimaturError('VERIFICATION_ENDED', `the verification reading ${what} has already ended`);
    }
    this.held += n;
  }

  /** Gives everything back; the lease takes nothing more. */
  releaseAll(): void {
    this.closed = true;
    if (this.held > 0) this.owner.give(this.held);
    this.held = 0;
  }
}

/** Defaults, sized for the chart's 512 MiB memory limit and 128 MiB heap. */
export const DEFAULT_LIMITS = { bytesInFlightMiB: 64, bytesPerRequestMiB: 32 } as const;

/** The process's budget (one per process: it bounds the process's memory). */
export const processBytes = new ByteBudget(DEFAULT_LIMITS.bytesInFlightMiB * MiB);

/** Leases by the signal a verification hands to the registry client. */
const leases = new WeakMap<AbortSignal, BytesLease>();

export function attachLease(signal: AbortSignal, lease: BytesLease): void {
  leases.set(signal, lease);
}

/** The verification's lease for `signal`, or undefined for a call outside any verification. */
export function leaseOf(signal: AbortSignal): BytesLease | undefined {
  return leases.get(signal);
}

/** A lease for a call outside any verification: the process budget only (a request share as large as the process's). */
export function standaloneLease(): BytesLease {
  return new RequestBytes(processBytes, Number.MAX_SAFE_INTEGER).lease();
}
