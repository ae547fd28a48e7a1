/**
 * Attestations made by the real `cosign attest` (cosign 3: Sigstore bundle referrers and the classic
 * `.att` tag; cosign 2: `.att`) on a real registry, decided by the worked examples of
 * docs/attestations.md exactly as written there (read from the file), with `cosign verify-attestation`
 * as the oracle for what counts as a valid attestation of the image.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { Engine } from '../../src/admission/engine.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { cosignCli, type CosignCli, type CosignKeyPair } from '../harness/cosign-cli.js';
import { BUNDLE_V03 } from '../harness/cosign-signing.js';
import { OCI_INDEX, OCI_MANIFEST, type PushedImage } from '../harness/registry-push.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import type { CosignMajor } from '../harness/tools.js';

const DOC = readFileSync('docs/attestations.md', 'utf8');

/** The YAML block after `<!-- example: NAME -->` in docs/attestations.md. */
function docExample(name: string): Record<string, any> {
  const at = DOC.indexOf(`<!-- example: ${name} -->`);
  expect(at, `example ${name} in docs/attestations.md`).to.be.greaterThan(-1);
  const block = /```yaml\n([\s\S]*?)```/.exec(DOC.slice(at))!;
  return yaml.load(block[1]!) as Record<string, any>;
}

/**
 * The documented configuration for images in `host/repo`: the documented keys replaced by the test's,
 * the pattern pointed at the test registry (plain HTTP), signatures and attestations without Rekor
 * (the CLI signs with --tlog-upload=false here).
 */
function exampleEngine(name: string, host: string, repo: string, keys: Record<string, string>): Engine {
  const doc = docExample(name);
  for (const v of doc.validators) for (const r of v.trustRoots) r.key = keys[r.name];
  for (const rule of doc.policy) {
    expect(rule.pattern).to.equal('registry.acme.example/app:*');
    rule.pattern = `${host}/${repo}:*`;
    rule.with.verifyInTransparencyLog = false;
  }
  doc.insecureRegistries = [host];
  return new Engine(parseConfig(yaml.dump(doc), '/etc/imprimatur/config.yaml'), { logger: silentLogger });
}

async function decide(engine: Engine, image: string) {
  const check = await engine.check(image, { signal: AbortSignal.timeout(30_000), deadline: Date.now() + 30_000, logger: silentLogger, now: () => new Date() });
  return check.decision;
}

const SLSA_POLICY_DENIAL = /^required attestations not satisfied \(1 of 1\): slsaprovenance1 \(https:\/\/slsa\.dev\/provenance\/v1\): found 1, signature verified \(release\), policy false: predicate\.buildDefinition\.buildType == /;
const VULN_DENIAL = 'required attestations not satisfied (1 of 1): vuln (https://cosign.sigstore.dev/attestation/vuln/v1): found 1, signature verified (scanner), policy false: now - timestamp(predicate.metadata.scanFinishedOn) < duration("168h") && !predicate.scanner.result.Results.exists(r, has(r.Vulnerabilities) && r.Vulnerabilities.exists(v, v.Severity == "CRITICAL"))';

/** SLSA v1 provenance as GitHub's build type writes it (actions/attest-build-provenance). */
function provenance(repository: string, path = '.github/workflows/release.yml', ref = 'refs/tags/v1.4.2') {
  return {
    buildDefinition: {
      buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      externalParameters: { workflow: { ref, repository, path } },
      internalParameters: { github: { event_name: 'push', repository_id: '1', repository_owner_id: '2' } },
      resolvedDependencies: [{ uri: `git+${repository}@${ref}`, digest: { gitCommit: 'a'.repeat(40) } }],
    },
    runDetails: { builder: { id: 'https://github.com/actions/runner/github-hosted' }, metadata: { invocationId: `${repository}/actions/runs/1/attempts/1` } },
  };
}

