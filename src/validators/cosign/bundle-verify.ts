/**
 * Verifies a Sigstore bundle's signature with a trust root's public key, using @sigstore/verify.
 *
 * The signature itself is checked with the same per-key-type schemes as classic signatures
 * (keys.ts): @sigstore/verify 3.1 verifies DSSE with the OpenSSL default digest (SHA-256) and
 * message signatures with a digest even for Ed25519, which rejects cosign's P-384 (SHA-384),
 * RSA-PSS and Ed25519 bundles.
 *
 * Transparency log: with `tlog` (rule option `verifyInTransparencyLog`, the default), the bundle must
 * carry a Rekor entry whose inclusion promise/proof verifies with a trusted Rekor key and whose body
 * names this signature, digest and key; without it, tlog entries and timestamps are not consulted.
 * Classic key-based signatures go through here too (classic-bundle.ts). Keyless bundles: keyless.ts.
 */
import type { Bundle } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial, type SignedEntity } from '@sigstore/verify';
import { verifyWithKey, type TrustedKey } from './keys.js';
import { describeVerifyError, MSG_TLOG, tlogKeyProblem } from './sigstore-checks.js';
import type { SigstoreTrust } from './trust.js';

/** Transparency-log requirement of a key-based verification. */
export interface KeyTlog {
  trust: SigstoreTrust;
  /** The bundle was made from a classic signature (classic-bundle.ts): records name no bundle. */
  classic?: boolean;
}

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
export function verifyBundleWithKey(bundle: Bundle, key: TrustedKey, artifact?: Buffer, tlog?: KeyTlog): BundleKeyResult {
  if (bundle.verificationMaterial.content.$case !== 'publicKey') {
    return { ok: false, reason: 'bundle is signed with a certificate (keyless); this trust root holds a public key' };
  }
  const content = signedContent(bundle, artifact);
  if (!content) return { ok: false, reason: bundle.content.$case === 'messageSignature' ? 'the signed image manifest is not available' : 'DSSE envelope holds no signature' };
  let scheme: string | undefined;
  const finder = () => ({ publicKey: key.key, validFor: () => true });
  const trust = tlog ? { ...tlog.trust.material, publicKey: finder } : toTrustMaterial(EMPTY_TRUSTED_ROOT, finder);
  const verifier = new Verifier(trust, { tlogThreshold: tlog ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 });
  try {
    const base = toSignedEntity(bundle, artifact);
    if (tlog) {
      if (base.tlogEntries.length === 0) return { ok: false, reason: `${MSG_TLOG}: the signature has no transparency log entry (Rekor bundle); set verifyInTransparencyLog: false in the rule to accept signatures made without one` };
      const problem = tlogKeyProblem(base.tlogEntries, { spki: key.spki });
      if (problem) return { ok: false, reason: problem };
    }
    const entity: SignedEntity = {
      ...base,
      signature: {
        signature: base.signature.signature,
        compareSignature: (s) => base.signature.compareSignature(s),
        compareDigest: (d) => base.signature.compareDigest(d),
        verifySignature: () => (scheme = verifyWithKey(key, content.data, content.signature)) !== undefined,
      },
      tlogEntries: tlog ? base.tlogEntries : [],
      timestamps: tlog ? base.timestamps : [],
    };
    verifier.verify(entity);
    const kind = tlog?.classic ? undefined : `bundle ${bundle.content.$case === 'dsseEnvelope' ? 'DSSE' : 'message signature'}`;
    return { ok: true, scheme: [kind, scheme, tlog ? 'in transparency log' : undefined].filter(Boolean).join(', ') };
  } catch (err) {
    const message = (err as Error).message;
    if (/signature verification failed/i.test(message)) return { ok: false, reason: 'signature does not match this key' };
    return { ok: false, reason: tlog ? describeVerifyError(err) : `bundle does not verify (${message})` };
  }
}
