/**
 * cosign signatures stored as OCI 1.1 referrers — what `cosign sign --registry-referrers-mode=oci-1-1`
 * (COSIGN_EXPERIMENTAL=1) writes and `cosign verify --experimental-oci11` reads, and how Docker signs
 * Docker Hardened Images: an OCI image manifest whose `subject` is the image, whose artifact type is
 * `application/vnd.dev.cosign.artifact.sig.v1+json` (the `artifactType` field since cosign 3.1, the
 * config media type before), and whose layers are the simple-signing layers of a `.sig` manifest.
 *
 * cosign reads only the last such referrer; Imprimatur reads all of them (up to a bound), so a newer
 * referrer cannot hide an older valid signature, and a signature counts only if its manifest names this
 * image as subject and its payload names this image's digest.
 */
import type { Descriptor, RegistryClient, RepositoryRef } from '../../registry/types.js';
import { shortDigest, type ClassicCandidate } from './candidates.js';
import { artifactTypeOf, fetchReferrerManifest } from './referrer-manifest.js';
import { signatureLayers, type LayerBudget } from './signature-layers.js';

export const SIGNATURE_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
/** At most this many signature referrers are fetched. */
export const MAX_SIGNATURE_REFERRERS = 16;

export interface ReferrerSignatureFindings {
  /** Digests of the signature referrer manifests looked at. */
  manifests: string[];
  candidates: ClassicCandidate[];
  skipped: string[];
}

/**
 * Loads the signature referrers among `referrers` (the image's referrers list) and returns one candidate
 * per simple-signing layer. A referrer that cannot count (missing, oversized, another subject, another
 * artifact type) is recorded as a candidate with a problem. Registry failures are thrown (fail closed).
 */
export async function findReferrerSignatures(
  client: RegistryClient,
  repo: RepositoryRef,
  digest: string,
  referrers: Descriptor[],
  budget: LayerBudget,
  signal: AbortSignal,
): Promise<ReferrerSignatureFindings> {
  const findings: ReferrerSignatureFindings = { manifests: [], candidates: [], skipped: [] };
  const listed = referrers.filter((r) => r.artifactType === SIGNATURE_ARTIFACT_TYPE);
  const label = (ref: Descriptor): string => `referrer ${shortDigest(ref.digest)}`;
  const selected = listed.slice(0, MAX_SIGNATURE_REFERRERS);
  for (const ref of listed.slice(MAX_SIGNATURE_REFERRERS)) findings.skipped.push(`${label(ref)}: more than ${MAX_SIGNATURE_REFERRERS} signature referrers; ignored`);
  // The manifests in parallel (one round trip), their layers in listing order (stable ids and layer budget).
  const fetched = await Promise.all(selected.map((ref) => fetchReferrerManifest(client, repo, digest, ref, signal)));
  for (const [i, ref] of selected.entries()) {
    findings.manifests.push(ref.digest);
    const result = fetched[i]!;
    if ('problem' in result) {
      findings.candidates.push({ kind: 'classic', store: 'referrer', id: label(ref), problem: result.problem });
      continue;
    }
    const type = artifactTypeOf(result.manifest);
    if (type !== SIGNATURE_ARTIFACT_TYPE) {
      findings.candidates.push({ kind: 'classic', store: 'referrer', id: label(ref), problem: `referrer manifest is not a cosign signature (artifact type ${type ?? 'missing'})` });
      continue;
    }
    const { candidates, skipped } = await signatureLayers(client, repo, digest, result.manifest, label(ref), 'referrer', budget, signal);
    if (candidates.length === 0 && skipped.length === 0) {
      findings.candidates.push({ kind: 'classic', store: 'referrer', id: label(ref), problem: 'referrer manifest holds no signature layer' });
    }
    findings.candidates.push(...candidates);
    findings.skipped.push(...skipped);
  }
  return findings;
}
