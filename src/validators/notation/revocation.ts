/**
 * Revocation of the certificates of a signing (or TSA) chain, as the Notary Project's "certificate revocation
 * evaluation" describes, in one of two modes (the validator's `revocationCheck`):
 *
 * - `offline` (default): Imprimatur fetches no CRL and asks no OCSP responder. A certificate that names neither
 *   (typical for private roots and `notation cert generate-test`) cannot be revoked and passes; one that names a CRL
 *   distribution point or an OCSP responder has an unknown status ("revocation unavailable").
 * - `online`: each certificate but the root is checked with its OCSP responder, falling back to its CRLs (the
 *   spec's order), bounded by a 5 s timeout per request and the admission deadline. Revoked, or no usable answer
 *   ("revocation unavailable"), fails the check. Only chains already found trusted are checked online, so an
 *   untrusted certificate never makes Imprimatur contact a URL it names.
 *
 * A failure goes through the verification level like every check: enforced (denied) or only logged.
 */
import { ImprimaturError } from '../../errors.js';
import type { ParsedCertificate } from './certificates.js';
import { CrlStore } from './crl.js';
import { queryOcsp, serialKey, type RevocationStatus } from './ocsp.js';
import { RevocationDeadlineError, revocationFetcher, type RevocationFetch } from './revocation-fetch.js';

export type RevocationMode = 'offline' | 'online';

export interface RevocationFinding {
  failure: string;
  hint: string;
}

export interface RevocationContext {
  now: Date;
  signal: AbortSignal;
  /** Whether the chain was found trusted (online checks only for trusted chains). */
  trusted: boolean;
}

export interface RevocationChecker {
  readonly mode: RevocationMode;
  /** Undefined when no certificate of `chain` (leaf first) is revoked or of unknown status; `what` names them. */
  check(chain: ParsedCertificate[], what: string, ctx: RevocationContext): Promise<RevocationFinding | undefined>;
}

const OFFLINE_HINT = 'set with.verificationOverride.revocation: log (or skip) to accept certificates whose revocation cannot be checked offline, set revocationCheck: online on the validator to check it, or sign with a certificate without CRL/OCSP endpoints';
const UNAVAILABLE_HINT = 'make these endpoints reachable from Imprimatur (network egress), or set with.verificationOverride.revocation: log to accept signatures whose revocation status is unavailable';
const REVOKED_HINT = 'the certificate was revoked by its CA, so signatures made with it are not trusted; sign the image again with a valid certificate';

function endpoints(cert: ParsedCertificate): string[] {
  return [...cert.ocspUrls.map((u) => `OCSP ${u}`), ...cert.crlUrls.map((u) => `CRL ${u}`)];
}

/** Offline evaluation: the first certificate that names a CRL or an OCSP responder has an unknown status. */
export function revocationProblem(chain: ParsedCertificate[], what: string): string | undefined {
  for (const cert of chain) {
    const where = endpoints(cert);
    if (where.length > 0) return `revocation status of ${what} "${cert.subject}" is unknown: it names ${where.join(', ')}, and Imprimatur checks revocation offline only`;
  }
  return undefined;
}

export const offlineRevocation: RevocationChecker = {
  mode: 'offline',
  async check(chain, what) {
    const failure = revocationProblem(chain, what);
    return failure ? { failure, hint: OFFLINE_HINT } : undefined;
  },
};

const MAX_OCSP_CACHE = 1024;
const OCSP_CACHE_MAX_MS = 10 * 60_000;
const OCSP_CACHE_WITHOUT_NEXT_UPDATE_MS = 60_000;

/** Online evaluation (OCSP, then CRL), with the answers cached until they are due for an update. One per validator. */
export class OnlineRevocation implements RevocationChecker {
  readonly mode = 'online';
  private readonly crls: CrlStore;
  private readonly ocspCache = new Map<string, { status: RevocationStatus; expires: number }>();

  constructor(private readonly fetch: RevocationFetch = revocationFetcher()) {
    this.crls = new CrlStore(fetch);
  }

