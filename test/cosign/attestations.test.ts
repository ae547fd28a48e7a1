/**
 * Required attestations (`with.attestations`) on a real registry: `.att` DSSE layers and attestation
 * bundles made here (tampered, replayed and hostile cases the CLI cannot make; the real `cosign attest`
 * output is tested in attest-cli.test.ts). Signatures are still required.
 */
import { expect } from 'chai';
import { parseImageReference } from '../../src/image/reference.js';
import type { AttestationRecord } from '../../src/validators/cosign/attestations.js';
import { policySandbox, type CelSandbox } from '../../src/cel/sandbox.js';
import { TRANSIENT_CODES } from '../../src/cache/verification-cache.js';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { attestationBundle, attestationStatement, attestWithKey, pushAttestationBundle, pushAttestations, signedEnvelope } from '../harness/attestation-signing.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { closeValidators, createValidator, ctx, denial, keyConfig, keyRule, recordOf } from './helpers.js';

const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';
const CYCLONEDX = 'https://cyclonedx.org/bom';
const FRESH_AND_CLEAN = 'now - timestamp(predicate.metadata.scanFinishedOn) < duration("168h") && !predicate.scanner.result.Results.exists(r, has(r.Vulnerabilities) && r.Vulnerabilities.exists(v, v.Severity == "CRITICAL"))';

function vulnPredicate(finishedDaysAgo: number, severities: string[]): unknown {
  const finished = new Date(Date.now() - finishedDaysAgo * 86_400_000).toISOString();
  return {
    invocation: { parameters: null, uri: '', event_id: '', 'builder.id': '' },
    scanner: { uri: 'pkg:github/aquasecurity/trivy@0.58.0', version: '0.58.0', db: { uri: '', version: '' }, result: { SchemaVersion: 2, Results: [{ Target: 'app', Vulnerabilities: severities.map((s, i) => ({ VulnerabilityID: `CVE-2026-${i}`, Severity: s })) }] } },
    metadata: { scanStartedOn: finished, scanFinishedOn: finished },
  };
}

