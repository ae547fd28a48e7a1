/**
 * The "simple signing" payload a classic cosign signature signs:
 * `{"critical":{"identity":{"docker-reference":…},"image":{"docker-manifest-digest":"sha256:…"},"type":"cosign container image signature"},"optional":…}`.
 */

export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';

/**
 * Why `payload` is not a cosign signature of the image `digest`, or undefined when it is.
 * The docker-reference is deliberately not compared: an image may be copied between registries and
 * the signature binds the manifest digest.
 */
export function simpleSigningProblem(payload: Buffer, digest: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'payload is not JSON';
  }
  const critical = (doc as { critical?: unknown } | null)?.critical as Record<string, unknown> | undefined;
  if (!critical || typeof critical !== 'object') return 'payload has no "critical" section';
  if (critical.type !== SIMPLE_SIGNING_TYPE) return `payload type is ${JSON.stringify(critical.type)}, not "${SIMPLE_SIGNING_TYPE}"`;
  const image = critical.image as Record<string, unknown> | undefined;
  const signed = image && typeof image === 'object' ? image['docker-manifest-digest'] : undefined;
  if (typeof signed !== 'string') return 'payload names no docker-manifest-digest';
  if (signed !== digest) return `signature is for another image (${signed})`;
  return undefined;
}
