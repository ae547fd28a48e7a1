/**
 * The decision core for one image: parse → most specific rule → its validator → verified digest or reason.
 * An Engine is built from one loaded config and is immutable; a config reload builds a new one.
 */
import { getMaxListeners, setMaxListeners } from 'node:events';
import { raceAbort } from '../deadline.js';
import { ImprimaturError, toImprimaturError } from '../errors.js';
import type { AppConfig, PolicyRule, RuleOptions } from '../config/types.js';
import { parseImageReference } from '../image/reference.js';
import type { ImageReference } from '../image/types.js';
import type { Logger } from '../log.js';
import { PolicyMatcher } from '../policy/matcher.js';
import { findValidatorType } from '../validators/index.js';
import type { ValidationContext, ValidationOutcome, Validator, ValidatorEnvironment, VerificationRecord } from '../validators/types.js';
import type { ImageDecision } from './types.js';
import { cacheKey } from '../cache/key.js';
import { attachLease, DEFAULT_LIMITS, processBytes, RequestBytes } from '../registry/byte-budget.js';
import type { ResultStore } from '../cache/types.js';
import { VerificationCache, type CachedValidation } from '../cache/verification-cache.js';
import { IntegrityKey } from '../integrity/key.js';
import { createCredentialSource, type AuthSettings, type CredentialSource } from '../registry/credential-binding.js';
import { emptyKeyring } from '../pull-secrets/keyring.js';
import { planCredentials, type CredentialPlan } from '../pull-secrets/plan.js';
import type { WorkloadCredentials } from '../pull-secrets/workload.js';

export interface EngineOptions {
  logger: Logger;
  secretsDir?: string;
  /** Where verification results are cached (shared across reloads; keys carry `generation`). None: no caching. */
  cache?: ResultStore;
  /** Hash of the configuration text this engine was built from (part of every cache key). */
  generation?: string;
  observer?: VerificationObserver;
  /**
   * Keys the identity of workload credentials in cache keys (`auth.fromWorkload`); every replica sharing a cache must
   * hold the same key. Default: a random key (results are then shared by nothing outside this process).
   */
  integrityKey?: IntegrityKey;
}

/** What `check` needs beyond a validator's context: the workload whose pull secrets `auth.fromWorkload` validators use. */
export interface CheckContext extends ValidationContext {
  workload?: WorkloadCredentials;
}

/** Said of credentials when an image is checked without a workload (e.g. `imprimatur explain` without --namespace). */
export const NO_WORKLOAD = 'no workload was given, so no pull secret was read; only the validator\'s own credentials were used';

/** One finished verification (metrics). `source` is `uncached` for validators that are never cached. */
export interface VerificationEvent {
  validator: string;
  type: string;
  result: 'admitted' | 'denied';
  code?: string;
  source: CachedValidation['source'] | 'uncached';
  /** Required attestations checked by this verification (predicate type URI and what became of it). */
  attestations?: Array<{ predicateType: string; result: 'satisfied' | 'missing' | 'signature_invalid' | 'policy_failed' }>;
}

export interface VerificationObserver {
  verification?(e: VerificationEvent): void;
  cache?(event: 'hit' | 'miss', store: string): void;
}

/** What `explain` needs beyond the decision: the rule ranking. */
export interface ImageCheck {
  decision: ImageDecision;
  reference?: ImageReference;
  rule?: PolicyRule;
  runnersUp: PolicyRule[];
  /** Runners-up as specific as the winning rule (the winner comes later in the policy). */
  tied?: PolicyRule[];
}

export class Engine {
  readonly matcher: PolicyMatcher;
  readonly validators = new Map<string, Validator>();
  /** Validators with `auth.fromWorkload: true`, with their own credentials (tried after the workload's). */
  private readonly workloadAuth = new Map<string, CredentialSource>();
  private readonly identityKey: IntegrityKey;

