/**
 * Classic cosign signatures: the manifest at tag `sha256-<hex>.sig` in the image's repository, one
 * simple-signing layer per signature, the signature (base64) in a layer annotation.
 */
import { ImprimaturError } from '../../errors.js';
import type { Descriptor, RegistryClient, RepositoryRef } from '../../registry/types.js';
import { DIGEST_PATTERN, shortDigest, type ClassicCandidate } from './candidates.js';
import { simpleSigningProblem } from './simple-signing.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const REKOR_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
/** Annotations above this size are ignored (a certificate chain or Rekor bundle is a few KiB). */
const MAX_ANNOTATION_CHARS = 64 * 1024;

/** At most this many signature layers are looked at (a `.sig` manifest is small in practice). */
export const MAX_SIGNATURE_LAYERS = 64;
/** Payload blobs above this size are not fetched. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

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

function asDescriptor(layer: unknown): Descriptor | undefined {
  if (!layer || typeof layer !== 'object') return undefined;
  const l = layer as Record<string, unknown>;
  if (typeof l.mediaType !== 'string' || typeof l.digest !== 'string' || typeof l.size !== 'number') return undefined;
  const annotations = l.annotations && typeof l.annotations === 'object' ? (l.annotations as Record<string, string>) : undefined;
  return { mediaType: l.mediaType, digest: l.digest, size: l.size, annotations };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Fetches the classic signatures of the image `digest` and checks each payload (digest-checked blob,
 * simple-signing type, signed digest). Keys are tried later. A missing `.sig` tag means none.
 * Registry failures other than a missing payload blob are thrown (fail closed).
 */
export async function findClassicSignatures(
  client: RegistryClient,
  repo: RepositoryRef,
  digest: string,
  signal: AbortSignal,
): Promise<ClassicFindings> {
  const tag = signatureTag(digest);
  const manifest = await client.findManifest(repo, tag, signal);
  if (!manifest) return { tag, candidates: [], skipped: [] };
  const layers = Array.isArray(manifest.json.layers) ? (manifest.json.layers as unknown[]) : [];
  const candidates: ClassicCandidate[] = [];
  const skipped: string[] = [];
  const blobs = new Map<string, Promise<Buffer | undefined>>();
  for (const [i, raw] of layers.entries()) {
    const id = `${tag} layer ${i}`;
    const layer = asDescriptor(raw);
    if (!layer) {
      skipped.push(`${id}: not a valid descriptor`);
      continue;
    }
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
      skipped.push(`${id}: media type ${layer.mediaType}`);
      continue;
    }
    if (candidates.length >= MAX_SIGNATURE_LAYERS) {
      skipped.push(`${id}: more than ${MAX_SIGNATURE_LAYERS} signatures; ignored`);
      continue;
    }
    candidates.push(await classicCandidate(client, repo, digest, signal, id, layer, blobs));
  }
  return { tag, manifestDigest: manifest.digest, candidates, skipped };
}

async function classicCandidate(
  client: RegistryClient,
  repo: RepositoryRef,
  digest: string,
  signal: AbortSignal,
  id: string,
  layer: Descriptor,
  blobs: Map<string, Promise<Buffer | undefined>>,
): Promise<ClassicCandidate> {
  const encoded = layer.annotations?.[SIGNATURE_ANNOTATION];
  if (typeof encoded !== 'string' || !BASE64.test(encoded)) {
    return { kind: 'classic', id, problem: `has no valid ${SIGNATURE_ANNOTATION} annotation` };
  }
  if (!DIGEST_PATTERN.test(layer.digest)) return { kind: 'classic', id, problem: `payload digest "${layer.digest}" is not a sha256 digest` };
  if (layer.size < 0 || layer.size > MAX_PAYLOAD_BYTES) {
    return { kind: 'classic', id, problem: `payload of ${layer.size} bytes exceeds the limit of ${MAX_PAYLOAD_BYTES} bytes` };
  }
  let pending = blobs.get(layer.digest);
  if (!pending) {
    pending = fetchPayload(client, repo, layer, signal);
    blobs.set(layer.digest, pending);
  }
  const payload = await pending;
  if (!payload) return { kind: 'classic', id, problem: `payload blob ${shortDigest(layer.digest)} does not exist in the registry` };
  const signature = Buffer.from(encoded, 'base64');
  const annotation = (name: string): string | undefined => {
    const value = layer.annotations?.[name];
    return typeof value === 'string' && value.length > 0 && value.length <= MAX_ANNOTATION_CHARS ? value : undefined;
  };
  return {
    kind: 'classic', id, payload, signature,
    certificate: annotation(CERTIFICATE_ANNOTATION),
    chain: annotation(CHAIN_ANNOTATION),
    rekorBundle: annotation(REKOR_BUNDLE_ANNOTATION),
    problem: simpleSigningProblem(payload, digest),
  };
}

/** The payload bytes (checked against the layer digest by the client), or undefined when the blob is missing. */
async function fetchPayload(client: RegistryClient, repo: RepositoryRef, layer: Descriptor, signal: AbortSignal): Promise<Buffer | undefined> {
  try {
    return await client.getBlob(repo, layer, signal);
  } catch (err) {
    if (err instanceof ImprimaturError && err.code === 'REGISTRY_NOT_FOUND') return undefined;
    throw err;
  }
}
