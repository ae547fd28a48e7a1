/**
 * CRLs (RFC 5280) for one certificate: downloaded from a distribution point the certificate names (DER, or PEM),
 * checked as the Notary Project's revocation evaluation needs — issued by the certificate's issuer (same name,
 * signature verifies with its key, keyUsage cRLSign when present), current (thisUpdate ≤ now ≤ nextUpdate, 5 minutes
 * of skew), a complete base CRL that covers the certificate (no delta CRL, no indirect or partial CRL, no critical
 * extension Imprimatur does not process) — then the certificate's serial number looked up. Parsed CRLs are cached
 * by URL until their nextUpdate (at most an hour, a few of them), and concurrent downloads of one URL are shared.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  CRLReason,
  CertificateList,
  IssuingDistributionPoint,
  KeyUsage,
  KeyUsageFlags,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
  id_ce_deltaCRLIndicator,
  id_ce_invalidityDate,
  id_ce_issuingDistributionPoint,
  id_ce_keyUsage,
} from '@peculiar/asn1-x509';
import { isSelfSigned, type ParsedCertificate } from './certificates.js';
import { CLOCK_SKEW_MS, reasonName, serialKey, type RevocationStatus } from './ocsp.js';
import { raceAbort } from '../../deadline.js';
import { RevocationDeadlineError, type RevocationFetch } from './revocation-fetch.js';
import { isSupportedSignatureAlgorithm, verifySigned } from './signed-structures.js';

const MAX_CRL_BYTES = 8 * 1024 * 1024;
const NEVER = new AbortController().signal;
const MAX_CACHED_CRLS = 4;
const MAX_CACHE_MS = 60 * 60_000;
const CACHE_WITHOUT_NEXT_UPDATE_MS = 5 * 60_000;

/** What is kept of a CRL (not the parsed ASN.1 tree, which is several times its size). */
interface LoadedCrl {
  /** DER of tbsCertList (what the signature covers), the signature and its algorithm. */
  tbs: Buffer;
  signature: Buffer;
  algorithm: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  onlyUserCerts: boolean;
  onlyCaCerts: boolean;
  /** DER of the CRL issuer's name. */
  issuer: Buffer;
  /** Revoked serial numbers (hex without leading zeros) → revocation date and reason. */
  revoked: Map<string, { at: Date; reason?: string }>;
  fetchedAt: number;
  expires: number;
}

const CRL_NON_CRITICAL_OK = new Set([id_ce_authorityKeyIdentifier, id_ce_cRLNumber]);
const ENTRY_EXTENSIONS_OK = new Set([id_ce_cRLReasons, id_ce_invalidityDate]);

function decode(body: Buffer): Buffer {
  const text = body.subarray(0, 64).toString('latin1');
  if (!text.includes('-----BEGIN')) return body;
  const pem = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(body.toString('latin1'));
  if (!pem) throw new Error('answered PEM that holds no X509 CRL');
  return Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64');
}

function load(body: Buffer, now: number): LoadedCrl {
  let list: CertificateList;
  try {
    list = AsnConvert.parse(decode(body), CertificateList);
  } catch (err) {
    throw new Error(`answered something that is not a CRL (${(err as Error).message})`);
  }
  const tbs = list.tbsCertList;
  if (!list.tbsCertListRaw) throw new Error('answered a CRL that cannot be read');
  let onlyUserCerts = false;
  let onlyCaCerts = false;
  for (const ext of tbs.crlExtensions ?? []) {
    if (ext.extnID === id_ce_deltaCRLIndicator) throw new Error('answered a delta CRL; a complete (base) CRL is needed');
    if (ext.extnID === id_ce_issuingDistributionPoint) {
      const idp = AsnConvert.parse(ext.extnValue, IssuingDistributionPoint);
      if (idp.indirectCRL || idp.onlySomeReasons || idp.onlyContainsAttributeCerts) throw new Error('answered an indirect or partial CRL, which Imprimatur does not evaluate');
      onlyUserCerts = idp.onlyContainsUserCerts;
      onlyCaCerts = idp.onlyContainsCACerts;
      continue; // checked against the certificate in `status`
    }
    if (ext.critical && !CRL_NON_CRITICAL_OK.has(ext.extnID)) throw new Error(`answered a CRL with critical extension ${ext.extnID}, which Imprimatur does not process`);
  }
  const revoked = new Map<string, { at: Date; reason?: string }>();
  for (const entry of tbs.revokedCertificates ?? []) {
    let reason: string | undefined;
    for (const ext of entry.crlEntryExtensions ?? []) {
      if (ext.extnID === id_ce_cRLReasons) reason = reasonName(AsnConvert.parse(ext.extnValue, CRLReason).reason);
      else if (ext.critical && !ENTRY_EXTENSIONS_OK.has(ext.extnID)) throw new Error(`answered a CRL entry with critical extension ${ext.extnID} (an indirect CRL?), which Imprimatur does not process`);
    }
    if (reason === 'removeFromCRL') continue;
    revoked.set(serialKey(entry.userCertificate), { at: entry.revocationDate.getTime(), reason });
  }
  const nextUpdate = tbs.nextUpdate?.getTime();
  const expires = Math.min(nextUpdate?.getTime() ?? now + CACHE_WITHOUT_NEXT_UPDATE_MS, now + MAX_CACHE_MS);
  return {
    tbs: Buffer.from(list.tbsCertListRaw),
    signature: Buffer.from(list.signature),
    algorithm: list.signatureAlgorithm.algorithm,
    thisUpdate: tbs.thisUpdate.getTime(),
    nextUpdate,
    onlyUserCerts,
    onlyCaCerts,
    issuer: Buffer.from(AsnConvert.serialize(tbs.issuer)),
    revoked,
    fetchedAt: now,
    expires,
  };
}

