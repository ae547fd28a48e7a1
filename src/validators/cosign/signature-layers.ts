/**
 * The layers of a cosign signature manifest — the classic `sha256-<hex>.sig` tag and the OCI 1.1
 * referrer cosign writes with `--registry-referrers-mode=oci-1-1` hold the same thing: one
 * simple-signing payload per layer, the signature (base64) and, for keyless and Rekor, the
 * certificate, chain and Rekor bundle in the layer annotations.
 */
import { ImprimaturError } from '../../errors.js';
import type { Descriptor, FetchedManifest, RegistryClient, RepositoryRef } from '../../registry/types.js';
import { DIGEST_PATTERN, shortDigest, type ClassicCandidate, type SignatureStore } from './candidates.js';
import { simpleSigningProblem } from './simple-signing.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const REKOR_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
/** Annotations above this size are ignored (a certificate chain or Rekor bundle is a few KiB). */
const MAX_ANNOTATION_CHARS = 64 * 1024;

/** At most this many signature layers are looked at per image, over all signature manifests. */
export const MAX_SIGNATURE_LAYERS = 64;
/** Payload blobs above this size are not fetched. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * How many more signature layers one kind of store (the `.sig` tag, the referrers) may add, and the
 * payloads already fetched (shared between stores: cosign copies `.sig` signatures into its referrer).
 */
export class LayerBudget {
  used = 0;
  constructor(readonly blobs = new Map<string, Promise<Buffer | undefined>>()) {}
}

/** A manifest layer as a descriptor (with its annotations), or undefined when it is not a valid one. */
export function asDescriptor(layer: unknown): Descriptor | undefined {
  if (!layer || typeof layer !== 'object') return undefined;
  const l = layer as Record<string, unknown>;
  if (typeof l.mediaType !== 'string' || typeof l.digest !== 'string' || typeof l.size !== 'number') return undefined;
  const annotations = l.annotations && typeof l.annotations === 'object' ? (l.annotations as Record<string, string>) : undefined;
  return { mediaType: l.mediaType, digest: l.digest, size: l.size, annotations };
}

/**
 * One candidate per simple-signing layer of `manifest` (payload fetched and digest-checked, its
 * signed digest compared with `digest`); other layers are listed in `skipped`. Keys are tried later.
 * `label` prefixes the candidate ids, e.g. `sha256-….sig` → `sha256-….sig layer 0`.
 */
export async function signatureLayers(
  client: RegistryClient,
  repo: RepositoryRef,
  digest: string,
  manifest: FetchedManifest,
  label: string,
  store: SignatureStore,
  budget: LayerBudget,
  signal: AbortSignal,
): Promise<{ candidates: ClassicCandidate[]; skipped: string[] }> {
  const layers = Array.isArray(manifest.json.layers) ? (manifest.json.layers as unknown[]) : [];
  const candidates: ClassicCandidate[] = [];
  const skipped: string[] = [];
  for (const [i, raw] of layers.entries()) {
    const id = `${label} layer ${i}`;
    const layer = asDescriptor(raw);
    if (!layer) {
      skipped.push(`${id}: not a valid descriptor`);
      continue;
    }
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
      skipped.push(`${id}: media type ${layer.mediaType}`);
      continue;
    }
    if (budget.used >= MAX_SIGNATURE_LAYERS) {
      skipped.push(`${id}: more than ${MAX_SIGNATURE_LAYERS} signatures; ignored`);
      continue;
    }
    budget.used++;
    candidates.push(await layerCandidate(client, repo, digest, signal, id, store, layer, budget.blobs));
  }
  return { candidates, skipped };
}

async function layerCandidate(
  client: RegistryClient,
  repo: RepositoryRef,
  digest: string,
  signal: AbortSignal,
  id: string,
  store: SignatureStore,
  layer: Descriptor,
  blobs: Map<string, Promise<Buffer | undefined>>,
): Promise<ClassicCandidate> {
  const encoded = layer.annotations?.[SIGNATURE_ANNOTATION];
  if (typeof encoded !== 'string' || !BASE64.test(encoded)) {
    return { kind: 'classic', store, id, problem: `has no valid ${SIGNATURE_ANNOTATION} annotation` };
  }
  if (!DIGEST_PATTERN.test(layer.digest)) return { kind: 'classic', store, id, problem: `payload digest "${layer.digest}" is not a sha256 digest` };
  if (layer.size < 0 || layer.size > MAX_PAYLOAD_BYTES) {
    return { kind: 'classic', store, id, problem: `payload of ${layer.size} bytes exceeds the limit of ${MAX_PAYLOAD_BYTES} bytes` };
  }
  let pending = blobs.get(layer.digest);
  if (!pending) {
    pending = fetchPayload(client, repo, layer, signal);
    blobs.set(layer.digest, pending);
  }
  const payload = await pending;
  if (!payload) return { kind: 'classic', store, id, problem: `payload blob ${shortDigest(layer.digest)} does not exist in the registry` };
  const signature = Buffer.from(encoded, 'base64');
  const annotation = (name: string): string | undefined => {
    const value = layer.annotations?.[name];
    return typeof value === 'string' && value.length > 0 && value.length <= MAX_ANNOTATION_CHARS ? value : undefined;
  };
  return {
    kind: 'classic', store, id, payload, signature,
    certificate: annotation(CERTIFICATE_ANNOTATION),
    chain: annotation(CHAIN_ANNOTATION),
    rekorBundle: annotation(REKOR_BUNDLE_ANNOTATION),
    problem: simpleSigningProblem(payload, digest),
  };
}

/** The payload bytes (checked against the layer digest and size by the client), or undefined when the blob is missing. */
async function fetchPayload(client: RegistryClient, repo: RepositoryRef, layer: Descriptor, signal: AbortSignal): Promise<Buffer | undefined> {
  try {
    return await client.getBlob(repo, layer, signal);
  } catch (err) {
    if (err instanceof ImprimaturError && err.code === 'REGISTRY_NOT_FOUND') return undefined;
    throw err;
  }
}