/** cosign's vuln predicate with a Trivy report under scanner.result. */
function vulnScan(finishedDaysAgo: number, severities: string[]) {
  const finished = new Date(Date.now() - finishedDaysAgo * 86_400_000).toISOString();
  return {
    invocation: { parameters: null, uri: 'https://github.com/acme/app/actions/runs/7', event_id: '7', 'builder.id': 'nightly-scan' },
    scanner: {
      uri: 'pkg:github/aquasecurity/trivy@v0.58.0', version: '0.58.0', db: { uri: 'ghcr.io/aquasecurity/trivy-db:2', version: '2' },
      result: {
        SchemaVersion: 2, ArtifactName: 'registry.acme.example/app', ArtifactType: 'container_image',
        Results: [
          { Target: 'app (debian 12.8)', Class: 'os-pkgs', Type: 'debian', Vulnerabilities: severities.map((s, i) => ({ VulnerabilityID: `CVE-2026-${1000 + i}`, PkgName: 'libfoo', Severity: s })) },
          { Target: 'app/go.mod', Class: 'lang-pkgs', Type: 'gomod' },
        ],
      },
    },
    metadata: { scanStartedOn: finished, scanFinishedOn: finished },
  };
}

const SBOM = { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1, metadata: { component: { type: 'container', name: 'app' } }, components: [{ type: 'library', name: 'libfoo', version: '1.2.3', purl: 'pkg:deb/debian/libfoo@1.2.3' }] };

/** Where cosign stores the attestation: the classic `.att` tag or a Sigstore bundle referrer. */
type AttestationFormat = 'classic' | 'bundle';
/** [cosign, format, registry with the OCI 1.1 referrers API (olareg) or without (distribution 2.8: tag schema)]. */
const MATRIX: Array<[CosignMajor, AttestationFormat, boolean]> = [['v3', 'bundle', false], ['v3', 'bundle', true], ['v3', 'classic', false], ['v2', 'classic', false]];

