/**
 * Verifies a Sigstore bundle's signature with a trust root's public key, using @sigstore/verify.
 *
 * Key-based verification does not consult a transparency log yet: tlog entries and timestamps in
 * the bundle are not checked (thresholds 0), exactly as for classic key-based signatures.
 * The keyless path (Fulcio chain, SCTs, Rekor) will build real trust material here.
 */
import type { Bundle } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial, type SignedEntity } from '@sigstore/verify';
import type { TrustedKey } from './keys.js';

const EMPTY_TRUSTED_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

export type BundleKeyResult = { ok: true } | { ok: false; reason: string };

/**
 * Checks the bundle's signature against `key`. `artifact` is the signed message for message-signature
 * bundles (the image manifest bytes); DSSE bundles carry their payload.
 */
export function verifyBundleWithKey(bundle: Bundle, key: TrustedKey, artifact?: Buffer): BundleKeyResult {
  if (bundle.verificationMaterial.content.$case !== 'publicKey') {
    return { ok: false, reason: 'bundle is signed with a certificate (keyless); this trust root holds a public key' };
  }
  if (bundle.content.$case === 'messageSignature' && !artifact) {
    return { ok: false, reason: 'the signed image manifest is not available' };
  }
  const trust = toTrustMaterial(EMPTY_TRUSTED_ROOT, () => ({ publicKey: key.key, validFor: () => true }));
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  try {
    const entity: SignedEntity = { ...toSignedEntity(bundle, artifact), tlogEntries: [], timestamps: [] };
    verifier.verify(entity);
    return { ok: true };
  } catch (err) {
    const message = (err as Error).message;
    return { ok: false, reason: /signature verification failed/i.test(message) ? 'signature does not match this key' : `bundle does not verify (${message})` };
  }
}
