/**
 * The VerificationRecord of a cosign validation: what was found for the image and, per trust root,
 * which signature each key verified and why the others did not count (`imprimatur explain`).
 */
import type { VerificationRecord } from '../types.js';
import type { SignaturePolicy } from './policy.js';

export interface SignatureAttempt {
  /** Candidate label, e.g. `sha256-….sig layer 0` or `bundle sha256:…`. */
  signature: string;
  verified: boolean;
  /** Scheme that verified (e.g. `ecdsa-sha256`, `sigstore-bundle`), when verified. */
  scheme?: string;
  reason?: string;
  /** Keyless: the identity in the signature's certificate (whether or not it counted). */
  identity?: { subject?: string; issuer?: string };
  /** When the signature was made (trusted timestamp: Rekor integrated time or RFC 3161), if verified. */
  signedAt?: string;
}

export interface TrustRootRecord {
  name: string;
  verified: boolean;
  /** e.g. `2 classic signature(s), 1 bundle(s)`. */
  found: string;
  reason?: string;
  /** Signatures this trust root verified. */
  verifiedBy: string[];
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
  bundles?: { found: number; skipped: string[] };
  trustRoots: TrustRootRecord[];
}

export function foundSummary(classic: number, bundles: number): string {
  return `${classic} classic signature(s), ${bundles} bundle(s)`;
}

export function policySummary(policy: SignaturePolicy): CosignRecord['policy'] {
  return { trustRoots: policy.trustRoots, threshold: policy.threshold, required: policy.required };
}

/** Why a trust root did not verify, from its attempts. */
export function rootReason(attempts: SignatureAttempt[], fallback: string): string {
  if (attempts.length === 0) return fallback;
  return attempts.map((a) => `${a.signature}: ${a.reason ?? 'not verified'}`).join('; ');
}
