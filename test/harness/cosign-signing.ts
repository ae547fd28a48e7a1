/**
 * Test helpers that produce what `cosign` produces, with Node's crypto and @sigstore/sign, and push
 * it to a real registry over the distribution API:
 * - images (a config and a random layer, OCI manifest);
 * - classic signatures: the simple-signing payload, signed as cosign signs it, as a layer of the
 *   manifest at tag `sha256-<hex>.sig`;
 * - Sigstore bundles (keyed, no tlog): DSSE with the in-toto statement cosign 3 writes, or a message
 *   signature over the manifest, stored as an OCI referrer and listed in the referrers tag schema index.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, constants, type KeyObject } from 'node:crypto';
import { bundleToJSON, type Bundle } from '@sigstore/bundle';
import { DSSEBundleBuilder, MessageSignatureBundleBuilder, type Signer } from '@sigstore/sign';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

export const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

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

// ---------------------------------------------------------------- registry push (distribution API)

export interface Pushed {
  digest: string;
  size: number;
  mediaType: string;
  body: Buffer;
}

/** Pushes to `http://<host>` (a loopback test registry without auth). */
export class TestPusher {
  constructor(readonly host: string) {}

  async blob(repo: string, body: Buffer): Promise<{ digest: string; size: number }> {
    const digest = sha256(body);
    const start = await fetch(`http://${this.host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status}`);
    const location = new URL(start.headers.get('location')!, `http://${this.host}`);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${await put.text()}`);
    return { digest, size: body.length };
  }

  async manifest(repo: string, reference: string, json: unknown, mediaType = OCI_MANIFEST): Promise<Pushed> {
    const body = Buffer.from(JSON.stringify(json));
    const res = await fetch(`http://${this.host}/v2/${repo}/manifests/${reference}`, { method: 'PUT', body, headers: { 'content-type': mediaType } });
    if (res.status !== 201) throw new Error(`manifest push ${repo}:${reference}: HTTP ${res.status} ${await res.text()}`);
    return { digest: sha256(body), size: body.length, mediaType, body };
  }

  /** A small image (JSON config + one random layer) at `tag`. */
  async image(repo: string, tag: string): Promise<Pushed> {
    const layer = await this.blob(repo, randomBytes(64));
    const config = await this.blob(repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } })));
    return this.manifest(repo, tag, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    });
  }
}

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
}

export function classicLayer(key: TestKey, digest: string, dockerReference: string): ClassicLayer {
  const payload = simpleSigningPayload(digest, dockerReference);
  return { payload, signature: cosignSign(key, payload).toString('base64') };
}

/** Pushes the payload blobs and the `.sig` manifest (cosign's layout) for image `digest`. Returns the `.sig` manifest. */
export async function pushClassicSignatures(pusher: TestPusher, repo: string, digest: string, layers: ClassicLayer[], tag = `${digest.replace(':', '-')}.sig`): Promise<Pushed> {
  const descriptors = [];
  for (const l of layers) {
    const blob = await pusher.blob(repo, l.payload);
    descriptors.push({ mediaType: SIMPLE_SIGNING, ...blob, annotations: { 'dev.cosignproject.cosign/signature': l.signature } });
  }
  const config = await pusher.blob(repo, Buffer.from(JSON.stringify({
    architecture: '', created: '0001-01-01T00:00:00Z', history: [{ created: '0001-01-01T00:00:00Z' }], os: '',
    rootfs: { type: 'layers', diff_ids: descriptors.map((d) => d.digest) }, config: {},
  })));
  return pusher.manifest(repo, tag, { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: descriptors });
}

/** Signs `digest` with each key and pushes one `.sig` manifest holding all signatures. */
export async function signImage(pusher: TestPusher, repo: string, digest: string, keys: TestKey[]): Promise<Pushed> {
  return pushClassicSignatures(pusher, repo, digest, keys.map((k) => classicLayer(k, digest, `${pusher.host}/${repo}`)));
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
 * Stores `bundle` as an OCI referrer of `subject` (manifest with `subject` and artifactType, bundle
 * JSON as its layer) and adds it to the referrers tag schema index `sha256-<hex>`.
 */
export async function pushBundle(pusher: TestPusher, repo: string, subject: Pushed, bundle: Bundle | Buffer): Promise<Pushed> {
  const json = Buffer.isBuffer(bundle) ? bundle : Buffer.from(JSON.stringify(bundleToJSON(bundle)));
  const layer = await pusher.blob(repo, json);
  const empty = await pusher.blob(repo, Buffer.from('{}'));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: BUNDLE_V03,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', ...empty },
    layers: [{ mediaType: BUNDLE_V03, ...layer }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': SIGN_PREDICATE },
  };
  const body = Buffer.from(JSON.stringify(manifest));
  const pushed = await pusher.manifest(repo, sha256(body), manifest);
  await addReferrer(pusher, repo, subject.digest, { mediaType: OCI_MANIFEST, digest: pushed.digest, size: pushed.size, artifactType: BUNDLE_V03 });
  return pushed;
}

/** Appends a descriptor to the referrers tag schema index of `digest`. */
export async function addReferrer(pusher: TestPusher, repo: string, digest: string, descriptor: Record<string, unknown>): Promise<void> {
  const tag = digest.replace(':', '-');
  const res = await fetch(`http://${pusher.host}/v2/${repo}/manifests/${tag}`, { headers: { accept: OCI_INDEX } });
  const existing = res.status === 200 ? ((await res.json()) as { manifests: unknown[] }).manifests : [];
  await pusher.manifest(repo, tag, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...existing, descriptor] }, OCI_INDEX);
}
