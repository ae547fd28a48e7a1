/**
 * The VerificationRecord of a cosign validation: what was found for the image and, per trust root,
 * which signature each key verified and why the others did not count (`imprimatur explain`).
 */
import type { VerificationRecord } from '../types.js';
import type { AttestationRecord } from './attestations.js';
import type { SignaturePolicy } from './policy.js';

export interface SignatureAttempt {
  /** Candidate label, e.g. `sha256-….sig layer 0` or `bundle sha256:…`. */
  signature: string;
  verified: boolean;
  /** Scheme that verified (e.g. `ecdsa-sha256`, `sigstore-bundle`), when verified. */
  scheme?: string;
  /** Signature format: classic `.sig` tag, OCI 1.1 referrer, or Sigstore bundle (candidates.ts formatOf). */
  format?: string;
  reason?: string;
  /** Keyless: the identity in the signature's certificate (whether or not it counted). */
  identity?: { subject?: string; issuer?: string };
  /** When the signature was made (trusted timestamp: Rekor integrated time or RFC 3161), if verified. */
  signedAt?: string;
}

export interface TrustRootRecord {
  name: string;
  verified: boolean;
  /** e.g. `2 classic signature(s), 1 OCI 1.1 referrer signature(s), 1 bundle(s)`. */
  found: string;
  reason?: string;
  /** Signatures this trust root verified. */
  verifiedBy: string[];
  /** Formats of the signatures this trust root verified. */
  formats?: string[];
  attempts: SignatureAttempt[];
  [key: string]: unknown;
}

export interface CosignRecord extends VerificationRecord {
  validator: string;
  image: string;
  digest?: string;
  policy?: { trustRoots: string[]; threshold: number; required: string[] };
  /** Transparency log / keyless options in force and where the Sigstore trust material comes from. */
  verification?: { verifyInTransparencyLog: boolean; verifySCT: boolean; onlineTransparencyLog: boolean; trustMaterial: string };
  classic?: { tag: string; manifestDigest?: string; found: number; skipped: string[] };
  /** cosign signatures stored as OCI 1.1 referrers: the referrer manifests read and the signatures in them. */
  referrerSignatures?: { manifests: string[]; found: number; skipped: string[] };
  bundles?: { found: number; skipped: string[] };
  /** How many referrers the registry listed, and those of other artifact types (attestations, SBOMs, …). */
  referrers?: { listed: number; other: string[] };
  /** Formats of the signatures that satisfied the rule (admissions only). */
  verifiedFormats?: string[];
  trustRoots: TrustRootRecord[];
  /** Where attestations were looked for (`.att` tag; bundle referrers are counted in `bundles`). */
  attestationSources?: { tag: string; manifestDigest?: string; found: number; skipped: string[] };
  /** Each required attestation (rule option `attestations`), when the signatures verified. */
  attestations?: AttestationRecord[];
}

export function foundSummary(classic: number, referrers: number, bundles: number): string {
  return `${classic} classic signature(s), ${referrers} OCI 1.1 referrer signature(s), ${bundles} bundle(s)`;
}

/** The distinct formats that verified for the given trust roots, in a stable order. */
export function verifiedFormats(roots: TrustRootRecord[]): string[] {
  return [...new Set(roots.filter((r) => r.verified).flatMap((r) => r.formats ?? []))].sort();
}

export function policySummary(policy: SignaturePolicy): CosignRecord['policy'] {
  return { trustRoots: policy.trustRoots, threshold: policy.threshold, required: policy.required };
}

/** Why a trust root did not verify, from its attempts. */
export function rootReason(attempts: SignatureAttempt[], fallback: string): string {
  if (attempts.length === 0) return fallback;
  return attempts.map((a) => `${a.signature}: ${a.reason ?? 'not verified'}`).join('; ');
}

/** Longest per-trust-root reason put into a denial (kubectl shows the whole message; `explain` has everything). */
export const MAX_ROOT_REASON = 300;

const MSG_KEY_MISMATCH = 'signature does not match this key';

/**
 * How far a failed attempt got, higher = more specific: the right signer but something else wrong (3), a
 * verification problem such as the transparency log or the certificate (2), an unusable signature (1), a
 * signature by another key or another kind of signer (0).
 */
function specificity(reason: string): number {
  if (/^signed by (this key|the expected identity|.*, which is not the expected identity)/.test(reason)) return 3;
  if (reason === MSG_KEY_MISMATCH || /this trust root (holds a public key|is keyless)|^not a keyless signature/.test(reason)) return 0;
  if (/does not exist|is not a (sha256|valid)|exceeds the limit|cannot be (read|parsed)|^no (signature|bundle)$|has no valid|malformed|not JSON/.test(reason)) return 1;
  return 2;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function countedReason(reason: string, count: number, total: number): string {
  if (reason === MSG_KEY_MISMATCH) {
    if (count === total) return count === 1 ? '1 signature found, it does not match this key' : `${count} signatures found, none matches this key`;
    return `${count} other signature(s) do not match this key`;
  }
  return count === 1 ? reason : `${count} signatures: ${reason}`;
}

/**
 * The most specific reason why a trust root did not verify, for the denial message (bounded): e.g.
 * `signed by this key, but transparency log entry invalid: …` rather than the generic "no signature matches".
 */
export function rootFailureSummary(root: TrustRootRecord): string {
  if (root.verified) return 'verified';
  if (root.attempts.length === 0) return clip(root.reason ?? 'no signatures found', MAX_ROOT_REASON);
  // A keyless root's own summary names the identities that did sign: already the most specific.
  if (typeof root.reason === 'string' && root.reason.startsWith('no signature from an expected identity')) return clip(root.reason, MAX_ROOT_REASON);
  const groups = new Map<string, number>();
  for (const a of root.attempts) {
    const reason = a.reason ?? 'not verified';
    groups.set(reason, (groups.get(reason) ?? 0) + 1);
  }
  const ranked = [...groups].sort((a, b) => specificity(b[0]) - specificity(a[0]) || b[1] - a[1]);
  const total = root.attempts.length;
  const parts = ranked.slice(0, 2).map(([reason, count]) => countedReason(reason, count, total));
  const rest = ranked.slice(2).reduce((n, [, count]) => n + count, 0);
  if (rest > 0) parts.push(`${rest} more signature(s) did not verify`);
  return clip(parts.join('; '), MAX_ROOT_REASON);
}

/** `name: reason` for each failed trust root of `names` (at most 3, then a count). */
export function failedRootsSummary(roots: TrustRootRecord[], names: string[]): string {
  const failed = roots.filter((r) => names.includes(r.name) && !r.verified);
  const shown = failed.slice(0, 3).map((r) => `${r.name}: ${rootFailureSummary(r)}`);
  if (failed.length > 3) shown.push(`${failed.length - 3} more trust root(s) did not verify`);
  return shown.join('; ');
}