  /** Hash of the configuration text this engine was built from (owner proofs and cache keys are bound to it). */
  get generation(): string {
    return this.options.generation ?? '';
  }
  private readonly cache: VerificationCache;

  constructor(readonly config: AppConfig, private readonly options: EngineOptions) {
    this.matcher = new PolicyMatcher(config.policy);
    this.cache = new VerificationCache(options.cache, config.features.cache, options.observer?.cache);
    this.identityKey = options.integrityKey ?? IntegrityKey.random();
    const secretsDir = options.secretsDir ?? process.env.IMPRIMATUR_SECRETS_DIR ?? '/app/secrets';
    config.validators.forEach((vc, i) => {
      const type = findValidatorType(vc.type);
      if (!type) throw new ImprimaturError('CONFIG_INVALID', `validator type "${vc.type}" is not available`);
      const env: ValidatorEnvironment = {
        path: `${config.prefix}validators[${i}]`,
        file: config.file,
        insecureRegistries: config.insecureRegistries,
        secretsDir,
        logger: options.logger.child({ validator: vc.name }),
      };
      this.validators.set(vc.name, type.create(vc, env));
      const auth = vc.auth as (AuthSettings & { fromWorkload?: boolean }) | undefined;
      if (auth?.fromWorkload === true) this.workloadAuth.set(vc.name, createCredentialSource({ ...auth, secretsDir }));
    });
  }

  /** Whether some validator reads the workload's pull secrets (`auth.fromWorkload: true`). */
  get usesWorkloadCredentials(): boolean {
    return this.workloadAuth.size > 0;
  }

  /** Whether validator `name` reads the workload's pull secrets. */
  readsWorkloadCredentials(name: string): boolean {
    return this.workloadAuth.has(name);
  }

  /** Whether verifying `image` depends on the workload's pull secrets (its rule's validator has auth.fromWorkload). */
  dependsOnWorkload(image: string): boolean {
    if (this.workloadAuth.size === 0) return false;
    const reference = this.parse(image);
    if (reference instanceof ImprimaturError) return false;
    const rule = this.matcher.match(reference)?.rule;
    return rule !== undefined && this.workloadAuth.has(rule.validator);
  }

  /**
   * For a validator with `auth.fromWorkload`: the credentials an image would be verified with for this workload (no
   * workload: the validator's own). Undefined for other validators.
   */
  async credentialPlan(validatorName: string, reference: ImageReference, ctx: CheckContext): Promise<CredentialPlan | undefined> {
    const own = this.workloadAuth.get(validatorName);
    if (!own) return undefined;
    const keyring = ctx.workload ? await ctx.workload.keyring(ctx.signal) : emptyKeyring(NO_WORKLOAD);
    return planCredentials({ keyring, own, registry: reference.registry, repository: reference.repository, key: this.identityKey });
  }

