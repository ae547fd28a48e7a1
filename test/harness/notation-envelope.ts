/**
 * Notary Project JWS signatures made by hand, for the cases the notation CLI refuses to sign (a certificate without
 * the code-signing purpose, a descriptor that is not the image's). The envelope is what `notation sign
 * --signature-format jws` writes (flattened JWS JSON: protected Notary headers, payload {targetArtifact}, x5c chain,
 * signature over BASE64URL(protected).BASE64URL(payload)), stored as an OCI 1.1 referrer of artifact type
 * application/vnd.cncf.notary.signature. A test that uses it also signs an unaltered case and checks that both
 * Imprimatur and `notation verify` accept that one, so the envelope itself is known to be right.
 */
import { createHash, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TestCertificate } from './notation-pki.js';
import type { TestRegistry } from './registry.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** DER of `cert` and its issuers, leaf first (what notation puts in x5c). */
function chainDer(cert: TestCertificate): Buffer[] {
  const out: Buffer[] = [];
  for (let c: TestCertificate | undefined = cert; c; c = c.issuer) out.push(new X509Certificate(c.certPem).raw);
  return out;
}

/** A JWS envelope signing `target` with `signer`'s EC P-256 key (ES256). */
export function jwsEnvelope(signer: TestCertificate, target: Descriptor, signingTime = new Date()): Buffer {
  const protectedHeader = {
    alg: 'ES256',
    crit: ['io.cncf.notary.signingScheme'],
    cty: 'application/vnd.cncf.notary.payload.v1+json',
    'io.cncf.notary.signingScheme': 'notary.x509',
    'io.cncf.notary.signingTime': signingTime.toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  const protectedB64 = Buffer.from(JSON.stringify(protectedHeader)).toString('base64url');
  const payloadB64 = Buffer.from(JSON.stringify({ targetArtifact: target })).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii'), { key: readFileSync(signer.keyPath), dsaEncoding: 'ieee-p1363' });
  return Buffer.from(JSON.stringify({
    payload: payloadB64,
    protected: protectedB64,
    header: { x5c: chainDer(signer).map((d) => d.toString('base64')), 'io.cncf.notary.signingAgent': 'imprimatur-test/1.0' },
    signature: signature.toString('base64url'),
  }));
}

/** The image manifest's descriptor, read from the registry itself. */
export async function manifestDescriptor(reg: TestRegistry, repo: string, digest: string): Promise<Descriptor> {
  const res = await fetch(`${reg.directUrl}/v2/${repo}/manifests/${digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  if (!res.ok) throw new Error(`GET manifest ${repo}@${digest}: ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  if (sha256(body) !== digest) throw new Error(`the registry served other bytes for ${digest}`);
  return { mediaType: String(JSON.parse(body.toString('utf8')).mediaType), digest, size: body.length };
}

/**
 * Stores `envelope` as a Notary Project signature referring to `subject` (the image) on a registry with the
 * referrers API (olareg indexes the manifest's subject itself).
 */
export async function pushJwsSignature(reg: TestRegistry, repo: string, subject: Descriptor, envelope: Buffer, leaf: TestCertificate): Promise<string> {
  const layer = { mediaType: 'application/jose+json', digest: await reg.pushBlob(repo, envelope), size: envelope.length };
  const empty = Buffer.from('{}');
  const config = { mediaType: 'application/vnd.oci.empty.v1+json', digest: await reg.pushBlob(repo, empty), size: empty.length };
  const thumbprints = chainDer(leaf).map((d) => createHash('sha256').update(d).digest('hex'));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.cncf.notary.signature',
    config,
    layers: [layer],
    subject,
    annotations: { 'io.cncf.notary.x509chain.thumbprint#S256': JSON.stringify(thumbprints), 'org.opencontainers.image.created': new Date().toISOString() },
  }));
  return reg.pushManifest(repo, sha256(manifest), manifest, 'application/vnd.oci.image.manifest.v1+json');
}
