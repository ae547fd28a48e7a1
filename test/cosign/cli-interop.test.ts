/**
 * Interop with the real cosign CLI (v2.6 and v3.1, built from the Go module proxy): cosign makes the keys and the
 * signatures, in every storage format it has (the classic `.sig` tag, the OCI 1.1 referrer of
 * `--registry-referrers-mode=oci-1-1`, the Sigstore bundle), on a registry with the referrers API (olareg) and on
 * one without (distribution 2.8: the referrers tag schema). `cosign verify` is the oracle: for every case, positive
 * and negative, Imprimatur's verdict must equal cosign's — and be the verdict the case expects, so that both
 * agreeing on a wrong answer fails too.
 */
import { expect } from 'chai';
import { parseImageReference } from '../../src/image/reference.js';
import { COSIGN_FORMATS, cosignCli, type CosignCli, type CosignFormat, type CosignKeyPair } from '../harness/cosign-cli.js';
import { startRegistry, type RegistryServer, type TestRegistry } from '../harness/registry.js';
import { OCI_INDEX, OCI_MANIFEST, RegistryPusher, sha256, type PushedDescriptor, type PushedImage } from '../harness/registry-push.js';
import { COSIGN_MAJORS } from '../harness/tools.js';
import { closeValidators, createValidator, ctx, keyConfig, keyRule } from './helpers.js';

const SERVERS: readonly RegistryServer[] = ['olareg', 'distribution'];

interface Verdicts { cosign: boolean; imprimatur: boolean; why: string }

/** Reads and rewrites what cosign stored, through the registry's own API (no cosign code involved). */
class SignatureStore {
  private readonly pusher: RegistryPusher;

  constructor(private readonly reg: TestRegistry) {
    this.pusher = new RegistryPusher(reg.directUrl);
  }

  private async get(path: string, accept: string): Promise<Response> {
    return fetch(`${this.reg.directUrl}${path}`, { headers: { accept } });
  }

  async manifest(repo: string, ref: string): Promise<Record<string, any>> {
    const res = await this.get(`/v2/${repo}/manifests/${ref}`, `${OCI_MANIFEST}, ${OCI_INDEX}`);
    if (res.status !== 200) throw new Error(`GET ${repo}:${ref}: HTTP ${res.status}`);
    return (await res.json()) as Record<string, any>;
  }