  /**
   * Decides one image. Never throws: every failure becomes a denied decision with a reason.
   * `skip` (automatic unchanged approval) skips only signature verification: an image with no rule, an invalid
   * reference or a rule sending it to a static validator is decided as always (a static deny still denies).
   */
  async check(image: string, ctx: CheckContext, skip?: { because: 'unchanged'; reason: string }): Promise<ImageCheck> {
    const reference = this.parse(image);
    if (reference instanceof ImprimaturError) {
      return { decision: { image, outcome: 'denied', code: reference.code, reason: reference.message }, runnersUp: [] };
    }
    const match = this.matcher.match(reference);
    if (!match) {
      return {
        reference,
        runnersUp: [],
        decision: {
          image,
          normalized: reference.normalized,
          outcome: 'denied',
          code: 'NO_MATCHING_RULE',
          reason: `no policy rule matches ${reference.normalized}; add a rule whose pattern covers it`,
        },
      };
    }
    const { rule, tied } = match;
    const runnersUp = match.runnersUp;
    const validator = this.validators.get(rule.validator);
    const base = {
      image, normalized: reference.normalized, rule: rule.pattern, validator: rule.validator, validatorType: validator?.type, mode: rule.with.mode,
      ...(rule.with.enforcement ? { ruleEnforcement: rule.with.enforcement } : {}),
    };
    if (!validator) {
      return { reference, rule, runnersUp, tied, decision: { ...base, outcome: 'denied', code: 'INTERNAL', reason: `validator "${rule.validator}" is not loaded` } };
    }
    if (skip && validator.verifiesSignatures !== false) {
      return { reference, rule, runnersUp, decision: { ...base, outcome: 'skipped', skippedBecause: skip.because, reason: skip.reason } };
    }
    let source: VerificationEvent['source'] = 'uncached';
    const observe = (result: VerificationEvent['result'], code?: string, details?: Record<string, unknown>) =>
      this.options.observer?.verification?.({ validator: validator.name, type: validator.type, result, code, source, attestations: attestationEvents(details) });
    const marked = <T extends Record<string, unknown> | undefined>(d: T): T => (source === 'hit' && d ? { ...d, cache: 'hit' } : d);
    try {
      const verified = await this.verify(validator, reference, rule, ctx);
      source = verified.source;
      const outcome = verified.outcome;
      if (outcome.digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(outcome.digest)) {
        throw new ImprimaturError('INTERNAL', `validator "${validator.name}" returned an invalid digest`);
      }
      if (outcome.digest && reference.digest && outcome.digest !== reference.digest) {
        throw new ImprimaturError('DIGEST_MISMATCH', `the verified digest ${outcome.digest} differs from the digest in the reference (${reference.digest})`);
      }
      observe('admitted', undefined, outcome.details);
      return {
        reference,
        rule,
        runnersUp,
        tied,
        decision: { ...base, outcome: 'admitted', reason: outcome.details.summary, digest: outcome.digest, details: marked(outcome.details) },
      };
    } catch (err) {
      const e = toImprimaturError(err);
      if (err instanceof CachedDenial) source = err.source;
      if (e.code === 'INTERNAL') this.options.logger.error({ err, image }, 'validator failed unexpectedly');
      const record = e.details?.record as Record<string, unknown> | undefined;
      observe('denied', e.code, record);
      return { reference, rule, runnersUp, tied, decision: { ...base, outcome: 'denied', code: e.code, reason: e.message, details: marked(record) } };
    }
  }

  /** Parsed references by the string written in the workload (bounded; the same images come back on every request). */
  private readonly references = new Map<string, ImageReference | ImprimaturError>();

  private parse(image: string): ImageReference | ImprimaturError {
    let parsed = this.references.get(image);
    if (parsed === undefined) {
      try {
        parsed = parseImageReference(image);
      } catch (err) {
        parsed = toImprimaturError(err, 'IMAGE_REFERENCE_INVALID');
      }
      if (this.references.size >= 10_000) this.references.clear();
      this.references.set(image, parsed);
    }
    return parsed;
  }

