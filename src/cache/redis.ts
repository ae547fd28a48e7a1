/**
 * A ResultStore shared by every replica: Redis behind an in-process LRU.
 * Every entry is authenticated: `<HMAC>.<payload>`, the HMAC (integrity key, purpose `cache-entry`) over the Redis key
 * and the payload, so whoever can write to Redis cannot mark an image verified, choose its digest, or move an entry
 * to another key. An entry that fails the check is ignored (a miss: the image is verified again), counted, and the
 * first one is logged.
 * Reads try the LRU first, then Redis (bounded by `commandTimeoutMs`); writes go to both.
 * When Redis is down or slow the LRU alone serves (one warning per outage, one info line on recovery),
 * and Redis is not asked again for `backoffMs` after a failure, so a slow Redis never slows every request.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { IntegrityKey } from '../integrity/key.js';
import type { Logger } from '../log.js';
import { MemoryStore } from './memory.js';
import type { CachedResult, ResultStore } from './types.js';

export interface RedisStoreOptions {
  url: string;
  /** PEM of the CA for `rediss://` (else the system CAs). */
  ca?: string;
  /** Password when the URL carries none. */
  password?: string;
  logger: Logger;
  /** Bound of every Redis command (default 100 ms). */
  commandTimeoutMs?: number;
  /** After a failure, Redis is skipped this long (default 1000 ms). */
  backoffMs?: number;
  /** Key prefix (default `imprimatur:v2:`; v1 entries were unauthenticated and are never read). */
  prefix?: string;
  local?: MemoryStore;
  /** The integrity key shared by every replica (the chart's Secret). */
  key: IntegrityKey;
  /** Called for every entry that fails authentication (metrics). */
  onIntegrityFailure?: () => void;
}

interface Stored {
  r: CachedResult;
  /** Expiry, ms since epoch. */
  e: number;
}

export class RedisStore implements ResultStore {
  readonly kind = 'redis';
  readonly local: MemoryStore;
  private readonly client: Redis;
  private readonly logger: Logger;
  private readonly prefix: string;
  private readonly backoffMs: number;
  private degraded = false;
  private skipUntil = 0;
  private closed = false;
  private integrityFailureLogged = false;
  private readonly key: IntegrityKey;
  private readonly onIntegrityFailure?: () => void;

  constructor(opts: RedisStoreOptions) {
    this.logger = opts.logger;
    this.prefix = opts.prefix ?? 'imprimatur:v2:';
    this.key = opts.key;
    this.onIntegrityFailure = opts.onIntegrityFailure;
    this.backoffMs = opts.backoffMs ?? 1000;
    this.local = opts.local ?? new MemoryStore();
    const tls = opts.url.startsWith('rediss://');
    const options: RedisOptions = {
      enableOfflineQueue: false,
      commandTimeout: opts.commandTimeoutMs ?? 100,
      connectTimeout: 1000,
      maxRetriesPerRequest: 0,
      enableReadyCheck: true,
      // keep trying to reconnect, at most once a second
      retryStrategy: (times) => Math.min(times * 100, 1000),
      ...(opts.password ? { password: opts.password } : {}),
      ...(tls ? { tls: opts.ca ? { ca: opts.ca } : {} } : {}),
    };
    this.client = new Redis(opts.url, options);
    this.client.on('error', (err: Error) => this.failed(err));
    this.client.on('ready', () => {
      if (this.degraded) this.logger.info({ cache: 'redis' }, 'Redis is reachable again; the shared verification cache is back in use');
      this.degraded = false;
      this.skipUntil = 0;
    });
    this.client.on('close', () => this.failed(new Error('connection closed')));
  }

  /** Whether Redis answered the last time it was asked. */
  get healthy(): boolean {
    return !this.degraded && this.client.status === 'ready';
  }

  async get(key: string): Promise<CachedResult | undefined> {
    const hit = this.local.peek(key);
    if (hit) return hit;
    if (!this.usable()) return undefined;
    try {
      const raw = await this.client.get(this.prefix + key);
      if (!raw) return undefined;
      const stored = this.open(this.prefix + key, raw);
      if (!stored) return undefined;
      const ttlMs = stored.e - Date.now();
      if (ttlMs <= 0) return undefined;
      await this.local.set(key, stored.r, ttlMs / 1000);
      return stored.r;
    } catch (err) {
      this.failed(err as Error);
      return undefined;
    }
  }

  async set(key: string, value: CachedResult, ttlSeconds: number): Promise<void> {
    if (ttlSeconds <= 0) return;
    await this.local.set(key, value, ttlSeconds);
    if (!this.usable()) return;
    const stored: Stored = { r: value, e: Date.now() + ttlSeconds * 1000 };
    try {
      await this.client.set(this.prefix + key, this.seal(this.prefix + key, stored), 'PX', Math.ceil(ttlSeconds * 1000));
    } catch (err) {
      this.failed(err as Error);
    }
  }

  clearLocal(): void {
    this.local.clearLocal();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.disconnect();
    await this.local.close();
  }

  /** `<mac>.<payload>` for the entry at `redisKey`. */
  private seal(redisKey: string, stored: Stored): string {
    const payload = JSON.stringify(stored);
    return `${this.key.mac('cache-entry', [redisKey, payload])}.${payload}`;
  }

  /** The entry at `redisKey` if its MAC verifies and it is well-formed; otherwise undefined (counted, first one logged). */
  private open(redisKey: string, raw: string): Stored | undefined {
    const dot = raw.indexOf('.');
    const payload = dot < 0 ? '' : raw.slice(dot + 1);
    let stored: Stored | undefined;
    if (dot > 0 && this.key.verify('cache-entry', [redisKey, payload], raw.slice(0, dot))) {
      try {
        const parsed = JSON.parse(payload) as Stored;
        if (parsed && typeof parsed.e === 'number' && parsed.r && typeof parsed.r === 'object') stored = parsed;
      } catch {
        stored = undefined;
      }
    }
    if (stored) return stored;
    this.onIntegrityFailure?.();
    if (!this.integrityFailureLogged) {
      this.integrityFailureLogged = true;
      this.logger.warn(
        { cache: 'redis', key: redisKey },
        'a shared-cache entry failed authentication and was ignored (written without the integrity key: another key, an older version, or tampering); such entries are counted in imprimatur_cache_integrity_failures_total and not logged again',
      );
    }
    return undefined;
  }

  private usable(): boolean {
    if (this.closed || Date.now() < this.skipUntil) return false;
    if (this.client.status === 'ready') return true;
    // still connecting at startup is not an outage; a lost connection is
    if (this.client.status !== 'connecting' && this.client.status !== 'connect' && this.client.status !== 'wait') this.failed(new Error(`connection ${this.client.status}`));
    return false;
  }

  private failed(err: Error): void {
    if (this.closed) return;
    this.skipUntil = Date.now() + this.backoffMs;
    if (this.degraded) return;
    this.degraded = true;
    this.logger.warn({ cache: 'redis', error: err.message }, 'Redis is unavailable or slow; verification results are cached in memory only until it is back');
  }
}
