/**
 * What a Sigstore bundle signs, checked against the image digest (independent of any key):
 * - DSSE: an in-toto statement with predicate type `https://sigstore.dev/cosign/sign/v1` (cosign 3's
 *   image signature) whose subject digest is the image digest. Other predicates are attestations, not
 *   signatures, and do not count.
 * - message signature: the message digest is the image (manifest) digest; the signed message is the
 *   manifest itself.
 */
import type { Bundle } from '@sigstore/bundle';
import { parseStatement, subjectProblem } from './statement.js';

export { IN_TOTO_PAYLOAD_TYPE } from './statement.js';
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
/** protobuf-specs HashAlgorithm.SHA2_256 */
const SHA2_256 = 1;

/** Why `bundle` is not a signature of image `digest`, or undefined when it is. */
export function bundleSubjectProblem(bundle: Bundle, digest: string): string | undefined {
  const content = bundle.content;
  if (content.$case === 'messageSignature') {
    const md = content.messageSignature.messageDigest;
    if (!md || md.algorithm !== SHA2_256) return 'message signature does not use a SHA-256 digest';
    const signed = `sha256:${Buffer.from(md.digest).toString('hex')}`;
    return signed === digest ? undefined : `bundle subject is another image (${signed})`;
  }
  const env = content.dsseEnvelope;
  const parsed = parseStatement(env.payloadType, Buffer.from(env.payload));
  if ('problem' in parsed) return parsed.problem;
  if (parsed.statement.predicateType !== COSIGN_SIGN_PREDICATE) {
    return `bundle is an attestation (predicate ${JSON.stringify(parsed.statement.predicateType)}), not an image signature (${COSIGN_SIGN_PREDICATE})`;
  }
  return subjectProblem(parsed.statement, digest, 'bundle');
}

/** Whether the bundle is signed with a certificate (keyless) rather than a public key. */
export function isKeylessBundle(bundle: Bundle): boolean {
  return bundle.verificationMaterial.content.$case !== 'publicKey';
}
