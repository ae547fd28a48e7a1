/**
 * A DSSE envelope stored by `cosign attest` in a layer of the `sha256-<hex>.att` manifest, turned into
 * a Sigstore bundle (v0.1, DSSE content) with the layer's certificate/chain or a public-key hint and the
 * Rekor entry of its `dev.sigstore.cosign/bundle` annotation, so that it is verified exactly like a
 * DSSE bundle (bundle-verify.ts for keys, keyless.ts for Fulcio identities).
 */
import type { Bundle } from '@sigstore/bundle';
import { layerBundle, type LayerAnnotations } from './classic-bundle.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface DsseEnvelope {
  payloadType: string;
  payload: Buffer;
  signature: Buffer;
  keyid: string;
}

/** Parses the envelope JSON (`{payloadType, payload, signatures: [{keyid, sig}]}`); the first signature is used, as cosign does. */
export function parseEnvelope(body: Buffer): { envelope: DsseEnvelope } | { problem: string } {
  let doc: { payloadType?: unknown; payload?: unknown; signatures?: unknown };
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return { problem: 'DSSE envelope is not JSON' };
  }
  if (!doc || typeof doc !== 'object') return { problem: 'DSSE envelope is not a JSON object' };
  const sig = Array.isArray(doc.signatures) ? (doc.signatures[0] as { sig?: unknown; keyid?: unknown } | undefined) : undefined;
  if (typeof doc.payloadType !== 'string' || typeof doc.payload !== 'string' || !BASE64.test(doc.payload)) return { problem: 'DSSE envelope has no payload' };
  if (!sig || typeof sig.sig !== 'string' || !BASE64.test(sig.sig) || sig.sig.length === 0) return { problem: 'DSSE envelope holds no signature' };
  return {
    envelope: {
      payloadType: doc.payloadType,
      payload: Buffer.from(doc.payload, 'base64'),
      signature: Buffer.from(sig.sig, 'base64'),
      keyid: typeof sig.keyid === 'string' ? sig.keyid : '',
    },
  };
}

/** Keyless material and Rekor entry from the layer annotations. */
export type EnvelopeAnnotations = LayerAnnotations;

/**
 * The bundle of an envelope: with the signing certificate (and untrusted chain) when the layer carries
 * one (keyless), else with a public-key hint (the trust root's key is supplied by the verifier).
 */
export function envelopeToBundle(envelope: DsseEnvelope, annotations: EnvelopeAnnotations): { bundle: Bundle } | { problem: string } {
  return layerBundle(annotations, annotations.certificate !== undefined, {
    $case: 'dsseEnvelope',
    dsseEnvelope: { payload: envelope.payload, payloadType: envelope.payloadType, signatures: [{ sig: envelope.signature, keyid: envelope.keyid }] },
  } as unknown as Bundle['content']);
}
