/**
 * Cache + coalescing around `Validator.validate`, for one Engine (one config generation).
 * A hit replays the same outcome (digest and record) or the same denial (code, message, record).
 * Transient failures (deadline, timeouts, unreachable or rate-limited registry, internal errors) are never cached.
 */
import { ImprimaturError, toImprimaturError } from '../errors.js';
import type { ValidationOutcome } from '../validators/types.js';
import { Coalescer } from './coalesce.js';
import type { CachedResult, CacheObserver, ResultStore } from './types.js';

/** Denials that say nothing lasting about the image: re-verified on the next request. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'DEADLINE_EXCEEDED',
  'REGISTRY_TIMEOUT',
  'REGISTRY_UNREACHABLE',
  'REGISTRY_RATE_LIMITED',
  'REGISTRY_TLS',
  'REGISTRY_BAD_RESPONSE',
  'REGISTRY_CREDENTIALS_INVALID',
  'REQUEST_BYTES_LIMIT',
  'INTERNAL',
]);

export interface CacheSettings {
  /** 0 disables caching (coalescing of concurrent identical verifications stays on). */
  expirySeconds: number;
  cacheErrors: boolean;
}

export interface CachedValidation {
  /** Set when the image verified. */
  outcome?: ValidationOutcome;
  /** Set when it was denied (a cached denial keeps its code, message and record). */
  error?: ImprimaturError;
  /** `hit`: from the cache; `shared`: joined a verification in flight; `miss`: verified now. */
  source: 'hit' | 'shared' | 'miss';
}

export class VerificationCache {
  private readonly flights = new Coalescer<CachedResult>();

  constructor(
    private readonly store: ResultStore | undefined,
    private readonly settings: CacheSettings,
    private readonly observer?: CacheObserver,
  ) {}

  get enabled(): boolean {
    return this.store !== undefined && this.settings.expirySeconds > 0;
  }

  /**
   * Never rejects: the outcome or the denial, and where it came from. `alsoKey` names a second key under which a fresh
   * successful outcome is stored as well (a tag's result recorded for the digest-pinned spelling).
   */
  async validate(
    key: string,
    signal: AbortSignal,
    verify: (signal: AbortSignal) => Promise<ValidationOutcome>,
    alsoKey?: (outcome: ValidationOutcome) => string | undefined,
  ): Promise<CachedValidation> {
    if (this.enabled) {
      const cached = await this.store!.get(key);
      this.observer?.(cached ? 'hit' : 'miss', this.store!.kind);
      if (cached) return { ...replay(cached), source: 'hit' };
    }
    const { promise, shared } = this.flights.run(key, signal, async (s) => {
      const result = await verify(s).then(
        (o): CachedResult => ({ ok: true, digest: o.digest, details: o.details }),
        (err: unknown): CachedResult => {
          const e = toImprimaturError(err);
          return { ok: false, code: e.code, message: e.message, details: e.details?.record as Record<string, unknown> | undefined, error: e } as CachedResult;
        },
      );
      if (this.enabled && this.cacheable(result)) {
        await this.store!.set(key, strip(result), this.settings.expirySeconds);
        const alias = result.ok ? alsoKey?.({ digest: result.digest, details: result.details as ValidationOutcome['details'] }) : undefined;
        if (alias !== undefined) await this.store!.set(alias, strip(result), this.settings.expirySeconds);
      }
      return result;
    });
    const result = await promise.catch((err: unknown): CachedResult => {
      const e = toImprimaturError(err);
      return { ok: false, code: e.code, message: e.message, error: e } as CachedResult;
    });
    return { ...replay(result), source: shared ? 'shared' : 'miss' };
  }

  private cacheable(r: CachedResult): boolean {
    if (r.ok) return true;
    return this.settings.cacheErrors && !TRANSIENT_CODES.has(r.code);
  }
}

/** The stored form: no live Error objects. */
function strip(r: CachedResult): CachedResult {
  if (r.ok) return r;
  return { ok: false, code: r.code, message: r.message, ...(r.details ? { details: r.details } : {}) };
}

function replay(r: CachedResult): { outcome?: ValidationOutcome; error?: ImprimaturError } {
  if (r.ok) return { outcome: { digest: r.digest, details: r.details as ValidationOutcome['details'] } };
  const live = (r as { error?: ImprimaturError }).error;
  return { error: live ?? new ImprimaturError(r.code, r.message, r.details ? { record: r.details } : undefined) };
}
