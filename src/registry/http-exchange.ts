import { request, type Dispatcher } from 'undici';
import { leaseOf, standaloneLease, type BytesLease } from './byte-budget.js';
import { ImprimaturError } from '../errors.js';
import type { HttpResponse } from './types.js';
import { hasRegistryObservers, notifyRegistryObservers } from './observer.js';
import { registryDeadline, registryTimeout, registryTls, registryUnreachable, responseTooLarge } from './registry-errors.js';

/** One HTTP request/response (no auth, retries or redirects), with a timeout and a size cap. */
export interface ExchangeRequest {
  url: URL;
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  /** The response body may not exceed this (Content-Length checked first, then while streaming). */
  maxBytes: number;
  /** The caller's deadline. */
  signal: AbortSignal;
  /** Timeout of this exchange, headers and body together. */
  timeoutMs: number;
  /** Registry name for messages. */
  registry: string;
}

/** Marks network failures worth retrying (connection reset before a complete answer). */
export function isRetryableNetworkError(err: unknown): boolean {
  return err instanceof ImprimaturError && err.details?.['retryable'] === true;
}

export async function exchange(dispatcher: Dispatcher, req: ExchangeRequest): Promise<HttpResponse> {
  if (!hasRegistryObservers()) return exchangeOnce(dispatcher, req);
  const started = performance.now();
  const base = { registry: req.registry, method: req.method, url: req.url.href };
  try {
    const res = await exchangeOnce(dispatcher, req);
    notifyRegistryObservers({ ...base, status: res.status, durationMs: performance.now() - started });
    return res;
  } catch (err) {
    notifyRegistryObservers({ ...base, error: err instanceof ImprimaturError ? err.code : 'ERROR', durationMs: performance.now() - started });
    throw err;
  }
}

async function exchangeOnce(dispatcher: Dispatcher, req: ExchangeRequest): Promise<HttpResponse> {
  if (req.signal.aborted) throw registryDeadline(req.registry, req.signal.reason);
  // Every byte received is reserved in the verification's byte budget (held until the verification ends); a call
  // outside any verification holds its own reservation until its answer is read.
  const verificationLease = leaseOf(req.signal);
  const lease = verificationLease ?? standaloneLease();
  try {
    return await exchangeBounded(dispatcher, req, lease);
  } finally {
    if (!verificationLease) lease.releaseAll();
  }
}

async function exchangeBounded(dispatcher: Dispatcher, req: ExchangeRequest, lease: BytesLease): Promise<HttpResponse> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error('request timeout')), req.timeoutMs);
  const signal = AbortSignal.any([req.signal, timeout.signal]);
  try {
    const res = await request(req.url, { dispatcher, method: req.method, headers: req.headers, signal });
    res.body.on('error', ignore); // destroying the body below must not surface as an unhandled error
    const declared = Number(headerValue(res.headers['content-length']));
    if (req.method !== 'HEAD' && Number.isFinite(declared) && declared > req.maxBytes) {
      res.body.destroy();
      throw responseTooLarge(req.registry, req.url.pathname, req.maxBytes);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      total += buf.length;
      if (total > req.maxBytes) {
        res.body.destroy();
        throw responseTooLarge(req.registry, req.url.pathname, req.maxBytes);
      }
      // Waiting here stops reading the socket: the registry's bytes stay in the kernel, not in the heap.
      await lease.take(buf.length, signal, `${req.url.pathname} from ${req.registry}`);
      chunks.push(buf);
    }
    return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks, total) };
  } catch (err) {
    if (err instanceof ImprimaturError) throw err;
    if (req.signal.aborted) throw registryDeadline(req.registry, err);
    if (timeout.signal.aborted) throw registryTimeout(req.registry, req.timeoutMs, err);
    throw classifyNetworkError(req.registry, err, req.timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

const TLS_CODE = /CERT|SSL|TLS|UNABLE_TO_|SELF_SIGNED|ERR_OSSL|HOSTNAME/;

function classifyNetworkError(registry: string, err: unknown, timeoutMs: number): ImprimaturError {
  const code = errorCode(err);
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return registryTls(registry, 'it does not speak TLS on this port; if it serves plain HTTP, list it in insecureRegistries', err);
  }
  if (code && TLS_CODE.test(code)) {
    return registryTls(registry, `its certificate is not trusted (${code}); add the CA that issued it (PEM) to the validator's "cert"`, err);
  }
  switch (code) {
    case 'ECONNREFUSED':
      return registryUnreachable(registry, 'connection refused', err);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return registryUnreachable(registry, 'host name not found', err);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return registryUnreachable(registry, 'no route to host', err);
    case 'UND_ERR_CONNECT_TIMEOUT':
      return registryTimeout(registry, timeoutMs, err);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new ImprimaturError('REGISTRY_UNREACHABLE', `registry ${registry} is unreachable (connection closed before a complete answer)`, {
        registry,
        retryable: true,
      }, { cause: err });
    default:
      return registryUnreachable(registry, code ?? (err instanceof Error ? err.message : String(err)), err);
  }
}

/** The most specific error code of an error or its causes. */
function errorCode(err: unknown): string | undefined {
  let found: string | undefined;
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      // prefer a lower-level code (ECONNRESET) over undici's wrapper (UND_ERR_SOCKET)
      if (!found || found.startsWith('UND_ERR')) found = code;
    }
  }
  return found;
}

function ignore(): void {}

export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
