/**
 * A Notary Project signature envelope (JWS or COSE), parsed and checked for integrity: the signature
 * over payload and signed attributes verifies with the signing certificate's key, `alg` matches that
 * key, the critical attributes are understood, the content type is the Notary payload, and the
 * certificate chain meets the code-signing requirements. Format details live in jws-envelope.ts and
 * cose-envelope.ts.
 */
import { constants, verify } from 'node:crypto';
import { chainProblem, isAlgorithm, parseCertificate, signatureAlgorithmOf, type ParsedCertificate, type SignatureAlgorithm } from './certificates.js';

export const JWS_MEDIA_TYPE = 'application/jose+json';
export const COSE_MEDIA_TYPE = 'application/cose';
export const PAYLOAD_CONTENT_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
export const SCHEME_X509 = 'notary.x509';
export const SCHEME_SIGNING_AUTHORITY = 'notary.x509.signingAuthority';

/** Integrity failure of an envelope: the sentence says what is wrong; `hint`, when set, what to do instead. */
export class EnvelopeError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

/** What to do about a signing certificate (chain) that does not meet the code-signing requirements. */
export const CODE_SIGNING_CERTIFICATE_HINT =
  'sign with a code-signing certificate (keyUsage digitalSignature only, marked critical; extendedKeyUsage codeSigning; not a CA) issued by CA certificates, ' +
  'as `notation cert generate-test` or a code-signing CA make them; the requirements are listed under "Integrity" in docs/notation.md';

/** What a verified envelope says. */
export interface EnvelopeContent {
  format: 'jws' | 'cose';
  /** The payload bytes (JSON with `targetArtifact`). */
  payload: Buffer;
  signingScheme: typeof SCHEME_X509 | typeof SCHEME_SIGNING_AUTHORITY;
  /** `notary.x509`: the (unauthenticated) signing time; `notary.x509.signingAuthority`: the authentic signing time. */
  signingTime: Date;
  expiry?: Date;
  algorithm: SignatureAlgorithm;
  /** Leaf first. */
  certificates: ParsedCertificate[];
  /** The primitive signature (what an RFC 3161 timestamp countersigns). */
  signature: Buffer;
  /** DER TimeStampToken, when the envelope carries one. */
  timestampToken?: Buffer;
  signingAgent?: string;
}

/** Header fields both formats share, after format-specific decoding. */
export interface DecodedHeaders {
  alg: SignatureAlgorithm;
  contentType: unknown;
  critical: unknown[];
  signingScheme: unknown;
  signingTime?: Date;
  authenticSigningTime?: Date;
  expiry?: Date;
  /** Other protected header names/labels (extended attributes). */
  extended: unknown[];
}

/** Checks the protected headers as notation-core-go does; throws EnvelopeError. */
export function checkHeaders(h: DecodedHeaders): { scheme: EnvelopeContent['signingScheme']; signingTime: Date } {
  if (h.contentType !== PAYLOAD_CONTENT_TYPE) throw new EnvelopeError(`payload content type is ${JSON.stringify(h.contentType)}, not ${PAYLOAD_CONTENT_TYPE}`);
  const scheme = h.signingScheme;
  if (scheme !== SCHEME_X509 && scheme !== SCHEME_SIGNING_AUTHORITY) throw new EnvelopeError(`signing scheme ${JSON.stringify(scheme)} is not supported`);
  let signingTime: Date | undefined;
  if (scheme === SCHEME_X509) {
    if (h.authenticSigningTime) throw new EnvelopeError('authenticSigningTime must not be present with signing scheme notary.x509');
    signingTime = h.signingTime;
    if (!signingTime) throw new EnvelopeError('the signing time is missing');
  } else {
    if (h.signingTime) throw new EnvelopeError('signingTime must not be present with signing scheme notary.x509.signingAuthority');
    signingTime = h.authenticSigningTime;
    if (!signingTime) throw new EnvelopeError('the authentic signing time is missing (required by notary.x509.signingAuthority)');
  }
  if (h.critical.length === 0) throw new EnvelopeError('the "crit" header is missing');
  const mustBeCritical = ['io.cncf.notary.signingScheme'];
  if (h.expiry) mustBeCritical.push('io.cncf.notary.expiry');
  if (scheme === SCHEME_SIGNING_AUTHORITY) mustBeCritical.push('io.cncf.notary.authenticSigningTime');
  const notCritical = mustBeCritical.filter((k) => !h.critical.includes(k));
  if (notCritical.length > 0) throw new EnvelopeError(`these headers must be marked critical: ${notCritical.join(', ')}`);
  const known = new Set(['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry', 'io.cncf.notary.authenticSigningTime']);
  for (const c of h.critical) {
    if (known.has(c as string)) continue;
    if (!h.extended.includes(c)) throw new EnvelopeError(`header ${JSON.stringify(c)} is marked critical but not present`);
    // Critical extended attributes (e.g. a verification plugin) must be understood; Imprimatur runs no plugins.
    throw new EnvelopeError(`the signature requires ${JSON.stringify(c)} to be processed (critical extended attribute${c === 'io.cncf.notary.verificationPlugin' ? ', a Notation verification plugin' : ''}), which Imprimatur does not support`);
  }
  if (h.expiry && h.expiry.getTime() <= signingTime.getTime()) throw new EnvelopeError('the expiry is not after the signing time');
  return { scheme, signingTime };
}

/** Parses the certificate chain (DER, leaf first) and checks it against the code-signing requirements and `alg`. */
export function checkCertificates(ders: Uint8Array[], alg: SignatureAlgorithm): ParsedCertificate[] {
  if (ders.length === 0) throw new EnvelopeError('the certificate chain is missing');
  const certificates = ders.map((der, i) => {
    try {
      return parseCertificate(der);
    } catch (err) {
      throw new EnvelopeError(`certificate ${i + 1} of the chain cannot be parsed (${(err as Error).message})`);
    }
  });
  const problem = chainProblem(certificates, 'codeSigning');
  if (problem) throw new EnvelopeError(`invalid certificate chain: ${problem}`, CODE_SIGNING_CERTIFICATE_HINT);
  const keyAlg = signatureAlgorithmOf(certificates[0]!);
  if (!isAlgorithm(keyAlg)) throw new EnvelopeError(`the signing certificate's ${keyAlg}`);
  if (keyAlg !== alg) throw new EnvelopeError(`the envelope says alg ${alg}, but the signing certificate's key requires ${keyAlg}`);
  return certificates;
}

const HASHES: Record<SignatureAlgorithm, string> = { PS256: 'sha256', PS384: 'sha384', PS512: 'sha512', ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' };
const EC_SIZES: Record<string, number> = { ES256: 64, ES384: 96, ES512: 132 };

/** Verifies a primitive signature: RSASSA-PSS (salt length from `pssSalt`) or ECDSA with raw r‖s. */
export function verifyPrimitive(alg: SignatureAlgorithm, leaf: ParsedCertificate, data: Buffer, signature: Buffer, pssSalt: 'auto' | 'digest'): boolean {
  const hash = HASHES[alg];
  if (alg.startsWith('ES')) {
    if (signature.length !== EC_SIZES[alg]) return false;
    return verify(hash, data, { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  }
  return verify(hash, data, {
    key: leaf.publicKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: pssSalt === 'digest' ? constants.RSA_PSS_SALTLEN_DIGEST : constants.RSA_PSS_SALTLEN_AUTO,
  }, signature);
}
