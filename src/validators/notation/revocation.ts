/**
 * Revocation, offline: Imprimatur fetches no CRL and asks no OCSP responder during admission. A
 * certificate that names neither (typical for private roots and `notation cert generate-test`) cannot be
 * revoked and passes; one that names a CRL distribution point or an OCSP responder has an unknown
 * status, which the verification level turns into a denial (enforced) or a log line (logged), as the
 * Notary Project specifies for "revocation unavailable".
 */
import type { ParsedCertificate } from './certificates.js';

/** Undefined when no certificate of the chain can be revoked; else why the status is unknown. */
export function revocationProblem(chain: ParsedCertificate[], what: string): string | undefined {
  for (const cert of chain) {
    const where = [...cert.ocspUrls.map((u) => `OCSP ${u}`), ...cert.crlUrls.map((u) => `CRL ${u}`)];
    if (where.length > 0) {
      return `revocation status of ${what} "${cert.subject}" is unknown: it names ${where.join(', ')}, and Imprimatur checks revocation offline only`;
    }
  }
  return undefined;
}
