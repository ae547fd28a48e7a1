/**
 * What a Notary Project signature must bind, for the cases `notation sign` refuses to produce: the signed
 * descriptor must be exactly the image's (digest, media type and size), and the signing certificate must be for
 * code signing. The envelopes are made by hand (test/harness/notation-envelope.ts); an unaltered one is admitted by
 * Imprimatur and by `notation verify`, so every denial below is caused by the one thing each case changes.
 */
import { expect } from 'chai';
import { jwsEnvelope, manifestDescriptor, pushJwsSignature, type Descriptor } from '../harness/notation-envelope.js';
import type { TestCertificate } from '../harness/notation-pki.js';
import { makeValidator, rootOf, runValidator, startWorld, type RootSpec, type World } from './world.js';

describe('notation: what the signature binds (hand-made JWS envelopes; notation verify agrees)', function () {
  this.timeout(120_000);
  let w: World;
  let root: RootSpec;
  before(async () => {
    w = await startWorld();
    root = { name: 'release', cert: rootOf(w.release).certPem };
  });
  after(async () => { await w?.stop(); });

  /** Signs `image` with a descriptor changed by `alter`, as `signer`; returns both verdicts. */
  async function signAndVerify(repo: string, signer: TestCertificate, alter: (d: Descriptor, other: Descriptor) => Descriptor, trust: RootSpec = root) {
    const img = await w.image(repo);
    const other = await w.image(repo);
    const subject = await manifestDescriptor(w.reg, repo, img.digest);
    const otherDesc = await manifestDescriptor(w.reg, repo, other.digest);
    await pushJwsSignature(w.reg, repo, subject, jwsEnvelope(signer, alter(subject, otherDesc)), signer);
    const ours = await runValidator(makeValidator(w.reg, [trust]), img.ref, { trustRoot: trust.name });
    const oracle = await w.cli.verify(img.direct, { ca: { [trust.name]: trust.cert } }, { level: 'strict', trustStores: [`ca:${trust.name}`], trustedIdentities: ['*'] });
    return { ours, oracle, img };
  }

  it('the unaltered hand-made envelope is admitted, and notation verify accepts it (the envelope is right)', async () => {
    const { ours, oracle, img } = await signAndVerify('bind/control', w.release, (d) => d);
    expect(oracle.ok, oracle.out).to.equal(true);
    expect(ours.ok && ours.outcome.digest).to.equal(img.digest);
  });

  it('a signature whose payload names another image (attached to this one) is an integrity failure', async () => {
    const { ours, oracle, img } = await signAndVerify('bind/digest', w.release, (_d, other) => other);
    expect(oracle.ok, oracle.out).to.equal(false);
    expect(ours.ok || ours.code).to.equal('SIGNATURE_INVALID');
    expect(ours.ok || ours.message).to.contain('integrity check failed').and.contain(`not this image (${img.digest})`).and.contain('CN=release')
      .and.contain('sign this image digest again with `notation sign`');
  });

  it('the right digest with another size is refused', async () => {
    const { ours, oracle } = await signAndVerify('bind/size', w.release, (d) => ({ ...d, size: d.size + 1 }));
    expect(oracle.ok, oracle.out).to.equal(false);
    expect(ours.ok || ours.message).to.match(/integrity check failed: the signature names size \d+, but the image manifest has \d+ bytes/);
  });

  it('the right digest with another media type is refused', async () => {
    const { ours, oracle } = await signAndVerify('bind/media-type', w.release, (d) => ({ ...d, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' }));
    expect(oracle.ok, oracle.out).to.equal(false);
    expect(ours.ok || ours.message).to.contain('integrity check failed: the signature names media type application/vnd.docker.distribution.manifest.v2+json, but the image is application/vnd.oci.image.manifest.v1+json');
  });

  it('a signing certificate for TLS servers (extendedKeyUsage serverAuth) under a trusted CA is refused, naming its subject and purpose', async () => {
    const ca = w.pki.issue('purpose-root', { subject: '/C=US/ST=WA/O=Imprimatur Test/CN=purpose Root CA', profile: 'ca' });
    const server = w.pki.issue('purpose-server', { subject: '/C=US/ST=WA/O=Imprimatur Test/CN=purpose-server', profile: 'serverLeaf', issuer: ca });
    const trust: RootSpec = { name: 'purpose', cert: ca.certPem };
    const { ours, oracle } = await signAndVerify('bind/eku', server, (d) => d, trust);
    expect(oracle.ok, oracle.out).to.equal(false);
    expect(ours.ok || ours.code).to.equal('SIGNATURE_INVALID');
    expect(ours.ok || ours.message).to.contain('integrity check failed: invalid certificate chain: certificate "C=US, ST=WA, O=Imprimatur Test, CN=purpose-server" has extendedKeyUsage serverAuth, which a code-signing certificate must not have')
      .and.contain('(sign with a code-signing certificate (keyUsage digitalSignature only, marked critical; extendedKeyUsage codeSigning; not a CA)')
      .and.not.contain('sign this image digest again');
    // the same CA's code-signing leaf is admitted: the purpose, not the CA, was the problem
    const signer = w.pki.issue('purpose-signer', { subject: '/C=US/ST=WA/O=Imprimatur Test/CN=purpose-signer', profile: 'leaf', issuer: ca });
    const good = await signAndVerify('bind/eku-good', signer, (d) => d, trust);
    expect(good.oracle.ok, good.oracle.out).to.equal(true);
    expect(good.ours.ok).to.equal(true);
  });
});