describe('cosign validator: required attestations', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  const release: TestKey = generateTestKey('ecdsa-p256');
  const scanner: TestKey = generateTestKey('ecdsa-p256');
  const mallory: TestKey = generateTestKey('ecdsa-p256');
  const validator = () => createValidator(keyConfig({ release: release.publicPem, scanner: scanner.publicPem }), [registry.host]);
  const image = (repo: string) => parseImageReference(`${registry.host}/${repo}:v1`);
  const vulnRule = (policy = FRESH_AND_CLEAN, extra: Record<string, unknown> = {}) =>
    keyRule('release', { attestations: [{ predicateType: 'vuln', trustRoot: 'scanner', policy, ...extra }] });

  /** A signed image (by `release`). */
  async function signedImage(repo: string) {
    const img = await registry.pushRandomImage(repo, 'v1');
    await signImage(registry, registry.host, repo, img.digest, [release]);
    return img;
  }

  const attestationsOf = (record: { attestations?: AttestationRecord[] }) => record.attestations!;

  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await closeValidators();
    await registry.stop();
  });

  it('admits an image whose vuln scan (.att) is fresh, clean and signed by the scanner, and records it', async () => {
    const img = await signedImage('att/ok');
    await attestWithKey(registry, 'att/ok', img.digest, scanner, VULN, vulnPredicate(1, ['HIGH', 'LOW']));
    const outcome = await validator().validate(image('att/ok'), vulnRule(), ctx());
    expect(outcome.digest).to.equal(img.digest);
    const [att] = attestationsOf(recordOf(outcome));
    expect(att).to.include({ predicateType: VULN, configured: 'vuln', satisfied: true, found: 1 });
    expect(att!.verifiedBy).to.deep.equal(['scanner']);
    expect(att!.policy).to.deep.include({ expression: FRESH_AND_CLEAN, result: 'true' });
    expect(att!.summary).to.equal(`vuln (${VULN}): found 1, signature verified (scanner), policy true`);
    expect(outcome.details.summary).to.match(/is signed by: release \(via [^)]+\); attestations satisfied: vuln \(https:\/\/cosign\.sigstore\.dev\/attestation\/vuln\/v1\)$/);
    expect(att!.trustRoots[0]!.verifiedBy[0]).to.match(/^sha256-[0-9a-f]{64}\.att layer 0 \(bundle DSSE, ecdsa-sha256\)$/);
  });

  it('denies when the attestation is missing, saying so', async () => {
    await signedImage('att/missing');
    const err = await denial(validator().validate(image('att/missing'), vulnRule(), ctx()));
    expect(err.code).to.equal('ATTESTATION_MISSING');
    expect(err.message).to.equal(`required attestations not satisfied (1 of 1): vuln (${VULN}): not found`);
    expect(attestationsOf(err.details.record)[0]).to.include({ satisfied: false, found: 0, code: 'ATTESTATION_MISSING' });
  });

  it('denies an attestation signed by a key that is not the required trust root', async () => {
    const img = await signedImage('att/wrong-signer');
    await attestWithKey(registry, 'att/wrong-signer', img.digest, mallory, VULN, vulnPredicate(1, []));
    const err = await denial(validator().validate(image('att/wrong-signer'), vulnRule(), ctx()));
    expect(err.code).to.equal('ATTESTATION_SIGNATURE_INVALID');
    expect(err.message).to.equal(`required attestations not satisfied (1 of 1): vuln (${VULN}): found 1, signature not verified — scanner: 1 signature found, it does not match this key`);
    // The policy is never evaluated on unverified data.
    expect(attestationsOf(err.details.record)[0]!.policy).to.deep.include({ result: 'not evaluated', evaluations: [] });
  });

  it('never counts an attestation whose subject is another image (replayed into this image\'s .att tag)', async () => {
    const good = await signedImage('att/replay-good');
    const evil = await registry.pushRandomImage('att/replay', 'v1');
    await signImage(registry, registry.host, 'att/replay', evil.digest, [release]);
    // The scanner genuinely attested `good`; its envelope is copied to `evil`.
    const envelope = signedEnvelope(scanner, attestationStatement(good.digest, VULN, vulnPredicate(1, [])));
    await pushAttestations(registry, 'att/replay', evil.digest, [{ envelope, predicateType: VULN }]);
    const err = await denial(validator().validate(image('att/replay'), vulnRule(), ctx()));
    expect(err.code).to.equal('ATTESTATION_MISSING');
    expect(err.message).to.equal(`required attestations not satisfied (1 of 1): vuln (${VULN}): not found for this image (signed by this key, but attestation subject is another image (${good.digest}))`);
  });

  it('denies a scan older than 7 days, and one with a CRITICAL finding, naming the policy', async () => {
    for (const [repo, predicate] of [['att/old', vulnPredicate(8, [])], ['att/critical', vulnPredicate(1, ['LOW', 'CRITICAL'])]] as const) {
      const img = await signedImage(repo);
      await attestWithKey(registry, repo, img.digest, scanner, VULN, predicate);
      const err = await denial(validator().validate(image(repo), vulnRule(), ctx()));
      expect(err.code, repo).to.equal('ATTESTATION_POLICY_FAILED');
      expect(err.message, repo).to.equal(`required attestations not satisfied (1 of 1): vuln (${VULN}): found 1, signature verified (scanner), policy false: ${FRESH_AND_CLEAN}`);
    }
  });

  it('a policy that errors (missing field) or exceeds the cost limit fails closed, with the reason', async () => {
    const img = await signedImage('att/hostile');
    await attestWithKey(registry, 'att/hostile', img.digest, scanner, VULN, { ...(vulnPredicate(1, []) as object), list: Array.from({ length: 3000 }, (_, i) => i) });
    const v = validator();
    const missing = await denial(v.validate(image('att/hostile'), vulnRule('predicate.nothing.here == 1.0'), ctx()));
    expect(missing.code).to.equal('ATTESTATION_POLICY_FAILED');
    expect(missing.message).to.include('policy error (No such key: nothing (at character 11)): predicate.nothing.here == 1.0');
    const hostile = 'predicate.list.all(a, predicate.list.all(b, predicate.list.all(c, a + b + c >= 0.0)))';
    const started = Date.now();
    const err = await denial(v.validate(image('att/hostile'), vulnRule(hostile), ctx()));
    expect(Date.now() - started).to.be.below(15_000);
    expect(err.code).to.equal('ATTESTATION_POLICY_FAILED');
    expect(err.message).to.include(`policy error (cost limit exceeded: evaluation was stopped after 250 ms): ${hostile}`);
  });

  it('a policy cut short by the admission deadline is a (transient) deadline failure, never a cacheable policy denial', async () => {
    const img = await signedImage('att/deadline');
    await attestWithKey(registry, 'att/deadline', img.digest, scanner, VULN, vulnPredicate(1, []));
    const controller = new AbortController();
    const sandbox = policySandbox();
    const evaluate = sandbox.evaluate;
    sandbox.evaluate = (...args: Parameters<CelSandbox['evaluate']>) => {
      controller.abort();
      return evaluate.apply(sandbox, args);
    };
    try {
      const err = await denial(validator().validate(image('att/deadline'), vulnRule(), { ...ctx(), signal: controller.signal }));
      expect(err.code).to.equal('DEADLINE_EXCEEDED');
      expect(TRANSIENT_CODES.has(err.code)).to.equal(true);
    } finally {
      sandbox.evaluate = evaluate;
    }
  });

  it('still requires the image signature', async () => {
    const img = await registry.pushRandomImage('att/unsigned', 'v1');
    await attestWithKey(registry, 'att/unsigned', img.digest, scanner, VULN, vulnPredicate(1, []));
    const err = await denial(validator().validate(image('att/unsigned'), vulnRule(), ctx()));
    expect(err.code).to.equal('NO_SIGNATURES');
  });

  it('finds an SBOM attestation bundle through the referrers (cosign 3) and lists every requirement in the denial', async () => {
    const img = await signedImage('att/sbom');
    const sbom = { bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ type: 'library', name: 'left-pad', version: '1.3.0' }] };
    await pushAttestationBundle(registry, 'att/sbom', img.descriptor, await attestationBundle(release, attestationStatement(img.digest, CYCLONEDX, sbom)), CYCLONEDX);
    const v = validator();
    const sbomRule = keyRule('release', { attestations: [{ predicateType: 'cyclonedx' }] });
    const outcome = await v.validate(image('att/sbom'), sbomRule, ctx());
    const [att] = attestationsOf(recordOf(outcome));
    expect(att).to.include({ satisfied: true, found: 1, summary: `cyclonedx (${CYCLONEDX}): found 1, signature verified (release)` });
    expect(att!.trustRoots[0]!.verifiedBy[0]).to.match(/^bundle sha256:[0-9a-f]{12}… \(bundle DSSE, ecdsa-sha256\)$/);
    // The attestation bundle is not a signature, and a rule without attestations does not even fetch it.
    expect(recordOf(await v.validate(image('att/sbom'), keyRule('release'), ctx())).bundles!.skipped[0]).to.match(/attestation \(predicate type https:\/\/cyclonedx\.org\/bom\), not required by this rule$/);
    // Both requirements listed, the failing one first.
    const both = keyRule('release', { attestations: [{ predicateType: 'cyclonedx' }, { predicateType: 'vuln', trustRoot: 'scanner' }] });
    const err = await denial(v.validate(image('att/sbom'), both, ctx()));
    expect(err.message).to.equal(`required attestations not satisfied (1 of 2): vuln (${VULN}): not found; satisfied: cyclonedx (${CYCLONEDX}): found 1, signature verified (release)`);
  });

  it('threshold and required across trust roots, as for signatures', async () => {
    const img = await signedImage('att/threshold');
    const statement = attestationStatement(img.digest, VULN, vulnPredicate(1, []));
    await pushAttestations(registry, 'att/threshold', img.digest, [
      { envelope: signedEnvelope(scanner, statement), predicateType: VULN },
      { envelope: signedEnvelope(release, statement), predicateType: VULN },
    ]);
    const v = validator();
    const two = keyRule('release', { attestations: [{ predicateType: VULN, trustRoot: '*', threshold: 2, policy: FRESH_AND_CLEAN }] });
    const ok = await v.validate(image('att/threshold'), two, ctx());
    expect(attestationsOf(recordOf(ok))[0]!.satisfiedBy).to.deep.equal(['release', 'scanner']);
    // Only the scanner's attestation: required release is missing.
    const only = await registry.pushRandomImage('att/threshold', 'v2');
    await signImage(registry, registry.host, 'att/threshold', only.digest, [release]);
    await pushAttestations(registry, 'att/threshold', only.digest, [{ envelope: signedEnvelope(scanner, attestationStatement(only.digest, VULN, vulnPredicate(1, []))), predicateType: VULN }]);
    const err = await denial(v.validate(parseImageReference(`${registry.host}/att/threshold:v2`), keyRule('release', { attestations: [{ predicateType: 'vuln', trustRoot: '*', required: ['release'] }] }), ctx()));
    expect(err.code).to.equal('ATTESTATION_SIGNATURE_INVALID');
    expect(err.message).to.include('found 1, signature verified (scanner), not enough (required: release; at least 1 of release, scanner)');
  });

  it('skips .att layers whose predicate type hint is not required, without fetching them', async () => {
    const img = await signedImage('att/hint');
    await pushAttestations(registry, 'att/hint', img.digest, [{ envelope: signedEnvelope(scanner, attestationStatement(img.digest, CYCLONEDX, {})), predicateType: CYCLONEDX }]);
    registry.resetRequestCount();
    const err = await denial(validator().validate(image('att/hint'), vulnRule(), ctx()));
    expect(err.code).to.equal('ATTESTATION_MISSING');
    expect(err.details.record.attestationSources!.skipped).to.deep.equal([`sha256-${img.digest.slice(7)}.att layer 0: predicate type ${CYCLONEDX} (not required)`]);
  });

  it('a mislabelled .att layer is judged by its signed statement', async () => {
    const img = await signedImage('att/mislabelled');
    // The hint says vuln; the signed statement is an SBOM.
    await pushAttestations(registry, 'att/mislabelled', img.digest, [{ envelope: signedEnvelope(scanner, attestationStatement(img.digest, CYCLONEDX, {})), predicateType: VULN }]);
    const err = await denial(validator().validate(image('att/mislabelled'), vulnRule(), ctx()));
    expect(err.code).to.equal('ATTESTATION_MISSING');
  });
});
