/**
 * X.509 certificates as the Notary Project signature specification sees them: parsed with Node's
 * crypto (signatures, keys) and @peculiar/asn1-x509 (extensions, names), and the certificate
 * requirements for code-signing and timestamping chains ("Certificate Requirements").
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityInfoAccessSyntax,
  BasicConstraints,
  CRLDistributionPoints,
  Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  KeyUsageFlags,
  id_ad_ocsp,
  id_ce_basicConstraints,
  id_ce_cRLDistributionPoints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_kp_OCSPSigning,
  id_kp_clientAuth,
  id_kp_emailProtection,
  id_kp_serverAuth,
  id_kp_timeStamping,
  id_pe_authorityInfoAccess,
} from '@peculiar/asn1-x509';

/** A signature algorithm of the Notary Project (RSASSA-PSS or ECDSA with the matching hash). */
export type SignatureAlgorithm = 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

export interface ParsedCertificate {
  der: Buffer;
  x509: X509Certificate;
  /** Subject in RFC 4514 order and syntax as Notation prints it (e.g. `CN=release,O=Acme,ST=WA,C=US`). */
  subject: string;
  /** DER of the subject and issuer names (for issued-by checks). */
  rawSubject: Buffer;
  rawIssuer: Buffer;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  asn: Certificate;
  /** Certificate's signature algorithm OID. */
  signatureAlgorithm: string;
  /** Revocation information: CRL distribution points / OCSP responders named in the certificate. */
  crlUrls: string[];
  ocspUrls: string[];
}

const SHA1_SIGNATURES = new Set(['1.2.840.113549.1.1.5', '1.2.840.10045.4.1', '1.2.840.10040.4.3']);
const ANY_EKU = '2.5.29.37.0';

/** Parses one DER certificate; throws Error with a readable message. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const buf = Buffer.from(der);
  const x509 = new X509Certificate(buf);
  const asn = AsnConvert.parse(buf, Certificate);
  const tbs = asn.tbsCertificate;
  const crlUrls: string[] = [];
  const ocspUrls: string[] = [];
  for (const ext of tbs.extensions ?? []) {
    if (ext.extnID === id_ce_cRLDistributionPoints) {
      try {
        const points = AsnConvert.parse(ext.extnValue, CRLDistributionPoints);
        for (const p of points) for (const n of p.distributionPoint?.fullName ?? []) if (n.uniformResourceIdentifier) crlUrls.push(n.uniformResourceIdentifier);
      } catch {
        crlUrls.push('(unparsable CRL distribution point)');
      }
    } else if (ext.extnID === id_pe_authorityInfoAccess) {
      try {
        for (const d of AsnConvert.parse(ext.extnValue, AuthorityInfoAccessSyntax)) {
          if (d.accessMethod === id_ad_ocsp && d.accessLocation.uniformResourceIdentifier) ocspUrls.push(d.accessLocation.uniformResourceIdentifier);
        }
      } catch {
        ocspUrls.push('(unparsable authority information access)');
      }
    }
  }
  return {
    der: buf,
    x509,
    subject: subjectString(x509),
    rawSubject: Buffer.from(AsnConvert.serialize(tbs.subject)),
    rawIssuer: Buffer.from(AsnConvert.serialize(tbs.issuer)),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    publicKey: x509.publicKey,
    asn,
    signatureAlgorithm: asn.signatureAlgorithm.algorithm,
    crlUrls,
    ocspUrls,
  };
}

/** The subject as one line, e.g. `C=US, ST=WA, O=Acme, CN=release` (OpenSSL's order: as encoded). */
function subjectString(x509: X509Certificate): string {
  return x509.subject.split('\n').filter(Boolean).join(', ');
}

/** Certificates from a PEM bundle (one or more CERTIFICATE blocks), in order. Throws on a block that does not parse. */
export function parsePemBundle(pem: string): ParsedCertificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block, i) => {
    const body = block.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
    try {
      return parseCertificate(Buffer.from(body, 'base64'));
    } catch (err) {
      throw new Error(`certificate ${i + 1} cannot be parsed (${(err as Error).message})`);
    }
  });
}

interface Extension {
  critical: boolean;
  value: ArrayBuffer;
}

function extension(cert: ParsedCertificate, id: string): Extension | undefined {
  const ext = (cert.asn.tbsCertificate.extensions ?? []).find((e) => e.extnID === id);
  return ext ? { critical: ext.critical, value: ext.extnValue.buffer } : undefined;
}

