/** Storage of verification results, shared by every Engine generation (keys carry the config hash). */

/** What a cacheable validator produced for one key: a verified outcome or a denial (code + message kept). */
export type CachedResult =
  | { ok: true; digest?: string; details: Record<string, unknown> }
  | { ok: false; code: string; message: string; details?: Record<string, unknown> };

/**
 * A key/value store with per-entry expiry. Implementations never throw and never take longer than
 * their own bound: a broken backend answers `undefined` (a miss) and the caller verifies again.
 */
export interface ResultStore {
  /** `memory` or `redis` (for logs and metrics). */
  readonly kind: string;
  get(key: string): Promise<CachedResult | undefined>;
  set(key: string, value: CachedResult, ttlSeconds: number): Promise<void>;
  /** Drops every entry held in process memory (Redis entries expire on their own). */
  clearLocal(): void;
  close(): Promise<void>;
}

/** Receives every cache lookup (metrics). */
export type CacheObserver = (event: 'hit' | 'miss', store: string) => void;
