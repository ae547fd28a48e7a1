/**
 * One signature against one trust root, as the Notary Project's verification steps run: integrity
 * (envelope, signed descriptor = this image), authenticity (chain to the trust root, trusted identity),
 * expiry, authentic timestamp (RFC 3161 countersignature against tsCert, or the chain valid now),
 * revocation (offline or online, see revocation.ts). The level decides per check whether a failure denies (enforce) or is logged.
 */
import { validityProblem, type ParsedCertificate } from './certificates.js';
import type { NotationTrustRoot } from './config.js';
import { SCHEME_SIGNING_AUTHORITY, type EnvelopeContent } from './envelope.js';
import type { Action, Check } from './levels.js';
import type { RevocationChecker } from './revocation.js';
import { TimestampError, verifyTimestamp } from './timestamp.js';
import { identityProblem, suggestedIdentity } from './trusted-identities.js';

export interface CheckResult {
  check: Check;
  action: Action;
  /** Undefined when the check passed. */
  failure?: string;
  /** What to do about the failure. */
  hint?: string;
}

/** What became of one check for one signature (explain, alerts). */
export type CheckStatus = 'passed' | 'failed' | 'logged' | 'skipped';

export interface SignatureVerdict {
  verified: boolean;
  /** The first enforced failure (the reason the signature does not count). */
  failed?: CheckResult;
  /** Logged failures (did not deny). */
  logged: CheckResult[];
  /** Each check run (or skipped) so far, in the order of the Notary Project's steps. */
  checks: Partial<Record<Check, CheckStatus>>;
  /** Subject of the signing certificate. */
  signer: string;
  /** Trusted time of signing when a timestamp verified. */
  timestamp?: { genTime: string; tsa: string };
}

export interface VerificationSettings {
  actions: Record<Check, Action>;
  verifyTimestamp: 'always' | 'afterCertExpiry';
  now: Date;
  /** The admission deadline (online revocation checks). */
  signal: AbortSignal;
  revocation: RevocationChecker;
}

/** The image descriptor the signature must name. */
export interface TargetDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A failed check: what is wrong (naming the certificate) and what to do about it. */
interface Finding {
  failure: string;
  hint: string;
}

const INTEGRITY_HINT = 'the signature or the image was altered, or the signature is for another image; sign this image digest again with `notation sign`';
const EXPIRY_HINT = 'the signer set an expiry (`notation sign --expiry`); sign the image again, or set with.verificationOverride.expiry: log to accept expired signatures';
const RESIGN_OR_TIMESTAMP = 're-sign with a currently valid certificate, or sign with a timestamp (`notation sign --timestamp-url …`) and add the TSA root certificate as the trust root\'s tsCert';

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

function authenticity(env: EnvelopeContent, root: NotationTrustRoot): Finding | undefined {
  const leaf = env.certificates[0]!;
  if (env.signingScheme === SCHEME_SIGNING_AUTHORITY) {
    return {
      failure: `signing certificate "${leaf.subject}" uses signing scheme notary.x509.signingAuthority (a signing service such as AWS Signer), which needs a signing-authority trust store and the service's verification plugin; Imprimatur's notation trust roots are CA trust stores`,
      hint: 'sign with a key and certificate of your own CA (signing scheme notary.x509), or verify this image with the signing service\'s own tooling',
    };
  }
  if (!chainTrusted(env.certificates, root)) {
    const top = env.certificates[env.certificates.length - 1]!;
    return {
      failure: `its certificate chain (root "${top.subject}") contains no certificate of trust root "${root.name}"`,
      hint: `sign with a certificate issued by trust root "${root.name}", or, if this signer is trusted, add its root CA certificate to the trust root's cert`,
    };
  }
  const identity = identityProblem(root.identities, leaf);
  if (!identity) return undefined;
  const suggestion = suggestedIdentity(leaf);
  return {
    failure: identity,
    hint: suggestion
      ? `if this signer is trusted, add "${suggestion}" to trust root "${root.name}"'s trustedIdentities; otherwise sign with the certificate of a listed identity`
      : 'sign with the certificate of a listed identity',
  };
}

