/**
 * The notation validator against signatures made by the real notation CLI (JWS and COSE, with and
 * without an RFC 3161 timestamp from a real TSA), on a real registry; `notation verify` with the
 * equivalent trust policy is the oracle where the case can be expressed for it.
 */
import { expect } from 'chai';
import type { TrustPolicyStatement } from '../harness/notation-cli.js';
import { makeValidator, rootOf, runValidator, startWorld, type RootSpec, type World } from './world.js';

const DAY = 86_400_000;

describe('notation validator (real notation CLI, real registry, real TSA)', function () {
  this.timeout(120_000);
  let w: World;
  before(async () => { w = await startWorld(); });
  after(async () => { await w?.stop(); });

  /** Imprimatur's verdict and the notation CLI's for the same trust store/policy must agree. */
  async function bothAgree(ref: string, direct: string, root: RootSpec, policy: TrustPolicyStatement, options: Record<string, unknown> = {}, reg = w.reg): Promise<boolean> {
    const ours = await runValidator(makeValidator(reg, [root]), ref, { trustRoot: root.name, ...options });
    const stores: { ca: Record<string, string>; tsa?: Record<string, string> } = { ca: { [root.name]: root.cert } };
    const trustStores = [`ca:${root.name}`];
    if (root.tsCert) {
      stores.tsa = { [root.name]: root.tsCert };
      trustStores.push(`tsa:${root.name}`);
    }
    const oracle = await w.cli.verify(direct, stores, { trustStores, trustedIdentities: root.trustedIdentities ?? ['*'], ...policy });
    expect(ours.ok, `Imprimatur ${ours.ok ? 'admitted' : `denied (${(ours as { message: string }).message})`}, notation ${oracle.ok ? 'verified' : `failed (${oracle.out.trim()})`}`).to.equal(oracle.ok);
    return ours.ok;
  }

  it('JWS signature with a `notation cert generate-test` certificate: admitted, pinned to the digest; notation agrees', async () => {
    const img = await w.image('app/quick');
    await w.cli.sign(img.direct, { key: 'quick' });
    const ok = await bothAgree(img.ref, img.direct, { name: 'default', cert: w.quickCert }, { level: 'strict' });
    expect(ok).to.equal(true);
    const r = await runValidator(makeValidator(w.reg, [{ name: 'default', cert: w.quickCert }]), img.ref.replace(/@.*/, ':v1').replace(/:v1$/, `@${img.digest}`));
    expect(r.ok && r.outcome.digest).to.equal(img.digest);
  });

  it('COSE signature by a CA-issued leaf with a timestamp: admitted under its root, tsCert and trusted identity; notation agrees', async () => {
    const img = await w.image('app/cose');
    await w.cli.sign(img.direct, { key: 'release', format: 'cose', timestampUrl: w.tsa.url, timestampRootCert: w.tsa.root.certPath });
    const root: RootSpec = { name: 'release', cert: rootOf(w.release).certPem, tsCert: w.tsa.root.certPem, trustedIdentities: ['x509.subject: C=US, ST=WA, O=Imprimatur Test, CN=release'] };
    expect(await bothAgree(img.ref, img.direct, root, { level: 'strict' })).to.equal(true);
    const r = await runValidator(makeValidator(w.reg, [root]), img.ref, { trustRoot: 'release' });
    expect(r.ok).to.equal(true);
    const record = (r as unknown as { outcome: { details: { trustRoots: Array<{ attempts: Array<{ timestamp?: { tsa: string } }> }> } } }).outcome.details;
    expect(record.trustRoots[0]!.attempts[0]!.timestamp?.tsa).to.contain('CN=tsa');
  });

  it('unsigned image: denied with NO_SIGNATURES and the notation sign command to run; notation agrees', async () => {
    const img = await w.image('app/unsigned');
    const root = { name: 'default', cert: w.quickCert };
    expect(await bothAgree(img.ref, img.direct, root, { level: 'strict' })).to.equal(false);
    const r = await runValidator(makeValidator(w.reg, [root]), img.ref);
    expect(r.ok).to.equal(false);
    expect(r.ok || r.code).to.equal('NO_SIGNATURES');
    expect(r.ok || r.message).to.contain('notation sign').and.contain(img.digest);
    // audit enforces integrity "if a signature is present": an unsigned image still fails, in notation as here
    expect(await bothAgree(img.ref, img.direct, root, { level: 'audit' }, { verificationLevel: 'audit' })).to.equal(false);
  });

  it('untrusted signer: denied (authenticity, naming the certificate subject) at strict and permissive; admitted at audit; notation agrees', async () => {
    const img = await w.image('app/untrusted');
    await w.cli.sign(img.direct, { key: 'other' });
    const root: RootSpec = { name: 'release', cert: rootOf(w.release).certPem };
    expect(await bothAgree(img.ref, img.direct, root, { level: 'strict' })).to.equal(false);
    expect(await bothAgree(img.ref, img.direct, root, { level: 'permissive' }, { verificationLevel: 'permissive' })).to.equal(false);
    expect(await bothAgree(img.ref, img.direct, root, { level: 'audit' }, { verificationLevel: 'audit' })).to.equal(true);
    const r = await runValidator(makeValidator(w.reg, [root]), img.ref, { trustRoot: 'release' });
    expect(r.ok || r.code).to.equal('SIGNATURE_INVALID');
    expect(r.ok || r.message).to.contain('by "C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Release, CN=other": authenticity check failed: its certificate chain (root "C=US, ST=WA, O=Imprimatur Test, CN=other Root CA") contains no certificate of trust root "release"')
      .and.contain('(sign with a certificate issued by trust root "release", or, if this signer is trusted, add its root CA certificate to the trust root\'s cert)');
    // the record says which checks ran: integrity passed, authenticity failed, nothing after it
    const attempt = (r as { record: { trustRoots: Array<{ attempts: Array<{ checks: unknown }> }> } }).record.trustRoots[0]!.attempts[0]!;
    expect(attempt.checks).to.deep.equal({ integrity: 'passed', authenticity: 'failed' });
  });

  it('wrong identity: the CA is trusted but the subject is not listed: denied naming both; notation agrees', async () => {
    const img = await w.image('app/identity');
    await w.cli.sign(img.direct, { key: 'release' });
    const root: RootSpec = { name: 'release', cert: rootOf(w.release).certPem, trustedIdentities: ['x509.subject: C=US, ST=WA, O=Imprimatur Test, CN=someone-else'] };
    expect(await bothAgree(img.ref, img.direct, root, { level: 'strict' })).to.equal(false);
    const r = await runValidator(makeValidator(w.reg, [root]), img.ref, { trustRoot: 'release' });
    expect(r.ok || r.message).to.contain('not one of the trusted identities').and.contain('CN=release').and.contain('CN=someone-else')
      .and.contain('if this signer is trusted, add "x509.subject: C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Release, CN=release" to trust root "release"\'s trustedIdentities');
    // the identity suggested in the hint is one Notation accepts, and it admits exactly this signer
    const suggested = { ...root, trustedIdentities: ['x509.subject: C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Release, CN=release'] };
    expect(await bothAgree(img.ref, img.direct, suggested, { level: 'strict' })).to.equal(true);
    // the matching identity (a subset of the subject) is accepted
    const good = { ...root, trustedIdentities: ['x509.subject: C=US, ST=WA, O=Imprimatur Test, OU=Release'] };
    expect(await bothAgree(img.ref, img.direct, good, { level: 'strict' })).to.equal(true);
  });

  it('tampered envelope (one byte of the signature changed, re-pushed with a new digest): integrity failure, denied even at audit', async () => {
    // distribution 2.8: the signature is listed in the referrers tag schema, which this test rewrites
    const img = await w.image('app/tampered', w.tagSchemaReg);
    await w.cli.sign(img.direct, { key: 'quick', format: 'cose' });
    // take the signature, flip a byte, and replace the referrers tag index with only the tampered copy
    const repo = 'app/tampered';
    const tag = img.digest.replace(':', '-');
    const index = JSON.parse(await (await fetch(`${w.tagSchemaReg.directUrl}/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })).text());
    const sigDesc = index.manifests[0];
    const manifest = JSON.parse(await (await fetch(`${w.tagSchemaReg.directUrl}/v2/${repo}/manifests/${sigDesc.digest}`, { headers: { accept: sigDesc.mediaType } })).text());
    const blob = Buffer.from(await (await fetch(`${w.tagSchemaReg.directUrl}/v2/${repo}/blobs/${manifest.layers[0].digest}`)).arrayBuffer());
    blob[blob.length - 5]! ^= 0x01;
    const newBlob = await w.tagSchemaReg.pushBlob(repo, blob);
    manifest.layers[0] = { ...manifest.layers[0], digest: newBlob, size: blob.length };
    const body = Buffer.from(JSON.stringify(manifest));
    const newManifest = await w.tagSchemaReg.pushManifest(repo, 'tampered-sig', body, manifest.mediaType);
    await w.tagSchemaReg.pushManifest(repo, tag, { ...index, manifests: [{ ...sigDesc, digest: newManifest, size: body.length }] }, index.mediaType);
    const root = { name: 'default', cert: w.quickCert };
    expect(await bothAgree(img.ref, img.direct, root, { level: 'audit' }, { verificationLevel: 'audit' }, w.tagSchemaReg)).to.equal(false);
    const r = await runValidator(makeValidator(w.tagSchemaReg, [root]), img.ref);
    expect(r.ok || r.message).to.contain('integrity check failed').and.contain('does not verify');
  });

  it('a signature for another image does not count for this one', async () => {
    // distribution 2.8: a lying tag schema index (the registry lists a's signature for b)
    const a = await w.image('app/copy', w.tagSchemaReg);
    await w.cli.sign(a.direct, { key: 'quick' });
    const b = await w.image('app/copy', w.tagSchemaReg);
    // copy a's referrers index to b's tag (the registry now lists a's signature for b)
    const repo = 'app/copy';
    const idx = await (await fetch(`${w.tagSchemaReg.directUrl}/v2/${repo}/manifests/${a.digest.replace(':', '-')}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })).text();
    await w.tagSchemaReg.pushManifest(repo, b.digest.replace(':', '-'), idx, 'application/vnd.oci.image.index.v1+json');
    const r = await runValidator(makeValidator(w.tagSchemaReg, [{ name: 'default', cert: w.quickCert }]), b.ref);
    expect(r.ok).to.equal(false);
    expect(r.ok || r.message).to.match(/subject is sha256:[0-9a-f]+, not this image/);
  });

  describe('where signatures are found: the referrers API (olareg) and the referrers tag schema (distribution 2.8)', () => {
    it('olareg: notation sign stores the signature through the referrers API, and Imprimatur finds it there', async () => {
      const img = await w.image('where/api');
      await w.cli.sign(img.direct, { key: 'release', format: 'cose' });
      const root: RootSpec = { name: 'release', cert: rootOf(w.release).certPem };
      const before = w.reg.front.referrersApiHits();
      expect(await bothAgree(img.ref, img.direct, root, { level: 'strict' })).to.equal(true);
      expect(w.reg.front.referrersApiHits() - before, 'referrers listed through GET /v2/<name>/referrers/<digest>').to.be.greaterThan(0);
      // no fallback tag was written: the signature is reachable through the API only
      const tag = await fetch(`${w.reg.directUrl}/v2/where/api/manifests/${img.digest.replace(':', '-')}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
      expect(tag.status).to.equal(404);
    });

    it('distribution 2.8 (no referrers API): notation sign with its default writes the tag schema; JWS and COSE are found there and admitted', async () => {
      for (const format of ['jws', 'cose'] as const) {
        const img = await w.image(`where/tag-${format}`, w.tagSchemaReg);
        await w.cli.sign(img.direct, { key: 'quick', format, forceReferrersTag: true });
        const root: RootSpec = { name: 'default', cert: w.quickCert };
        expect(await bothAgree(img.ref, img.direct, root, { level: 'strict' }, {}, w.tagSchemaReg), format).to.equal(true);
        const r = await runValidator(makeValidator(w.tagSchemaReg, [root]), img.ref);
        expect(r.ok && r.outcome.digest).to.equal(img.digest);
        expect(JSON.stringify(r.ok && r.outcome.details)).to.contain(`(${format.toUpperCase()})`);
      }
      expect(w.tagSchemaReg.front.referrersApiHits(), 'distribution 2.8 never answers the referrers API').to.equal(0);
    });

    it('a registry with a referrers API that ignores tag-schema-only signatures: notation and Imprimatur both find none, and the denial says why', async () => {
      const img = await w.image('where/tag-only');
      await w.cli.sign(img.direct, { key: 'quick', forceReferrersTag: true }); // notation 1.3's default
      const root: RootSpec = { name: 'default', cert: w.quickCert };
      expect(await bothAgree(img.ref, img.direct, root, { level: 'strict' })).to.equal(false);
      const r = await runValidator(makeValidator(w.reg, [root]), img.ref);
      expect(r.ok || r.code).to.equal('NO_SIGNATURES');
      expect(r.ok || r.message).to.equal(
        `no Notation signature found for ${img.ref} (${img.digest}) through the registry's referrers API, although its referrers tag schema index ` +
        `(tag ${img.digest.replace(':', '-')}) lists 1: this registry serves referrers through its API only, so \`notation verify\` does not find them either; ` +
        `sign again with \`notation sign --force-referrers-tag=false ${img.ref}\``);
    });
  });

  describe('time: expired certificates, expiry, timestamps', () => {
    let plain: { ref: string; direct: string; digest: string };
    let stamped: { ref: string; direct: string; digest: string };
    let stampedJws: { ref: string; direct: string; digest: string };
    let rootPem: string;
    before(async () => {
      plain = await w.image('app/time-plain');
      await w.cli.sign(plain.direct, { key: 'release', expiry: '24h' });
      stamped = await w.image('app/time-stamped');
      await w.cli.sign(stamped.direct, { key: 'release', format: 'cose', timestampUrl: w.tsa.url, timestampRootCert: w.tsa.root.certPath });
      stampedJws = await w.image('app/time-stamped-jws');
      await w.cli.sign(stampedJws.direct, { key: 'release', format: 'jws', timestampUrl: w.tsa.url, timestampRootCert: w.tsa.root.certPath });
      rootPem = rootOf(w.release).certPem;
    });

    it('no timestamp and no tsCert: valid now, denied once the certificate has expired (authentic timestamp), admitted then at permissive', async () => {
      const v = makeValidator(w.reg, [{ name: 'release', cert: rootPem }]);
      expect((await runValidator(v, plain.ref, { trustRoot: 'release' })).ok).to.equal(true);
      const later = new Date(Date.now() + 3 * DAY);
      const r = await runValidator(v, plain.ref, { trustRoot: 'release', verificationOverride: { expiry: 'log' } }, later);
      expect(r.ok || r.message).to.contain('authenticTimestamp check failed').and.contain('expired').and.contain('CN=release');
      expect((await runValidator(v, plain.ref, { trustRoot: 'release', verificationLevel: 'permissive' }, later)).ok).to.equal(true);
    });

    it('expiry set by the signer: denied after it at strict, with the time; logged at permissive', async () => {
      const v = makeValidator(w.reg, [{ name: 'release', cert: rootPem }]);
      const after25h = new Date(Date.now() + 25 * 3_600_000);
      const r = await runValidator(v, plain.ref, { trustRoot: 'release' }, after25h);
      expect(r.ok || r.message).to.contain('expiry check failed').and.contain('expired at');
      const p = await runValidator(v, plain.ref, { trustRoot: 'release', verificationLevel: 'permissive' }, after25h);
      expect(p.ok).to.equal(true);
      expect(JSON.stringify(p.ok && p.outcome.details)).to.contain('"check":"expiry"');
      // admitted with a reservation the webhook shows as an admission warning
      expect(p.ok && p.outcome.details.warnings).to.deep.equal([
        'verificationLevel permissive: expiry failed (logged only) for the Notation signature by "C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Release, CN=release" (trust root "release")',
      ]);
      const before = await runValidator(v, plain.ref, { trustRoot: 'release', verificationLevel: 'permissive' });
      expect(before.ok && before.outcome.details.warnings).to.equal(undefined);
    });

    it('timestamped signature: admitted after the certificate expired (the TSA proves it was signed in time), with tsCert', async () => {
      const v = makeValidator(w.reg, [{ name: 'release', cert: rootPem, tsCert: w.tsa.root.certPem }]);
      const later = new Date(Date.now() + 3 * DAY);
      expect((await runValidator(v, stamped.ref, { trustRoot: 'release' }, later)).ok).to.equal(true);
      // the TSA root of another authority does not prove anything
      const wrongTsa = makeValidator(w.reg, [{ name: 'release', cert: rootPem, tsCert: rootPem }]);
      const r = await runValidator(wrongTsa, stamped.ref, { trustRoot: 'release' }, later);
      expect(r.ok || r.message).to.contain('does not chain to a configured tsCert');
    });

    it('timestamped JWS signature (the countersignature in the unprotected header): admitted after the certificate expired with tsCert, denied without; notation agrees today', async () => {
      const root: RootSpec = { name: 'release', cert: rootPem, tsCert: w.tsa.root.certPem };
      expect(await bothAgree(stampedJws.ref, stampedJws.direct, root, { level: 'strict' })).to.equal(true);
      const later = new Date(Date.now() + 3 * DAY);
      const v = makeValidator(w.reg, [root]);
      const ok = await runValidator(v, stampedJws.ref, { trustRoot: 'release' }, later);
      expect(ok.ok, ok.ok ? '' : ok.message).to.equal(true);
      expect(JSON.stringify(ok.ok && ok.outcome.details)).to.contain('(JWS)').and.contain('CN=tsa');
      const noTsa = await runValidator(makeValidator(w.reg, [{ name: 'release', cert: rootPem }]), stampedJws.ref, { trustRoot: 'release' }, later);
      expect(noTsa.ok || noTsa.message).to.contain('authenticTimestamp check failed').and.contain('has no tsCert');
    });

    it('tsCert configured, signature without timestamp: denied with verifyTimestamp always, admitted with afterCertExpiry while valid, and at permissive (Connaisseur\'s cases); notation agrees', async () => {
      const root: RootSpec = { name: 'release', cert: rootPem, tsCert: w.tsa.root.certPem };
      expect(await bothAgree(plain.ref, plain.direct, root, { level: 'strict' })).to.equal(false);
      const r = await runValidator(makeValidator(w.reg, [root]), plain.ref, { trustRoot: 'release' });
      expect(r.ok || r.message).to.contain('authenticTimestamp check failed: the signature by "C=US, ST=WA, L=Seattle, O=Imprimatur Test, OU=Release, CN=release" carries no RFC 3161 timestamp, but trust root "release" has tsCert and verifyTimestamp is always')
        .and.contain('or set with.verifyTimestamp: afterCertExpiry');
      expect(await bothAgree(plain.ref, plain.direct, root, { level: 'strict', verifyTimestamp: 'afterCertExpiry' }, { verifyTimestamp: 'afterCertExpiry' })).to.equal(true);
      expect(await bothAgree(plain.ref, plain.direct, root, { level: 'permissive' }, { verificationLevel: 'permissive' })).to.equal(true);
    });
  });

  it('revocation: a signing certificate naming a CRL cannot be checked offline: denied at strict, admitted with verificationOverride.revocation: log; notation (offline) agrees at strict', async () => {
    const root = w.pki.issue('revocable-root', { subject: '/C=US/ST=WA/O=Imprimatur Test/CN=revocable Root', profile: 'ca' });
    const leaf = w.pki.issue('revocable', { subject: '/C=US/ST=WA/O=Imprimatur Test/CN=revocable', profile: 'leaf', issuer: root, extraExtensions: ['crlDistributionPoints = URI:http://127.0.0.1:9/revocable.crl'] });
    w.cli.addSigningKey('revocable', leaf.keyPath, w.pki.writeChain(leaf));
    const img = await w.image('app/revocable');
    await w.cli.sign(img.direct, { key: 'revocable' });
    const spec: RootSpec = { name: 'default', cert: root.certPem };
    expect(await bothAgree(img.ref, img.direct, spec, { level: 'strict' })).to.equal(false);
    const r = await runValidator(makeValidator(w.reg, [spec]), img.ref);
    expect(r.ok || r.message).to.contain('revocation check failed').and.contain('CRL http://127.0.0.1:9/revocable.crl');
    expect((await runValidator(makeValidator(w.reg, [spec]), img.ref, { verificationOverride: { revocation: 'log' } })).ok).to.equal(true);
  });

  it('verificationLevel skip admits without looking at signatures; trustRoot "*" with threshold counts distinct trust roots', async () => {
    const img = await w.image('app/multi');
    const v0 = makeValidator(w.reg, [{ name: 'default', cert: w.quickCert }]);
    expect((await runValidator(v0, img.ref, { verificationLevel: 'skip' })).ok).to.equal(true);
    await w.cli.sign(img.direct, { key: 'quick' });
    await w.cli.sign(img.direct, { key: 'release', format: 'cose' });
    const v = makeValidator(w.reg, [{ name: 'quick', cert: w.quickCert }, { name: 'release', cert: rootOf(w.release).certPem }, { name: 'other', cert: rootOf(w.other).certPem }]);
    expect((await runValidator(v, img.ref, { trustRoot: '*', threshold: 2 })).ok).to.equal(true);
    const all = await runValidator(v, img.ref, { trustRoot: '*' });
    expect(all.ok || all.message).to.contain('threshold not reached (valid 2 of 3').and.contain('trust root "other"');
    const req = await runValidator(v, img.ref, { trustRoot: '*', required: ['other'] });
    expect(req.ok || req.code).to.equal('MISSING_REQUIRED_SIGNATURES');
  });
});
