import { ImprimaturError } from '../errors.js';

/**
 * Typed errors of the registry layer. Every message is one sentence a user can act on;
 * none contains credentials, tokens or response bodies.
 */

export function registryNotFound(what: string, registry: string, status = 404): ImprimaturError {
  return new ImprimaturError('REGISTRY_NOT_FOUND', `${what} does not exist in registry ${registry}`, { registry, status });
}

export function registryUnauthorized(registry: string, credentialSource: string | undefined, detail?: string): ImprimaturError {
  const message = credentialSource
    ? `registry ${registry} refused the credentials from ${credentialSource}${detail ? ` (${detail})` : ''}`
    : `registry ${registry} requires authentication, but no credentials are configured for it${detail ? ` (${detail})` : ''}; set auth.secretName on the validator (a mounted kubernetes.io/dockerconfigjson secret)`;
  return new ImprimaturError('REGISTRY_UNAUTHORIZED', message, { registry, ...(detail ? { detail } : {}) });
}

/** The registry's token service is on a host its credentials are not bound to: they were withheld (credential-binding.ts). */
export function registryCredentialsWithheld(registry: string, tokenServiceHost: string): ImprimaturError {
  return new ImprimaturError(
    'REGISTRY_UNAUTHORIZED',
    `registry ${registry} requires authentication, but its token service ${tokenServiceHost} is not a host the credentials are bound to, so they were not sent; add "${tokenServiceHost}" to the validator's auth.tokenHosts if that service is the registry's own`,
    { registry, tokenService: tokenServiceHost },
  );
}

export function registryForbidden(registry: string, scope: string | undefined): ImprimaturError {
  const target = scope ? ` to ${scope.split(':')[1] ?? scope}` : '';
  return new ImprimaturError('REGISTRY_FORBIDDEN', `registry ${registry} denied access${target} (HTTP 403)`, { registry });
}

export function registryRateLimited(registry: string, attempts: number, retryAfterSeconds?: number): ImprimaturError {
  const wait = retryAfterSeconds !== undefined ? `; it asks to retry after ${retryAfterSeconds} s` : '';
  return new ImprimaturError(
    'REGISTRY_RATE_LIMITED',
    `registry ${registry} is rate limiting requests (HTTP 429 after ${attempts} attempt${attempts === 1 ? '' : 's'})${wait}`,
    { registry, attempts, retryAfterSeconds },
  );
}

export function registryUnavailable(registry: string, status: number, attempts: number): ImprimaturError {
  return new ImprimaturError(
    'REGISTRY_UNREACHABLE',
    `registry ${registry} is unavailable (HTTP ${status} after ${attempts} attempt${attempts === 1 ? '' : 's'})`,
    { registry, status, attempts },
  );
}

export function registryUnreachable(registry: string, reason: string, cause?: unknown): ImprimaturError {
  return new ImprimaturError('REGISTRY_UNREACHABLE', `registry ${registry} is unreachable (${reason})`, { registry, reason }, { cause });
}

export function registryTimeout(registry: string, timeoutMs: number, cause?: unknown): ImprimaturError {
  return new ImprimaturError(
    'REGISTRY_TIMEOUT',
    `registry ${registry} did not answer within ${formatSeconds(timeoutMs)} s (timeout)`,
    { registry, timeoutMs },
    { cause },
  );
}

export function registryDeadline(registry: string, cause?: unknown): ImprimaturError {
  return new ImprimaturError(
    'REGISTRY_TIMEOUT',
    `registry ${registry} did not answer before the admission deadline (timeout)`,
    { registry },
    { cause },
  );
}

export function registryTls(registry: string, reason: string, cause?: unknown): ImprimaturError {
  return new ImprimaturError('REGISTRY_TLS', `TLS connection to registry ${registry} failed: ${reason}`, { registry }, { cause });
}

export function registryBadResponse(registry: string, reason: string): ImprimaturError {
  return new ImprimaturError('REGISTRY_BAD_RESPONSE', `registry ${registry} sent an unusable response: ${reason}`, { registry });
}

export function responseTooLarge(registry: string, what: string, maxBytes: number): ImprimaturError {
  return new ImprimaturError(
    'RESPONSE_TOO_LARGE',
    `registry ${registry} sent more than ${formatBytes(maxBytes)} for ${what}; the response was refused`,
    { registry, maxBytes },
  );
}

export function digestMismatch(registry: string, what: string, expected: string, actual: string): ImprimaturError {
  return new ImprimaturError(
    'DIGEST_MISMATCH',
    `registry ${registry} sent content for ${what} whose digest is ${actual}, not ${expected}; the content was refused`,
    { registry, expected, actual },
  );
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? String(s) : s.toFixed(1);
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
