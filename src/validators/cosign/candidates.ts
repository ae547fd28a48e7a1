/** Signatures found for an image, before any key is tried (shared by the classic and bundle paths). */
import type { Bundle } from '@sigstore/bundle';
import type { InTotoStatement } from './statement.js';

/**
 * Where a simple-signing signature was found: `tag` = the classic `sha256-<hex>.sig` tag; `referrer` =
 * an OCI 1.1 referrer of artifact type `application/vnd.dev.cosign.artifact.sig.v1+json`.
 */
export type SignatureStore = 'tag' | 'referrer';

/**
 * A cosign simple-signing signature: one layer of the `sha256-<hex>.sig` manifest or of an OCI 1.1
 * signature referrer (same layer format, same verification).
 */
export interface ClassicCandidate {
  kind: 'classic';
  store: SignatureStore;
  /** Stable label for records, e.g. `sha256-ab12….sig layer 0` or `referrer sha256:ab12… layer 0`. */
  id: string;
  payload?: Buffer;
  signature?: Buffer;
  /** Keyless: PEM signing certificate (`dev.sigstore.cosign/certificate`). */
  certificate?: string;
  /** Keyless: PEM intermediates up to the root (`dev.sigstore.cosign/chain`), untrusted. */
  chain?: string;
  /** The Rekor bundle (`dev.sigstore.cosign/bundle`: SignedEntryTimestamp and entry), raw JSON. */
  rekorBundle?: string;
  /** Online lookup only: why no Rekor entry was attached (nothing found, Rekor unreachable or too slow), for the denial reason. */
  rekorLookup?: string;
  /** Why this signature cannot count whatever key is tried (missing annotation, payload for another image, …). */
  problem?: string;
}

/** A Sigstore bundle attached to the image as an OCI referrer. */
export interface BundleCandidate {
  kind: 'bundle';
  /** e.g. `bundle sha256:ab12…` (the referrer manifest digest). */
  id: string;
  bundle?: Bundle;
  problem?: string;
}

export type Candidate = ClassicCandidate | BundleCandidate;

/**
 * An attestation: a DSSE envelope holding an in-toto statement, from a layer of the `sha256-<hex>.att`
 * manifest (as a v0.1 bundle) or a bundle referrer. Verified like a DSSE bundle; `problem` says why it
 * cannot count whatever key is tried (e.g. its subject is another image).
 */
export interface AttestationCandidate extends BundleCandidate {
  statement?: InTotoStatement;
  /** `classic .att-tag attestation` for `.att` layers (bundles: the default). */
  format?: string;
}

/** `sha256:<64 hex>`; anything else is refused before it reaches a URL. */
export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** Short digest for messages: `sha256:0123456789ab…`. */
export function shortDigest(digest: string): string {
  return digest.length > 19 ? `${digest.slice(0, 19)}…` : digest;
}

/** The signature format of a candidate, as `imprimatur explain` names it. */
export function formatOf(candidate: Candidate): string {
  if (candidate.kind === 'bundle') return (candidate as AttestationCandidate).format ?? 'Sigstore bundle';
  return candidate.store === 'referrer' ? 'OCI 1.1 referrer signature' : 'classic .sig-tag signature';
}
