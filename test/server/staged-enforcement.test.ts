/**
 * Staged enforcement through the real HTTPS webhook: a rule's `with.enforcement: detect`, the namespace entry
 * `/mutate/detect` (namespaces labelled imprimatur.dev/webhook=detect) and the global `detectionMode`, in that
 * order of precedence; every decision log line says which applied.
 */
import { expect } from 'chai';
import { capturingLogger } from '../cache/log-capture.js';
import { staticPolicy } from '../support/configs.js';
import { review, workload } from '../support/reviews.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const RULES = `  - pattern: "staging.example/*"
    validator: deny
    with:
      enforcement: detect
  - pattern: "strict.example/*"
    validator: deny
    with:
      enforcement: enforce
`;

const config = (features = '') => `${staticPolicy(RULES)}${features}`;

describe('staged enforcement over real HTTPS', () => {
  let hook: TestWebhook;
  const logs = capturingLogger();
  before(async () => { hook = await startWebhook(config(), { logger: logs.logger }); });
  after(async () => { await hook.close(); });

  const pod = (...images: string[]) => review('Pod', workload('Pod', { containers: images }));
  const decisionLog = (uid: string) => logs.lines.find((l) => l.msg === 'admission decision' && l.uid === uid) as Record<string, any>;

  it('a rule in detection admits its failures with a warning naming the rule level', async () => {
    const r = pod('staging.example/app:1');
    const res = await hook.post(r);
    expect(res.json.response.allowed).to.equal(true);
    expect(res.json.response.warnings).to.deep.equal([
      'detection mode (rule): would deny image "staging.example/app:1" (rule "staging.example/*", validator "deny"): denied by static validator "deny"',
    ]);
    const line = decisionLog((r.request as any).uid);
    expect(line.outcome).to.equal('warned');
    expect(line.namespaceMode).to.equal('enforce');
    expect(line.detectionMode, 'admitted only because of detection').to.equal(true);
    expect(line.images[0]).to.include({ image: 'staging.example/app:1', outcome: 'denied', enforcement: 'detect', enforcementSource: 'rule' });
  });

  it('an enforced failure in the same request still denies; the detected one stays a warning', async () => {
    const r = pod('staging.example/app:1', 'quay.io/other/app:2', 'registry.k8s.io/pause:3.9');
    const res = await hook.post(r);
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.status.message).to.equal(
      'Imprimatur denied Pod team-a/demo: image "quay.io/other/app:2" (rule "*:*", validator "deny"): denied by static validator "deny"',
    );
    const line = decisionLog((r.request as any).uid);
    expect(line.outcome).to.equal('denied');
    const byImage = Object.fromEntries(line.images.map((i: any) => [i.image, i]));
    expect(byImage['staging.example/app:1']).to.include({ enforcement: 'detect', enforcementSource: 'rule' });
    expect(byImage['quay.io/other/app:2']).to.include({ enforcement: 'enforce', enforcementSource: 'default' });
    expect(byImage['registry.k8s.io/pause:3.9']).to.include({ outcome: 'admitted', enforcement: 'enforce', enforcementSource: 'default' });
  });

  it('a rule that says enforce explicitly is reported as the rule\'s decision', async () => {
    const r = pod('strict.example/app:1');
    const res = await hook.post(r);
    expect(res.json.response.allowed).to.equal(false);
    expect(decisionLog((r.request as any).uid).images[0]).to.include({ enforcement: 'enforce', enforcementSource: 'rule' });
  });

  it('/mutate/detect (a namespace labelled detect) admits every failure, and beats a rule that says enforce', async () => {
    const r = pod('strict.example/app:1', 'quay.io/other/app:2', 'registry.k8s.io/pause:3.9');
    const res = await hook.post(r, { path: '/mutate/detect' });
    expect(res.json.response.allowed).to.equal(true);
    expect(res.json.response.warnings).to.have.length(2);
    expect(res.json.response.warnings[0]).to.match(/^detection mode \(namespace\): would deny image "strict\.example\/app:1" \(rule "strict\.example\/\*"/);
    expect(res.json.response.warnings[1]).to.match(/^detection mode \(namespace\): would deny image "quay\.io\/other\/app:2"/);
    const line = decisionLog((r.request as any).uid);
    expect(line.namespaceMode).to.equal('detect');
    expect(line.images.map((i: any) => i.enforcementSource)).to.deep.equal(['namespace', 'namespace', 'namespace']);
  });

  it('/mutate/detect answers malformed requests like /mutate (4xx with a sentence)', async () => {
    const res = await hook.post(undefined, { path: '/mutate/detect', raw: '{not json' });
    expect(res.status).to.equal(400);
    expect(res.json.error).to.match(/not valid JSON/);
    const get = await hook.post(undefined, { path: '/mutate/detect', method: 'GET' });
    expect(get.status).to.equal(405);
    expect(get.json.error).to.contain('/mutate/detect');
  });

  describe('global detectionMode', () => {
    let global: TestWebhook;
    before(async () => { global = await startWebhook(config('features:\n  detectionMode: true\n'), { logger: logs.logger }); });
    after(async () => { await global.close(); });

    it('wins over the namespace and the rule, with the unqualified "detection mode:" prefix', async () => {
      const r = pod('strict.example/app:1');
      for (const path of ['/mutate', '/mutate/detect']) {
        const res = await global.post(r, { path });
        expect(res.json.response.allowed).to.equal(true);
        expect(res.json.response.warnings[0]).to.match(/^detection mode: would deny image "strict\.example\/app:1"/);
      }
      const line = decisionLog((r.request as any).uid);
      expect(line.detectionMode).to.equal(true);
      expect(line.images[0]).to.include({ enforcement: 'detect', enforcementSource: 'global' });
    });
  });
});

describe('config: with.enforcement and with.mode', () => {
  const load = (withBlock: string) => parseConfig(`${staticPolicy(`  - pattern: "x.example/*"
    validator: deny
    with:
${withBlock}`)}`, '/etc/imprimatur/config.yaml');

  it('accepts enforcement enforce | detect next to the Connaisseur pinning mode', () => {
    const c = load('      enforcement: detect\n      mode: insecureValidateOnly\n');
    expect(c.policy[2]!.with).to.include({ enforcement: 'detect', mode: 'insecureValidateOnly' });
    expect(load('      mode: mutate\n').policy[2]!.with.enforcement).to.equal(undefined);
  });

  it('with.mode: detect says which key stages enforcement instead of listing enum values', () => {
    try {
      load('      mode: detect\n');
      expect.fail('loaded');
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as ConfigError).problems).to.deep.equal([{
        path: 'policy[2].with.mode',
        message: '"detect" is not a pinning mode: with.mode is mutate or insecureValidateOnly (digest pinning, as in Connaisseur); to put this rule in detection write with.enforcement: detect',
      }]);
    }
  });

  it('rejects an unknown enforcement value with the allowed ones', () => {
    expect(() => load('      enforcement: sometimes\n')).to.throw(ConfigError, /policy\[2\]\.with\.enforcement: must be one of: "enforce", "detect" \(got "sometimes"\)/);
  });
});
