/**
 * Fetching one referrer manifest listed for an image (referrers API or tag schema index), trusting
 * nothing the listing says: the manifest is fetched by digest (checked), capped at the size the listing
 * declares and at `MAX_REFERRER_MANIFEST_BYTES`, and its own `subject` must be the image.
 */
import { ImprimaturError } from '../../errors.js';
import { MEDIA_TYPES, type Descriptor, type FetchedManifest, type RegistryClient, type RepositoryRef } from '../../registry/types.js';
import { DIGEST_PATTERN } from './candidates.js';

/** A signature or bundle referrer manifest is a few KiB; a keyless signature manifest with many layers stays far below this. */
export const MAX_REFERRER_MANIFEST_BYTES = 1024 * 1024;

export type ReferrerManifest = { manifest: FetchedManifest } | { problem: string };

function subjectDigest(manifest: FetchedManifest): string | undefined {
  const subject = manifest.json.subject as Record<string, unknown> | undefined;
  return subject && typeof subject === 'object' && typeof subject.digest === 'string' ? subject.digest : undefined;
}

/** The artifact type of an OCI 1.1 manifest: `artifactType`, else the config media type (OCI image spec 1.1). */
export function artifactTypeOf(manifest: FetchedManifest): string | undefined {
  if (typeof manifest.json.artifactType === 'string') return manifest.json.artifactType;
  const config = manifest.json.config as Record<string, unknown> | undefined;
  return config && typeof config === 'object' && typeof config.mediaType === 'string' ? config.mediaType : undefined;
}

/**
 * The referrer manifest `ref` of image `digest`, or why it cannot count. A registry that sends other
 * bytes than the digest names, or more than the size it listed, is not trustworthy: that is thrown
 * (DIGEST_MISMATCH, RESPONSE_TOO_LARGE), failing the validation.
 */
export async function fetchReferrerManifest(
  client: RegistryClient,
  repo: RepositoryRef,
  digest: string,
  ref: Descriptor,
  signal: AbortSignal,
): Promise<ReferrerManifest> {
  if (!DIGEST_PATTERN.test(ref.digest)) return { problem: `referrer digest "${ref.digest}" is not a sha256 digest` };
  if (ref.mediaType !== MEDIA_TYPES.ociManifest) return { problem: `referrer is a ${ref.mediaType}, not an OCI image manifest` };
  if (!Number.isSafeInteger(ref.size) || ref.size <= 0) return { problem: `referrer descriptor has an invalid size (${ref.size})` };
  if (ref.size > MAX_REFERRER_MANIFEST_BYTES) {
    return { problem: `referrer manifest of ${ref.size} bytes exceeds the limit of ${MAX_REFERRER_MANIFEST_BYTES} bytes` };
  }
  let manifest: FetchedManifest | undefined;
  try {
    manifest = await client.findManifest(repo, ref.digest, signal, { maxBytes: ref.size });
  } catch (err) {
    if (err instanceof ImprimaturError && err.code === 'RESPONSE_TOO_LARGE') {
      throw new ImprimaturError('RESPONSE_TOO_LARGE', `registry ${repo.registry} sent more than the ${ref.size} bytes its referrers list declares for manifest ${ref.digest} in ${repo.repository}; the registry or a proxy in front of it is not trustworthy`, { registry: repo.registry }, { cause: err });
    }
    throw err;
  }
  if (!manifest) return { problem: 'referrer manifest does not exist in the registry' };
  if (manifest.digest !== ref.digest) {
    throw new ImprimaturError('DIGEST_MISMATCH', `registry ${repo.registry} returned manifest ${manifest.digest} for ${ref.digest} in ${repo.repository}; the registry or a proxy in front of it is not trustworthy`);
  }
  const subject = subjectDigest(manifest);
  if (subject !== digest) return { problem: `referrer manifest's subject is ${subject ?? 'missing'}, not this image` };
  return { manifest };
}
