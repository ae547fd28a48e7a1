/**
 * Test helpers that produce what `cosign` produces, with Node's crypto and @sigstore/sign, and push
 * it to a real registry over the distribution API:
 * - classic signatures: the simple-signing payload, signed as cosign signs it, as a layer of the manifest at tag `sha256-<hex>.sig`;
 * - the same signature layers stored as an OCI 1.1 referrer (`cosign sign --registry-referrers-mode=oci-1-1`);
 * - Sigstore bundles (keyed, no tlog): DSSE with the in-toto statement cosign 3 writes, or a message
 *   signature over the manifest, stored as an OCI referrer and listed in the referrers tag schema index.
 */
import { createHash, generateKeyPairSync, sign, constants, type KeyObject } from 'node:crypto';
import { bundleToJSON, type Bundle } from '@sigstore/bundle';
import { DSSEBundleBuilder, MessageSignatureBundleBuilder, type Signer } from '@sigstore/sign';
import type { TestRegistry } from './registry.js';
import { Agent, fetch } from 'undici';
import { OCI_INDEX, OCI_MANIFEST, type PushedDescriptor } from './registry-push.js';

export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

// ---------------------------------------------------------------- keys

export type TestKeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa' | 'rsa-pss' | 'ed25519';

export interface TestKey {
  type: TestKeyType;
  privateKey: KeyObject;
  /** PEM `PUBLIC KEY`, as in cosign.pub. */
  publicPem: string;
}