  async blob(repo: string, digest: string): Promise<Buffer> {
    const res = await this.get(`/v2/${repo}/blobs/${digest}`, '*/*');
    if (res.status !== 200) throw new Error(`GET blob ${digest}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** The referrer descriptors of `digest`: the referrers API on olareg, the tag schema on distribution. */
  async referrers(repo: string, digest: string): Promise<Array<Record<string, any>>> {
    const res = this.reg.server === 'olareg'
      ? await this.get(`/v2/${repo}/referrers/${digest}`, OCI_INDEX)
      : await this.get(`/v2/${repo}/manifests/${digest.replace(':', '-')}`, OCI_INDEX);
    if (res.status === 404) return [];
    if (res.status !== 200) throw new Error(`referrers of ${digest}: HTTP ${res.status}`);
    return ((await res.json()) as { manifests?: Array<Record<string, any>> }).manifests ?? [];
  }

  /** Where cosign put the signature of `digest` in `format`: the manifest and how to address it. */
  async signatureOf(repo: string, digest: string, format: CosignFormat): Promise<{ manifest: Record<string, any>; ref: string }> {
    if (format === 'classic') {
      const ref = `${digest.replace(':', '-')}.sig`;
      return { manifest: await this.manifest(repo, ref), ref };
    }
    const refs = await this.referrers(repo, digest);
    expect(refs, `one referrer of ${digest}`).to.have.length(1);
    return { manifest: await this.manifest(repo, refs[0]!.digest), ref: refs[0]!.digest };
  }

  /**
   * Stores `manifest` in place of the signature at `old` (a tag, or a referrer's digest) of `subject`, the way a
   * client would: a tag is overwritten; a referrer is deleted and the new one pushed (on distribution the tag-schema
   * index is rewritten too).
   */
  async replaceSignature(repo: string, subject: PushedImage, old: string, manifest: Record<string, any>): Promise<void> {
    const bytes = Buffer.from(JSON.stringify(manifest));
    if (!old.startsWith('sha256:')) {
      await this.pusher.pushManifest(repo, old, bytes, manifest['mediaType'] ?? OCI_MANIFEST);
      return;
    }
    const del = await fetch(`${this.reg.directUrl}/v2/${repo}/manifests/${old}`, { method: 'DELETE' });
    expect([202, 200], `delete referrer ${old}`).to.include(del.status);
    await this.addReferrer(repo, subject, bytes, old);
  }

  /** Pushes a referrer manifest of `subject` (and indexes it in the tag schema where the registry does not). */
  async addReferrer(repo: string, subject: PushedImage, bytes: Buffer, removeFromIndex?: string): Promise<void> {
    const { ociSubject } = await this.pusher.putManifest(repo, sha256(bytes), bytes, OCI_MANIFEST);
    if (ociSubject === subject.digest) return;
    const manifest = JSON.parse(bytes.toString('utf8')) as Record<string, any>;
    const current = (await this.referrers(repo, subject.digest)).filter((d) => d['digest'] !== removeFromIndex);
    const descriptor = { mediaType: OCI_MANIFEST, digest: sha256(bytes), size: bytes.length, artifactType: manifest['artifactType'] ?? manifest['config']?.mediaType,
      ...(manifest['annotations'] ? { annotations: manifest['annotations'] } : {}) };
    await this.pusher.pushIndex(repo, subject.digest.replace(':', '-'), [...current, descriptor] as PushedDescriptor[]);
  }

  async putBlob(repo: string, bytes: Buffer): Promise<string> {
    return this.pusher.pushBlob(repo, bytes);
  }

  close(): Promise<void> {
    return this.pusher.close();
  }
}

/** The signed payload with one changed byte's worth of meaning; the signature is left as it was. */
function tamperPayload(format: CosignFormat, payload: Buffer): Buffer {
  if (format === 'bundle') {
    const bundle = JSON.parse(payload.toString('utf8')) as { dsseEnvelope: { payload: string } };
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Record<string, any>;
    statement['predicate'] = { ...(statement['predicate'] ?? {}), tampered: true };
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    return Buffer.from(JSON.stringify(bundle));
  }
  const simple = JSON.parse(payload.toString('utf8')) as Record<string, any>;
  simple['optional'] = { ...(simple['optional'] ?? {}), tampered: 'yes' };
  return Buffer.from(JSON.stringify(simple));
}

for (const server of SERVERS) {
  for (const major of COSIGN_MAJORS) {
    describe(`cosign ${major} CLI interop on ${server === 'olareg' ? 'olareg (OCI 1.1 referrers API)' : 'distribution 2.8 (referrers tag schema)'}: Imprimatur's verdict equals cosign verify's`, function () {
      this.timeout(120_000);
      let reg: TestRegistry;
      let store: SignatureStore;
      let cli: CosignCli;
      let key: CosignKeyPair;
      let otherKey: CosignKeyPair;
      let n = 0;

      before(async function () {
        this.timeout(60 * 60_000); // a cold machine builds cosign first
        [reg, cli] = await Promise.all([startRegistry({ server }), cosignCli(major)]);
        store = new SignatureStore(reg);
        [key, otherKey] = await Promise.all([cli.generateKeyPair('signer'), cli.generateKeyPair('other')]);
      });
      after(async () => {
        await closeValidators();
        await store?.close();
        await reg?.stop();
      });

      async function image(format: CosignFormat | 'attest'): Promise<{ repo: string; img: PushedImage; ref: string }> {
        const repo = `interop/${format}-${++n}`;
        const img = await reg.pushRandomImage(repo, '1.0', { seed: `${server}-${major}-${repo}` });
        return { repo, img, ref: `${reg.host}/${repo}@${img.digest}` };
      }

      /** cosign verify with `pub`, and Imprimatur's cosign validator with that key as its only trust root. */
      async function verdicts(ref: string, pub: CosignKeyPair, format: CosignFormat): Promise<Verdicts> {
        const oracle = await cli.verify(ref, pub.pubPath, format);
        const validator = createValidator(keyConfig({ default: pub.publicPem }), [reg.host]);
        let imprimatur = true;
        let reason = 'admitted';
        try {
          await validator.validate(parseImageReference(ref), keyRule('default'), ctx());
        } catch (err) {
          imprimatur = false;
          reason = (err as Error).message;
        }
        return { cosign: oracle.ok, imprimatur, why: `cosign: ${oracle.ok ? 'verified' : oracle.stderr.trim().split('\n').pop()}; Imprimatur: ${reason}` };
      }

      /** cosign verify-attestation --type slsaprovenance, and Imprimatur with a rule requiring that attestation. */
      async function attestationVerdicts(ref: string, pub: CosignKeyPair, format: 'classic' | 'bundle'): Promise<Verdicts> {
        const oracle = await cli.verifyAttestation(ref, pub.pubPath, 'slsaprovenance', format);
        const validator = createValidator(keyConfig({ default: pub.publicPem }), [reg.host]);
        let imprimatur = true;
        let reason = 'admitted';
        try {
          await validator.validate(parseImageReference(ref), keyRule('default', { attestations: [{ predicateType: 'slsaprovenance' }] }), ctx());
        } catch (err) {
          imprimatur = false;
          reason = (err as Error).message;
        }
        return { cosign: oracle.ok, imprimatur, why: `cosign verify-attestation: ${oracle.ok ? 'verified' : oracle.stderr.trim().split('\n').pop()}; Imprimatur: ${reason}` };
      }

      function expectBoth(v: Verdicts, expected: boolean): void {
        expect(v.imprimatur, `Imprimatur's verdict equals cosign's (${v.why})`).to.equal(v.cosign);
        expect(v.cosign, `the case's verdict (${v.why})`).to.equal(expected);
      }

      for (const format of COSIGN_FORMATS) {
        describe(`cosign sign --key, ${format === 'classic' ? 'classic .sig tag' : format === 'referrer' ? '--registry-referrers-mode=oci-1-1' : 'Sigstore bundle'}`, () => {
          it('admits the signed image', async () => {
            const { ref } = await image(format);
            await cli.sign(ref, key, format);
            expectBoth(await verdicts(ref, key, format), true);
          });

          it('denies it for another key', async () => {
            const { ref } = await image(format);
            await cli.sign(ref, key, format);
            expectBoth(await verdicts(ref, otherKey, format), false);
          });

          it('denies another image carrying that signature (other digest)', async () => {
            const a = await image(format);
            await cli.sign(a.ref, key, format);
            const b = { repo: a.repo, img: await reg.pushRandomImage(a.repo, '2.0', { seed: `${a.repo}-other` }) };
            const sig = await store.signatureOf(a.repo, a.img.digest, format);
            if (format === 'classic') {
              await store.replaceSignature(b.repo, b.img, `${b.img.digest.replace(':', '-')}.sig`, sig.manifest);
            } else {
              const moved = { ...sig.manifest, subject: { mediaType: b.img.mediaType, digest: b.img.digest, size: b.img.size } };
              await store.addReferrer(b.repo, b.img, Buffer.from(JSON.stringify(moved)));
            }
            expectBoth(await verdicts(`${reg.host}/${b.repo}@${b.img.digest}`, key, format), false);
          });

          it('denies a tampered payload under the original signature', async () => {
            const { repo, img, ref } = await image(format);
            await cli.sign(ref, key, format);
            const sig = await store.signatureOf(repo, img.digest, format);
            const layer = sig.manifest['layers'][0] as { digest: string; size: number };
            const tampered = tamperPayload(format, await store.blob(repo, layer.digest));
            const manifest = structuredClone(sig.manifest);
            manifest['layers'][0] = { ...layer, digest: await store.putBlob(repo, tampered), size: tampered.length };
            await store.replaceSignature(repo, img, sig.ref, manifest);
            expectBoth(await verdicts(ref, key, format), false);
          });

          it('denies the image when the signature is missing', async () => {
            const { ref } = await image(format);
            expectBoth(await verdicts(ref, key, format), false);
          });
        });
      }

      describe('cosign attest --key (an attestation is not a signature)', () => {
        const provenance = { buildType: 'https://example.com/build@v1', builder: { id: 'https://example.com/imprimatur-test-builder' } };

        it('classic (.att tag): an image with only an attestation is denied by both; cosign verify-attestation accepts it', async () => {
          const { ref } = await image('attest');
          await cli.attest(ref, key, provenance, 'slsaprovenance', 'classic');
          expectBoth(await verdicts(ref, key, 'classic'), false);
          expect((await cli.verifyAttestation(ref, key.pubPath, 'slsaprovenance', 'classic')).ok, 'the attestation itself is valid').to.equal(true);
        });

        it('bundle: an image with only an attestation bundle is denied by Imprimatur, which differs here from cosign verify (deliberately)', async () => {
          const { ref } = await image('attest');
          await cli.attest(ref, key, provenance, 'slsaprovenance', 'bundle');
          const v = await verdicts(ref, key, 'bundle');
          // `cosign verify --new-bundle-format` accepts any DSSE bundle the key signed for this digest, whatever its
          // predicate: an SLSA provenance (or a vulnerability scan) then passes as an image signature. Imprimatur
          // counts only cosign's signature predicate (https://sigstore.dev/cosign/sign/v1), as cosign itself does for
          // the same attestation stored the classic way (.att, case above), and names what it found instead.
          expect(v.cosign, `cosign verify (${v.why})`).to.equal(true);
          expect(v.imprimatur, v.why).to.equal(false);
          expect(v.why).to.match(/Imprimatur: (no signatures found|.*bundle is an attestation \(predicate "https:\/\/slsa\.dev\/provenance\/v0\.2"\), not an image signature)/);
          expect((await cli.verifyAttestation(ref, key.pubPath, 'slsaprovenance', 'bundle')).ok, 'the attestation itself is valid').to.equal(true);
        });

        for (const format of ['classic', 'bundle'] as const) {
          it(`${format}: an image signed and attested is admitted by both`, async () => {
            const { ref } = await image('attest');
            await cli.attest(ref, key, provenance, 'slsaprovenance', format);
            await cli.sign(ref, key, format);
            expectBoth(await verdicts(ref, key, format), true);
          });
        }
      });

      describe('a rule requiring an SLSA provenance attestation (with.attestations) against cosign verify-attestation', () => {
        const provenance = { buildType: 'https://example.com/build@v1', builder: { id: 'https://example.com/imprimatur-test-builder' } };
        for (const format of ['classic', 'bundle'] as const) {
          describe(format === 'classic' ? '.att tag' : 'Sigstore bundle', () => {
            it('admits a signed image attested by the key', async () => {
              const { ref } = await image('attest');
              await cli.sign(ref, key, format);
              await cli.attest(ref, key, provenance, 'slsaprovenance', format);
              expectBoth(await attestationVerdicts(ref, key, format), true);
            });

            it('denies an attestation made with another key', async () => {
              const { ref } = await image('attest');
              await cli.sign(ref, key, format);
              await cli.attest(ref, otherKey, provenance, 'slsaprovenance', format);
              expectBoth(await attestationVerdicts(ref, key, format), false);
            });

            it('denies a signed image without the attestation', async () => {
              const { ref } = await image('attest');
              await cli.sign(ref, key, format);
              expectBoth(await attestationVerdicts(ref, key, format), false);
            });

            it('denies an attestation of another type (only a vulnerability scan)', async () => {
              const { ref } = await image('attest');
              await cli.sign(ref, key, format);
              await cli.attest(ref, key, { scanner: { uri: 'https://example.com/scanner', version: '1' }, metadata: { scanStartedOn: '2026-01-01T00:00:00Z', scanFinishedOn: '2026-01-01T00:01:00Z' } }, 'vuln', format);
              expectBoth(await attestationVerdicts(ref, key, format), false);
            });
          });
        }
      });
    });
  }
}
