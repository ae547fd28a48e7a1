/**
 * OCSP (RFC 6960) for one certificate: the request (SHA-1 CertID, as responders universally expect) POSTed to the
 * responder the certificate names, and the answer checked as the Notary Project's revocation evaluation needs: a
 * successful BasicOCSPResponse signed by the issuer or by a responder certificate the issuer delegated
 * (EKU OCSPSigning, valid now), a SingleResponse for exactly this CertID, current (thisUpdate ≤ now ≤ nextUpdate,
 * with 5 minutes of clock skew). Parsed with @peculiar/asn1-ocsp.
 */
import { createHash } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, CRLReasons, ExtendedKeyUsage, id_ce_extKeyUsage } from '@peculiar/asn1-x509';
import { BasicOCSPResponse, CertID, OCSPRequest, OCSPResponse, OCSPResponseStatus, Request, TBSRequest, id_kp_OCSPSigning, id_pkix_ocsp_basic } from '@peculiar/asn1-ocsp';
import { isIssuedBy, parseCertificate, validAt, type ParsedCertificate } from './certificates.js';
import type { RevocationFetch } from './revocation-fetch.js';
import { isSupportedSignatureAlgorithm, verifySigned } from './signed-structures.js';

const SHA1 = '1.3.14.3.2.26';
export const CLOCK_SKEW_MS = 5 * 60_000;
const MAX_OCSP_RESPONSE_BYTES = 64 * 1024;

export type RevocationStatus = { status: 'good'; nextUpdate?: Date } | { status: 'revoked'; at: Date; reason?: string; nextUpdate?: Date } | { status: 'unknown' };

/** The SHA-1 hash of the issuer's public key (the BIT STRING's contents), as in a CertID. */
function issuerKeyHash(issuer: ParsedCertificate): Buffer {
  return createHash('sha1').update(Buffer.from(issuer.asn.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey)).digest();
}

/** A serial number's bytes without leading zero octets (DER may carry one for the sign). */
export function serialKey(serial: ArrayBuffer | Uint8Array): string {
  const bytes = Buffer.from(serial instanceof Uint8Array ? serial : new Uint8Array(serial));
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i).toString('hex');
}

function certId(cert: ParsedCertificate, issuer: ParsedCertificate): CertID {
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: SHA1, parameters: null }),
    issuerNameHash: new OctetString(createHash('sha1').update(cert.rawIssuer).digest()),
    issuerKeyHash: new OctetString(issuerKeyHash(issuer)),
    serialNumber: cert.asn.tbsCertificate.serialNumber,
  });
}

export function reasonName(reason: number | undefined): string | undefined {
  return reason === undefined ? undefined : (CRLReasons[reason] ?? `reason ${reason}`);
}

/** The DER OCSP request for `cert` (issued by `issuer`). */
export function ocspRequest(cert: ParsedCertificate, issuer: ParsedCertificate): Buffer {
  const req = new OCSPRequest({ tbsRequest: new TBSRequest({ requestList: [new Request({ reqCert: certId(cert, issuer) })] }) });
  return Buffer.from(AsnConvert.serialize(req));
}

function hasEku(cert: ParsedCertificate, eku: string): boolean {
  const ext = (cert.asn.tbsCertificate.extensions ?? []).find((e) => e.extnID === id_ce_extKeyUsage);
  return ext ? [...AsnConvert.parse(ext.extnValue, ExtendedKeyUsage)].includes(eku) : false;
}

/** The certificate that signed the response: the issuer itself, or a delegated responder the issuer issued. */
function responseSigner(basic: BasicOCSPResponse, issuer: ParsedCertificate, now: Date): ParsedCertificate {
  const id = basic.tbsResponseData.responderID;
  const named = (c: ParsedCertificate): boolean =>
    id.byName ? Buffer.from(AsnConvert.serialize(id.byName)).equals(c.rawSubject) : id.byKey ? Buffer.from(id.byKey.buffer).equals(issuerKeyHash(c)) : false;
  if (named(issuer)) return issuer;
  const delegated = (basic.certs ?? []).map((c) => parseCertificate(Buffer.from(AsnConvert.serialize(c)))).find(named);
  if (!delegated) throw new Error('is signed by a responder that is neither the issuer nor a certificate in the response');
  if (!isIssuedBy(delegated, issuer)) throw new Error(`is signed by responder "${delegated.subject}", which the issuer "${issuer.subject}" did not issue`);
  if (!hasEku(delegated, id_kp_OCSPSigning)) throw new Error(`is signed by responder "${delegated.subject}", which lacks extendedKeyUsage OCSPSigning`);
  if (!validAt(delegated, now)) throw new Error(`is signed by responder "${delegated.subject}", which is not valid now`);
  return delegated;
}