export function generateTestKey(type: TestKeyType = 'ecdsa-p256'): TestKey {
  const pair =
    type === 'ecdsa-p256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : type === 'ecdsa-p384' ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
    : type === 'ed25519' ? generateKeyPairSync('ed25519')
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { type, privateKey: pair.privateKey, publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Signs as cosign does: ECDSA DER over SHA-256 (SHA-384 for P-384), RSA PKCS#1 v1.5 (or PSS) SHA-256, pure Ed25519. */
export function cosignSign(key: TestKey, data: Buffer): Buffer {
  switch (key.type) {
    case 'ecdsa-p256': return sign('sha256', data, { key: key.privateKey, dsaEncoding: 'der' });
    case 'ecdsa-p384': return sign('sha384', data, { key: key.privateKey, dsaEncoding: 'der' });
    case 'rsa': return sign('sha256', data, { key: key.privateKey, padding: constants.RSA_PKCS1_PADDING });
    case 'rsa-pss': return sign('sha256', data, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    case 'ed25519': return sign(null, data, key.privateKey);
  }
}

// ---------------------------------------------------------------- pushing

/** What these helpers need to push (a TestRegistry from ./registry.js, which pushes to the registry directly). */
export type Pusher = Pick<TestRegistry, 'pushBlob' | 'pushManifest' | 'pushReferrer' | 'pushIndex'>;

// ---------------------------------------------------------------- classic signatures

/** The simple-signing payload, byte for byte as cosign writes it. */
export function simpleSigningPayload(digest: string, dockerReference: string): Buffer {
  return Buffer.from(JSON.stringify({
    critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
    optional: null,
  }));
}

export interface ClassicLayer {
  payload: Buffer;
  /** base64 for the `dev.cosignproject.cosign/signature` annotation. */
  signature: string;
  /** Keyless: PEM for `dev.sigstore.cosign/certificate` and `dev.sigstore.cosign/chain`. */
  certificate?: string;
  chain?: string;
  /** cosign's Rekor bundle JSON for `dev.sigstore.cosign/bundle` (sigstore-mock.ts makes them). */
  rekorBundle?: string;
}

export function classicLayer(key: TestKey, digest: string, dockerReference: string): ClassicLayer {
  const payload = simpleSigningPayload(digest, dockerReference);
  return { payload, signature: cosignSign(key, payload).toString('base64') };
}

/** Pushes the payload blobs and the `.sig` manifest (cosign's layout) for image `digest`. Returns the `.sig` manifest digest. */
export async function pushClassicSignatures(pusher: Pusher, repo: string, digest: string, layers: ClassicLayer[], tag = `${digest.replace(':', '-')}.sig`): Promise<string> {
  const { manifest } = await signatureManifest(pusher, repo, layers);
  return pusher.pushManifest(repo, tag, manifest, OCI_MANIFEST);
}

/** Pushes the payload and config blobs of a signature manifest and returns it (cosign's layout, as an object). */
async function signatureManifest(pusher: Pusher, repo: string, layers: ClassicLayer[]): Promise<{ manifest: Record<string, unknown>; config: Buffer }> {
  const descriptors = [];
  for (const l of layers) {
    const blob = await pusher.pushBlob(repo, l.payload);
    const annotations: Record<string, string> = { 'dev.cosignproject.cosign/signature': l.signature };
    if (l.certificate) annotations['dev.sigstore.cosign/certificate'] = l.certificate;
    if (l.chain) annotations['dev.sigstore.cosign/chain'] = l.chain;
    if (l.rekorBundle) annotations['dev.sigstore.cosign/bundle'] = l.rekorBundle;
    descriptors.push({ mediaType: SIMPLE_SIGNING, digest: blob, size: l.payload.length, annotations });
  }
  const config = Buffer.from(JSON.stringify({
    architecture: '', created: '0001-01-01T00:00:00Z', history: [{ created: '0001-01-01T00:00:00Z' }], os: '',
    rootfs: { type: 'layers', diff_ids: descriptors.map((d) => d.digest) }, config: {},
  }));
  const configDigest = await pusher.pushBlob(repo, config);
  return {
    config,
    manifest: {
      schemaVersion: 2, mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: descriptors,
    },
  };
}

/** Signs `digest` with each key and pushes one `.sig` manifest holding all signatures (docker-reference `registry/repo`). */
export async function signImage(pusher: Pusher, registry: string, repo: string, digest: string, keys: TestKey[]): Promise<string> {
  return pushClassicSignatures(pusher, repo, digest, keys.map((k) => classicLayer(k, digest, `${registry}/${repo}`)));
}

// ---------------------------------------------------------------- signatures as OCI 1.1 referrers

export const SIGNATURE_ARTIFACT = 'application/vnd.dev.cosign.artifact.sig.v1+json';

/** A pusher that can also read the registry directly (to extend the referrers tag schema index). */
export type ReferrerPusher = Pusher & Pick<TestRegistry, 'directUrl' | 'credentials'>;

export interface SignatureReferrerOptions {
  /**
   * `v3` (default): what cosign >= 3.1 writes — config media type and the manifest's `artifactType` are
   * the signature artifact type. `v2`: cosign 2.x — only the config media type.
   */
  cosign?: 'v2' | 'v3';
  /**
   * Record the referrer in the referrers tag schema index `sha256-<hex>` (what go-containerregistry does
   * when the registry has no referrers API). Default true.
   */
  tagSchema?: boolean;
  /** Overrides applied to the manifest before it is pushed (attacks). */
  mutate?: (manifest: Record<string, unknown>) => void;
}

/**
 * Stores signature layers as cosign's `WriteSignaturesExperimentalOCI` does: the signature manifest with
 * the config media type set to `application/vnd.dev.cosign.artifact.sig.v1+json`, `subject` = the image
 * descriptor, pushed by digest; then listed in the tag schema index. Returns the referrer descriptor.
 */
export async function pushSignatureReferrer(
  pusher: ReferrerPusher,
  repo: string,
  subject: PushedDescriptor,
  layers: ClassicLayer[],
  opts: SignatureReferrerOptions = {},
): Promise<PushedDescriptor> {
  const { manifest } = await signatureManifest(pusher, repo, layers);
  (manifest.config as Record<string, unknown>).mediaType = SIGNATURE_ARTIFACT;
  manifest.subject = { mediaType: subject.mediaType, digest: subject.digest, size: subject.size };
  if ((opts.cosign ?? 'v3') === 'v3') manifest.artifactType = SIGNATURE_ARTIFACT;
  opts.mutate?.(manifest);
  const body = Buffer.from(JSON.stringify(manifest));
  const digest = await pusher.pushManifest(repo, `sha256:${createHash('sha256').update(body).digest('hex')}`, body, OCI_MANIFEST);
  const descriptor: PushedDescriptor = { mediaType: OCI_MANIFEST, digest, size: body.length, artifactType: SIGNATURE_ARTIFACT };
  if (opts.tagSchema ?? true) await addToReferrersIndex(pusher, repo, subject.digest, descriptor);
  return descriptor;
}

/**
 * Adds `descriptor` to the referrers tag schema index of `subject` (read from the registry directly, with Basic auth if
 * it needs it) — as OCI 1.1 clients do, only where the registry has no referrers API (distribution 2.8); a registry with
 * the API indexes referrers itself (olareg even stops listing a referrer once a client writes the fallback tag).
 */
export async function addToReferrersIndex(pusher: ReferrerPusher, repo: string, subject: string, descriptor: PushedDescriptor): Promise<void> {
  const tag = subject.replace(':', '-');
  const agent = new Agent();
  const auth = pusher.credentials ? { authorization: `Basic ${Buffer.from(`${pusher.credentials.user}:${pusher.credentials.password}`).toString('base64')}` } : {};
  try {
    const api = await fetch(`${pusher.directUrl}/v2/${repo}/referrers/${subject}`, { headers: { accept: OCI_INDEX, ...auth }, dispatcher: agent });
    await api.arrayBuffer();
    if (api.status === 200) return;
    const res = await fetch(`${pusher.directUrl}/v2/${repo}/manifests/${tag}`, { headers: { accept: OCI_INDEX, ...auth }, dispatcher: agent });
    if (res.status !== 200 && res.status !== 404) throw new Error(`reading the referrers index ${repo}:${tag}: HTTP ${res.status}`);
    const current = res.status === 200 ? ((await res.json()) as { manifests: PushedDescriptor[] }).manifests : (await res.arrayBuffer(), []);
    await pusher.pushIndex(repo, tag, [...current, descriptor]);
  } finally {
    await agent.close();
  }
}

// ---------------------------------------------------------------- Sigstore bundles

/** A @sigstore/sign Signer for a key pair (keyed bundle: public key hint, no certificate). */
export function keyedSigner(key: TestKey, hint = 'test-key'): Signer {
  return {
    sign: async (data: Buffer) => ({ signature: cosignSign(key, data), key: { $case: 'publicKey', publicKey: key.publicPem, hint } }),
  };
}

/** The in-toto statement cosign 3 signs for an image (`cosign sign --new-bundle-format`). */
export function signStatement(digest: string, predicateType = SIGN_PREDICATE): Buffer {
  return Buffer.from(JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ digest: { sha256: digest.slice('sha256:'.length) } }],
    predicateType,
    predicate: {},
  }));
}

