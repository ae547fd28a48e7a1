/**
 * Keyless (Fulcio certificate) verification of a Sigstore bundle — a real one, or one made from a
 * classic signature's annotations (classic-bundle.ts) — with @sigstore/verify against the validator's
 * trust material:
 * - the certificate chains to a configured Fulcio CA, and every certificate of the path was valid at
 *   the signing time (Rekor integrated time or RFC 3161 timestamp), not now: Fulcio certificates live
 *   10 minutes;
 * - its embedded SCT verifies with a configured CT log key (unless `verifySCT: false`);
 * - the transparency log entry: its SignedEntryTimestamp / inclusion proof verifies with a configured
 *   Rekor key, and its body names this signature, this payload digest and this certificate;
 * - the signature over the payload verifies with the certificate's key.
 * The identity (SAN, OIDC issuer) is returned, not judged: trust roots match it (identity.ts).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { Verifier, toSignedEntity, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import { verifyCertificateChain } from '@sigstore/verify/dist/key/certificate.js';
import { certificateIdentity, type CertificateIdentity } from './identity.js';
import { describeVerifyError, MSG_TLOG, tlogKeyProblem, withIntermediates } from './sigstore-checks.js';
import type { SigstoreTrust } from './trust.js';

export const MSG_NO_TLOG_ENTRY = `${MSG_TLOG}: the signature has no transparency log entry`;

export interface TlogOptions {
  /** A transparency log entry is required (`with.verifyInTransparencyLog`, default true). */
  verifyInTransparencyLog: boolean;
  /** The embedded SCT must verify (`with.verifySCT`, default true). */
  verifySCT: boolean;
}

export interface KeylessVerdict {
  /** The identity in the certificate (present whenever the certificate could be read). */
  identity?: CertificateIdentity;
  /** Why the signature does not verify, whatever the identity; undefined when it verifies. */
  problem?: string;
  /** ISO time the signature was made (earliest trusted timestamp), when it verifies. */
  signedAt?: string;
}

/** Leaf and supplied intermediates of a keyless bundle (DER), or undefined for a keyed bundle. */
function certificates(bundle: Bundle): Buffer[] | undefined {
  const content = bundle.verificationMaterial.content;
  if (content.$case === 'x509CertificateChain') return content.x509CertificateChain.certificates.map((c) => Buffer.from(c.rawBytes));
  if (content.$case === 'certificate') return [Buffer.from(content.certificate.rawBytes)];
  return undefined;
}

/**
 * @sigstore/verify always verifies an embedded SCT; with `verifySCT: false` the signing certificate is
 * checked by chain and validity only (cosign's `--insecure-ignore-sct`).
 */
function verifierFor(material: TrustMaterial, opts: TlogOptions): Verifier {
  const verifier = new Verifier(material, {
    tlogThreshold: opts.verifyInTransparencyLog ? 1 : 0,
    ctlogThreshold: opts.verifySCT ? 1 : 0,
    timestampThreshold: 1,
  });
  if (!opts.verifySCT) {
    (verifier as unknown as { verifySigningKey: (e: SignedEntity, t: Date[]) => unknown }).verifySigningKey = (entity, timestamps) => {
      if (entity.key.$case !== 'certificate') throw new Error('not a certificate');
      const leaf = entity.key.certificate;
      for (const t of timestamps) verifyCertificateChain(t, leaf, material.certificateAuthorities);
      return { key: createPublicKeyOf(leaf), identity: {} };
    };
  }
  return verifier;
}

function createPublicKeyOf(cert: { publicKey: Buffer }): KeyObject {
  return createPublicKey({ key: cert.publicKey, format: 'der', type: 'spki' });
}

function signingTime(entity: SignedEntity): string | undefined {
  const times = entity.tlogEntries.filter((e) => e.inclusionPromise || e.inclusionProof).map((e) => Number(e.integratedTime) * 1000);
  for (const ts of entity.timestamps) if (ts.$case === 'timestamp-authority') times.push(ts.timestamp.signingTime.getTime());
  const valid = times.filter((t) => Number.isFinite(t) && t > 0);
  return valid.length > 0 ? new Date(Math.min(...valid)).toISOString() : undefined;
}

/** Verifies a keyless bundle over `artifact` (the signed bytes of a message-signature bundle). */
export function verifyKeylessBundle(bundle: Bundle, artifact: Buffer | undefined, trust: SigstoreTrust, opts: TlogOptions): KeylessVerdict {
  const certs = certificates(bundle);
  if (!certs || certs.length === 0) return { problem: 'signed with a public key, not a Fulcio certificate; this trust root is keyless' };
  let leaf: X509Certificate;
  try {
    leaf = X509Certificate.parse(certs[0]!);
  } catch (err) {
    return { problem: `signing certificate cannot be parsed (${(err as Error).message})` };
  }
  const identity = certificateIdentity(leaf);
  if (bundle.content.$case === 'messageSignature' && !artifact) return { identity, problem: 'the signed content is not available' };
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle, artifact);
  } catch (err) {
    return { identity, problem: `bundle cannot be read (${(err as Error).message})` };
  }
  if (opts.verifyInTransparencyLog && entity.tlogEntries.length === 0) {
    return { identity, problem: MSG_NO_TLOG_ENTRY };
  }
  const keyProblem = tlogKeyProblem(entity.tlogEntries, { cert: certs[0]! });
  if (keyProblem) return { identity, problem: keyProblem };
  try {
    verifierFor(withIntermediates(trust, certs.slice(1)), opts).verify(entity);
  } catch (err) {
    return { identity, problem: describeVerifyError(err) };
  }
  return { identity, signedAt: signingTime(entity) };
}

/** sha256 of `data`, raw. */
export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}
