/**
 * Online revocation (`revocationCheck: online`) against real revocation data: CRLs made by `openssl ca -gencrl`
 * served over HTTP, and a real OCSP responder (`openssl ocsp`). Signatures by the real notation CLI; `notation
 * verify` — which checks revocation online — is the oracle for every case it can express.
 */
import { expect } from 'chai';
import type { TestCertificate } from '../harness/notation-pki.js';
import { deadPort, reserveOcspPort, startCrlServer, startOcspResponder, type CrlServer, type OcspResponder } from '../harness/revocation-servers.js';
import { makeValidator, runValidator, startWorld, type Verdict, type World } from './world.js';

type Image = Awaited<ReturnType<World['image']>>;

describe('notation revocation checks online (CRLs from openssl ca, OCSP from openssl ocsp; notation verify agrees)', function () {
  this.timeout(180_000);
  let w: World;
  let crls: CrlServer;
  const responders: OcspResponder[] = [];

  before(async () => {
    [w, crls] = await Promise.all([startWorld(), startCrlServer()]);
  });
  after(async () => {
    await Promise.all(responders.map((r) => r.stop()));
    await crls?.stop();
    await w?.stop();
  });

  /** A root CA and a code-signing leaf naming a CRL on the CRL server and/or an OCSP responder; key `name` signs. */
  function signer(name: string, o: { crl?: boolean; ocspUrl?: string }): { root: TestCertificate; leaf: TestCertificate; crlUrl: string } {
    const root = w.pki.issue(`${name}-root`, { subject: `/C=US/ST=WA/O=Imprimatur Test/CN=${name} Root CA`, profile: 'ca' });
    const crlUrl = crls.url(`/${name}.crl`);
    const ext: string[] = [];
    if (o.crl) ext.push(`crlDistributionPoints = URI:${crlUrl}`);
    if (o.ocspUrl) ext.push(`authorityInfoAccess = OCSP;URI:${o.ocspUrl}`);
    const leaf = w.pki.issue(name, { subject: `/C=US/ST=WA/O=Imprimatur Test/CN=${name}`, profile: 'leaf', issuer: root, extraExtensions: ext });
    w.cli.addSigningKey(name, leaf.keyPath, w.pki.writeChain(leaf));
    return { root, leaf, crlUrl };
  }

  async function signedBy(key: string): Promise<Image> {
    const img = await w.image(`rev/${key}`);
    await w.cli.sign(img.direct, { key });
    return img;
  }

  /** Imprimatur (online revocation) and `notation verify` on the same trust store and level; both verdicts. */
  async function both(img: Image, root: TestCertificate, level: 'strict' | 'permissive' = 'strict'): Promise<{ ours: Verdict; notation: { ok: boolean; out: string } }> {
    const ours = await runValidator(makeValidator(w.reg, [{ name: 'default', cert: root.certPem }], { revocationCheck: 'online' }), img.ref, { verificationLevel: level });
    const notation = await w.cli.verify(img.direct, { ca: { default: root.certPem } }, { level, trustStores: ['ca:default'] });
    expect(ours.ok, `Imprimatur ${ours.ok ? 'admitted' : `denied (${(ours as { message: string }).message})`}, notation ${notation.ok ? 'verified' : `failed (${notation.out.trim()})`}`).to.equal(notation.ok);
    return { ours, notation };
  }

  const message = (v: Verdict): string => (v.ok ? '(admitted)' : v.message);

  it('CRL: a certificate not on its CA\'s CRL is admitted at strict (offline it is denied); the CRL is downloaded once and reused', async () => {
    const { root, leaf } = signer('crl-good', { crl: true });
    crls.set('/crl-good.crl', w.pki.crl(leaf));
    const img = await signedBy('crl-good');
    expect((await both(img, root)).ours.ok).to.equal(true);
    const offline = await runValidator(makeValidator(w.reg, [{ name: 'default', cert: root.certPem }]), img.ref);
    expect(message(offline)).to.contain('revocation check failed').and.contain('Imprimatur checks revocation offline only').and.contain('set revocationCheck: online on the validator');
    const v = makeValidator(w.reg, [{ name: 'default', cert: root.certPem }], { revocationCheck: 'online' });
    const before = crls.requests();
    expect((await runValidator(v, img.ref)).ok).to.equal(true);
    expect((await runValidator(v, img.ref)).ok).to.equal(true);
    expect(crls.requests() - before, 'one CRL download for two verifications').to.equal(1);
  });

  it('CRL: a revoked certificate is denied at strict naming the date, the reason and the CRL; admitted at permissive with a warning', async () => {
    const { root, leaf, crlUrl } = signer('crl-revoked', { crl: true });
    w.pki.revoke(leaf, 'keyCompromise');
    crls.set('/crl-revoked.crl', w.pki.crl(leaf));
    const img = await signedBy('crl-revoked');
    const strict = await both(img, root);
    expect(message(strict.ours)).to.match(new RegExp(
      'revocation check failed: certificate "C=US, ST=WA, O=Imprimatur Test, CN=crl-revoked" was revoked on \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(keyCompromise\\), ' +
      `according to the CRL at ${crlUrl.replace(/[.]/g, '\\.')} \\(the certificate was revoked by its CA, so signatures made with it are not trusted; sign the image again with a valid certificate\\)`));
    const permissive = await both(img, root, 'permissive');
    expect(permissive.ours.ok && permissive.ours.outcome.details.warnings).to.deep.equal([
      'verificationLevel permissive: revocation failed (logged only) for the Notation signature by "C=US, ST=WA, O=Imprimatur Test, CN=crl-revoked" (trust root "default")',
    ]);
  });

  it('OCSP: good is admitted, revoked is denied naming the responder (answers by openssl ocsp)', async () => {
    const good = await reserveOcspPort();
    const g = signer('ocsp-good', { ocspUrl: good.url });
    responders.push(await startOcspResponder(w.pki.indexOf(g.leaf), g.root, w.pki.dir, good));
    expect((await both(await signedBy('ocsp-good'), g.root)).ours.ok).to.equal(true);

    const bad = await reserveOcspPort();
    const r = signer('ocsp-revoked', { ocspUrl: bad.url });
    w.pki.revoke(r.leaf, 'superseded');
    responders.push(await startOcspResponder(w.pki.indexOf(r.leaf), r.root, w.pki.dir, bad));
    const revoked = await both(await signedBy('ocsp-revoked'), r.root);
    expect(message(revoked.ours)).to.contain('revocation check failed: certificate "C=US, ST=WA, O=Imprimatur Test, CN=ocsp-revoked" was revoked on ')
      .and.contain(`(superseded), according to OCSP responder ${bad.url}`);
  });

  it('OCSP responder down: the CRL decides (the spec\'s fallback); both down: "cannot be determined", denied at strict, admitted at permissive', async () => {
    const dead = await deadPort(); // nothing listens there
    const f = signer('fallback', { ocspUrl: dead.url, crl: true });
    crls.set('/fallback.crl', w.pki.crl(f.leaf));
    expect((await both(await signedBy('fallback'), f.root)).ours.ok).to.equal(true);

    const u = signer('unavailable', { ocspUrl: dead.url, crl: true }); // no CRL served: 404
    const img = await signedBy('unavailable');
    const strict = await both(img, u.root);
    expect(message(strict.ours)).to.contain(
      `revocation check failed: revocation status of certificate "C=US, ST=WA, O=Imprimatur Test, CN=unavailable" cannot be determined: OCSP ${dead.url} refused the connection; CRL ${u.crlUrl} answered HTTP 404 ` +
      '(make these endpoints reachable from Imprimatur (network egress), or set with.verificationOverride.revocation: log to accept signatures whose revocation status is unavailable)');
    expect((await both(img, u.root, 'permissive')).ours.ok).to.equal(true);
  });

  it('a CRL that is outdated, or signed by an impostor CA of the same name, is not used: revocation cannot be determined', async () => {
    const o = signer('crl-outdated', { crl: true });
    crls.set('/crl-outdated.crl', w.pki.crl(o.leaf, { lastUpdate: new Date(Date.now() - 3 * 86_400_000), nextUpdate: new Date(Date.now() - 86_400_000) }));
    const outdated = await both(await signedBy('crl-outdated'), o.root);
    expect(message(outdated.ours)).to.contain(`CRL ${o.crlUrl} answered an outdated CRL (nextUpdate `);

    const f = signer('crl-forged', { crl: true });
    const impostor = w.pki.issue('crl-forged-impostor', { subject: '/C=US/ST=WA/O=Imprimatur Test/CN=crl-forged Root CA', profile: 'ca' });
    crls.set('/crl-forged.crl', w.pki.crl(f.leaf, { signer: impostor }));
    const forged = await both(await signedBy('crl-forged'), f.root);
    expect(message(forged.ours)).to.contain(`CRL ${f.crlUrl} answered a CRL whose signature does not verify with issuer "C=US, ST=WA, O=Imprimatur Test, CN=crl-forged Root CA"`);
  });

  it('a CRL endpoint that never answers cannot hold the admission past its deadline', async () => {
    const { root } = signer('crl-hangs', { crl: true });
    crls.set('/crl-hangs.crl', 'hang');
    const img = await signedBy('crl-hangs');
    const v = makeValidator(w.reg, [{ name: 'default', cert: root.certPem }], { revocationCheck: 'online' });
    const started = Date.now();
    const r = await runValidator(v, img.ref, {}, new Date(), 1500);
    expect(Date.now() - started).to.be.below(4000);
    expect(r.ok || r.code).to.equal('DEADLINE_EXCEEDED');
    expect(message(r)).to.contain('the admission deadline passed while the revocation status of certificate "C=US, ST=WA, O=Imprimatur Test, CN=crl-hangs" was checked');
  });

  it('an untrusted certificate never makes Imprimatur contact the URLs it names (audit: authenticity only logged)', async () => {
    const { leaf } = signer('untrusted-crl', { crl: true });
    crls.set('/untrusted-crl.crl', w.pki.crl(leaf));
    const img = await signedBy('untrusted-crl');
    const other = w.pki.issue('unrelated-root', { subject: '/C=US/ST=WA/O=Imprimatur Test/CN=unrelated Root CA', profile: 'ca' });
    const before = crls.requests();
    const audit = await runValidator(makeValidator(w.reg, [{ name: 'default', cert: other.certPem }], { revocationCheck: 'online' }), img.ref, { verificationLevel: 'audit' });
    expect(audit.ok).to.equal(true);
    expect(crls.requests(), 'no CRL request for an untrusted chain').to.equal(before);
    const logged = JSON.stringify(audit.ok && audit.outcome.details);
    expect(logged).to.contain('Imprimatur contacts these only for trusted certificate chains');
  });
});
