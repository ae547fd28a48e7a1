/**
 * Attestations as `cosign attest` stores them, produced with Node's crypto and @sigstore/sign for the
 * cases the CLI cannot make (tampered, replayed, hostile) and for keyless signing against the mock
 * Sigstore; the real CLI makes the others (cosign-cli.ts):
 * - classic: DSSE envelopes as layers (`application/vnd.dsse.envelope.v1+json`) of the manifest at
 *   tag `sha256-<hex>.att`, with the `predicateType` hint and, keyless, certificate/chain/Rekor bundle
 *   annotations;
 * - bundles: a DSSE Sigstore bundle as an OCI referrer (cosign 3), with the
 *   `dev.sigstore.bundle.predicateType` hint.
 */
import type { Bundle } from '@sigstore/bundle';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { cosignSign, keyedSigner, BUNDLE_V03, type Pusher, type TestKey } from './cosign-signing.js';
import { OCI_MANIFEST, type PushedDescriptor } from './registry-push.js';

export const DSSE_ENVELOPE = 'application/vnd.dsse.envelope.v1+json';
export const IN_TOTO = 'application/vnd.in-toto+json';

/** The in-toto statement `cosign attest` writes (v0.1 statement type, subject = repository + digest). */
export function attestationStatement(digest: string, predicateType: string, predicate: unknown, name = 'registry.example/app'): Buffer {
  return Buffer.from(JSON.stringify({
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType,
    subject: [{ name, digest: { sha256: digest.slice('sha256:'.length) } }],
    predicate,
  }));
}

/** DSSE pre-authentication encoding. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload]);
}

/** A DSSE envelope (JSON bytes) over `statement`, signed with `key` as cosign signs. */
export function signedEnvelope(key: TestKey, statement: Buffer): Buffer {
  const sig = cosignSign(key, pae(IN_TOTO, statement));
  return Buffer.from(JSON.stringify({ payloadType: IN_TOTO, payload: statement.toString('base64'), signatures: [{ keyid: '', sig: sig.toString('base64') }] }));
}

export interface AttestationLayer {
  envelope: Buffer;
  /** The `predicateType` layer annotation (a hint). */
  predicateType?: string;
  certificate?: string;
  chain?: string;
  rekorBundle?: string;
}

/** Pushes the envelopes and the `.att` manifest (cosign's layout) for image `digest`. Returns the manifest digest. */
export async function pushAttestations(pusher: Pusher, repo: string, digest: string, layers: AttestationLayer[], tag = `${digest.replace(':', '-')}.att`): Promise<string> {
  const descriptors = [];
  for (const l of layers) {
    const blob = await pusher.pushBlob(repo, l.envelope);
    const annotations: Record<string, string> = { 'dev.cosignproject.cosign/signature': '' };
    if (l.predicateType) annotations.predicateType = l.predicateType;
    if (l.certificate) annotations['dev.sigstore.cosign/certificate'] = l.certificate;
    if (l.chain) annotations['dev.sigstore.cosign/chain'] = l.chain;
    if (l.rekorBundle) annotations['dev.sigstore.cosign/bundle'] = l.rekorBundle;
    descriptors.push({ mediaType: DSSE_ENVELOPE, digest: blob, size: l.envelope.length, annotations });
  }
  const config = Buffer.from(JSON.stringify({ architecture: '', os: '', rootfs: { type: 'layers', diff_ids: descriptors.map((d) => d.digest) }, config: {} }));
  const configDigest = await pusher.pushBlob(repo, config);
  return pusher.pushManifest(repo, tag, {
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: descriptors,
  }, OCI_MANIFEST);
}

/** Signs `statement` with `key` and pushes it as the only attestation of `digest`. */
export async function attestWithKey(pusher: Pusher, repo: string, digest: string, key: TestKey, predicateType: string, predicate: unknown): Promise<void> {
  await pushAttestations(pusher, repo, digest, [{ envelope: signedEnvelope(key, attestationStatement(digest, predicateType, predicate)), predicateType }]);
}

/** A keyed DSSE bundle (cosign 3's attestation format) over `statement`. */
export async function attestationBundle(key: TestKey, statement: Buffer): Promise<Bundle> {
  return new DSSEBundleBuilder({ signer: keyedSigner(key), witnesses: [] }).create({ data: statement, type: IN_TOTO });
}

/** Stores `bundle` as a referrer of `subject` as cosign 3 does for attestations. */
export async function pushAttestationBundle(pusher: Pusher, repo: string, subject: PushedDescriptor, bundle: Bundle, predicateType: string): Promise<PushedDescriptor> {
  return pusher.pushReferrer(repo, subject, BUNDLE_V03, Buffer.from(JSON.stringify(bundleToJSON(bundle))), {
    'dev.sigstore.bundle.content': 'dsse-envelope',
    'dev.sigstore.bundle.predicateType': predicateType,
  });
}
