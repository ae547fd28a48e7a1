/**
 * Keyless attestations: a private Sigstore on loopback (@sigstore/mock Fulcio, Rekor, TSA), attestations
 * signed with @sigstore/sign and pushed to a real registry as `.att` layers (Rekor intoto entry) and as
 * DSSE bundle referrers; verified offline with the same chain, SCT and Rekor checks as signatures.
 */
import { expect } from 'chai';
import { parseImageReference } from '../../src/image/reference.js';
import type { ValidatorConfig } from '../../src/config/types.js';
import type { AttestationRecord } from '../../src/validators/cosign/attestations.js';
import { generateTestKey, pushClassicSignatures } from '../harness/cosign-signing.js';
import { attestationStatement, pushAttestationBundle, pushAttestations } from '../harness/attestation-signing.js';
import { startMockSigstore, type MockSigstore } from '../harness/sigstore-mock.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { closeValidators, createValidator, ctx, denial, recordOf, rule } from './helpers.js';

const CI = { subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0', issuer: 'https://token.actions.githubusercontent.com' };
const FORK = { subject: 'https://github.com/mallory/app/.github/workflows/release.yml@refs/tags/v1.2.0', issuer: 'https://token.actions.githubusercontent.com' };
const SLSA1 = 'https://slsa.dev/provenance/v1';
const provenance = (repository: string) => ({
  buildDefinition: { buildType: 'https://actions.github.io/buildtypes/workflow/v1', externalParameters: { workflow: { ref: 'refs/tags/v1.2.0', repository, path: '.github/workflows/release.yml' } } },
  runDetails: { builder: { id: 'https://github.com/actions/runner/github-hosted' } },
});
const FROM_ACME = 'predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/acme/app"';

describe('cosign validator: keyless attestations (private Sigstore on loopback, real registry)', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let sigstore: MockSigstore;
  let other: MockSigstore;
  const release = generateTestKey('ecdsa-p256');

  const config = (trustedRoot: Record<string, unknown>): ValidatorConfig => ({
    name: 'acme', type: 'cosign', host: { trustedRoot: JSON.stringify(trustedRoot) },
    trustRoots: [
      { name: 'release', key: release.publicPem },
      { name: 'ci', keyless: { issuer: CI.issuer, subjectRegex: 'https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v.*' } },
    ],
  });
  // Image signature and attestation both keyless from the CI identity, with Rekor entries (the defaults).
  const provenanceRule = () => rule('ci', { attestations: [{ predicateType: 'slsaprovenance1', policy: FROM_ACME }] });
  const image = (repo: string) => parseImageReference(`${registry.host}/${repo}:v1`);
  const attestationOf = (record: { attestations?: AttestationRecord[] }) => record.attestations![0]!;

  async function signedImage(repo: string) {
    const img = await registry.pushRandomImage(repo, 'v1');
    await pushClassicSignatures(registry, repo, img.digest, [await sigstore.classicKeyless(CI, img.digest, `${registry.host}/${repo}`)]);
    return img;
  }

  before(async () => {
    [registry, sigstore, other] = await Promise.all([startRegistry(), startMockSigstore(), startMockSigstore()]);
  });
  after(async () => {
    await closeValidators();
    await Promise.all([registry?.stop(), sigstore?.stop(), other?.stop()]);
  });

  it('admits a classic keyless .att attestation from the expected workflow identity (Rekor intoto entry verified offline)', async () => {
    const img = await signedImage('kl/att');
    const layer = await sigstore.classicAttestation(CI, attestationStatement(img.digest, SLSA1, provenance('https://github.com/acme/app')));
    await pushAttestations(registry, 'kl/att', img.digest, [{ ...layer, predicateType: SLSA1 }]);
    const outcome = await createValidator(config(sigstore.trustedRoot), [registry.host]).validate(image('kl/att'), provenanceRule(), ctx());
    const att = attestationOf(recordOf(outcome));
    expect(att).to.include({ satisfied: true, found: 1 });
    const attempt = att.trustRoots[0]!.attempts[0]!;
    expect(attempt.identity).to.deep.equal(CI);
    expect(attempt.scheme).to.match(/^keyless, subject=https:\/\/github\.com\/acme\/app\/.*, signed at \d{4}-/);
  });

  it('admits a keyless DSSE attestation bundle (cosign 3) and denies one from another workflow identity', async () => {
    const img = await signedImage('kl/bundle');
    await pushAttestationBundle(registry, 'kl/bundle', img.descriptor, await sigstore.attestationBundle(CI, attestationStatement(img.digest, SLSA1, provenance('https://github.com/acme/app'))), SLSA1);
    const v = createValidator(config(sigstore.trustedRoot), [registry.host]);
    expect(attestationOf(recordOf(await v.validate(image('kl/bundle'), provenanceRule(), ctx())))).to.include({ satisfied: true });

    const fork = await signedImage('kl/fork');
    await pushAttestationBundle(registry, 'kl/fork', fork.descriptor, await sigstore.attestationBundle(FORK, attestationStatement(fork.digest, SLSA1, provenance('https://github.com/mallory/app'))), SLSA1);
    const err = await denial(v.validate(image('kl/fork'), provenanceRule(), ctx()));
    expect(err.code).to.equal('ATTESTATION_SIGNATURE_INVALID');
    expect(err.message).to.include(`found 1, signature not verified — ci: no signature from an expected identity (found: subject=${FORK.subject}, issuer=${FORK.issuer})`);
  });

  it('the policy still decides for the expected identity (provenance naming another repository)', async () => {
    const img = await signedImage('kl/other-repo');
    await pushAttestationBundle(registry, 'kl/other-repo', img.descriptor, await sigstore.attestationBundle(CI, attestationStatement(img.digest, SLSA1, provenance('https://github.com/acme/other'))), SLSA1);
    const err = await denial(createValidator(config(sigstore.trustedRoot), [registry.host]).validate(image('kl/other-repo'), provenanceRule(), ctx()));
    expect(err.code).to.equal('ATTESTATION_POLICY_FAILED');
    expect(err.message).to.equal(`required attestations not satisfied (1 of 1): slsaprovenance1 (${SLSA1}): found 1, signature verified (ci), policy false: ${FROM_ACME}`);
  });

  it('denies a tampered Rekor entry, a certificate from another Sigstore, and a missing Rekor entry', async () => {
    const v = createValidator(config(sigstore.trustedRoot), [registry.host]);
    const reasonOf = async (repo: string) => attestationOf((await denial(v.validate(image(repo), provenanceRule(), ctx()))).details.record).trustRoots[0]!.attempts[0]!.reason;

    const tampered = await signedImage('kl/tampered');
    const layer = await sigstore.classicAttestation(CI, attestationStatement(tampered.digest, SLSA1, provenance('https://github.com/acme/app')));
    const rb = JSON.parse(layer.rekorBundle) as { Payload: { integratedTime: number } };
    rb.Payload.integratedTime += 1;
    await pushAttestations(registry, 'kl/tampered', tampered.digest, [{ ...layer, rekorBundle: JSON.stringify(rb), predicateType: SLSA1 }]);
    expect(await reasonOf('kl/tampered')).to.equal('transparency log entry invalid: inclusion promise could not be verified');

    // A Rekor entry of another attestation (same signer, same image) does not vouch for this one.
    const swapped = await signedImage('kl/swapped');
    const logged = await sigstore.classicAttestation(CI, attestationStatement(swapped.digest, SLSA1, provenance('https://github.com/acme/app')));
    const fresh = await sigstore.classicAttestation(CI, attestationStatement(swapped.digest, SLSA1, { ...provenance('https://github.com/acme/app'), extra: 1 }));
    await pushAttestations(registry, 'kl/swapped', swapped.digest, [{ ...fresh, rekorBundle: logged.rekorBundle, predicateType: SLSA1 }]);
    expect(await reasonOf('kl/swapped')).to.match(/^transparency log entry invalid: /);

    const foreign = await signedImage('kl/foreign');
    await pushAttestations(registry, 'kl/foreign', foreign.digest, [{ ...(await other.classicAttestation(CI, attestationStatement(foreign.digest, SLSA1, provenance('https://github.com/acme/app')))), predicateType: SLSA1 }]);
    expect(await reasonOf('kl/foreign')).to.match(/certificate does not chain to the configured Fulcio root|transparency log entry invalid/);

    const unlogged = await signedImage('kl/unlogged');
    const noLog = await sigstore.classicAttestation(CI, attestationStatement(unlogged.digest, SLSA1, provenance('https://github.com/acme/app')));
    await pushAttestations(registry, 'kl/unlogged', unlogged.digest, [{ envelope: noLog.envelope, certificate: noLog.certificate, chain: noLog.chain, predicateType: SLSA1 }]);
    expect(await reasonOf('kl/unlogged')).to.equal('transparency log entry invalid: the signature has no transparency log entry');
  });
});
