/**
 * One signature against one trust root, as the Notary Project's verification steps run: integrity
 * (envelope, signed descriptor = this image), authenticity (chain to the trust root, trusted identity),
 * expiry, authentic timestamp (RFC 3161 countersignature against tsCert, or the chain valid now),
 * revocation (offline). The level decides per check whether a failure denies (enforce) or is logged.
 */
import { validityProblem, type ParsedCertificate } from './certificates.js';
import type { NotationTrustRoot } from './config.js';
import { SCHEME_SIGNING_AUTHORITY, type EnvelopeContent } from './envelope.js';
import type { Action, Check } from './levels.js';
import { revocationProblem } from './revocation.js';
import { TimestampError, verifyTimestamp } from './timestamp.js';
import { identityProblem } from './trusted-identities.js';

export interface CheckResult {
  check: Check;
  action: Action;
  /** Undefined when the check passed. */
  failure?: string;
  /** What to do about the failure. */
  hint?: string;
}

export interface SignatureVerdict {
  verified: boolean;
  /** The first enforced failure (the reason the signature does not count). */
  failed?: CheckResult;
  /** Logged failures (did not deny). */
  logged: CheckResult[];
  /** Subject of the signing certificate. */
  signer: string;
  /** Trusted time of signing when a timestamp verified. */
  timestamp?: { genTime: string; tsa: string };
}

export interface VerificationSettings {
  actions: Record<Check, Action>;
  verifyTimestamp: 'always' | 'afterCertExpiry';
  now: Date;
}

/** The image descriptor the signature must name. */
export interface TargetDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

const HINTS: Record<Check, string> = {
  integrity: 'the signature or the image was altered, or the signature is for another image; sign this image digest again with `notation sign`',
  authenticity: 'sign with a certificate issued by this trust root, or add the signer\'s root CA to the trust root\'s `cert`',
  authenticTimestamp: 're-sign with a currently valid certificate, or sign with a timestamp (`notation sign --timestamp-url …`) and add the TSA root as the trust root\'s `tsCert`',
  expiry: 'the signer set an expiry (`notation sign --expiry`); sign the image again, or set with.verificationOverride.expiry: log to accept expired signatures',
  revocation: 'revocation cannot be checked offline; set with.verificationOverride.revocation: log (or skip) to accept this, or use a certificate without CRL/OCSP endpoints',
};

/** Checks the payload's targetArtifact against the image descriptor: digest, media type and size. */
export function payloadProblem(payload: Buffer, target: TargetDescriptor): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'the signed payload is not JSON';
  }
  const t = (doc as { targetArtifact?: Record<string, unknown> } | null)?.targetArtifact;
  if (!t || typeof t !== 'object') return 'the signed payload has no targetArtifact';
  if (t.digest !== target.digest) return `the signature is for ${String(t.digest)}, not this image (${target.digest})`;
  if (t.mediaType !== target.mediaType) return `the signature names media type ${String(t.mediaType)}, but the image is ${target.mediaType}`;
  if (t.size !== target.size) return `the signature names size ${String(t.size)}, but the image manifest has ${target.size} bytes`;
  return undefined;
}

function chainTrusted(chain: ParsedCertificate[], root: NotationTrustRoot): boolean {
  return chain.some((c) => root.certificates.some((t) => t.der.equals(c.der)));
}

function authenticTimestamp(env: EnvelopeContent, root: NotationTrustRoot, s: VerificationSettings): { failure?: string; timestamp?: SignatureVerdict['timestamp'] } {
  const chain = env.certificates;
  if (env.signingScheme === SCHEME_SIGNING_AUTHORITY) {
    const bad = chain.map((c) => validityProblem(c, env.signingTime, `the authentic signing time ${env.signingTime.toISOString()}`)).find(Boolean);
    return { failure: bad };
  }
  const expiredNow = chain.some((c) => s.now.getTime() > c.notAfter.getTime());
  const triggered = root.tsaRoots.length > 0 && (s.verifyTimestamp === 'always' || expiredNow);
  if (!triggered) {
    const bad = chain.map((c) => validityProblem(c, s.now, 'the time of verification')).find(Boolean);
    return { failure: bad ? `${bad}${root.tsaRoots.length === 0 ? ' and no tsCert is configured to accept a timestamp instead' : ''}` : undefined };
  }
  if (!env.timestampToken || env.timestampToken.length === 0) {
    return { failure: 'no timestamp countersignature was found in the signature, but trust root has tsCert (verifyTimestamp: ' + s.verifyTimestamp + ')' };
  }
  try {
    const ts = verifyTimestamp(env.timestampToken, env.signature, root.tsaRoots);
    for (const c of chain) {
      if (ts.lower.getTime() < c.notBefore.getTime()) return { failure: `the timestamp ${ts.genTime.toISOString()} may be before certificate "${c.subject}" became valid (${c.notBefore.toISOString()})` };
      if (ts.upper.getTime() > c.notAfter.getTime()) return { failure: `the timestamp ${ts.genTime.toISOString()} may be after certificate "${c.subject}" expired (${c.notAfter.toISOString()})` };
    }
    const tsaRevocation = revocationProblem(ts.tsaChain, 'TSA certificate');
    if (tsaRevocation) return { failure: tsaRevocation };
    return { timestamp: { genTime: ts.genTime.toISOString(), tsa: ts.tsaChain[0]!.subject } };
  } catch (err) {
    if (err instanceof TimestampError) return { failure: `timestamp countersignature invalid: ${err.message}` };
    throw err;
  }
}

/** Runs the checks after integrity (which the caller established by opening the envelope and checking the payload). */
export function verifyAgainstRoot(env: EnvelopeContent, root: NotationTrustRoot, s: VerificationSettings): SignatureVerdict {
  const leaf = env.certificates[0]!;
  const verdict: SignatureVerdict = { verified: false, logged: [], signer: leaf.subject };
  const record = (check: Check, failure: string | undefined): boolean => {
    const action = s.actions[check];
    if (!failure || action === 'skip') return true;
    const result: CheckResult = { check, action, failure, hint: HINTS[check] };
    if (action === 'enforce') {
      verdict.failed = result;
      return false;
    }
    verdict.logged.push(result);
    return true;
  };
  let authenticity: string | undefined;
  if (env.signingScheme === SCHEME_SIGNING_AUTHORITY) {
    authenticity = `signing certificate "${leaf.subject}" uses signing scheme notary.x509.signingAuthority, which needs a signing-authority trust store; Imprimatur's notation trust roots are CA trust stores`;
  } else if (!chainTrusted(env.certificates, root)) {
    authenticity = `signing certificate "${leaf.subject}" does not chain to a certificate of trust root "${root.name}"`;
  } else {
    authenticity = identityProblem(root.identities, leaf);
  }
  if (!record('authenticity', authenticity)) return verdict;
  const expiry = env.expiry && s.now.getTime() >= env.expiry.getTime() ? `the signature by "${leaf.subject}" expired at ${env.expiry.toISOString()}` : undefined;
  if (!record('expiry', expiry)) return verdict;
  if (s.actions.authenticTimestamp !== 'skip') {
    const ts = authenticTimestamp(env, root, s);
    verdict.timestamp = ts.timestamp;
    if (!record('authenticTimestamp', ts.failure)) return verdict;
  }
  if (s.actions.revocation !== 'skip') {
    if (!record('revocation', revocationProblem(env.certificates, 'certificate'))) return verdict;
  }
  verdict.verified = true;
  return verdict;
}

export function integrityFailure(message: string): CheckResult {
  return { check: 'integrity', action: 'enforce', failure: message, hint: HINTS.integrity };
}
