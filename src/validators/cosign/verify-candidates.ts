/** Tries one trust root against every signature found, producing its record entry. */
import { formatOf, type BundleCandidate, type Candidate, type ClassicCandidate } from './candidates.js';
import type { TrustRoot } from './config.js';
import { verifyBundleWithKey } from './bundle-verify.js';
import { classicToBundle } from './classic-bundle.js';
import { describeExpectation, describeIdentity, identityMatches } from './identity.js';
import { verifyWithKey } from './keys.js';
import { MSG_NO_TLOG_ENTRY, verifyKeylessBundle, type KeylessVerdict, type TlogOptions } from './keyless.js';
import { foundSummary, rootReason, type SignatureAttempt, type TrustRootRecord } from './record.js';
import { MSG_TLOG } from './sigstore-checks.js';
import type { SigstoreTrust } from './trust.js';

export const MSG_NO_EXPECTED_IDENTITY = 'no signature from an expected identity';

export interface CandidateSet {
  /** Simple-signing signatures: from the `.sig` tag and from signature referrers. */
  classic: ClassicCandidate[];
  bundles: BundleCandidate[];
  /** The image manifest bytes (digest-checked), for message-signature bundles. */
  manifest?: Buffer;
  trust: SigstoreTrust;
  options: TlogOptions;
  /** Keyless verdicts per signature (independent of the trust root): computed once. */
  keyless?: Map<Candidate, KeylessVerdict>;
}

type KeyRoot = Extract<TrustRoot, { kind: 'key' }>;
type KeylessRoot = Extract<TrustRoot, { kind: 'keyless' }>;

function keyAttempt(root: KeyRoot, candidate: Candidate, set: CandidateSet): SignatureAttempt {
  const signature = candidate.id;
  const tlog = set.options.verifyInTransparencyLog;
  if (candidate.kind === 'classic') {
    if (!candidate.payload || !candidate.signature) return { signature, verified: false, reason: candidate.problem ?? 'no signature' };
    let scheme = verifyWithKey(root.key, candidate.payload, candidate.signature);
    if (!scheme) return { signature, verified: false, reason: 'signature does not match this key' };
    // Signed by this key, but the payload does not bind this image (e.g. copied from another image's .sig).
    if (candidate.problem) return { signature, verified: false, reason: `signed by this key, but ${candidate.problem}` };
    if (tlog) {
      if (!candidate.rekorBundle && candidate.rekorLookup) {
        return { signature, verified: false, reason: `signed by this key, but ${MSG_TLOG}: the signature has no Rekor bundle and ${candidate.rekorLookup}` };
      }
      if (!candidate.rekorBundle) {
        return { signature, verified: false, reason: 'signed by this key, but transparency log entry invalid: the signature has no Rekor bundle (signed with --tlog-upload=false?); set verifyInTransparencyLog: false in the rule to accept it' };
      }
      const converted = classicToBundle(candidate, false);
      if ('problem' in converted) return { signature, verified: false, reason: `signed by this key, but ${converted.problem}` };
      const result = verifyBundleWithKey(converted.bundle, root.key, candidate.payload, { trust: set.trust, classic: true });
      if (!result.ok) return { signature, verified: false, reason: `signed by this key, but ${result.reason}` };
      scheme = result.scheme;
    }
    return { signature, verified: true, scheme };
  }
  if (!candidate.bundle) return { signature, verified: false, reason: candidate.problem ?? 'no bundle' };
  // A message signature signs the manifest of its subject: with another subject there is nothing to check it against.
  if (candidate.problem && candidate.bundle.content.$case === 'messageSignature') return { signature, verified: false, reason: candidate.problem };
  const result = verifyBundleWithKey(candidate.bundle, root.key, set.manifest, tlog ? { trust: set.trust } : undefined);
  if (!result.ok) return { signature, verified: false, reason: result.reason };
  if (candidate.problem) return { signature, verified: false, reason: `signed by this key, but ${candidate.problem}` };
  return { signature, verified: true, scheme: result.scheme };
}

