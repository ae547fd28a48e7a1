/**
 * A DHI-shaped image signed by the real cosign CLI as Docker signs Docker Hardened Images: the multi-arch index
 * digest, a key, the signature stored as an OCI 1.1 referrer (`COSIGN_EXPERIMENTAL=1 cosign sign
 * --registry-referrers-mode=oci-1-1`, no transparency log). Verified by the shipped `dhi` validator and rule (only
 * the keys and the registry name swapped in), with `cosign verify --experimental-oci11` as the oracle, on olareg
 * (the registry indexes the referrer: referrers API) and on distribution 2.8 (cosign writes the tag schema index).
 */
import { expect } from 'chai';
import { Engine } from '../../src/admission/engine.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import type { CosignRecord } from '../../src/validators/cosign/record.js';
import { generateTestKey } from '../harness/cosign-signing.js';
import { cosignCli, type CosignCli, type CosignKeyPair } from '../harness/cosign-cli.js';
import { startRegistry, type RegistryServer, type TestRegistry } from '../harness/registry.js';
import { COSIGN_MAJORS } from '../harness/tools.js';
import { dhiConfig } from './dhi-config.js';

const SERVERS: readonly RegistryServer[] = ['olareg', 'distribution'];
const ctx = () => ({ signal: AbortSignal.timeout(20_000), deadline: Date.now() + 20_000, logger: silentLogger, now: () => new Date() });

for (const server of SERVERS) {
  describe(`DHI-shaped image signed by the real cosign (--registry-referrers-mode=oci-1-1) on ${server}`, function () {
    this.timeout(120_000);
    let registry: TestRegistry;
    const clis = new Map<string, CosignCli>();
    const keys = new Map<string, { dhi2: CosignKeyPair; other: CosignKeyPair }>();
    const retired = generateTestKey(); // dhi-1: signs nothing here

    before(async function () {
      this.timeout(60 * 60_000); // a cold machine builds cosign first
      registry = await startRegistry({ server });
      for (const major of COSIGN_MAJORS) {
        const cli = await cosignCli(major);
        clis.set(major, cli);
        keys.set(major, { dhi2: await cli.generateKeyPair('dhi-2'), other: await cli.generateKeyPair('other') });
      }
    });
    after(async () => registry?.stop());

    /** A two-platform index at dhi/<name>:3.13, signed on its digest by `key` with cosign `major`. */
    async function signedIndex(name: string, major: string, key: CosignKeyPair): Promise<{ tag: string; digest: string }> {
      const repo = `dhi/${name}`;
      const amd = await registry.pushRandomImage(repo, 'amd64', { platform: { architecture: 'amd64', os: 'linux' } });
      const arm = await registry.pushRandomImage(repo, 'arm64', { platform: { architecture: 'arm64', os: 'linux' } });
      const index = await registry.pushIndex(repo, '3.13', [amd.descriptor, arm.descriptor]);
      await clis.get(major)!.sign(`${registry.host}/${repo}@${index.digest}`, key, 'referrer');
      return { tag: `${registry.host}/${repo}:3.13`, digest: index.digest };
    }

    for (const major of COSIGN_MAJORS) {
      it(`cosign ${major}: the shipped dhi rule admits Docker's (here: our) key and pins the index digest; cosign verify agrees`, async () => {
        const { dhi2 } = keys.get(major)!;
        const { tag, digest } = await signedIndex(`python-${major}`, major, dhi2);
        const engine = new Engine(parseConfig(dhiConfig(registry, { dhi2: dhi2.publicPem, dhi1: retired.publicPem }), '/tmp/dhi.yaml'), { logger: silentLogger });
        const apiHits = registry.front.referrersApiHits();
        try {
          const { decision } = await engine.check(tag, ctx());
          // olareg lists the referrer through the API; distribution only through the tag schema index cosign wrote
          expect(registry.front.referrersApiHits() - apiHits).to.equal(server === 'olareg' ? 1 : 0);
          expect(decision, decision.reason).to.include({ outcome: 'admitted', rule: `${registry.host}/dhi/*`, validator: 'dhi', digest });
          const record = decision.details as CosignRecord;
          expect(record.verifiedFormats).to.deep.equal(['OCI 1.1 referrer signature']);
          expect(record.trustRoots.map((r) => [r.name, r.verified])).to.deep.equal([['dhi-2', true], ['dhi-1', false]]);
          expect(record.referrerSignatures!.manifests).to.have.length(1);
          // cosign 3.1 writes the artifactType field, cosign 2 only the config media type: both are read
        } finally {
          await engine.close();
        }
        const oracle = await clis.get(major)!.verify(tag, dhi2.pubPath, 'referrer');
        expect(oracle.ok, oracle.stderr).to.equal(true);
      });

      it(`cosign ${major}: an image signed with another key is denied, and cosign verify with Docker's key fails too`, async () => {
        const { dhi2, other } = keys.get(major)!;
        const { tag } = await signedIndex(`forged-${major}`, major, other);
        const engine = new Engine(parseConfig(dhiConfig(registry, { dhi2: dhi2.publicPem, dhi1: retired.publicPem }), '/tmp/dhi.yaml'), { logger: silentLogger });
        try {
          const { decision } = await engine.check(tag, ctx());
          expect(decision.outcome).to.equal('denied');
          expect(decision.reason, decision.reason).to.equal('threshold not reached (valid 0 of 1 required; signed by: none) — dhi-2: 1 signature found, it does not match this key; dhi-1: 1 signature found, it does not match this key');
        } finally {
          await engine.close();
        }
        const oracle = await clis.get(major)!.verify(tag, dhi2.pubPath, 'referrer');
        expect(oracle.ok).to.equal(false);
      });
    }
  });
}
