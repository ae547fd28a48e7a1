/** The default ResultStore: a bounded in-process LRU with per-entry expiry. */
import { LRUCache } from 'lru-cache';
import type { CachedResult, ResultStore } from './types.js';

export const DEFAULT_MAX_ENTRIES = 10_000;

export class MemoryStore implements ResultStore {
  readonly kind = 'memory';
  private readonly lru: LRUCache<string, CachedResult>;

  constructor(maxEntries = DEFAULT_MAX_ENTRIES) {
    // ttlAutopurge off: expired entries are dropped lazily on read and by LRU eviction (no timers per entry).
    this.lru = new LRUCache<string, CachedResult>({ max: maxEntries, ttl: 1, ttlAutopurge: false, allowStale: false });
  }

  get size(): number {
    return this.lru.size;
  }

  get(key: string): Promise<CachedResult | undefined> {
    return Promise.resolve(this.lru.get(key));
  }

  /** Synchronous read for the hot path. */
  peek(key: string): CachedResult | undefined {
    return this.lru.get(key);
  }

  set(key: string, value: CachedResult, ttlSeconds: number): Promise<void> {
    if (ttlSeconds > 0) this.lru.set(key, value, { ttl: ttlSeconds * 1000 });
    return Promise.resolve();
  }

  clearLocal(): void {
    this.lru.clear();
  }

  close(): Promise<void> {
    this.lru.clear();
    return Promise.resolve();
  }
}
