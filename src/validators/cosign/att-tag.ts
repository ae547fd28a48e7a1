/**
 * Attestations stored the classic way (`cosign attest`, cosign 2 and cosign 3 with
 * `--new-bundle-format=false`): the manifest at tag `sha256-<hex>.att` in the image's repository, one
 * layer of media type `application/vnd.dsse.envelope.v1+json` per attestation (the DSSE envelope is the
 * blob; certificate, chain and Rekor bundle are layer annotations, as in `.sig` manifests; the
 * `predicateType` annotation is a hint only: the signed statement decides).
 */
import { ImprimaturError } from '../../errors.js';
import type { Descriptor, RegistryClient, RepositoryRef } from '../../registry/types.js';
import { DIGEST_PATTERN, shortDigest, type AttestationCandidate } from './candidates.js';
import { asDescriptor, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, REKOR_BUNDLE_ANNOTATION } from './signature-layers.js';
import { envelopeToBundle, parseEnvelope } from './dsse-envelope.js';
import { parseStatement, subjectProblem } from './statement.js';

export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const PREDICATE_TYPE_ANNOTATION = 'predicateType';
/** At most this many attestation layers are fetched. */
export const MAX_ATTESTATION_LAYERS = 16;
/** Envelopes (SBOMs can be large) above this size are not fetched. */
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;
const MAX_ANNOTATION_CHARS = 64 * 1024;

/** The tag cosign stores attestations of `digest` under. */
export function attestationTag(digest: string): string {
  return `${digest.replace(':', '-')}.att`;
}

export interface AttestationFindings {
  tag: string;
  manifestDigest?: string;
  candidates: AttestationCandidate[];
  skipped: string[];
}

/**
 * Loads the `.att` attestations of image `digest` whose predicate type is in `wanted` (layers whose
 * hint names another type are not fetched). A missing `.att` tag means none; registry failures other
 * than a missing blob are thrown (fail closed).
 */
export async function findClassicAttestations(
  client: RegistryClient,
  repo: RepositoryRef,
  digest: string,
  wanted: ReadonlySet<string>,
  signal: AbortSignal,
): Promise<AttestationFindings> {
  const tag = attestationTag(digest);
  const manifest = await client.findManifest(repo, tag, signal);
  if (!manifest) return { tag, candidates: [], skipped: [] };
  const layers = Array.isArray(manifest.json.layers) ? (manifest.json.layers as unknown[]) : [];
  const candidates: AttestationCandidate[] = [];
  const skipped: string[] = [];
  for (const [i, raw] of layers.entries()) {
    const id = `${tag} layer ${i}`;
    const layer = asDescriptor(raw);
    if (!layer || layer.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE) {
      skipped.push(`${id}: ${layer ? `media type ${layer.mediaType}` : 'not a valid descriptor'}`);
      continue;
    }
    const hint = layer.annotations?.[PREDICATE_TYPE_ANNOTATION];
    if (typeof hint === 'string' && hint.length > 0 && !wanted.has(hint)) {
      skipped.push(`${id}: predicate type ${hint} (not required)`);
      continue;
    }
    if (candidates.length >= MAX_ATTESTATION_LAYERS) {
      skipped.push(`${id}: more than ${MAX_ATTESTATION_LAYERS} attestations; ignored`);
      continue;
    }
    candidates.push({ ...(await classicAttestation(client, repo, digest, id, layer, signal)), format: 'classic .att-tag attestation' });
  }
  return { tag, manifestDigest: manifest.digest, candidates, skipped };
}

async function classicAttestation(client: RegistryClient, repo: RepositoryRef, digest: string, id: string, layer: Descriptor, signal: AbortSignal): Promise<AttestationCandidate> {
  if (!DIGEST_PATTERN.test(layer.digest)) return { kind: 'bundle', id, problem: `envelope digest "${layer.digest}" is not a sha256 digest` };
  if (layer.size < 0 || layer.size > MAX_ENVELOPE_BYTES) {
    return { kind: 'bundle', id, problem: `DSSE envelope of ${layer.size} bytes exceeds the limit of ${MAX_ENVELOPE_BYTES} bytes` };
  }
  let body: Buffer;
  try {
    body = await client.getBlob(repo, layer, signal);
  } catch (err) {
    if (err instanceof ImprimaturError && err.code === 'REGISTRY_NOT_FOUND') return { kind: 'bundle', id, problem: `envelope blob ${shortDigest(layer.digest)} does not exist in the registry` };
    throw err;
  }
  const parsed = parseEnvelope(body);
  if ('problem' in parsed) return { kind: 'bundle', id, problem: parsed.problem };
  const annotation = (name: string): string | undefined => {
    const value = layer.annotations?.[name];
    return typeof value === 'string' && value.length > 0 && value.length <= MAX_ANNOTATION_CHARS ? value : undefined;
  };
  const converted = envelopeToBundle(parsed.envelope, {
    certificate: annotation(CERTIFICATE_ANNOTATION),
    chain: annotation(CHAIN_ANNOTATION),
    rekorBundle: annotation(REKOR_BUNDLE_ANNOTATION),
  });
  if ('problem' in converted) return { kind: 'bundle', id, problem: converted.problem };
  return attestationFrom(id, converted.bundle, digest);
}

/** An attestation candidate from a DSSE bundle: its statement, and whether it is about `digest`. */
export function attestationFrom(id: string, bundle: AttestationCandidate['bundle'] & object, digest: string): AttestationCandidate {
  if (bundle.content.$case !== 'dsseEnvelope') return { kind: 'bundle', id, bundle, problem: 'bundle is a message signature, not an attestation' };
  const env = bundle.content.dsseEnvelope;
  const parsed = parseStatement(env.payloadType, Buffer.from(env.payload));
  if ('problem' in parsed) return { kind: 'bundle', id, bundle, problem: parsed.problem };
  return { kind: 'bundle', id, bundle, statement: parsed.statement, problem: subjectProblem(parsed.statement, digest, 'attestation') };
}