function keyUsage(cert: ParsedCertificate): { critical: boolean; flags: number } | undefined {
  const ext = extension(cert, id_ce_keyUsage);
  return ext ? { critical: ext.critical, flags: AsnConvert.parse(ext.value, KeyUsage).toNumber() } : undefined;
}

function basicConstraints(cert: ParsedCertificate): BasicConstraints | undefined {
  const ext = extension(cert, id_ce_basicConstraints);
  return ext ? AsnConvert.parse(ext.value, BasicConstraints) : undefined;
}

function extendedKeyUsage(cert: ParsedCertificate): { critical: boolean; usages: string[] } | undefined {
  const ext = extension(cert, id_ce_extKeyUsage);
  return ext ? { critical: ext.critical, usages: [...AsnConvert.parse(ext.value, ExtendedKeyUsage)] } : undefined;
}

/** The Notary Project signature algorithm for a certificate's key (Algorithm Selection), or an error sentence. */
export function signatureAlgorithmOf(cert: ParsedCertificate): SignatureAlgorithm | string {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    switch (details.modulusLength) {
      case 2048: return 'PS256';
      case 3072: return 'PS384';
      case 4096: return 'PS512';
      default: return `RSA key of ${details.modulusLength} bits is not supported (2048, 3072 or 4096)`;
    }
  }
  if (key.asymmetricKeyType === 'ec') {
    switch (details.namedCurve) {
      case 'prime256v1': return 'ES256';
      case 'secp384r1': return 'ES384';
      case 'secp521r1': return 'ES512';
      default: return `EC curve ${details.namedCurve} is not supported (P-256, P-384 or P-521)`;
    }
  }
  return `key type ${key.asymmetricKeyType} is not supported (RSA or ECDSA)`;
}

export function isAlgorithm(v: string): v is SignatureAlgorithm {
  return /^(PS|ES)(256|384|512)$/.test(v);
}

function names(eku: string): string {
  const known: Record<string, string> = {
    [id_kp_serverAuth]: 'serverAuth', [id_kp_clientAuth]: 'clientAuth', [id_kp_emailProtection]: 'emailProtection',
    [id_kp_timeStamping]: 'timeStamping', [id_kp_OCSPSigning]: 'OCSPSigning', [ANY_EKU]: 'anyExtendedKeyUsage',
  };
  return known[eku] ?? eku;
}

export type CertificatePurpose = 'codeSigning' | 'timestamping';

/** Leaf requirements (basic constraints, key usage, EKU, key). Returns a sentence naming the problem, or undefined. */
function leafProblem(cert: ParsedCertificate, purpose: CertificatePurpose): string | undefined {
  const bc = basicConstraints(cert);
  if (bc?.cA) return 'is a CA certificate (basicConstraints CA:TRUE) but is used as the signing certificate';
  const ku = keyUsage(cert);
  if (!ku) return 'has no keyUsage extension; it must have keyUsage digitalSignature';
  if (purpose === 'codeSigning' && !ku.critical) return 'has a keyUsage extension that is not marked critical';
  if (!(ku.flags & KeyUsageFlags.digitalSignature)) return 'lacks keyUsage digitalSignature';
  const forbidden = [KeyUsageFlags.keyEncipherment, KeyUsageFlags.dataEncipherment, KeyUsageFlags.keyAgreement, KeyUsageFlags.keyCertSign, KeyUsageFlags.cRLSign, KeyUsageFlags.encipherOnly, KeyUsageFlags.decipherOnly];
  if (forbidden.some((f) => ku.flags & f)) return 'has a keyUsage other than digitalSignature (only digitalSignature is allowed)';
  const eku = extendedKeyUsage(cert);
  if (purpose === 'codeSigning') {
    const bad = (eku?.usages ?? []).filter((u) => [id_kp_serverAuth, id_kp_clientAuth, id_kp_emailProtection, id_kp_timeStamping, id_kp_OCSPSigning, ANY_EKU].includes(u));
    if (bad.length > 0) return `has extendedKeyUsage ${bad.map(names).join(', ')}, which a code-signing certificate must not have (use codeSigning)`;
  } else {
    if (!eku || eku.usages.length !== 1 || eku.usages[0] !== id_kp_timeStamping) return 'must have exactly the extendedKeyUsage timeStamping';
    if (!eku.critical) return 'has an extendedKeyUsage extension that is not marked critical';
  }
  const alg = signatureAlgorithmOf(cert);
  if (!isAlgorithm(alg)) return `has an unsupported key: ${alg}`;
  return undefined;
}

