/**
 * Classic cosign signatures: the manifest at tag `sha256-<hex>.sig` in the image's repository, one
 * simple-signing layer per signature (signature-layers.ts).
 */
import type { RegistryClient, RepositoryRef } from '../../registry/types.js';
import type { ClassicCandidate } from './candidates.js';
import { signatureLayers, type LayerBudget } from './signature-layers.js';

/** The tag cosign stores signatures of `digest` under. */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

export interface ClassicFindings {
  tag: string;
  /** Digest of the `.sig` manifest, when there is one. */
  manifestDigest?: string;
  candidates: ClassicCandidate[];
  /** Layers that were not looked at (other media types, beyond the limit). */
  skipped: string[];
}

/**
 * Fetches the classic signatures of the image `digest` and checks each payload (digest-checked blob,
 * simple-signing type, signed digest). Keys are tried later. A missing `.sig` tag means none.
 * Registry failures other than a missing payload blob are thrown (fail closed).
 */
export async function findClassicSignatures(
  client: RegistryClient,
  repo: RepositoryRef,
  digest: string,
  budget: LayerBudget,
  signal: AbortSignal,
): Promise<ClassicFindings> {
  const tag = signatureTag(digest);
  const manifest = await client.findManifest(repo, tag, signal);
  if (!manifest) return { tag, candidates: [], skipped: [] };
  const { candidates, skipped } = await signatureLayers(client, repo, digest, manifest, tag, 'tag', budget, signal);
  return { tag, manifestDigest: manifest.digest, candidates, skipped };
}