  async check(chain: ParsedCertificate[], what: string, ctx: RevocationContext): Promise<RevocationFinding | undefined> {
    if (!ctx.trusted) {
      const offline = revocationProblem(chain, what);
      return offline ? { failure: `${offline.replace(/, and Imprimatur checks revocation offline only$/, '')}, and Imprimatur contacts these only for trusted certificate chains`, hint: OFFLINE_HINT } : undefined;
    }
    // Root to leaf, as the spec orders it; the self-signed root itself is not checked.
    for (let i = chain.length - 2; i >= 0; i--) {
      const finding = await this.checkOne(chain[i]!, chain[i + 1]!, what, ctx);
      if (finding) return finding;
    }
    return undefined;
  }

  private async checkOne(cert: ParsedCertificate, issuer: ParsedCertificate, what: string, ctx: RevocationContext): Promise<RevocationFinding | undefined> {
    if (cert.ocspUrls.length === 0 && cert.crlUrls.length === 0) return undefined;
    const problems: string[] = [];
    const revoked = (s: Extract<RevocationStatus, { status: 'revoked' }>, source: string): RevocationFinding => ({
      failure: `${what} "${cert.subject}" was revoked on ${s.at.toISOString()}${s.reason ? ` (${s.reason})` : ''}, according to ${source}`,
      hint: REVOKED_HINT,
    });
    try {
      // OCSP is preferred; when it gives no usable answer (or "unknown"), the CRLs decide.
      for (const url of cert.ocspUrls) {
        try {
          const s = await this.ocsp(url, cert, issuer, ctx);
          if (s.status === 'good') return undefined;
          if (s.status === 'revoked') return revoked(s, `OCSP responder ${url}`);
          problems.push(`OCSP ${url} answered "unknown"`);
        } catch (err) {
          if (err instanceof RevocationDeadlineError || err instanceof ImprimaturError) throw err;
          problems.push(`OCSP ${url} ${(err as Error).message}`);
        }
      }
      for (const url of cert.crlUrls) {
        try {
          const s = await this.crls.query(url, cert, issuer, ctx.now, ctx.signal);
          if (s.status === 'good') return undefined;
          if (s.status === 'revoked') return revoked(s, `the CRL at ${url}`);
        } catch (err) {
          if (err instanceof RevocationDeadlineError || err instanceof ImprimaturError) throw err;
          problems.push(`CRL ${url} ${(err as Error).message}`);
        }
      }
    } catch (err) {
      if (!(err instanceof RevocationDeadlineError)) throw err;
      throw new ImprimaturError('DEADLINE_EXCEEDED', `the admission deadline passed while the revocation status of ${what} "${cert.subject}" was checked (${endpoints(cert).join(', ')})`, undefined, { cause: err });
    }
    return { failure: `revocation status of ${what} "${cert.subject}" cannot be determined: ${problems.join('; ')}`, hint: UNAVAILABLE_HINT };
  }

  private async ocsp(url: string, cert: ParsedCertificate, issuer: ParsedCertificate, ctx: RevocationContext): Promise<RevocationStatus> {
    const key = `${url}\u0000${issuer.der.toString('base64')}\u0000${serialKey(cert.asn.tbsCertificate.serialNumber)}`;
    const hit = this.ocspCache.get(key);
    const now = ctx.now.getTime();
    if (hit && hit.expires > now) return hit.status;
    const status = await queryOcsp(url, cert, issuer, this.fetch, ctx.now, ctx.signal);
    if (status.status !== 'unknown') {
      const next = status.nextUpdate?.getTime();
      this.ocspCache.delete(key);
      this.ocspCache.set(key, { status, expires: Math.min(next ?? now + OCSP_CACHE_WITHOUT_NEXT_UPDATE_MS, now + OCSP_CACHE_MAX_MS) });
      while (this.ocspCache.size > MAX_OCSP_CACHE) this.ocspCache.delete(this.ocspCache.keys().next().value!);
    }
    return status;
  }
}
