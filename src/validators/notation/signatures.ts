/**
 * Finding an image's Notary Project signatures: referrers of the image digest (OCI 1.1 referrers API,
 * else the referrers tag schema, both through the registry client) whose artifact type — or, in the
 * pre-1.1 layout, config media type — is `application/vnd.cncf.notary.signature`; each signature
 * manifest (digest-checked) has exactly one layer, the JWS or COSE envelope, fetched by digest.
 */
import { ImprimaturError } from '../../errors.js';
import type { Descriptor, RegistryClient, RepositoryRef } from '../../registry/types.js';
import { MEDIA_TYPES } from '../../registry/types.js';
import { COSE_MEDIA_TYPE, JWS_MEDIA_TYPE } from './envelope.js';

export const NOTATION_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';
/** At most this many signatures are examined. */
export const MAX_SIGNATURES = 32;
/** Envelopes above this size are not fetched. */
export const MAX_ENVELOPE_BYTES = 1024 * 1024;

export interface SignatureCandidate {
  /** `sha256:…` of the signature manifest. */
  digest: string;
  /** Layer media type (application/jose+json or application/cose) and bytes, when loaded. */
  mediaType?: string;
  envelope?: Buffer;
  /** Why the signature could not be loaded (it then does not count). */
  problem?: string;
}

export interface SignatureFindings {
  candidates: SignatureCandidate[];
  skipped: string[];
}

const short = (d: string): string => d.slice(0, 19);

export async function findSignatures(client: RegistryClient, repo: RepositoryRef, digest: string, signal: AbortSignal): Promise<SignatureFindings> {
  const referrers = await client.getReferrers(repo, digest, signal);
  const candidates: SignatureCandidate[] = [];
  const skipped: string[] = [];
  for (const ref of referrers) {
    const type = ref.artifactType;
    // Without artifactType (older registries) the manifest's config media type tells; look at OCI manifests only.
    if (type !== NOTATION_ARTIFACT_TYPE && !(type === undefined && ref.mediaType === MEDIA_TYPES.ociManifest)) {
      skipped.push(`referrer ${short(ref.digest)}: artifact type ${type ?? '(none)'}`);
      continue;
    }
    if (candidates.length >= MAX_SIGNATURES) {
      skipped.push(`referrer ${short(ref.digest)}: more than ${MAX_SIGNATURES} signatures; ignored`);
      continue;
    }
    const candidate = await loadSignature(client, repo, digest, ref, signal);
    if (candidate) candidates.push(candidate);
    else skipped.push(`referrer ${short(ref.digest)}: not a Notary Project signature`);
  }
  return { candidates, skipped };
}

async function loadSignature(client: RegistryClient, repo: RepositoryRef, digest: string, ref: Descriptor, signal: AbortSignal): Promise<SignatureCandidate | undefined> {
  const manifest = await client.findManifest(repo, ref.digest, signal);
  if (!manifest) return { digest: ref.digest, problem: 'the signature manifest does not exist in the registry' };
  if (manifest.digest !== ref.digest) {
    throw new ImprimaturError('DIGEST_MISMATCH', `registry ${repo.registry} returned manifest ${manifest.digest} for ${ref.digest} in ${repo.repository}; the registry or a proxy in front of it is not trustworthy`);
  }
  const json = manifest.json;
  const config = json.config as Record<string, unknown> | undefined;
  const isNotation = json.artifactType === NOTATION_ARTIFACT_TYPE || config?.mediaType === NOTATION_ARTIFACT_TYPE;
  if (!isNotation) return undefined;
  if (manifest.mediaType !== MEDIA_TYPES.ociManifest) return { digest: ref.digest, problem: `the signature manifest has media type ${manifest.mediaType}, not an OCI image manifest` };
  const subject = (json.subject as Record<string, unknown> | undefined)?.digest;
  if (subject !== digest) return { digest: ref.digest, problem: `the signature manifest's subject is ${typeof subject === 'string' ? subject : 'missing'}, not this image` };
  const layers = Array.isArray(json.layers) ? (json.layers as Array<Record<string, unknown>>) : [];
  if (layers.length !== 1) return { digest: ref.digest, problem: `the signature manifest has ${layers.length} layers; exactly one (the envelope) is expected` };
  const layer = layers[0]!;
  const mediaType = String(layer.mediaType);
  if (mediaType !== JWS_MEDIA_TYPE && mediaType !== COSE_MEDIA_TYPE) return { digest: ref.digest, problem: `the envelope media type ${mediaType} is not supported (application/jose+json or application/cose)` };
  if (typeof layer.digest !== 'string' || typeof layer.size !== 'number') return { digest: ref.digest, problem: 'the envelope layer has no digest or size' };
  if (layer.size < 0 || layer.size > MAX_ENVELOPE_BYTES) return { digest: ref.digest, problem: `the envelope of ${layer.size} bytes exceeds the limit of ${MAX_ENVELOPE_BYTES} bytes` };
  try {
    const envelope = await client.getBlob(repo, { mediaType, digest: layer.digest, size: layer.size }, signal);
    return { digest: ref.digest, mediaType, envelope };
  } catch (err) {
    if (err instanceof ImprimaturError && err.code === 'REGISTRY_NOT_FOUND') return { digest: ref.digest, problem: 'the envelope blob does not exist in the registry' };
    throw err;
  }
}
