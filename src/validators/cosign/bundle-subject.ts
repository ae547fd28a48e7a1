/**
 * What a Sigstore bundle signs, checked against the image digest (independent of any key):
 * - DSSE: an in-toto statement with predicate type `https://sigstore.dev/cosign/sign/v1` (cosign 3's
 *   image signature) whose subject digest is the image digest. Other predicates are attestations, not
 *   signatures, and do not count.
 * - message signature: the message digest is the image (manifest) digest; the signed message is the
 *   manifest itself.
 */
import type { Bundle } from '@sigstore/bundle';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const STATEMENT_TYPES = ['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1'];
/** protobuf-specs HashAlgorithm.SHA2_256 */
const SHA2_256 = 1;

/** Why `bundle` is not a signature of image `digest`, or undefined when it is. */
export function bundleSubjectProblem(bundle: Bundle, digest: string): string | undefined {
  const hex = digest.slice('sha256:'.length);
  const content = bundle.content;
  if (content.$case === 'messageSignature') {
    const md = content.messageSignature.messageDigest;
    if (!md || md.algorithm !== SHA2_256) return 'message signature does not use a SHA-256 digest';
    const signed = `sha256:${Buffer.from(md.digest).toString('hex')}`;
    return signed === digest ? undefined : `bundle subject is another image (${signed})`;
  }
  const env = content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) return `DSSE payload type is ${env.payloadType}, not ${IN_TOTO_PAYLOAD_TYPE}`;
  let statement: Record<string, unknown>;
  try {
    statement = JSON.parse(Buffer.from(env.payload).toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'DSSE payload is not JSON';
  }
  if (!STATEMENT_TYPES.includes(statement._type as string)) return `DSSE payload is not an in-toto statement (_type ${JSON.stringify(statement._type)})`;
  if (statement.predicateType !== COSIGN_SIGN_PREDICATE) {
    return `bundle is an attestation (predicate ${JSON.stringify(statement.predicateType)}), not an image signature (${COSIGN_SIGN_PREDICATE})`;
  }
  const subjects = Array.isArray(statement.subject) ? (statement.subject as Array<{ digest?: Record<string, unknown> }>) : [];
  const digests = subjects.map((s) => s?.digest?.sha256).filter((d): d is string => typeof d === 'string');
  if (digests.includes(hex)) return undefined;
  return `bundle subject is another image (${digests.length > 0 ? digests.map((d) => `sha256:${d}`).join(', ') : 'no sha256 subject'})`;
}

/** Whether the bundle is signed with a certificate (keyless) rather than a public key. */
export function isKeylessBundle(bundle: Bundle): boolean {
  return bundle.verificationMaterial.content.$case !== 'publicKey';
}
