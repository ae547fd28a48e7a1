/**
 * The shipped defaults after Docker Content Trust (issue 13): policies/default.yaml and the chart's
 * values route dhi.io/* to the `dhi` cosign validator (Docker's keys, any one of them) and deny
 * docker.io/library/* with a message that says why and what to do; the notaryv1 `dockerhub`
 * validator is still there for those who opt in.
 */
import { expect } from 'chai';
import { createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/admission/engine.js';
import { silentLogger } from '../../src/log.js';
import type { AppConfig } from '../../src/config/types.js';
import { staticMessage } from '../../src/validators/static/index.js';
import { parseImageReference } from '../../src/image/reference.js';

/** Docker's published DHI keys (SPKI, base64), as given in the issue. */
const DHI_KEYS = {
  'dhi-2': 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEKdROmntRJFBrOJOQF5ww6gDBJqGmFxa4333s1KsL9ISjtmRzGNih9lNRsqfRVjgFgJIdL6EQ9dohdanvn7r2cg==',
  'dhi-1': 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEx50N9pejdOrxR+17vcibfkrIFqFgTcb5ZW1FKqagsye7nykTKXOUvJOF0bCESzdKRJ5qyAGH/91W+4fbeptG8g==',
};

const ctx = () => ({ signal: AbortSignal.timeout(10_000), deadline: Date.now() + 10_000, logger: silentLogger, now: () => new Date() });

for (const file of ['policies/default.yaml', 'helm/values.yaml']) {
  describe(`shipped defaults for Docker Hub and DHI: ${file}`, () => {
    let config: AppConfig;
    let engine: Engine;
    before(() => {
      config = loadConfigFile(join(process.cwd(), file), { secretsDir: '/nonexistent' });
      engine = new Engine(config, { logger: silentLogger, secretsDir: '/nonexistent' });
    });
    after(async () => engine.close());

    it('ships the dhi cosign validator with Docker\'s keys dhi-2 (active) and dhi-1 (retired), wrapped as PEM', () => {
      const dhi = config.validators.find((v) => v.name === 'dhi')!;
      expect(dhi.type).to.equal('cosign');
      expect(dhi.trustRoots!.map((r) => r.name)).to.deep.equal(['dhi-2', 'dhi-1']);
      for (const root of dhi.trustRoots!) {
        const pem = String(root.key);
        expect(pem).to.match(/^-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END PUBLIC KEY-----\n?$/);
        const spki = createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
        expect(spki, root.name).to.equal(DHI_KEYS[root.name as keyof typeof DHI_KEYS]);
      }
      expect(engine.validators.get('dhi')?.type).to.equal('cosign');
    });

    it('routes dhi.io/* to dhi: any one trust root, Docker\'s key signatures without Rekor', () => {
      for (const image of ['dhi.io/python:3.13', 'dhi.io/nginx@sha256:' + 'a'.repeat(64), 'dhi.io/team/tool:1']) {
        const match = engine.matcher.match(parseImageReference(image))!;
        expect(match.rule.pattern, image).to.equal('dhi.io/*');
        expect(match.rule.validator).to.equal('dhi');
        expect(match.rule.with).to.include({ trustRoot: '*', threshold: 1, verifyInTransparencyLog: false });
      }
    });

    it('denies dhi.io images it cannot verify (here: no registry, no credentials), never admits them', async () => {
      const check = await engine.check('dhi.io/python:3.13', ctx());
      expect(check.decision.outcome).to.equal('denied');
      expect(check.decision.validator).to.equal('dhi');
    });

    it('denies Docker Official Images with a message that says why and what to do', async () => {
      const doi = config.validators.find((v) => v.name === 'docker-official-images')!;
      expect(doi).to.include({ type: 'static', approve: false });
      const message = staticMessage(doi)!;
      expect(message).to.contain('no publisher signature').and.contain('Docker Content Trust').and.contain('2026-12-08')
        .and.contain('dhi.io/').and.contain('pinned by digest').and.contain('sign the mirror with your own cosign key').and.contain('docs/docker-hub.md');
      for (const image of ['nginx:1.25', 'docker.io/library/redis:7', 'index.docker.io/library/alpine@sha256:' + 'b'.repeat(64)]) {
        const { decision } = await engine.check(image, ctx());
        expect(decision, image).to.include({ outcome: 'denied', code: 'STATIC_DENY', rule: 'docker.io/library/*', validator: 'docker-official-images', reason: message });
      }
    });

    it('keeps the notaryv1 dockerhub validator available (no rule uses it)', () => {
      const hub = config.validators.find((v) => v.name === 'dockerhub')!;
      expect(hub).to.include({ type: 'notaryv1', host: 'notary.docker.io' });
      expect(engine.validators.get('dockerhub')?.type).to.equal('notaryv1');
      expect(config.policy.some((r) => r.validator === 'dockerhub')).to.equal(false);
    });

    it('a digest-pinned allow rule (docs/docker-hub.md, migration) beats the Docker Official Images denial', async () => {
      const pinned = `docker.io/library/nginx@sha256:${'c'.repeat(64)}`;
      const doc = yaml.load(readFileSync(file, 'utf8')) as Record<string, any>;
      const app = file.startsWith('helm/') ? doc.application : doc;
      app.policy.push({ pattern: pinned, validator: 'allow' });
      const withRule = new Engine(parseConfig(yaml.dump(doc), join(process.cwd(), file)), { logger: silentLogger, secretsDir: '/nonexistent' });
      try {
        expect((await withRule.check(`nginx@sha256:${'c'.repeat(64)}`, ctx())).decision).to.include({ outcome: 'admitted', rule: pinned });
        expect((await withRule.check(`nginx:1.25@sha256:${'c'.repeat(64)}`, ctx())).decision).to.include({ outcome: 'admitted', rule: pinned });
        expect((await withRule.check('nginx:1.25', ctx())).decision).to.include({ outcome: 'denied', rule: 'docker.io/library/*' });
        expect((await withRule.check(`nginx@sha256:${'d'.repeat(64)}`, ctx())).decision).to.include({ outcome: 'denied', rule: 'docker.io/library/*' });
      } finally {
        await withRule.close();
      }
    });

    it('still denies other Docker Hub images through the catch-all rule', async () => {
      const { decision } = await engine.check('docker.io/someone/app:1', ctx());
      expect(decision).to.include({ outcome: 'denied', rule: '*:*', validator: 'deny' });
    });
  });
}
