/**
 * Sigstore bundles attached to an image as OCI referrers (what `cosign sign --new-bundle-format`
 * writes): a referrer manifest whose artifactType is a bundle media type, the bundle JSON in its layer.
 */
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { ImprimaturError } from '../../errors.js';
import { MEDIA_TYPES, type Descriptor, type FetchedManifest, type RegistryClient, type RepositoryRef } from '../../registry/types.js';
import { bundleSubjectProblem, COSIGN_SIGN_PREDICATE } from './bundle-subject.js';
import { DIGEST_PATTERN, shortDigest, type BundleCandidate } from './candidates.js';
import { artifactTypeOf, fetchReferrerManifest } from './referrer-manifest.js';

export const BUNDLE_MEDIA_TYPES: readonly string[] = [
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
];

/** At most this many bundles are looked at. */
export const MAX_BUNDLES = 32;
/** Bundle blobs above this size are not fetched. */
export const MAX_BUNDLE_BYTES = 1024 * 1024;
/** Attestation bundles (an SBOM can be large) above this size are not fetched. */
export const MAX_ATTESTATION_BUNDLE_BYTES = 4 * 1024 * 1024;
/**
 * Artifact types a referrers listing may show for a bundle without saying so: none, or the empty config's media type,
 * which older go-containerregistry (cosign 2.x `--new-bundle-format`) writes into the referrers tag schema index
 * instead of the manifest's artifactType. Such a referrer counts only if its manifest says it is a bundle.
 */
const UNTYPED_LISTINGS: readonly string[] = ['', 'application/vnd.oci.empty.v1+json'];
/** Referrer annotation naming the predicate type of a DSSE bundle (a hint: the signed statement decides). */
export const BUNDLE_PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';

export interface BundleFindings {
  candidates: BundleCandidate[];
  skipped: string[];
}

function layerOf(manifest: FetchedManifest): Descriptor | undefined {
  const layers = Array.isArray(manifest.json.layers) ? (manifest.json.layers as Array<Record<string, unknown>>) : [];
  const layer = layers.find((l) => l && typeof l === 'object' && BUNDLE_MEDIA_TYPES.includes(l.mediaType as string));
  if (!layer || typeof layer.digest !== 'string' || typeof layer.size !== 'number') return undefined;
  return { mediaType: layer.mediaType as string, digest: layer.digest, size: layer.size };
}

/**
 * Loads each bundle among `referrers` (the image's referrers list): manifest and blob digest-checked
 * and size-capped, the manifest's subject must be `digest`, bundle structure validated, signed subject
 * compared with `digest`. Keys are tried later. Registry failures are thrown (fail closed), except a
 * referrer whose content is missing or malformed, which is recorded and does not count.
 * Referrers whose annotation names an attestation predicate type are only loaded when it is in
 * `attestationTypes` (the rule requires it); they are not signatures.
 */
export async function findBundles(
  client: RegistryClient,
  repo: RepositoryRef,
  digest: string,
  referrers: Descriptor[],
  signal: AbortSignal,
  attestationTypes: ReadonlySet<string> = new Set(),
): Promise<BundleFindings> {
  const candidates: BundleCandidate[] = [];
  const skipped: string[] = [];
  let untypedProbes = 0;
  for (const ref of referrers) {
    const listed = ref.artifactType ?? '';
    const typed = BUNDLE_MEDIA_TYPES.includes(listed);
    if (!typed && !(UNTYPED_LISTINGS.includes(listed) && ref.mediaType === MEDIA_TYPES.ociManifest)) continue;
    if (!typed && ++untypedProbes > MAX_BUNDLES) continue;
    const id = `bundle ${shortDigest(ref.digest)}`;
    const hint = attestationHint(ref.annotations);
    if (hint && !attestationTypes.has(hint)) {
      skipped.push(`${id}: attestation (predicate type ${hint}), not required by this rule`);
      continue;
    }
    if (candidates.length >= MAX_BUNDLES) {
      skipped.push(`${id}: more than ${MAX_BUNDLES} bundles; ignored`);
      continue;
    }
    const loaded = await loadBundle(client, repo, digest, ref, id, signal, attestationTypes, !typed);
    if (loaded === undefined) continue; // listed without a type, and not a bundle
    if ('skipped' in loaded) skipped.push(loaded.skipped);
    else candidates.push(loaded);
  }
  return { candidates, skipped };
}

/** The attestation predicate type an annotation block names (not the cosign signature predicate), if any. */
function attestationHint(annotations: Record<string, string> | undefined): string | undefined {
  const hint = annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION];
  return typeof hint === 'string' && hint.length > 0 && hint !== COSIGN_SIGN_PREDICATE ? hint : undefined;
}

function manifestAnnotations(manifest: FetchedManifest): Record<string, string> | undefined {
  const a = manifest.json.annotations;
  return a && typeof a === 'object' && !Array.isArray(a) ? (a as Record<string, string>) : undefined;
}

async function loadBundle(
  client: RegistryClient,
  repo: RepositoryRef,
  digest: string,
  ref: Descriptor,
  id: string,
  signal: AbortSignal,
  attestationTypes: ReadonlySet<string>,
  untypedListing: boolean,
): Promise<BundleCandidate | { skipped: string } | undefined> {
  const fetched = await fetchReferrerManifest(client, repo, digest, ref, signal);
  if (untypedListing && ('problem' in fetched || !BUNDLE_MEDIA_TYPES.includes(artifactTypeOf(fetched.manifest) ?? ''))) return undefined;
  if ('problem' in fetched) return { kind: 'bundle', id, problem: fetched.problem };
  // The tag-schema index written by cosign carries no annotations; the manifest does.
  const hint = attestationHint(ref.annotations) ?? attestationHint(manifestAnnotations(fetched.manifest));
  if (hint && !attestationTypes.has(hint)) return { skipped: `${id}: attestation (predicate type ${hint}), not required by this rule` };
  // Attestations (an SBOM can be large) may be bigger than signatures when the rule requires some.
  const maxBytes = hint || attestationTypes.size > 0 ? MAX_ATTESTATION_BUNDLE_BYTES : MAX_BUNDLE_BYTES;
  const layer = layerOf(fetched.manifest);
  if (!layer || !DIGEST_PATTERN.test(layer.digest)) return { kind: 'bundle', id, problem: 'referrer manifest has no bundle layer' };
  if (layer.size < 0 || layer.size > maxBytes) {
    return { kind: 'bundle', id, problem: `bundle of ${layer.size} bytes exceeds the limit of ${maxBytes} bytes` };
  }
  let body: Buffer;
  try {
    body = await client.getBlob(repo, layer, signal);
  } catch (err) {
    if (err instanceof ImprimaturError && err.code === 'REGISTRY_NOT_FOUND') return { kind: 'bundle', id, problem: 'bundle blob does not exist in the registry' };
    throw err;
  }
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(JSON.parse(body.toString('utf8')));
  } catch (err) {
    return { kind: 'bundle', id, problem: `is not a valid Sigstore bundle (${(err as Error).message})` };
  }
  return { kind: 'bundle', id, bundle, problem: bundleSubjectProblem(bundle, digest) };
}