for (const [major, format, referrersApi] of MATRIX) {
  const where = format === 'classic' ? '.att tag' : `Sigstore bundle referrers, ${referrersApi ? 'referrers API (olareg)' : 'referrers tag schema (distribution)'}`;
  describe(`attestations made by the real cosign ${major} attest (${where})`, function () {
    this.timeout(600_000); // a fresh machine builds cosign first (minutes); warm, each case takes seconds
    let cli: CosignCli;
    let registry: TestRegistry;
    let release: CosignKeyPair;
    let scanner: CosignKeyPair;
    let mallory: CosignKeyPair;
    let n = 0;
    const repo = `cli-${major}-${format}${referrersApi ? '-api' : ''}/app`;
    const keys = () => ({ release: release.publicPem, scanner: scanner.publicPem });

    /** A fresh image, signed by `release` with the same CLI. */
    async function signedImage(): Promise<{ img: PushedImage; ref: string; image: string }> {
      const tag = `v${++n}`;
      const img = await registry.pushRandomImage(repo, tag, { seed: `${repo}:${tag}:${Date.now()}` });
      const ref = `${registry.host}/${repo}@${img.digest}`;
      await cli.sign(ref, release, format);
      return { img, ref, image: `${registry.host}/${repo}:${tag}` };
    }

    before(async function () {
      this.timeout(1_800_000);
      [cli, registry] = await Promise.all([cosignCli(major), startRegistry({ referrersApi })]);
      [release, scanner, mallory] = [await cli.generateKeyPair('release'), await cli.generateKeyPair('scanner'), await cli.generateKeyPair('mallory')];
    });
    after(async () => {
      await registry?.stop();
    });

    it('example 1: SLSA provenance from acme/app\'s release workflow is admitted; from a fork, denied by the policy', async () => {
      const engine = exampleEngine('slsa-github-workflow', registry.host, repo, keys());
      try {
        const good = await signedImage();
        await cli.attest(good.ref, release, provenance('https://github.com/acme/app'), 'slsaprovenance1', format);
        const admitted = await decide(engine, good.image);
        expect(admitted.outcome, admitted.reason).to.equal('admitted');
        expect(admitted.digest).to.equal(good.img.digest);
        expect((admitted.details as any).attestations[0].summary).to.equal('slsaprovenance1 (https://slsa.dev/provenance/v1): found 1, signature verified (release), policy true');

        const fork = await signedImage();
        await cli.attest(fork.ref, release, provenance('https://github.com/mallory/app'), 'slsaprovenance1', format);
        const denied = await decide(engine, fork.image);
        expect(denied.code).to.equal('ATTESTATION_POLICY_FAILED');
        expect(denied.reason).to.match(SLSA_POLICY_DENIAL);
        const branch = await signedImage();
        await cli.attest(branch.ref, release, provenance('https://github.com/acme/app', '.github/workflows/release.yml', 'refs/heads/main'), 'slsaprovenance1', format);
        expect((await decide(engine, branch.image)).code).to.equal('ATTESTATION_POLICY_FAILED');
      } finally {
        await engine.close();
      }
    });

    it('example 2: a fresh clean scan by the scanner is admitted; an 8-day-old one, or one with a CRITICAL finding, is denied', async () => {
      const engine = exampleEngine('vuln-fresh-no-critical', registry.host, repo, keys());
      try {
        const fresh = await signedImage();
        await cli.attest(fresh.ref, scanner, vulnScan(1, ['HIGH', 'MEDIUM']), 'vuln', format);
        const admitted = await decide(engine, fresh.image);
        expect(admitted.outcome, admitted.reason).to.equal('admitted');

        const expired = await signedImage();
        await cli.attest(expired.ref, scanner, vulnScan(8, []), 'vuln', format);
        const tooOld = await decide(engine, expired.image);
        expect(tooOld.code).to.equal('ATTESTATION_POLICY_FAILED');
        expect(tooOld.reason).to.equal(VULN_DENIAL);

        const critical = await signedImage();
        await cli.attest(critical.ref, scanner, vulnScan(0, ['LOW', 'CRITICAL']), 'vuln', format);
        expect((await decide(engine, critical.image)).reason).to.equal(VULN_DENIAL);
      } finally {
        await engine.close();
      }
    });

    it('example 3: an image with a CycloneDX SBOM is admitted; without one, denied as missing', async () => {
      const engine = exampleEngine('sbom-present', registry.host, repo, keys());
      try {
        const withSbom = await signedImage();
        await cli.attest(withSbom.ref, release, SBOM, 'cyclonedx', format);
        expect((await decide(engine, withSbom.image)).outcome).to.equal('admitted');
        const without = await signedImage();
        await cli.attest(without.ref, release, { spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'app', packages: [] }, 'spdxjson', format);
        const denied = await decide(engine, without.image);
        expect(denied.code).to.equal('ATTESTATION_MISSING');
        expect(denied.reason).to.equal('required attestations not satisfied (1 of 1): cyclonedx (https://cyclonedx.org/bom): not found');
      } finally {
        await engine.close();
      }
    });

    it('a scan signed by another key is denied, as cosign verify-attestation refuses it', async () => {
      const engine = exampleEngine('vuln-fresh-no-critical', registry.host, repo, keys());
      try {
        const forged = await signedImage();
        await cli.attest(forged.ref, mallory, vulnScan(1, []), 'vuln', format);
        const denied = await decide(engine, forged.image);
        expect(denied.code).to.equal('ATTESTATION_SIGNATURE_INVALID');
        expect(denied.reason).to.equal('required attestations not satisfied (1 of 1): vuln (https://cosign.sigstore.dev/attestation/vuln/v1): found 1, signature not verified — scanner: 1 signature found, it does not match this key');
        expect((await cli.verifyAttestation(forged.ref, scanner.pubPath, 'vuln', format)).ok, 'oracle: scanner key').to.equal(false);
        expect((await cli.verifyAttestation(forged.ref, mallory.pubPath, 'vuln', format)).ok, 'oracle: the key that signed').to.equal(true);
      } finally {
        await engine.close();
      }
    });

    it('an attestation of another image, attached to this one, never counts (cosign verify-attestation agrees)', async () => {
      const engine = exampleEngine('vuln-fresh-no-critical', registry.host, repo, keys());
      try {
        const scanned = await signedImage();
        await cli.attest(scanned.ref, scanner, vulnScan(1, []), 'vuln', format);
        expect((await decide(engine, scanned.image)).outcome).to.equal('admitted');
        const other = await signedImage();
        await replayAttestations(registry, repo, scanned.img, other.img, format);
        const denied = await decide(engine, other.image);
        expect(denied.code).to.equal('ATTESTATION_MISSING');
        expect(denied.reason).to.equal(`required attestations not satisfied (1 of 1): vuln (https://cosign.sigstore.dev/attestation/vuln/v1): not found for this image (signed by this key, but attestation subject is another image (${scanned.img.digest}))`);
        expect((await cli.verifyAttestation(scanned.ref, scanner.pubPath, 'vuln', format)).ok, 'oracle: the scanned image').to.equal(true);
        expect((await cli.verifyAttestation(other.ref, scanner.pubPath, 'vuln', format)).ok, 'oracle: the other image').to.equal(false);
      } finally {
        await engine.close();
      }
    });

    it('a hostile policy is stopped by the cost limit and denies', async () => {
      const doc = docExample('vuln-fresh-no-critical');
      const hostile = 'predicate.scanner.result.Results.all(a, predicate.scanner.result.Results.all(b, predicate.scanner.result.Results.all(c, predicate.scanner.result.Results.all(d, a.Target + b.Target + c.Target + d.Target != "x"))))';
      doc.policy[0].with.attestations[0].policy = hostile;
      for (const v of doc.validators) for (const r of v.trustRoots) r.key = keys()[r.name as 'release' | 'scanner'];
      doc.policy[0].pattern = `${registry.host}/${repo}:*`;
      doc.policy[0].with.verifyInTransparencyLog = false;
      doc.insecureRegistries = [registry.host];
      const engine = new Engine(parseConfig(yaml.dump(doc), '/etc/imprimatur/config.yaml'), { logger: silentLogger });
      try {
        const img = await signedImage();
        const big = vulnScan(1, []);
        big.scanner.result.Results = Array.from({ length: 300 }, (_, i) => ({ Target: `t${i}`, Class: 'lang-pkgs', Type: 'gomod' }));
        await cli.attest(img.ref, scanner, big, 'vuln', format);
        const denied = await decide(engine, img.image);
        expect(denied.code).to.equal('ATTESTATION_POLICY_FAILED');
        expect(denied.reason).to.include('policy error (cost limit exceeded: evaluation was stopped after 250 ms)');
      } finally {
        await engine.close();
      }
    });
  });
}