/** Checks the CRL against the certificate and its issuer, and looks the certificate up. Throws Error when unusable. */
function status(crl: LoadedCrl, cert: ParsedCertificate, issuer: ParsedCertificate, now: Date): RevocationStatus {
  if (!crl.issuer.equals(cert.rawIssuer)) throw new Error(`answered a CRL of another issuer than "${issuer.subject}"`);
  const ku = (issuer.asn.tbsCertificate.extensions ?? []).find((e) => e.extnID === id_ce_keyUsage);
  if (ku && !(AsnConvert.parse(ku.extnValue, KeyUsage).toNumber() & KeyUsageFlags.cRLSign)) throw new Error(`answered a CRL, but issuer "${issuer.subject}" lacks keyUsage cRLSign`);
  if (!isSupportedSignatureAlgorithm(crl.algorithm)) throw new Error(`answered a CRL signed with unsupported algorithm ${crl.algorithm}`);
  if (!verifySigned(crl.algorithm, issuer.publicKey, crl.tbs, crl.signature)) throw new Error(`answered a CRL whose signature does not verify with issuer "${issuer.subject}"`);
  if (crl.thisUpdate.getTime() > now.getTime() + CLOCK_SKEW_MS) throw new Error(`answered a CRL from the future (thisUpdate ${crl.thisUpdate.toISOString()})`);
  if (crl.nextUpdate && crl.nextUpdate.getTime() < now.getTime() - CLOCK_SKEW_MS) throw new Error(`answered an outdated CRL (nextUpdate ${crl.nextUpdate.toISOString()})`);
  const isCa = cert.x509.ca;
  if ((crl.onlyCaCerts && !isCa) || (crl.onlyUserCerts && isCa)) throw new Error(`answered a CRL that does not cover ${isCa ? 'CA' : 'end-entity'} certificates`);
  const entry = crl.revoked.get(serialKey(cert.asn.tbsCertificate.serialNumber));
  return entry ? { status: 'revoked', at: entry.at, reason: entry.reason, nextUpdate: crl.nextUpdate } : { status: 'good', nextUpdate: crl.nextUpdate };
}

/** Downloads (or reuses) CRLs and evaluates certificates against them. One per validator. */
export class CrlStore {
  private readonly cache = new Map<string, LoadedCrl>();
  private readonly inFlight = new Map<string, Promise<LoadedCrl>>();

  constructor(private readonly fetch: RevocationFetch) {}

  /** The status of `cert` according to the CRL at `url`. Throws Error saying why the CRL cannot be used. */
  async query(url: string, cert: ParsedCertificate, issuer: ParsedCertificate, now: Date, signal: AbortSignal): Promise<RevocationStatus> {
    if (isSelfSigned(cert)) return { status: 'good' };
    const crl = await this.get(url, now, signal);
    return status(crl, cert, issuer, now);
  }

  private async get(url: string, now: Date, signal: AbortSignal): Promise<LoadedCrl> {
    const cached = this.cache.get(url);
    if (cached && cached.expires > now.getTime() && cached.fetchedAt <= now.getTime()) return cached;
    let pending = this.inFlight.get(url);
    if (!pending) {
      // Shared by concurrent admissions: bounded by the fetch's own timeout, not by one caller's deadline.
      pending = this.fetch({ url, method: 'GET', accept: 'application/pkix-crl, application/x-pkcs7-crl;q=0.5, */*;q=0.1', maxBytes: MAX_CRL_BYTES, signal: NEVER })
        .then((body) => load(body, Date.now()))
        .finally(() => this.inFlight.delete(url));
      this.inFlight.set(url, pending);
    }
    const loaded = await raceAbort(pending, signal, () => new RevocationDeadlineError('the admission deadline passed while the CRL was downloaded'));
    this.cache.delete(url);
    this.cache.set(url, loaded);
    while (this.cache.size > MAX_CACHED_CRLS) this.cache.delete(this.cache.keys().next().value!);
    return loaded;
  }
}
