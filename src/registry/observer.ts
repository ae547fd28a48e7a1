/**
 * Optional observers of every HTTP exchange with a registry or Notary server (metrics, benchmarks).
 * Additive: with no observer registered nothing changes. An observer must not throw (errors are swallowed).
 */
export interface RegistryExchange {
  registry: string;
  method: 'GET' | 'HEAD';
  /** Full URL of the exchange. */
  url: string;
  /** HTTP status, or undefined when no answer came (see `error`). */
  status?: number;
  /** ImprimaturError code (or `ERROR`) when the exchange failed without an answer. */
  error?: string;
  durationMs: number;
}

export type RegistryObserver = (e: RegistryExchange) => void;

const observers = new Set<RegistryObserver>();

/** Registers an observer; returns the function that removes it. */
export function addRegistryObserver(o: RegistryObserver): () => void {
  observers.add(o);
  return () => observers.delete(o);
}

export function notifyRegistryObservers(e: RegistryExchange): void {
  for (const o of observers) {
    try {
      o(e);
    } catch {
      // observers never break a registry request
    }
  }
}

export function hasRegistryObservers(): boolean {
  return observers.size > 0;
}
