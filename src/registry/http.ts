import { rootCertificates } from 'node:tls';
import { Agent } from 'undici';
import { ImprimaturError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { HttpResponse, HttpTransport, RegistryClientOptions } from './types.js';
import { BearerTokenCache } from './bearer-tokens.js';
import type { Credentials } from './credentials.js';
import { createCredentialSource, type CredentialSource } from './credential-binding.js';
import { scopedCredentialSource } from './credential-scope.js';
import { exchange, headerValue, isRetryableNetworkError } from './http-exchange.js';
import { isSchemeAllowed } from './insecure-registries.js';
import { registryCredentialsWithheld, registryDeadline, registryForbidden, registryRateLimited, registryTls, registryUnauthorized, registryUnavailable } from './registry-errors.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, parseRetryAfter, sleep, type RetryPolicy } from './retry.js';
import { parseWwwAuthenticate } from './www-authenticate.js';

export interface HttpTransportOptions extends RegistryClientOptions {
  logger?: Logger;
  /** Retry schedule for 429, 5xx and connection resets (default: 3 attempts, 200 ms doubling, waits ≤ 2 s). */
  retry?: Partial<RetryPolicy>;
  /** Pooled keep-alive connections per origin (default 8). */
  connectionsPerOrigin?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
const MAX_REDIRECTS = 5;
const TOKEN_MAX_BYTES = 1024 * 1024;

type OriginAuth = { kind: 'basic' } | { kind: 'bearer'; realm: string; service?: string };

/**
 * The HttpTransport: undici keep-alive pool, system CAs plus the extra `ca`, plain HTTP only for
 * `insecureRegistries`, per-request timeout, bounded retries, Basic and bearer-token auth, size cap.
 *
 * `get` resolves with 2xx/3xx/404 and other 4xx answers, and throws ImprimaturError for 401
 * (REGISTRY_UNAUTHORIZED), 403 (REGISTRY_FORBIDDEN), 429 after retries (REGISTRY_RATE_LIMITED),
 * 5xx after retries (REGISTRY_UNREACHABLE) and every network failure.
 */
export function createHttpTransport(opts: HttpTransportOptions): HttpTransport {
  return new RegistryHttpTransport(opts);
}

class RegistryHttpTransport implements HttpTransport {
  private readonly agent: Agent;
  private readonly credentials: CredentialSource;
  private readonly tokens: BearerTokenCache;
  private readonly originAuth = new Map<string, OriginAuth>();
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly logger: Logger;

  constructor(private readonly opts: HttpTransportOptions) {
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      connections: opts.connectionsPerOrigin ?? 8,
      // undici's `ca` replaces the default trust store: keep the system CAs next to the extra one
      connect: opts.ca ? { ca: [...rootCertificates, opts.ca], rejectUnauthorized: true } : { rejectUnauthorized: true },
    });
    // auth.fromWorkload: the image's registry gets the credentials the engine chose for this verification (a pull secret
    // of the workload, else these); see credential-scope.ts
    this.credentials = opts.fromWorkload ? scopedCredentialSource(createCredentialSource(opts), opts.tokenHosts ?? []) : createCredentialSource(opts);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.logger = opts.logger ?? silentLogger;
    this.tokens = new BearerTokenCache(async (url, headers, signal, registry) => (await this.send(url, 'GET', headers, TOKEN_MAX_BYTES, signal, registry)).res);
  }

  async get(
    url: string,
    o: { signal: AbortSignal; accept?: string[]; maxBytes: number; scope?: string; method?: 'GET' | 'HEAD'; registry?: string; repository?: string },
  ): Promise<HttpResponse> {
    const target = new URL(url);
    const registry = o.registry ?? target.host;
    const repository = o.repository ?? repositoryFromScope(o.scope) ?? repositoryFromPath(target.pathname) ?? '';
    const method = o.method ?? 'GET';
    const baseHeaders: Record<string, string> = {};
    if (o.accept?.length) baseHeaders['accept'] = o.accept.join(', ');

    const lookupCredentials = (): Credentials | undefined => this.credentials.lookup(registry, repository);
    const known = this.originAuth.get(target.origin);
    let authorization: string | undefined;
    let usedToken = false;
    let sentCredentials = false;
    if (known?.kind === 'basic') {
      const creds = lookupCredentials();
      if (creds) {
        authorization = basicAuth(creds);
        sentCredentials = true;
      }
    } else if (known?.kind === 'bearer') {
      const creds = this.forTokenService(lookupCredentials(), known.realm, registry, target);
      authorization = `Bearer ${await this.tokens.get({ ...known, scope: o.scope, credentials: creds, registry, credentialSource: this.credentials.description, signal: o.signal })}`;
      usedToken = true;
      sentCredentials = creds !== undefined;
    }

    let { res, attempts } = await this.send(target, method, withAuth(baseHeaders, authorization), o.maxBytes, o.signal, registry);

    if (res.status === 401) {
      let withheld: string | undefined;
      const challenges = parseWwwAuthenticate(res.headers['www-authenticate']);
      const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params['realm']);
      const basic = challenges.find((c) => c.scheme === 'basic');
      const creds = lookupCredentials();
      if (bearer) {
        const realm = bearer.params['realm']!;
        const realmUrl = parseUrl(realm);
        if (!realmUrl || !isSchemeAllowed(this.opts.insecureRegistries, realmUrl)) {
          throw registryTls(registry, `its token service ${realmUrl?.host ?? realm} is plain HTTP and not listed in insecureRegistries`);
        }
        const service = bearer.params['service'];
        this.originAuth.set(target.origin, { kind: 'bearer', realm, service });
        // Our own scope (pull of the repository being verified), never the one the challenge names; credentials only
        // for a token service they are bound to.
        const tokenCreds = this.forTokenService(creds, realm, registry, target);
        withheld = creds !== undefined && tokenCreds === undefined ? realmUrl.host : undefined;
        const token = await this.tokens.get(
          { realm, service, scope: o.scope, credentials: tokenCreds, registry, credentialSource: this.credentials.description, signal: o.signal },
          usedToken,
        ).catch((err: unknown) => {
          throw withheld && err instanceof ImprimaturError && err.code === 'REGISTRY_UNAUTHORIZED' ? registryCredentialsWithheld(registry, withheld) : err;
        });
        sentCredentials = tokenCreds !== undefined;
        ({ res, attempts } = await this.send(target, method, withAuth(baseHeaders, `Bearer ${token}`), o.maxBytes, o.signal, registry));
      } else if (basic && creds && !(known?.kind === 'basic' && sentCredentials)) {
        this.originAuth.set(target.origin, { kind: 'basic' });
        sentCredentials = true;
        ({ res, attempts } = await this.send(target, method, withAuth(baseHeaders, basicAuth(creds)), o.maxBytes, o.signal, registry));
      }
      if (res.status === 401 && withheld) throw registryCredentialsWithheld(registry, withheld);
      if (res.status === 401) throw registryUnauthorized(registry, sentCredentials ? this.credentials.description : undefined, 'HTTP 401');
    }
    if (res.status === 403) throw registryForbidden(registry, o.scope);
    if (res.status === 429) throw registryRateLimited(registry, attempts, secondsOf(parseRetryAfter(res.headers['retry-after'])));
    if (res.status >= 500) throw registryUnavailable(registry, res.status, attempts);
    return res;
  }

  /** `creds` when they may go to the token service at `realm` (see credential-binding.ts), else undefined. */
  private forTokenService(creds: Credentials | undefined, realm: string, registry: string, target: URL): Credentials | undefined {
    if (!creds) return undefined;
    const realmUrl = parseUrl(realm);
    if (realmUrl && this.credentials.mayAuthenticateAt(realmUrl, registry, target)) return creds;
    this.logger.debug({ registry, tokenService: realmUrl?.host }, 'credentials withheld from a token service they are not bound to');
    return undefined;
  }

  async close(): Promise<void> {
    this.tokens.clear();
    await this.agent.destroy();
  }

  /** One logical request: retries on 429/5xx/connection reset, follows redirects. */
  private async send(
    url: URL,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    maxBytes: number,
    signal: AbortSignal,
    registry: string,
  ): Promise<{ res: HttpResponse; attempts: number }> {
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.followRedirects(url, method, headers, maxBytes, signal, registry);
      } catch (err) {
        if (!isRetryableNetworkError(err) || attempt >= this.retry.maxAttempts) throw err;
        await this.wait(backoffDelay(this.retry, attempt), signal, registry);
        this.logger.debug({ registry, attempt, reason: 'connection reset' }, 'retrying registry request');
        continue;
      }
      const retryable = res.status === 429 || res.status >= 500;
      if (!retryable || attempt >= this.retry.maxAttempts) return { res, attempts: attempt };
      const retryAfter = parseRetryAfter(res.headers['retry-after']);
      if (retryAfter !== undefined && retryAfter > this.retry.maxDelayMs) return { res, attempts: attempt };
      await this.wait(retryAfter ?? backoffDelay(this.retry, attempt), signal, registry);
      this.logger.debug({ registry, attempt, status: res.status }, 'retrying registry request');
    }
  }

  private async followRedirects(
    start: URL,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    maxBytes: number,
    signal: AbortSignal,
    registry: string,
  ): Promise<HttpResponse> {
    let url = start;
    let currentHeaders = headers;
    for (let hop = 0; ; hop++) {
      if (!isSchemeAllowed(this.opts.insecureRegistries, url)) {
        throw registryTls(registry, `refusing plain HTTP to ${url.host}: it is not listed in insecureRegistries`);
      }
      const res = await exchange(this.agent, { url, method, headers: currentHeaders, maxBytes, signal, timeoutMs: this.timeoutMs, registry });
      const location = headerValue(res.headers['location']);
      if (![301, 302, 303, 307, 308].includes(res.status) || !location || hop >= MAX_REDIRECTS) return res;
      const next = new URL(location, url);
      if (next.origin !== url.origin) {
        // never forward registry credentials to another host (e.g. a blob storage redirect)
        const { authorization: _dropped, ...rest } = currentHeaders;
        currentHeaders = rest;
      }
      url = next;
    }
  }

  private async wait(ms: number, signal: AbortSignal, registry: string): Promise<void> {
    try {
      await sleep(ms, signal);
    } catch (err) {
      throw registryDeadline(registry, err);
    }
  }
}

function withAuth(headers: Record<string, string>, authorization: string | undefined): Record<string, string> {
  return authorization ? { ...headers, authorization } : headers;
}

function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** `repository:org/app:pull` → `org/app`. */
function repositoryFromScope(scope: string | undefined): string | undefined {
  const m = scope?.match(/^repository(?:\([^)]*\))?:([^:\s]+):/);
  return m?.[1];
}

/** `/v2/org/app/manifests/x` → `org/app`. */
function repositoryFromPath(path: string): string | undefined {
  const m = path.match(/^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers|_trust)\//);
  return m?.[1];
}

function parseUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

function secondsOf(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.ceil(ms / 1000);
}
