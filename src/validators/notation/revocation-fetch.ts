/**
 * HTTP for online revocation checks: one request (GET of a CRL, POST of an OCSP request) to a URL a trusted
 * certificate names, http or https only, no redirects, a per-request timeout (the Notary Project's default of 5 s),
 * a size cap, and the admission deadline. Failures are Errors whose message says what happened, for the denial.
 */
import { request, type Dispatcher } from 'undici';
import { leaseOf, standaloneLease } from '../../registry/byte-budget.js';

export const REVOCATION_TIMEOUT_MS = 5000;

export interface RevocationRequest {
  url: string;
  method: 'GET' | 'POST';
  body?: Buffer;
  contentType?: string;
  accept: string;
  maxBytes: number;
  /** The admission deadline. */
  signal: AbortSignal;
  timeoutMs?: number;
}

/** Thrown when the admission deadline passes during a revocation request (the caller rethrows it as is). */
export class RevocationDeadlineError extends Error {}

export type RevocationFetch = (req: RevocationRequest) => Promise<Buffer>;

/** A fetcher on `dispatcher` (undici's global one by default). */
export function revocationFetcher(dispatcher?: Dispatcher): RevocationFetch {
  return async (req) => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new Error('is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`uses ${url.protocol.replace(/:$/, '')}, and only http and https are fetched`);
    if (req.signal.aborted) throw new RevocationDeadlineError('the admission deadline passed');
    const timeoutMs = req.timeoutMs ?? REVOCATION_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([req.signal, timeout]);
    // The bytes received count against the process's byte budget like registry data (src/registry/byte-budget.ts),
    // held while this response is read.
    const verificationLease = leaseOf(req.signal);
    const lease = verificationLease ?? standaloneLease();
    try {
      const res = await request(url, {
        ...(dispatcher ? { dispatcher } : {}),
        method: req.method,
        headers: { accept: req.accept, ...(req.contentType ? { 'content-type': req.contentType } : {}) },
        body: req.body,
        signal,
      });
      res.body.on('error', () => undefined);
      if (res.statusCode !== 200) {
        res.body.destroy();
        throw new Error(`answered HTTP ${res.statusCode}`);
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > req.maxBytes) {
        res.body.destroy();
        throw new Error(`answered ${declared} bytes, more than the limit of ${req.maxBytes}`);
      }
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of res.body) {
        total += (chunk as Buffer).length;
        if (total > req.maxBytes) {
          res.body.destroy();
          throw new Error(`answered more than the limit of ${req.maxBytes} bytes`);
        }
        await lease.take((chunk as Buffer).length, signal, url.href);
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks, total);
    } catch (err) {
      if ((err as { code?: string }).code === 'REQUEST_BYTES_LIMIT') throw err;
      if (req.signal.aborted) throw new RevocationDeadlineError('the admission deadline passed during a revocation check');
      if (timeout.aborted) throw new Error(`did not answer within ${timeoutMs / 1000} s`);
      const e = err as { code?: string; cause?: { code?: string }; message: string };
      const code = e.cause?.code ?? e.code;
      if (code === 'ECONNREFUSED') throw new Error('refused the connection');
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new Error(`cannot be resolved (${code})`);
      throw err instanceof Error && /^(answered|did not)/.test(err.message) ? err : new Error(`cannot be reached (${code ?? e.message})`);
    } finally {
      if (!verificationLease) lease.releaseAll();
    }
  };
}