  /**
   * validator.validate, through the cache and the in-flight coalescing when the validator is cacheable. A validator
   * with `auth.fromWorkload` runs under the credential plan of this request's workload, whose identity is part of the
   * cache key (pull-secrets/plan.ts).
   */
  private async verify(validator: Validator, reference: ImageReference, rule: PolicyRule, ctx: CheckContext): Promise<{ outcome: ValidationOutcome; source: VerificationEvent['source'] }> {
    const options = rule.with;
    const { workload: _workload, ...validation } = ctx;
    const plan = await this.credentialPlan(validator.name, reference, ctx);
    // One verification; with auth.fromWorkload, once per credential attempt until the registry accepts one.
    const attempt = (signal: AbortSignal): Promise<ValidationOutcome> => {
      const once = () => validator.validate(reference, options, { ...validation, signal });
      return plan ? plan.run(once) : once();
    };
    try {
      if (!validator.cacheable) return { outcome: await withDeadline(attempt(ctx.signal), ctx.signal, validator.name), source: 'uncached' };
      // one request's signal is shared by all its images (deadline + coalescing listeners): no leak warning
      if (getMaxListeners(ctx.signal) < 100) setMaxListeners(100, ctx.signal);
      const key = this.cacheKeyOf(validator, options, reference.normalized, plan?.identity);
      // A tag verified to digest D is also recorded as verified for `tag@D` when the same rule governs that spelling:
      // the validating webhook then sees the pinned reference (our own patch) as a cache hit.
      const pinnedKey = (o: ValidationOutcome): string | undefined => {
        if (reference.digest || !o.digest) return undefined;
        const pinned = this.parse(`${reference.normalized}@${o.digest}`);
        if (pinned instanceof ImprimaturError || this.matcher.match(pinned)?.rule !== rule) return undefined;
        return this.cacheKeyOf(validator, options, pinned.normalized, plan?.identity);
      };
      const run = async (signal: AbortSignal): Promise<ValidationOutcome> => {
        // Everything this verification reads from registries is reserved against its request's share of the process's
        // byte budget, found by the registry client through `signal`, and released when the verification ends.
        const lease = (ctx.bytes ?? new RequestBytes(processBytes, DEFAULT_LIMITS.bytesPerRequestMiB * 1024 * 1024)).lease();
        attachLease(signal, lease);
        try {
          return await attempt(signal);
        } finally {
          lease.releaseAll();
        }
      };
      const r = await withDeadline(this.cache.validate(key, ctx.signal, run, pinnedKey), ctx.signal, validator.name);
      if (r.error) throw new CachedDenial(plan ? plan.explain(r.error) : r.error, r.source);
      return { outcome: r.outcome!, source: r.source };
    } catch (err) {
      if (plan && err instanceof ImprimaturError && !(err instanceof CachedDenial)) throw plan.explain(err);
      throw err;
    }
  }

  private cacheKeyOf(validator: Validator, options: RuleOptions, reference: string, credentials?: string): string {
    return cacheKey({ generation: this.options.generation ?? '', validatorName: validator.name, validatorType: validator.type, options, reference, credentials });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.validators.values()].map((v) => v.close?.()));
  }
}

const ATTESTATION_RESULTS: Record<string, NonNullable<VerificationEvent['attestations']>[number]['result']> = {
  ATTESTATION_MISSING: 'missing',
  ATTESTATION_SIGNATURE_INVALID: 'signature_invalid',
  ATTESTATION_POLICY_FAILED: 'policy_failed',
};

/** The attestation outcomes of a verification record, for metrics. */
function attestationEvents(details: Record<string, unknown> | undefined): VerificationEvent['attestations'] {
  const list = (details as VerificationRecord | undefined)?.attestations;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return list.map((a) => ({ predicateType: a.predicateType, result: a.satisfied ? 'satisfied' : ATTESTATION_RESULTS[a.code ?? ''] ?? 'policy_failed' }));
}

/** A denial that carries where it came from (cache hit, shared flight, fresh verification). */
class CachedDenial extends ImprimaturError {
  constructor(e: ImprimaturError, readonly source: CachedValidation['source']) {
    super(e.code, e.message, e.details, { cause: e.cause });
  }
}

/** Rejects when `signal` aborts even if the validator ignores it, so no request outlives its deadline. */
function withDeadline<T>(work: Promise<T>, signal: AbortSignal, validator: string): Promise<T> {
  return raceAbort(work, signal, () => deadlineError(validator), (e) => (signal.aborted && !(e instanceof ImprimaturError) ? deadlineError(validator) : e));
}

function deadlineError(validator: string): ImprimaturError {
  return new ImprimaturError('DEADLINE_EXCEEDED', `verification by validator "${validator}" was still pending when the admission deadline passed (timeout)`);
}
