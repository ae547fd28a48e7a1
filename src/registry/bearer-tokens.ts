import { createHmac, randomBytes } from 'node:crypto';
import type { HttpResponse } from './types.js';
import type { Credentials } from './credentials.js';
import { registryBadResponse, registryUnauthorized } from './registry-errors.js';

/**
 * Docker v2 bearer tokens (the flow of Docker Hub, GHCR, Quay, distribution's token auth):
 * `GET <realm>?service=<service>&scope=<scope>` with Basic credentials when there are any;
 * the answer carries `token` or `access_token` and `expires_in` (default 60 s).
 * Tokens are cached per (realm, service, scope, credentials) until shortly before they expire — the credentials as
 * a whole (user and password, through a keyed hash), never the user alone: two namespaces' pull secrets may carry the
 * same user with different passwords, and a token obtained with the right one must not serve the wrong one.
 * Concurrent requests for the same token share one call to the token service.
 */

export interface TokenRequest {
  realm: string;
  service?: string;
  scope?: string;
  credentials?: Credentials;
  /** For messages: registry name and where the credentials came from. */
  registry: string;
  credentialSource?: string;
  signal: AbortSignal;
}

/** Fetches a URL (with retries/redirects, no auth) — supplied by the transport. */
export type TokenFetch = (url: URL, headers: Record<string, string>, signal: AbortSignal, registry: string) => Promise<HttpResponse>;

const DEFAULT_EXPIRES_IN_S = 60;
const MAX_MARGIN_MS = 10_000;

export class BearerTokenCache {
  private readonly entries = new Map<string, { token: Promise<string>; expiresAt: number }>();

  constructor(private readonly fetch: TokenFetch, private readonly now: () => number = Date.now) {}

  /** A valid token, from the cache unless `refresh` is set (e.g. the registry rejected the cached one). */
  get(req: TokenRequest, refresh = false): Promise<string> {
    const key = JSON.stringify([req.realm, req.service ?? '', req.scope ?? '', credentialsFingerprint(req.credentials)]);
    const cached = this.entries.get(key);
    if (cached && !refresh && cached.expiresAt > this.now()) return cached.token;
    // While the request is pending, expiresAt is infinite so that concurrent callers share it.
    const entry = { token: Promise.resolve(''), expiresAt: Number.POSITIVE_INFINITY };
    entry.token = this.request(req).then(
      ({ token, expiresAt }) => {
        entry.expiresAt = expiresAt;
        return token;
      },
      (err: unknown) => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw err;
      },
    );
    this.entries.set(key, entry);
    return entry.token;
  }

  clear(): void {
    this.entries.clear();
  }

  private async request(req: TokenRequest): Promise<{ token: string; expiresAt: number }> {
    const url = new URL(req.realm);
    if (req.service) url.searchParams.set('service', req.service);
    if (req.scope) url.searchParams.set('scope', req.scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (req.credentials) {
      headers['authorization'] = `Basic ${Buffer.from(`${req.credentials.username}:${req.credentials.password}`).toString('base64')}`;
    }
    const started = this.now();
    const res = await this.fetch(url, headers, req.signal, req.registry);
    if (res.status === 401 || res.status === 403) {
      throw registryUnauthorized(req.registry, req.credentials ? req.credentialSource : undefined, `token service ${url.host} answered HTTP ${res.status}`);
    }
    if (res.status !== 200) throw registryBadResponse(req.registry, `token service ${url.host} answered HTTP ${res.status}`);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw registryBadResponse(req.registry, `token service ${url.host} did not answer JSON`);
    }
    const token = typeof body['token'] === 'string' && body['token'] ? body['token'] : body['access_token'];
    if (typeof token !== 'string' || !token) throw registryBadResponse(req.registry, `token service ${url.host} answered without a token`);
    const expiresInS = typeof body['expires_in'] === 'number' && body['expires_in'] > 0 ? body['expires_in'] : DEFAULT_EXPIRES_IN_S;
    const lifetimeMs = expiresInS * 1000;
    return { token, expiresAt: started + lifetimeMs - Math.min(MAX_MARGIN_MS, lifetimeMs / 2) };
  }
}

/** Key of this process's in-memory token cache only: credentials are never kept in it in clear. */
const FINGERPRINT_KEY = randomBytes(32);

function credentialsFingerprint(c: Credentials | undefined): string {
  return c ? createHmac('sha256', FINGERPRINT_KEY).update(JSON.stringify([c.username, c.password])).digest('base64url') : '';
}
