/**
 * Verifies a Sigstore bundle's signature with a trust root's public key, using @sigstore/verify.
 *
 * The signature itself is checked with the same per-key-type schemes as classic signatures
 * (keys.ts): @sigstore/verify 3.1 verifies DSSE with the OpenSSL default digest (SHA-256) and
 * message signatures with a digest even for Ed25519, which rejects cosign's P-384 (SHA-384),
 * RSA-PSS and Ed25519 bundles.
 *
 * Key-based verification does not consult a transparency log yet: tlog entries and timestamps in
 * the bundle are not checked (thresholds 0), exactly as for classic key-based signatures.
 * The keyless path (Fulcio chain, SCTs, Rekor) will build real trust material here.
 */
import type { Bundle } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial, type SignedEntity } from '@sigstore/verify';
import { verifyWithKey, type TrustedKey } from './keys.js';

const EMPTY_TRUSTED_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

export type BundleKeyResult = { ok: true; scheme: string } | { ok: false; reason: string };

/** DSSE pre-authentication encoding: `DSSEv1 <len> <type> <len> <payload>`. */
function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** The bytes the bundle's signature covers and the signature. */
function signedContent(bundle: Bundle, artifact: Buffer | undefined): { data: Buffer; signature: Buffer } | undefined {
  if (bundle.content.$case === 'messageSignature') {
    return artifact ? { data: artifact, signature: Buffer.from(bundle.content.messageSignature.signature) } : undefined;
  }
  const env = bundle.content.dsseEnvelope;
  const sig = env.signatures[0];
  if (!sig) return undefined;
  return { data: preAuthEncoding(env.payloadType, Buffer.from(env.payload)), signature: Buffer.from(sig.sig) };
}

/**
 * Checks the bundle's signature against `key`. `artifact` is the signed message for message-signature
 * bundles (the image manifest bytes); DSSE bundles carry their payload.
 */
export function verifyBundleWithKey(bundle: Bundle, key: TrustedKey, artifact?: Buffer): BundleKeyResult {
  if (bundle.verificationMaterial.content.$case !== 'publicKey') {
    return { ok: false, reason: 'bundle is signed with a certificate (keyless); this trust root holds a public key' };
  }
  const content = signedContent(bundle, artifact);
  if (!content) return { ok: false, reason: bundle.content.$case === 'messageSignature' ? 'the signed image manifest is not available' : 'DSSE envelope holds no signature' };
  let scheme: string | undefined;
  const trust = toTrustMaterial(EMPTY_TRUSTED_ROOT, () => ({ publicKey: key.key, validFor: () => true }));
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  try {
    const base = toSignedEntity(bundle, artifact);
    const entity: SignedEntity = {
      ...base,
      signature: {
        signature: base.signature.signature,
        compareSignature: (s) => base.signature.compareSignature(s),
        compareDigest: (d) => base.signature.compareDigest(d),
        verifySignature: () => (scheme = verifyWithKey(key, content.data, content.signature)) !== undefined,
      },
      tlogEntries: [],
      timestamps: [],
    };
    verifier.verify(entity);
    return { ok: true, scheme: `bundle ${bundle.content.$case === 'dsseEnvelope' ? 'DSSE' : 'message signature'}, ${scheme}` };
  } catch (err) {
    const message = (err as Error).message;
    return { ok: false, reason: /signature verification failed/i.test(message) ? 'signature does not match this key' : `bundle does not verify (${message})` };
  }
}