function caProblem(cert: ParsedCertificate, purpose: CertificatePurpose, pathBelow: number): string | undefined {
  const bc = basicConstraints(cert);
  if (!bc?.cA) return 'is used as a CA but its basicConstraints do not say CA:TRUE';
  if (bc.pathLenConstraint !== undefined && bc.pathLenConstraint < pathBelow) return `allows a path length of ${bc.pathLenConstraint}, but ${pathBelow} CA certificate(s) follow it`;
  const ku = keyUsage(cert);
  if (!ku) return 'has no keyUsage extension; a CA needs keyUsage keyCertSign';
  if (purpose === 'codeSigning' && !ku.critical) return 'has a keyUsage extension that is not marked critical';
  if (!(ku.flags & KeyUsageFlags.keyCertSign)) return 'lacks keyUsage keyCertSign';
  return undefined;
}

/** Whether `child` was issued (signed and named) by `parent`. */
export function isIssuedBy(child: ParsedCertificate, parent: ParsedCertificate): boolean {
  if (!child.rawIssuer.equals(parent.rawSubject)) return false;
  try {
    return child.x509.verify(parent.publicKey);
  } catch {
    return false;
  }
}

export function isSelfSigned(cert: ParsedCertificate): boolean {
  return isIssuedBy(cert, cert);
}

/**
 * The Notary Project's checks of an ordered chain (leaf first, root last) for a purpose:
 * each certificate issued by the next, a self-signed root, no self-signed leaf or intermediate, the
 * leaf and CA requirements, no SHA-1 signatures. Validity is checked elsewhere (at signing or verification time).
 * Returns a sentence naming the certificate and the problem, or undefined.
 */
export function chainProblem(chain: ParsedCertificate[], purpose: CertificatePurpose): string | undefined {
  if (chain.length === 0) return 'the certificate chain is empty';
  for (const cert of chain) {
    if (SHA1_SIGNATURES.has(cert.signatureAlgorithm)) return `certificate "${cert.subject}" is signed with SHA-1, which is not allowed`;
  }
  if (chain.length === 1) {
    const [only] = chain as [ParsedCertificate];
    if (!isSelfSigned(only)) return `certificate "${only.subject}" is alone in the chain but is not self-signed; the chain must end with its root certificate`;
    const p = leafProblem(only, purpose);
    return p ? `certificate "${only.subject}" ${p}` : undefined;
  }
  for (const [i, cert] of chain.entries()) {
    const last = i === chain.length - 1;
    if (last) {
      if (!isSelfSigned(cert)) return `the last certificate "${cert.subject}" is not a self-signed root; the chain must end with its root certificate`;
    } else {
      if (isSelfSigned(cert)) return `${i === 0 ? 'leaf' : 'intermediate'} certificate "${cert.subject}" is self-signed`;
      const parent = chain[i + 1]!;
      if (!isIssuedBy(cert, parent)) return `certificate "${cert.subject}" is not issued by the next certificate in the chain, "${parent.subject}"`;
    }
    const p = i === 0 ? leafProblem(cert, purpose) : caProblem(cert, purpose, i - 1);
    if (p) return `certificate "${cert.subject}" ${p}`;
  }
  return undefined;
}

/** Whether a certificate was valid at `t` (inclusive bounds). */
export function validAt(cert: ParsedCertificate, t: Date): boolean {
  return t.getTime() >= cert.notBefore.getTime() && t.getTime() <= cert.notAfter.getTime();
}

/** How a certificate's validity compares with `t`, as a sentence ending the problem, or undefined when valid. */
export function validityProblem(cert: ParsedCertificate, t: Date, what: string): string | undefined {
  if (t.getTime() < cert.notBefore.getTime()) return `${what} is before certificate "${cert.subject}" becomes valid (${cert.notBefore.toISOString()})`;
  if (t.getTime() > cert.notAfter.getTime()) return `${what} is after certificate "${cert.subject}" expired (${cert.notAfter.toISOString()})`;
  return undefined;
}