async function authenticTimestamp(env: EnvelopeContent, root: NotationTrustRoot, s: VerificationSettings): Promise<{ finding?: Finding; timestamp?: SignatureVerdict['timestamp'] }> {
  const chain = env.certificates;
  if (env.signingScheme === SCHEME_SIGNING_AUTHORITY) {
    const bad = chain.map((c) => validityProblem(c, env.signingTime, `the authentic signing time ${env.signingTime.toISOString()}`)).find(Boolean);
    return { finding: bad ? { failure: bad, hint: 'sign the image again with a currently valid certificate' } : undefined };
  }
  const expiredNow = chain.some((c) => s.now.getTime() > c.notAfter.getTime());
  const triggered = root.tsaRoots.length > 0 && (s.verifyTimestamp === 'always' || expiredNow);
  if (!triggered) {
    const bad = chain.map((c) => validityProblem(c, s.now, 'the time of verification')).find(Boolean);
    if (!bad) return {};
    return root.tsaRoots.length === 0
      ? { finding: { failure: `${bad}, and trust root "${root.name}" has no tsCert to accept a timestamp instead`, hint: RESIGN_OR_TIMESTAMP } }
      : { finding: { failure: bad, hint: RESIGN_OR_TIMESTAMP } };
  }
  if (!env.timestampToken || env.timestampToken.length === 0) {
    return {
      finding: {
        failure: `the signature by "${chain[0]!.subject}" carries no RFC 3161 timestamp, but trust root "${root.name}" has tsCert and verifyTimestamp is ${s.verifyTimestamp}`,
        hint: s.verifyTimestamp === 'always'
          ? 'sign with a timestamp (`notation sign --timestamp-url … --timestamp-root-cert …`), or set with.verifyTimestamp: afterCertExpiry to require the timestamp only once the certificate has expired'
          : RESIGN_OR_TIMESTAMP,
      },
    };
  }
  try {
    const ts = verifyTimestamp(env.timestampToken, env.signature, root.tsaRoots);
    const resign = 'the signature was timestamped outside its certificate\'s validity; sign the image again with a currently valid certificate';
    for (const c of chain) {
      if (ts.lower.getTime() < c.notBefore.getTime()) return { finding: { failure: `the timestamp ${ts.genTime.toISOString()} may be before certificate "${c.subject}" became valid (${c.notBefore.toISOString()})`, hint: resign } };
      if (ts.upper.getTime() > c.notAfter.getTime()) return { finding: { failure: `the timestamp ${ts.genTime.toISOString()} may be after certificate "${c.subject}" expired (${c.notAfter.toISOString()})`, hint: resign } };
    }
    const tsaRevocation = await s.revocation.check(ts.tsaChain, 'TSA certificate', { now: s.now, signal: s.signal, trusted: true });
    if (tsaRevocation) return { finding: tsaRevocation };
    return { timestamp: { genTime: ts.genTime.toISOString(), tsa: ts.tsaChain[0]!.subject } };
  } catch (err) {
    if (err instanceof TimestampError) {
      return {
        finding: {
          failure: `the timestamp countersignature of the signature by "${chain[0]!.subject}" is invalid: ${err.message}`,
          hint: `if the timestamp authority is trusted, add its root certificate to trust root "${root.name}"'s tsCert; otherwise sign again with a trusted timestamp authority`,
        },
      };
    }
    throw err;
  }
}

/** Runs the checks after integrity (which the caller established by opening the envelope and checking the payload). */
export async function verifyAgainstRoot(env: EnvelopeContent, root: NotationTrustRoot, s: VerificationSettings): Promise<SignatureVerdict> {
  const leaf = env.certificates[0]!;
  const verdict: SignatureVerdict = { verified: false, logged: [], checks: { integrity: 'passed' }, signer: leaf.subject };
  /** Records a check's result; false when an enforced failure ends the verification of this signature. */
  const record = async (check: Check, run: () => Finding | undefined | Promise<Finding | undefined>): Promise<boolean> => {
    const action = s.actions[check];
    if (action === 'skip') {
      verdict.checks[check] = 'skipped';
      return true;
    }
    const finding = await run();
    if (!finding) {
      verdict.checks[check] = 'passed';
      return true;
    }
    const result: CheckResult = { check, action, failure: finding.failure, hint: finding.hint };
    if (action === 'enforce') {
      verdict.checks[check] = 'failed';
      verdict.failed = result;
      return false;
    }
    verdict.checks[check] = 'logged';
    verdict.logged.push(result);
    return true;
  };
  if (!(await record('authenticity', () => authenticity(env, root)))) return verdict;
  const expired = (): Finding | undefined =>
    env.expiry && s.now.getTime() >= env.expiry.getTime() ? { failure: `the signature by "${leaf.subject}" expired at ${env.expiry.toISOString()}`, hint: EXPIRY_HINT } : undefined;
  if (!(await record('expiry', expired))) return verdict;
  const timestamped = async (): Promise<Finding | undefined> => {
    const ts = await authenticTimestamp(env, root, s);
    verdict.timestamp = ts.timestamp;
    return ts.finding;
  };
  if (!(await record('authenticTimestamp', timestamped))) return verdict;
  // Online checks only for a chain found trusted (at audit, authenticity may have failed and only been logged).
  const trusted = verdict.checks.authenticity === 'passed';
  if (!(await record('revocation', () => s.revocation.check(env.certificates, 'certificate', { now: s.now, signal: s.signal, trusted })))) return verdict;
  verdict.verified = true;
  return verdict;
}

export function integrityFailure(message: string, hint = INTEGRITY_HINT): CheckResult {
  return { check: 'integrity', action: 'enforce', failure: message, hint };
}