export async function dsseBundle(key: TestKey, digest: string, predicateType = SIGN_PREDICATE): Promise<Bundle> {
  return new DSSEBundleBuilder({ signer: keyedSigner(key), witnesses: [] }).create({ data: signStatement(digest, predicateType), type: 'application/vnd.in-toto+json' });
}

/** Message-signature bundle over the image manifest bytes (its digest is the image digest). */
export async function messageBundle(key: TestKey, manifest: Buffer): Promise<Bundle> {
  return new MessageSignatureBundleBuilder({ signer: keyedSigner(key), witnesses: [] }).create({ data: manifest });
}

/**
 * Stores `bundle` as an OCI referrer of `subject` the way cosign 3 does (artifactType and layer media
 * type `application/vnd.dev.sigstore.bundle.v0.3+json`), listed in the referrers tag schema index.
 */
export async function pushBundle(pusher: Pusher, repo: string, subject: PushedDescriptor, bundle: Bundle | Buffer): Promise<PushedDescriptor> {
  const json = Buffer.isBuffer(bundle) ? bundle : Buffer.from(JSON.stringify(bundleToJSON(bundle)));
  return pusher.pushReferrer(repo, subject, BUNDLE_V03, json, {
    'dev.sigstore.bundle.content': !Buffer.isBuffer(bundle) && bundle.content.$case === 'messageSignature' ? 'message-signature' : 'dsse-envelope',
    'dev.sigstore.bundle.predicateType': SIGN_PREDICATE,
  });
}