/** Parses and checks an OCSP response for `cert`. Throws Error saying why it cannot be used. */
export function parseOcspResponse(body: Buffer, cert: ParsedCertificate, issuer: ParsedCertificate, now: Date): RevocationStatus {
  let response: OCSPResponse;
  let basic: BasicOCSPResponse;
  try {
    response = AsnConvert.parse(body, OCSPResponse);
  } catch (err) {
    throw new Error(`answered something that is not an OCSP response (${(err as Error).message})`);
  }
  if (response.responseStatus !== OCSPResponseStatus.successful) throw new Error(`answered status ${OCSPResponseStatus[response.responseStatus] ?? response.responseStatus}`);
  if (!response.responseBytes || response.responseBytes.responseType !== id_pkix_ocsp_basic) throw new Error('answered no basic OCSP response');
  try {
    basic = AsnConvert.parse(response.responseBytes.response.buffer, BasicOCSPResponse);
  } catch (err) {
    throw new Error(`answered a malformed basic OCSP response (${(err as Error).message})`);
  }
  const signer = responseSigner(basic, issuer, now);
  const algorithm = basic.signatureAlgorithm.algorithm;
  if (!isSupportedSignatureAlgorithm(algorithm)) throw new Error(`signed its answer with unsupported algorithm ${algorithm}`);
  if (!basic.tbsResponseDataRaw || !verifySigned(algorithm, signer.publicKey, Buffer.from(basic.tbsResponseDataRaw), Buffer.from(basic.signature))) {
    throw new Error(`answered with a signature that does not verify with "${signer.subject}"`);
  }
  const wanted = certId(cert, issuer);
  const single = basic.tbsResponseData.responses.find((r) =>
    r.certID.hashAlgorithm.algorithm === SHA1 &&
    Buffer.from(r.certID.issuerNameHash.buffer).equals(Buffer.from(wanted.issuerNameHash.buffer)) &&
    Buffer.from(r.certID.issuerKeyHash.buffer).equals(Buffer.from(wanted.issuerKeyHash.buffer)) &&
    serialKey(r.certID.serialNumber) === serialKey(wanted.serialNumber));
  if (!single) throw new Error('answered without a status for this certificate');
  if (single.thisUpdate.getTime() > now.getTime() + CLOCK_SKEW_MS) throw new Error(`answered a status from the future (thisUpdate ${single.thisUpdate.toISOString()})`);
  if (single.nextUpdate && single.nextUpdate.getTime() < now.getTime() - CLOCK_SKEW_MS) throw new Error(`answered an outdated status (nextUpdate ${single.nextUpdate.toISOString()})`);
  const status = single.certStatus;
  if (status.revoked) return { status: 'revoked', at: status.revoked.revocationTime, reason: reasonName(status.revoked.revocationReason?.reason), nextUpdate: single.nextUpdate };
  if (status.good === null) return { status: 'good', nextUpdate: single.nextUpdate };
  return { status: 'unknown' };
}

/** Asks the responder at `url` about `cert`. Throws Error saying why no usable answer came. */
export async function queryOcsp(url: string, cert: ParsedCertificate, issuer: ParsedCertificate, fetch: RevocationFetch, now: Date, signal: AbortSignal): Promise<RevocationStatus> {
  const body = await fetch({ url, method: 'POST', body: ocspRequest(cert, issuer), contentType: 'application/ocsp-request', accept: 'application/ocsp-response', maxBytes: MAX_OCSP_RESPONSE_BYTES, signal });
  return parseOcspResponse(body, cert, issuer, now);
}
