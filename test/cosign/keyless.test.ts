/**
 * Keyless verification end to end: a private Sigstore (@sigstore/mock Fulcio, Rekor, TSA on loopback
 * HTTP servers), keyless signatures made with @sigstore/sign and pushed to the real docker-registry
 * (classic annotations and bundles), verified offline against the configured trust material.
 */
import { createRequire } from 'node:module';
import { expect } from 'chai';
import { parseImageReference } from '../../src/image/reference.js';
import type { ValidatorConfig } from '../../src/config/types.js';
import { generateTestKey, pushBundle, pushClassicSignatures, signImage, simpleSigningPayload } from '../harness/cosign-signing.js';
import { startMockSigstore, type MockSigstore } from '../harness/sigstore-mock.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { closeValidators, createValidator, ctx, denial, recordOf, rule } from './helpers.js';

const ALICE = { subject: 'alice@example.com', issuer: 'https://accounts.example.com' };
const EVE = { subject: 'alice@example.com.evil', issuer: 'https://accounts.example.com' };

describe('cosign validator: keyless signatures (private Sigstore on loopback, real registry)', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let sigstore: MockSigstore;
  let other: MockSigstore; // another Sigstore instance: its CA and logs are not trusted
  let expired: MockSigstore; // its Fulcio clock is an hour behind: certificates expired when logged

  const keylessConfig = (trustedRoot: Record<string, unknown>, keyless: Record<string, string> = { issuer: ALICE.issuer, subjectRegex: 'alice@example\\.com' }): ValidatorConfig => ({
    name: 'keyless', type: 'cosign', host: { trustedRoot: JSON.stringify(trustedRoot) }, trustRoots: [{ name: 'alice', keyless }],
  });
  const image = (repo: string) => parseImageReference(`${registry.host}/${repo}:v1`);
  const pushSigned = async (repo: string, signer: MockSigstore, identity = ALICE, opts: { tsa?: boolean } = {}) => {
    const img = await registry.pushRandomImage(repo, 'v1');
    const layer = await signer.classicKeyless(identity, img.digest, `${registry.host}/${repo}`, opts);
    await pushClassicSignatures(registry, repo, img.digest, [layer]);
    return { img, layer };
  };

  before(async () => {
    [registry, sigstore, other, expired] = await Promise.all([startRegistry(), startMockSigstore(), startMockSigstore(), startMockSigstore({ fulcioOffsetMs: -3600_000 })]);
  });
  after(async () => {
    await closeValidators();
    await Promise.all([registry?.stop(), sigstore?.stop(), other?.stop(), expired?.stop()]);
  });

  it('admits a classic keyless signature from the expected identity and records it', async () => {
    const { img } = await pushSigned('keyless/ok', sigstore, ALICE, { tsa: false });
    const outcome = await createValidator(keylessConfig(sigstore.trustedRoot), [registry.host]).validate(image('keyless/ok'), rule('alice'), ctx());
    expect(outcome.digest).to.equal(img.digest);
    const attempt = recordOf(outcome).trustRoots[0]!.attempts[0]!;
    expect(attempt.verified).to.equal(true);
    expect(attempt.identity).to.deep.equal({ subject: ALICE.subject, issuer: ALICE.issuer });
    expect(attempt.signedAt).to.match(/^\d{4}-\d\d-\d\dT/);
    expect(recordOf(outcome).verification).to.include({ verifyInTransparencyLog: true, verifySCT: true, trustMaterial: 'host.trustedRoot' });
  });

  it('verifies with host.fulcioCert, host.rekorPubkey and host.ctLogPubkey instead of a trusted root document', async () => {
    await pushSigned('keyless/host-keys', sigstore);
    const config: ValidatorConfig = {
      name: 'keyless-host', type: 'cosign',
      host: { fulcioCert: sigstore.fulcioCertPem, rekorPubkey: sigstore.rekorPubkeyPem, ctLogPubkey: sigstore.ctLogPubkeyPem },
      trustRoots: [{ name: 'alice', keyless: { issuer: ALICE.issuer, subject: ALICE.subject } }],
    };
    const outcome = await createValidator(config, [registry.host]).validate(image('keyless/host-keys'), rule('alice'), ctx());
    expect(outcome.details.trustRoots![0]!.verified).to.equal(true);
    // The same signature under the public-good defaults: the private CA is not trusted.
    const publicGood = createValidator({ name: 'pg', type: 'cosign', trustRoots: [{ name: 'alice', keyless: { issuer: ALICE.issuer, subject: ALICE.subject } }] }, [registry.host]);
    const err = await denial(publicGood.validate(image('keyless/host-keys'), rule('alice'), ctx()));
    expect(err.details.record.trustRoots[0]!.reason).to.match(/certificate does not chain to the configured Fulcio root|transparency log entry invalid/);
  });

  it('denies a signature from another identity, naming the identity found', async () => {
    await pushSigned('keyless/bob', sigstore, { subject: 'bob@example.com', issuer: ALICE.issuer });
    const err = await denial(createValidator(keylessConfig(sigstore.trustedRoot), [registry.host]).validate(image('keyless/bob'), rule('alice'), ctx()));
    expect(err.code).to.equal('SIGNATURE_INVALID');
    expect(err.message).to.equal(`no signature matches trust root "alice": no signature from an expected identity (found: subject=bob@example.com, issuer=${ALICE.issuer})`);
  });

  it('denies the expected subject from another issuer', async () => {
    await pushSigned('keyless/issuer', sigstore, { subject: ALICE.subject, issuer: 'https://evil.example.com' });
    const err = await denial(createValidator(keylessConfig(sigstore.trustedRoot), [registry.host]).validate(image('keyless/issuer'), rule('alice'), ctx()));
    expect(err.message).to.include(`found: subject=${ALICE.subject}, issuer=https://evil.example.com`);
  });

  it('anchors regexes: subjectRegex alice@example.com does not match alice@example.com.evil', async () => {
    await pushSigned('keyless/anchor', sigstore, EVE);
    const v = createValidator(keylessConfig(sigstore.trustedRoot, { issuerRegex: 'https://accounts\\.example\\.com', subjectRegex: 'alice@example.com' }), [registry.host]);
    const err = await denial(v.validate(image('keyless/anchor'), rule('alice'), ctx()));
    expect(err.message).to.include('no signature from an expected identity (found: subject=alice@example.com.evil');
    // The same regex admits the exact identity.
    await pushSigned('keyless/anchor-ok', sigstore, ALICE);
    expect((await v.validate(image('keyless/anchor-ok'), rule('alice'), ctx())).details.trustRoots![0]!.verified).to.equal(true);
  });

  it('denies a certificate from another CA (logged in another Rekor)', async () => {
    await pushSigned('keyless/other-ca', other);
    const err = await denial(createValidator(keylessConfig(sigstore.trustedRoot), [registry.host]).validate(image('keyless/other-ca'), rule('alice'), ctx()));
    expect(err.details.record.trustRoots[0]!.attempts[0]!.reason).to.match(/certificate does not chain to the configured Fulcio root|transparency log entry invalid/);
    // Trusting only the other instance's logs but this instance's CA still fails on the chain.
    const mixed = { ...sigstore.trustedRoot, tlogs: other.trustedRoot.tlogs, ctlogs: other.trustedRoot.ctlogs };
    const err2 = await denial(createValidator(keylessConfig(mixed), [registry.host]).validate(image('keyless/other-ca'), rule('alice'), ctx()));
    expect(err2.details.record.trustRoots[0]!.attempts[0]!.reason).to.equal('certificate does not chain to the configured Fulcio root');
  });

  it('denies a tampered Rekor SignedEntryTimestamp', async () => {
    const repo = 'keyless/tampered-set';
    const img = await registry.pushRandomImage(repo, 'v1');
    const layer = await sigstore.classicKeyless(ALICE, img.digest, `${registry.host}/${repo}`);
    const rb = JSON.parse(layer.rekorBundle!) as { SignedEntryTimestamp: string; Payload: { integratedTime: number } };
    rb.Payload.integratedTime += 1; // claims another time: the SET no longer covers it
    await pushClassicSignatures(registry, repo, img.digest, [{ ...layer, rekorBundle: JSON.stringify(rb) }]);
    const err = await denial(createValidator(keylessConfig(sigstore.trustedRoot), [registry.host]).validate(image(repo), rule('alice'), ctx()));
    expect(err.details.record.trustRoots[0]!.attempts[0]!.reason).to.equal('transparency log entry invalid: inclusion promise could not be verified');
  });

  it('denies a payload swapped after logging (new signature for this image, Rekor bundle of the logged one)', async () => {
    const repo = 'keyless/swapped';
    const good = await registry.pushRandomImage(repo, 'good');
    const img = await registry.pushRandomImage(repo, 'v1');
    // The signer logged a signature over `good`'s payload; the registry gets one over `v1` with that log entry.
    const logged = await sigstore.classicKeyless(ALICE, good.digest, `${registry.host}/${repo}`);
    const fresh = await sigstore.classicKeyless(ALICE, img.digest, `${registry.host}/${repo}`);
    await pushClassicSignatures(registry, repo, img.digest, [{ ...fresh, rekorBundle: logged.rekorBundle }]);
    const err = await denial(createValidator(keylessConfig(sigstore.trustedRoot), [registry.host]).validate(image(repo), rule('alice'), ctx()));
    expect(err.details.record.trustRoots[0]!.attempts[0]!.reason).to.match(/^transparency log entry invalid: /);
  });

  it('denies a certificate that was not valid at signing time', async () => {
    await pushSigned('keyless/expired', expired);
    const err = await denial(createValidator(keylessConfig(expired.trustedRoot), [registry.host]).validate(image('keyless/expired'), rule('alice'), ctx()));
    expect(err.details.record.trustRoots[0]!.attempts[0]!.reason).to.equal('certificate was not valid at signing time');
  });

  it('an SCT from an untrusted CT log is refused unless verifySCT is false', async () => {
    await pushSigned('keyless/sct', sigstore);
    const wrongCt = { ...sigstore.trustedRoot, ctlogs: other.trustedRoot.ctlogs };
    const v = createValidator(keylessConfig(wrongCt), [registry.host]);
    const err = await denial(v.validate(image('keyless/sct'), rule('alice'), ctx()));
    expect(err.details.record.trustRoots[0]!.attempts[0]!.reason).to.match(/^signed certificate timestamp invalid/);
    expect((await v.validate(image('keyless/sct'), rule('alice', { verifySCT: false }), ctx())).digest).to.be.a('string');
  });

  it('a keyless signature without Rekor bundle is denied (no trusted signing time)', async () => {
    const repo = 'keyless/no-tlog';
    const img = await registry.pushRandomImage(repo, 'v1');
    const layer = await sigstore.classicKeyless(ALICE, img.digest, `${registry.host}/${repo}`);
    await pushClassicSignatures(registry, repo, img.digest, [{ ...layer, rekorBundle: undefined }]);
    const v = createValidator(keylessConfig(sigstore.trustedRoot), [registry.host]);
    const err = await denial(v.validate(image(repo), rule('alice'), ctx()));
    expect(err.details.record.trustRoots[0]!.attempts[0]!.reason).to.equal('transparency log entry invalid: the signature has no transparency log entry');
    const err2 = await denial(v.validate(image(repo), rule('alice', { verifyInTransparencyLog: false }), ctx()));
    expect(err2.details.record.trustRoots[0]!.attempts[0]!.reason).to.match(/^no trusted signing time/);
  });

  it('admits a keyless DSSE bundle (Rekor intoto entry + TSA timestamp) and denies another identity', async () => {
    const repo = 'keyless/bundle';
    const img = await registry.pushRandomImage(repo, 'v1');
    await pushBundle(registry, repo, img.descriptor, await sigstore.dsseBundle(ALICE, img.digest));
    const v = createValidator(keylessConfig(sigstore.trustedRoot), [registry.host]);
    const outcome = await v.validate(image(repo), rule('alice'), ctx());
    expect(recordOf(outcome).trustRoots[0]!.verifiedBy[0]).to.match(/^bundle sha256:[0-9a-f]{12}… \(keyless, subject=alice@example\.com, issuer=https:\/\/accounts\.example\.com, signed at /);
    const bob = createValidator(keylessConfig(sigstore.trustedRoot, { issuer: ALICE.issuer, subject: 'bob@example.com' }), [registry.host]);
    const err = await denial(bob.validate(image(repo), rule('alice'), ctx()));
    expect(err.message).to.include('no signature from an expected identity (found: subject=alice@example.com');
  });

  it('the mock Sigstore does not load nock (other tests keep real HTTP): the registry harness still works', async () => {
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.some((k) => k.includes('/node_modules/nock/'))).to.equal(false);
    const img = await registry.pushRandomImage('keyless/after', 'v1');
    expect(img.digest).to.match(/^sha256:[0-9a-f]{64}$/);
  });

  describe('key-based signatures and the transparency log', () => {
    const key = generateTestKey('ecdsa-p256');
    const keyConfigWithLog = (): ValidatorConfig => ({ name: 'keyed', type: 'cosign', host: { trustedRoot: JSON.stringify(sigstore.trustedRoot) }, trustRoots: [{ name: 'alice', key: key.publicPem }] });

    /** A key-based classic signature whose Rekor entry was made by the mock Rekor. */
    async function loggedKeySignature(repo: string) {
      const img = await registry.pushRandomImage(repo, 'v1');
      const payload = simpleSigningPayload(img.digest, `${registry.host}/${repo}`);
      const { createHash, sign } = await import('node:crypto');
      const signature = sign('sha256', payload, { key: key.privateKey, dsaEncoding: 'der' });
      const entry = await sigstore.tlog.log({
        apiVersion: '0.0.1', kind: 'hashedrekord',
        spec: { data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } }, signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(key.publicPem).toString('base64') } } },
      }) as Record<string, { body: string; integratedTime: number; logIndex: number; logID: string; verification: { signedEntryTimestamp: string } }>;
      const e = Object.values(entry)[0]!;
      const rekorBundle = JSON.stringify({ SignedEntryTimestamp: e.verification.signedEntryTimestamp, Payload: { body: e.body, integratedTime: e.integratedTime, logIndex: e.logIndex, logID: e.logID } });
      return { img, layer: { payload, signature: signature.toString('base64'), rekorBundle } };
    }

    it('with a Rekor bundle: admitted under verifyInTransparencyLog true (default) and false', async () => {
      const { img, layer } = await loggedKeySignature('tlog/with');
      await pushClassicSignatures(registry, 'tlog/with', img.digest, [layer]);
      const v = createValidator(keyConfigWithLog(), [registry.host]);
      const outcome = await v.validate(image('tlog/with'), rule('alice'), ctx());
      expect(recordOf(outcome).trustRoots[0]!.verifiedBy[0]).to.match(/\(ecdsa-sha256, in transparency log\)$/);
      expect((await v.validate(image('tlog/with'), rule('alice', { verifyInTransparencyLog: false }), ctx())).digest).to.equal(img.digest);
    });

    it('without a Rekor bundle: denied by default, admitted with verifyInTransparencyLog false', async () => {
      const img = await registry.pushRandomImage('tlog/without', 'v1');
      await signImage(registry, registry.host, 'tlog/without', img.digest, [key]);
      const v = createValidator(keyConfigWithLog(), [registry.host]);
      const err = await denial(v.validate(image('tlog/without'), rule('alice'), ctx()));
      expect(err.code).to.equal('SIGNATURE_INVALID');
      expect(err.details.record.trustRoots[0]!.reason).to.match(/signed by this key, but transparency log entry invalid: the signature has no Rekor bundle/);
      expect((await v.validate(image('tlog/without'), rule('alice', { verifyInTransparencyLog: false }), ctx())).digest).to.equal(img.digest);
    });

    it('a Rekor bundle from an untrusted log is refused', async () => {
      const { img, layer } = await loggedKeySignature('tlog/untrusted');
      await pushClassicSignatures(registry, 'tlog/untrusted', img.digest, [layer]);
      const untrusted = createValidator({ ...keyConfigWithLog(), host: { trustedRoot: JSON.stringify(other.trustedRoot) } }, [registry.host]);
      const err = await denial(untrusted.validate(image('tlog/untrusted'), rule('alice'), ctx()));
      expect(err.details.record.trustRoots[0]!.reason).to.include('transparency log entry invalid: inclusion promise could not be verified');
    });
  });
});
