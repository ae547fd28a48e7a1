/**
 * Secrets and ServiceAccounts read through the Kubernetes API for `auth.fromWorkload`, one `get` each (never a list
 * or a watch: Imprimatur holds only the pull secrets that workloads name, never every Secret of the cluster).
 *
 * - Found objects are kept `ttlMs` (default 10 s) in a bounded LRU, as parsed credential entries (never the raw
 *   Secret); a rotated secret is therefore used at most `ttlMs` after the change. A missing object is not kept, so a
 *   secret created just before its Pod is found.
 * - Concurrent reads of one object share one request.
 * - Each read is bounded by the caller's signal (the admission deadline) and by `timeoutMs` (default 10 s, for an API
 *   server that hangs: the first read also loads the Kubernetes client and discovers the API, which takes seconds on a
 *   busy node); a read that fails (HTTP 403, API server unreachable, timeout) gives `unavailable` with the reason, and
 *   is not kept.
 */
import { LRUCache } from 'lru-cache';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ObjectReader } from '../admission/child-approval.js';
import { raceAbort } from '../deadline.js';
import { ImprimaturError } from '../errors.js';
import { parseDockerConfig, parseDockercfg, type CredentialEntry } from '../registry/credentials.js';

export const DOCKER_CONFIG_JSON = 'kubernetes.io/dockerconfigjson';
export const DOCKER_CFG = 'kubernetes.io/dockercfg';

/** A pull secret as read: usable entries, or why it cannot be used. */
export type SecretLookup =
  | { status: 'found'; entries: CredentialEntry[] }
  | { status: 'missing' }
  | { status: 'wrong-type'; reason: string }
  | { status: 'invalid'; reason: string }
  | { status: 'unavailable'; reason: string };

export type ServiceAccountLookup =
  | { status: 'found'; imagePullSecrets: string[] }
  | { status: 'missing' }
  | { status: 'unavailable'; reason: string };

/** Where pull secrets and ServiceAccounts come from (the API server, through PullSecretStore). */
export interface PullSecretSource {
  secret(namespace: string, name: string, signal: AbortSignal): Promise<SecretLookup>;
  serviceAccount(namespace: string, name: string, signal: AbortSignal): Promise<ServiceAccountLookup>;
}

export interface PullSecretStoreOptions {
  reader: ObjectReader;
  ttlMs?: number;
  maxEntries?: number;
  timeoutMs?: number;
  /** Called once per API read with its result (metrics). */
  observe?: (kind: 'Secret' | 'ServiceAccount', result: 'found' | 'missing' | 'error') => void;
}

type Lookup = SecretLookup | ServiceAccountLookup;

export class PullSecretStore implements PullSecretSource {
  private readonly kept: LRUCache<string, Lookup>;
  private readonly inflight = new Map<string, Promise<Lookup>>();
  private readonly timeoutMs: number;

