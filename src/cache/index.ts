/** Creates the ResultStore from the environment: Redis when REDIS_URL is set, else the in-memory LRU. */
import { readFileSync } from 'node:fs';
import type { IntegrityKey } from '../integrity/key.js';
import type { Logger } from '../log.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import type { ResultStore } from './types.js';

export { MemoryStore } from './memory.js';
export { RedisStore } from './redis.js';
export { VerificationCache } from './verification-cache.js';
export { cacheKey } from './key.js';
export type { CachedResult, CacheObserver, ResultStore } from './types.js';

/**
 * REDIS_URL (`redis://` or `rediss://`, may carry `user:password@`), REDIS_PASSWORD, REDIS_CA_FILE (PEM),
 * entries authenticated with the integrity key every replica shares,
 * REDIS_TIMEOUT_MS (default 100), IMPRIMATUR_CACHE_MAX_ENTRIES (in-memory bound, default 10000).
 */
export function createResultStore(env: NodeJS.ProcessEnv, logger: Logger, integrity: { key: IntegrityKey; onIntegrityFailure?: () => void }): ResultStore {
  const max = Number(env.IMPRIMATUR_CACHE_MAX_ENTRIES ?? '') || undefined;
  const local = new MemoryStore(max);
  const url = env.REDIS_URL?.trim();
  if (!url) return local;
  if (!/^rediss?:\/\//.test(url)) throw new Error(`REDIS_URL must start with redis:// or rediss:// (got "${url.split('@').pop()}")`);
  const ca = env.REDIS_CA_FILE ? readFileSync(env.REDIS_CA_FILE, 'utf8') : undefined;
  const timeout = Number(env.REDIS_TIMEOUT_MS ?? '') || undefined;
  logger.info({ cache: 'redis', tls: url.startsWith('rediss://') }, 'verification results are shared through Redis');
  return new RedisStore({ url, ca, password: env.REDIS_PASSWORD || undefined, logger, commandTimeoutMs: timeout, local, ...integrity });
}
