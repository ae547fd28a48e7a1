/**
 * A classic cosign signature as a Sigstore bundle (v0.1: message signature over the simple-signing
 * payload, the signing certificate and chain or a public-key hint, and the Rekor entry with its
 * SignedEntryTimestamp as inclusion promise), so that @sigstore/verify checks it exactly like a bundle.
 *
 * The `dev.sigstore.cosign/bundle` annotation is cosign's `RekorBundle`:
 * `{"SignedEntryTimestamp": base64, "Payload": {"body": base64, "integratedTime": n, "logIndex": n, "logID": hex}}`.
 */
import type { Bundle, TransparencyLogEntry } from '@sigstore/bundle';
import type { ClassicCandidate } from './candidates.js';
import { sha256 } from './keyless.js';
import { MSG_TLOG } from './sigstore-checks.js';
import { pemCertificates } from './trust.js';

const HEX = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
export const KEY_HINT = 'trust-root-key';

/** The Rekor entry of a classic signature's `dev.sigstore.cosign/bundle` annotation. */
export function rekorEntry(raw: string): { entry: TransparencyLogEntry } | { problem: string } {
  let doc: { SignedEntryTimestamp?: unknown; Payload?: { body?: unknown; integratedTime?: unknown; logIndex?: unknown; logID?: unknown } };
  try {
    doc = JSON.parse(raw);
  } catch {
    return { problem: `${MSG_TLOG}: the Rekor bundle annotation is not JSON` };
  }
  const set = doc?.SignedEntryTimestamp;
  const p = doc?.Payload;
  if (typeof set !== 'string' || !BASE64.test(set) || !p || typeof p.body !== 'string' || !BASE64.test(p.body)
    || typeof p.integratedTime !== 'number' || typeof p.logIndex !== 'number' || typeof p.logID !== 'string' || !HEX.test(p.logID)) {
    return { problem: `${MSG_TLOG}: the Rekor bundle annotation is malformed` };
  }
  const body = Buffer.from(p.body, 'base64');
  let kind: unknown;
  let version: unknown;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { kind?: unknown; apiVersion?: unknown };
    kind = parsed.kind;
    version = parsed.apiVersion;
  } catch {
    return { problem: `${MSG_TLOG}: the logged entry body is not JSON` };
  }
  if (typeof kind !== 'string' || typeof version !== 'string') return { problem: `${MSG_TLOG}: the logged entry has no kind` };
  return {
    entry: {
      logIndex: String(p.logIndex),
      logId: { keyId: Buffer.from(p.logID, 'hex') },
      kindVersion: { kind, version },
      integratedTime: String(p.integratedTime),
      inclusionPromise: { signedEntryTimestamp: Buffer.from(set, 'base64') },
      inclusionProof: undefined,
      canonicalizedBody: body,
    },
  };
}

/** Keyless material and Rekor entry from a signature layer's annotations (`.sig`, `.att` and referrer layers). */
export interface LayerAnnotations {
  certificate?: string;
  chain?: string;
  rekorBundle?: string;
}

/**
 * A v0.1 bundle of `content` with the layer's Rekor entry and, when `withCertificate`, its signing certificate
 * and (untrusted) chain; otherwise a public-key hint (the trust root's key is supplied by the verifier).
 */
export function layerBundle(annotations: LayerAnnotations, withCertificate: boolean, content: Bundle['content']): { bundle: Bundle } | { problem: string } {
  const tlogEntries: TransparencyLogEntry[] = [];
  if (annotations.rekorBundle) {
    const parsed = rekorEntry(annotations.rekorBundle);
    if ('problem' in parsed) return parsed;
    tlogEntries.push(parsed.entry);
  }
  let material: Bundle['verificationMaterial']['content'];
  if (withCertificate && annotations.certificate) {
    let certs: Buffer[];
    try {
      certs = [...pemCertificates(annotations.certificate).slice(0, 1), ...(annotations.chain ? pemCertificates(annotations.chain) : [])];
    } catch (err) {
      return { problem: `certificate annotation cannot be parsed (${(err as Error).message})` };
    }
    if (certs.length === 0) return { problem: 'certificate annotation holds no PEM certificate' };
    material = { $case: 'x509CertificateChain', x509CertificateChain: { certificates: certs.map((rawBytes) => ({ rawBytes })) } };
  } else {
    material = { $case: 'publicKey', publicKey: { hint: KEY_HINT } };
  }
  const bundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: { content: material, tlogEntries, timestampVerificationData: { rfc3161Timestamps: [] } },
    content,
  } as unknown as Bundle;
  return { bundle };
}

/**
 * The bundle of a classic signature. `keyless`: with its certificate and chain (annotations);
 * otherwise with a public-key hint (the trust root's key is supplied by the verifier).
 */
export function classicToBundle(candidate: ClassicCandidate, keyless: boolean): { bundle: Bundle } | { problem: string } {
  if (!candidate.payload || !candidate.signature) return { problem: candidate.problem ?? 'no signature' };
  if (keyless && !candidate.certificate) return { problem: 'not a keyless signature (no dev.sigstore.cosign/certificate annotation)' };
  return layerBundle(candidate, keyless, {
    $case: 'messageSignature',
    messageSignature: { messageDigest: { algorithm: 1 /* SHA2_256 */, digest: sha256(candidate.payload) }, signature: candidate.signature },
  } as unknown as Bundle['content']);
}