  constructor(private readonly options: PullSecretStoreOptions) {
    this.kept = new LRUCache<string, Lookup>({ max: options.maxEntries ?? 2000, ttl: options.ttlMs ?? 10_000, ttlAutopurge: false });
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  secret(namespace: string, name: string, signal: AbortSignal): Promise<SecretLookup> {
    return this.lookup('Secret', namespace, name, signal, secretLookup) as Promise<SecretLookup>;
  }

  serviceAccount(namespace: string, name: string, signal: AbortSignal): Promise<ServiceAccountLookup> {
    return this.lookup('ServiceAccount', namespace, name, signal, serviceAccountLookup) as Promise<ServiceAccountLookup>;
  }

  /** Forgets everything kept (tests, config reload is not needed: the objects do not depend on the config). */
  clear(): void {
    this.kept.clear();
  }

  private async lookup(kind: 'Secret' | 'ServiceAccount', namespace: string, name: string, signal: AbortSignal, interpret: (o: KubernetesObject, ns: string, name: string) => Lookup): Promise<Lookup> {
    const key = `${kind}/${namespace}/${name}`;
    const kept = this.kept.get(key);
    if (kept) return kept;
    let read = this.inflight.get(key);
    if (!read) {
      const bound = AbortSignal.timeout(this.timeoutMs);
      const started = this.options
        .reader({ apiVersion: 'v1', kind, name, namespace }, bound)
        .then((object) => interpret(object, namespace, name), (err: unknown) => failedRead(err, this.timeoutMs));
      read = raceAbort(started, bound, () => new Error('timeout')).catch((): Lookup => ({ status: 'unavailable', reason: `the API server did not answer within ${this.timeoutMs / 1000} s` }));
      this.inflight.set(key, read);
      void read.then((result) => {
        this.inflight.delete(key);
        this.options.observe?.(kind, result.status === 'missing' ? 'missing' : result.status === 'unavailable' ? 'error' : 'found');
        if (result.status !== 'missing' && result.status !== 'unavailable') this.kept.set(key, result);
      });
    }
    return raceAbort(read, signal, () => new ImprimaturError('DEADLINE_EXCEEDED', `reading ${kind} ${namespace}/${name} was still pending when the admission deadline passed`)).catch(
      (err: unknown): Lookup => ({ status: 'unavailable', reason: (err as Error).message }),
    );
  }
}

/** The entries of a pull secret, as the kubelet reads them (type and key must agree; anything else is ignored). */
export function secretLookup(o: KubernetesObject): SecretLookup {
  const secret = o as KubernetesObject & { type?: string; data?: Record<string, string> };
  const type = secret.type ?? 'Opaque';
  const key = type === DOCKER_CONFIG_JSON ? '.dockerconfigjson' : type === DOCKER_CFG ? '.dockercfg' : undefined;
  if (!key) return { status: 'wrong-type', reason: `its type is ${type}, not ${DOCKER_CONFIG_JSON} (or the legacy ${DOCKER_CFG}); the kubelet ignores it too` };
  const data = secret.data?.[key];
  if (!data) return { status: 'wrong-type', reason: `it has no ${key} key; the kubelet ignores it too` };
  const text = Buffer.from(data, 'base64').toString('utf8');
  try {
    return { status: 'found', entries: key === '.dockercfg' ? parseDockercfg(text, key) : parseDockerConfig(text, key) };
  } catch (err) {
    const reason = (err as ImprimaturError).details?.reason;
    return { status: 'invalid', reason: `its ${key} ${typeof reason === 'string' ? reason : 'cannot be read'}` };
  }
}

function serviceAccountLookup(o: KubernetesObject): ServiceAccountLookup {
  const listed = (o as { imagePullSecrets?: Array<{ name?: unknown }> }).imagePullSecrets;
  const names = Array.isArray(listed) ? listed.map((r) => r?.name).filter((n): n is string => typeof n === 'string' && n !== '') : [];
  return { status: 'found', imagePullSecrets: [...new Set(names)] };
}

/** 404 → missing; anything else → unavailable, with the API server's status and message (never a body dump). */
function failedRead(err: unknown, timeoutMs: number): Lookup {
  const e = err as { code?: number | string; body?: unknown; message?: string; cause?: { code?: string }; name?: string };
  if (e.code === 404) return { status: 'missing' };
  if (typeof e.code === 'number') {
    const body = typeof e.body === 'string' ? safeJson(e.body) : e.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    const text = typeof message === 'string' ? message.slice(0, 300) : `HTTP ${e.code}`;
    const hint = e.code === 403 ? ' (Imprimatur needs get on secrets and serviceaccounts in this namespace: see docs/registry.md, "Credentials from the workload")' : '';
    return { status: 'unavailable', reason: `the API server answered HTTP ${e.code}: ${text}${hint}` };
  }
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return { status: 'unavailable', reason: `the API server did not answer within ${timeoutMs / 1000} s` };
  const reason = (typeof e.code === 'string' ? e.code : undefined) ?? e.cause?.code ?? e.message ?? String(err);
  return { status: 'unavailable', reason: `the API server is not reachable (${reason})` };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
