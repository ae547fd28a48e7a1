/**
 * How one image is verified by a validator with `auth.fromWorkload: true`: which credentials are tried, in which
 * order, under which cache identity, and what a refusal says.
 *
 * - **Attempts**, as the kubelet pulls: every credential of the workload's pull secrets whose key matches the image's
 *   registry (keyring.ts), then the validator's own (`auth.secretName` or username/password) when it has some for
 *   that registry; the next is tried only when the registry refuses the previous one (HTTP 401/403). With none at
 *   all, the registry is asked anonymously. Each attempt runs the whole verification with that one choice in force
 *   for the image's registry (credential-scope.ts); nothing is sent to any other host.
 * - **Identity**: an HMAC (integrity key, purpose `credential-identity`) of the attempts' credentials. It is part of
 *   the verification's cache key, so a result obtained with some credentials is only ever reused for a request whose
 *   workload presents exactly the same ones — another namespace holding a copy of the same secret shares it, a
 *   namespace without it (or with other credentials) verifies for itself. The HMAC keeps credentials out of cache
 *   keys (and Redis) in any guessable form.
 * - **Refusals** are recorded neutrally (what each attempt got, by position) so that a cached or shared refusal is
 *   true for every request with the same identity; `explain` then names this request's own secrets.
 */
import { ImprimaturError, toImprimaturError } from '../errors.js';
import type { IntegrityKey } from '../integrity/key.js';
import { normaliseHost, type CredentialSource } from '../registry/credential-binding.js';
import { withCredentialChoice } from '../registry/credential-scope.js';
import type { Credentials } from '../registry/credentials.js';
import { describeSecrets, keyringCandidates, type Candidate, type WorkloadKeyring } from './keyring.js';

export interface CredentialPlan {
  /** Cache identity of the credentials this verification may use. */
  readonly identity: string;
  /** Runs `verify` once per attempt until one is not refused by the registry. */
  run<T>(verify: () => Promise<T>): Promise<T>;
  /** A refusal of the image's registry, rewritten to say which of this request's credentials were tried and why each failed. */
  explain(error: ImprimaturError): ImprimaturError;
  /** For `imprimatur explain`: the credentials that would be tried, in order. */
  readonly tried: string[];
}

export interface PlanInput {
  keyring: WorkloadKeyring;
  /** The validator's own credentials (its auth block), tried after the workload's. */
  own: CredentialSource;
  registry: string;
  repository: string;
  key: IntegrityKey;
}

/** What a refused attempt got, without naming where its credentials came from (it may be replayed to another request). */
interface RefusedAttempt {
  outcome: string;
}

const REFUSALS = new Set(['REGISTRY_UNAUTHORIZED', 'REGISTRY_FORBIDDEN']);

export function planCredentials({ keyring, own, registry, repository, key }: PlanInput): CredentialPlan {
  const host = normaliseHost(registry);
  const workload = keyringCandidates(keyring, registry, repository);
  let ownProblem: string | undefined;
  let ownCredentials: Credentials | undefined;
  try {
    ownCredentials = own.lookup(registry, repository);
  } catch (err) {
    ownProblem = toImprimaturError(err).message;
  }
  const candidates: Candidate[] = [...workload];
  if (ownCredentials) candidates.push({ credentials: ownCredentials, description: `${own.description ?? 'the validator\'s credentials'} (the validator's own auth)` });
  // the same credentials twice (a secret named twice, or copied into the validator's) are tried once
  const attempts = candidates.filter((c, i) => candidates.findIndex((d) => d.credentials.username === c.credentials.username && d.credentials.password === c.credentials.password) === i);
  const identity = key.mac('credential-identity', [host, attempts.map((a) => [a.credentials.username, a.credentials.password])]);

  const isOurRefusal = (e: ImprimaturError) => REFUSALS.has(e.code) && typeof e.details?.registry === 'string' && normaliseHost(e.details.registry) === host;

  return {
    identity,
    tried: attempts.length ? attempts.map((a) => a.description) : ['no credentials (anonymous)'],
    async run<T>(verify: () => Promise<T>): Promise<T> {
      if (attempts.length === 0) {
        try {
          return await withCredentialChoice({ registry }, verify);
        } catch (err) {
          const e = toImprimaturError(err);
          throw isOurRefusal(e) ? refused(e, registry, []) : e;
        }
      }
      const refusedAttempts: RefusedAttempt[] = [];
      for (const attempt of attempts) {
        try {
          return await withCredentialChoice({ registry, credentials: attempt.credentials, description: `the credentials for ${registry}` }, verify);
        } catch (err) {
          const e = toImprimaturError(err);
          if (!isOurRefusal(e)) throw e;
          refusedAttempts.push({ outcome: outcomeOf(e) });
          if (refusedAttempts.length === attempts.length) throw refused(e, registry, refusedAttempts);
        }
      }
      throw new ImprimaturError('INTERNAL', 'no credential attempt was made'); // unreachable: attempts is not empty
    },
    explain(error: ImprimaturError): ImprimaturError {
      const record = error.details?.record as { credentials?: { registry?: string; attempts?: RefusedAttempt[] } } | undefined;
      const seen = record?.credentials;
      // a refusal this plan recorded (also when replayed from the cache, which keeps only code, message and record)
      if (!seen || !REFUSALS.has(error.code) || typeof seen.registry !== 'string' || normaliseHost(seen.registry) !== host) return error;
      const where = keyring.origin;
      const others = describeSecrets(keyring, registry, repository);
      const context = [...others, ...(keyring.note ? [keyring.note] : []), ...(ownProblem ? [`the validator's own credentials cannot be used: ${ownProblem}`] : [])];
      let message: string;
      if (!seen.attempts || seen.attempts.length === 0) {
        message = `registry ${registry} requires authentication, and no credentials for it were found (pull secrets from ${where}; the validator's own auth has none for it)`;
        if (context.length) message += `: ${context.join('; ')}`;
        message += `; add a kubernetes.io/dockerconfigjson pull secret with an entry for ${registry} to the workload's imagePullSecrets or its ServiceAccount`;
      } else {
        const tried = seen.attempts.map((a, i) => `${attempts[i]?.description ?? `credentials #${i + 1}`}: ${a.outcome}`);
        message = `registry ${registry} refused every credential tried (pull secrets from ${where}): ${tried.join('; ')}`;
        if (context.length) message += `; also: ${context.join('; ')}`;
      }
      return new ImprimaturError(error.code, message, { ...error.details, record: { ...(error.details?.record as object), summary: message } });
    },
  };
}

/** The neutral refusal that is cached: the registry, and what each attempt got, by position. */
function refused(last: ImprimaturError, registry: string, attempts: RefusedAttempt[]): ImprimaturError {
  const message = attempts.length === 0 ? `registry ${registry} requires authentication` : `registry ${registry} refused every credential tried`;
  return new ImprimaturError(last.code, message, { registry, record: { summary: message, credentials: { registry, attempts } } });
}

function outcomeOf(e: ImprimaturError): string {
  const tokenService = e.details?.tokenService;
  if (typeof tokenService === 'string') {
    return `not sent: the registry's token service ${tokenService} is not a host these credentials are bound to (add "${tokenService}" to the validator's auth.tokenHosts if it is the registry's own)`;
  }
  if (e.code === 'REGISTRY_FORBIDDEN') return 'denied access (HTTP 403)';
  const detail = e.details?.detail;
  return `refused (${typeof detail === 'string' ? detail : 'HTTP 401'})`;
}