/** Attaches `from`'s attestations to `to`: the `.att` manifest copied to `to`'s `.att` tag, or the bundle as a referrer of `to`. */
async function replayAttestations(registry: TestRegistry, repo: string, from: PushedImage, to: PushedImage, format: AttestationFormat): Promise<void> {
  const get = async (ref: string, accept: string) => {
    const res = await fetch(`${registry.directUrl}/v2/${repo}/manifests/${ref}`, { headers: { accept } });
    expect(res.status, `GET ${ref}`).to.equal(200);
    return Buffer.from(await res.arrayBuffer());
  };
  if (format === 'classic') {
    const manifest = await get(`${from.digest.replace(':', '-')}.att`, OCI_MANIFEST);
    await registry.pushManifest(repo, `${to.digest.replace(':', '-')}.att`, manifest, OCI_MANIFEST);
    return;
  }
  const listing = registry.server === 'olareg'
    ? Buffer.from(await (await fetch(`${registry.directUrl}/v2/${repo}/referrers/${from.digest}`, { headers: { accept: OCI_INDEX } })).arrayBuffer())
    : await get(from.digest.replace(':', '-'), OCI_INDEX);
  const index = JSON.parse(listing.toString()) as { manifests: Array<{ digest: string; artifactType?: string }> };
  for (const d of index.manifests.filter((m) => m.artifactType === BUNDLE_V03)) {
    const referrer = JSON.parse((await get(d.digest, OCI_MANIFEST)).toString()) as { layers: Array<{ digest: string }>; annotations?: Record<string, string> };
    const blob = await fetch(`${registry.directUrl}/v2/${repo}/blobs/${referrer.layers[0]!.digest}`);
    const bundle = Buffer.from(await blob.arrayBuffer());
    const statement = JSON.parse(Buffer.from((JSON.parse(bundle.toString()) as { dsseEnvelope?: { payload: string } }).dsseEnvelope?.payload ?? '', 'base64').toString() || '{}') as { predicateType?: string };
    if (statement.predicateType === 'https://sigstore.dev/cosign/sign/v1') continue; // the image signature stays
    await registry.pushReferrer(repo, to.descriptor, BUNDLE_V03, bundle, referrer.annotations);
  }
}
