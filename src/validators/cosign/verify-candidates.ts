/** Tries one trust root against every signature found, producing its record entry. */
import type { BundleCandidate, Candidate, ClassicCandidate } from './candidates.js';
import type { TrustRoot } from './config.js';
import { verifyBundleWithKey } from './bundle-verify.js';
import { verifyWithKey } from './keys.js';
import { foundSummary, rootReason, type SignatureAttempt, type TrustRootRecord } from './record.js';

export const KEYLESS_NOT_SUPPORTED = 'keyless verification is not supported by this version of Imprimatur yet; this trust root never counts as signed';

export interface CandidateSet {
  classic: ClassicCandidate[];
  bundles: BundleCandidate[];
  /** The image manifest bytes (digest-checked), for message-signature bundles. */
  manifest?: Buffer;
}

function attempt(root: Extract<TrustRoot, { kind: 'key' }>, candidate: Candidate, manifest: Buffer | undefined): SignatureAttempt {
  const signature = candidate.id;
  if (candidate.kind === 'classic') {
    if (!candidate.payload || !candidate.signature) return { signature, verified: false, reason: candidate.problem ?? 'no signature' };
    const scheme = verifyWithKey(root.key, candidate.payload, candidate.signature);
    if (!scheme) return { signature, verified: false, reason: 'signature does not match this key' };
    // Signed by this key, but the payload does not bind this image (e.g. copied from another image's .sig).
    if (candidate.problem) return { signature, verified: false, reason: `signed by this key, but ${candidate.problem}` };
    return { signature, verified: true, scheme };
  }
  if (!candidate.bundle) return { signature, verified: false, reason: candidate.problem ?? 'no bundle' };
  // A message signature signs the manifest of its subject: with another subject there is nothing to check it against.
  if (candidate.problem && candidate.bundle.content.$case === 'messageSignature') return { signature, verified: false, reason: candidate.problem };
  const result = verifyBundleWithKey(candidate.bundle, root.key, manifest);
  if (!result.ok) return { signature, verified: false, reason: result.reason };
  if (candidate.problem) return { signature, verified: false, reason: `signed by this key, but ${candidate.problem}` };
  return { signature, verified: true, scheme: result.scheme };
}

export function verifyTrustRoot(root: TrustRoot, set: CandidateSet): TrustRootRecord {
  const found = foundSummary(set.classic.length, set.bundles.length);
  if (root.kind === 'keyless') {
    return { name: root.name, verified: false, found, reason: KEYLESS_NOT_SUPPORTED, verifiedBy: [], attempts: [] };
  }
  const attempts = [...set.classic, ...set.bundles].map((c) => attempt(root, c, set.manifest));
  const verifiedBy = attempts.filter((a) => a.verified).map((a) => `${a.signature} (${a.scheme})`);
  const record: TrustRootRecord = { name: root.name, key: root.key.description, verified: verifiedBy.length > 0, found, verifiedBy, attempts };
  if (!record.verified) record.reason = rootReason(attempts, 'no signatures found');
  return record;
}