/** The keyless verdict of a signature (chain, SCT, tlog, signature), whatever the identity. */
function keylessVerdict(candidate: Candidate, set: CandidateSet): KeylessVerdict {
  const cache = (set.keyless ??= new Map());
  const known = cache.get(candidate);
  if (known) return known;
  let verdict: KeylessVerdict;
  if (candidate.kind === 'classic') {
    const converted = classicToBundle(candidate, true);
    verdict = 'problem' in converted ? { problem: converted.problem } : verifyKeylessBundle(converted.bundle, candidate.payload, set.trust, set.options);
    if (verdict.problem === MSG_NO_TLOG_ENTRY && candidate.rekorLookup) verdict = { ...verdict, problem: `${MSG_NO_TLOG_ENTRY} (${candidate.rekorLookup})` };
  } else if (!candidate.bundle) {
    verdict = { problem: candidate.problem ?? 'no bundle' };
  } else if (candidate.problem && candidate.bundle.content.$case === 'messageSignature') {
    verdict = { problem: candidate.problem };
  } else {
    verdict = verifyKeylessBundle(candidate.bundle, set.manifest, set.trust, set.options);
  }
  cache.set(candidate, verdict);
  return verdict;
}

function keylessAttempt(root: KeylessRoot, candidate: Candidate, set: CandidateSet): SignatureAttempt & { cryptoOk: boolean } {
  const signature = candidate.id;
  const verdict = keylessVerdict(candidate, set);
  const identity = verdict.identity;
  if (verdict.problem) return { signature, verified: false, identity, reason: verdict.problem, cryptoOk: false };
  if (!identityMatches(root.identity, identity ?? {})) {
    return { signature, verified: false, identity, signedAt: verdict.signedAt, reason: `signed by ${describeIdentity(identity)}, which is not the expected identity (${describeExpectation(root.identity)})`, cryptoOk: true };
  }
  // Valid and from the expected identity, but the payload binds another image.
  if (candidate.problem) return { signature, verified: false, identity, reason: `signed by the expected identity, but ${candidate.problem}`, cryptoOk: true };
  return { signature, verified: true, identity, signedAt: verdict.signedAt, scheme: `keyless, ${describeIdentity(identity)}, signed at ${verdict.signedAt ?? 'unknown time'}`, cryptoOk: true };
}

export function verifyTrustRoot(root: TrustRoot, set: CandidateSet): TrustRootRecord {
  const found = foundSummary(set.classic.filter((c) => c.store === 'tag').length, set.classic.filter((c) => c.store === 'referrer').length, set.bundles.length);
  const candidates: Candidate[] = [...set.classic, ...set.bundles];
  const withFormat = (attempt: SignatureAttempt, candidate: Candidate): SignatureAttempt => ({ ...attempt, format: formatOf(candidate) });
  const formats = (attempts: SignatureAttempt[]): string[] => [...new Set(attempts.filter((a) => a.verified).map((a) => a.format!))];
  if (root.kind === 'keyless') {
    const results = candidates.map((c) => keylessAttempt(root, c, set));
    const attempts: SignatureAttempt[] = results.map(({ cryptoOk: _, ...a }, i) => withFormat(a, candidates[i]!));
    const verifiedBy = attempts.filter((a) => a.verified).map((a) => `${a.signature} (${a.scheme})`);
    const record: TrustRootRecord = { name: root.name, identity: describeExpectation(root.identity), verified: verifiedBy.length > 0, found, verifiedBy, formats: formats(attempts), attempts };
    if (!record.verified) {
      const valid = results.filter((r) => r.cryptoOk && r.identity);
      record.reason = valid.length > 0
        ? `${MSG_NO_EXPECTED_IDENTITY} (found: ${[...new Set(valid.map((r) => describeIdentity(r.identity)))].join('; ')})`
        : rootReason(attempts, 'no signatures found');
    }
    return record;
  }
  const attempts = candidates.map((c) => withFormat(keyAttempt(root, c, set), c));
  const verifiedBy = attempts.filter((a) => a.verified).map((a) => `${a.signature} (${a.scheme})`);
  const record: TrustRootRecord = { name: root.name, key: root.key.description, verified: verifiedBy.length > 0, found, verifiedBy, formats: formats(attempts), attempts };
  if (!record.verified) record.reason = rootReason(attempts, 'no signatures found');
  return record;
}
