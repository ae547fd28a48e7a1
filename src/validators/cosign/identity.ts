/**
 * The identity in a Fulcio certificate (SAN and OIDC issuer extension) and keyless trust roots'
 * matching of it: literal equality, or a regular expression that must match the whole value
 * (anchored at load time: `alice@example\.com` does not match `alice@example.com.evil`).
 */
import type { X509Certificate } from '@sigstore/core';

const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

export interface CertificateIdentity {
  subject?: string;
  issuer?: string;
}

/** A keyless trust root's expectation (exactly one of each pair, checked by the schema). */
export interface KeylessIdentity {
  issuer?: string;
  issuerRegex?: RegExp;
  subject?: string;
  subjectRegex?: RegExp;
}

export function certificateIdentity(cert: X509Certificate): CertificateIdentity {
  let issuer: string | undefined;
  try {
    const v2 = cert.extension(OID_ISSUER_V2);
    // v2: DER UTF8String inside the extension value; v1: the raw string.
    issuer = v2 ? v2.valueObj.subs[0]?.value.toString('utf8') : cert.extension(OID_ISSUER_V1)?.value.toString('utf8');
  } catch {
    issuer = undefined;
  }
  let subject: string | undefined;
  try {
    subject = cert.subjectAltName;
  } catch {
    subject = undefined;
  }
  return { subject, issuer };
}

/** Compiles a configured regex so that it must match the whole value. */
export function anchoredRegex(source: string): RegExp {
  return new RegExp(`^(?:${source})$`, 'u');
}

function matches(value: string | undefined, literal: string | undefined, regex: RegExp | undefined): boolean {
  if (value === undefined) return false;
  if (literal !== undefined) return value === literal;
  if (regex !== undefined) return regex.test(value);
  return false; // fail closed: a trust root without an expectation matches nothing
}

export function identityMatches(expected: KeylessIdentity, found: CertificateIdentity): boolean {
  return matches(found.issuer, expected.issuer, expected.issuerRegex) && matches(found.subject, expected.subject, expected.subjectRegex);
}

export function describeIdentity(found: CertificateIdentity | undefined): string {
  return `subject=${found?.subject ?? '(none)'}, issuer=${found?.issuer ?? '(none)'}`;
}

export function describeExpectation(expected: KeylessIdentity): string {
  const subject = expected.subject !== undefined ? `subject=${expected.subject}` : `subject~${expected.subjectRegex?.source ?? '(none)'}`;
  const issuer = expected.issuer !== undefined ? `issuer=${expected.issuer}` : `issuer~${expected.issuerRegex?.source ?? '(none)'}`;
  return `${subject}, ${issuer}`;
}
