/**
 * `message` on static validators, and the Docker Official Images denial of the shipped default
 * through the real webhook (/mutate) and the real `imprimatur explain`.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { review, workload } from '../support/reviews.js';
import { staticMessage } from '../../src/validators/static/index.js';

const BIN = join(process.cwd(), 'bin', 'imprimatur.js');
const explain = (...args: string[]) => spawnSync(process.execPath, [BIN, 'explain', ...args], { encoding: 'utf8', env: { ...process.env, IMPRIMATUR_LOG_LEVEL: 'silent' } });

/** The DOI message exactly as the shipped default policy has it (whitespace folded). */
const shippedMessage = (): string => {
  const doc = yaml.load(readFileSync('policies/default.yaml', 'utf8')) as { validators: Array<Record<string, unknown>> };
  return staticMessage(doc.validators.find((v) => v.name === 'docker-official-images') as never)!;
};

describe('static validator: message', () => {
  it('is optional, Connaisseur configs without it load unchanged', () => {
    const config = parseConfig('validators:\n  - name: deny\n    type: static\n    approve: false\npolicy:\n  - pattern: "*:*"\n    validator: deny\n', 'c.yaml');
    expect(config.validators[0]).to.deep.equal({ name: 'deny', type: 'static', approve: false });
  });

  it('folds line breaks of a YAML block into spaces', () => {
    expect(staticMessage({ name: 'x', type: 'static', message: 'first line\n  second   line\n' })).to.equal('first line second line');
  });

  it('rejects an empty or over-long message, naming file and path', () => {
    for (const [message, expected] of [['""', /must not be empty|fewer than 1|at least 1/i], [JSON.stringify('x'.repeat(1001)), /1000/]] as const) {
      const text = `validators:\n  - name: deny\n    type: static\n    approve: false\n    message: ${message}\npolicy:\n  - pattern: "*:*"\n    validator: deny\n`;
      try {
        parseConfig(text, '/etc/imprimatur/c.yaml');
        expect.fail('expected a config error');
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        expect((err as Error).message).to.contain('/etc/imprimatur/c.yaml').and.contain('validators[0].message').and.match(expected);
      }
    }
  });

  describe('through the real webhook', () => {
    let hook: TestWebhook;
    before(async () => {
      hook = await startWebhook([
        'validators:',
        '  - name: vetted',
        '    type: static',
        '    approve: true',
        '    message: admitted without signature check (vetted by the platform team)',
        '  - name: no-quay',
        '    type: static',
        '    approve: false',
        '    message: |',
        '      quay.io is not allowed here;',
        '      use registry.example.com instead',
        'policy:',
        '  - pattern: "*:*"',
        '    validator: no-quay',
        '  - pattern: "registry.example.com/*"',
        '    validator: vetted',
        '',
      ].join('\n'));
    });
    after(async () => hook.close());

    it('denies with the message as the reason, after the image, rule and validator', async () => {
      const res = await hook.post(review('Pod', workload('Pod', { containers: ['quay.io/a/b:1'] })));
      expect(res.json.response.allowed).to.equal(false);
      expect(res.json.response.status.message).to.equal(
        'Imprimatur denied Pod team-a/demo: image "quay.io/a/b:1" (rule "*:*", validator "no-quay"): quay.io is not allowed here; use registry.example.com instead',
      );
    });

    it('admits with approve: true (the message is the recorded reason)', async () => {
      const res = await hook.post(review('Pod', workload('Pod', { containers: ['registry.example.com/app:1'] })));
      expect(res.json.response.allowed).to.equal(true);
    });
  });
});

describe('Docker Official Images under the shipped default', () => {
  let hook: TestWebhook;
  before(async () => {
    hook = await startWebhook(readFileSync('policies/default.yaml', 'utf8'));
  });
  after(async () => hook.close());

  it('/mutate denies nginx with the shipped message, verbatim', async () => {
    const res = await hook.post(review('Deployment', workload('Deployment', { containers: ['nginx:1.25', 'registry.k8s.io/pause:3.9'] }, 'web')));
    expect(res.json.response.allowed).to.equal(false);
    expect(res.json.response.status.code).to.equal(403);
    expect(res.json.response.status.message).to.equal(
      `Imprimatur denied Deployment team-a/web: image "nginx:1.25" (rule "docker.io/library/*", validator "docker-official-images"): ${shippedMessage()}`,
    );
  });

  it('explain prints the rule, the validator and the message (text and --json)', () => {
    const text = explain('nginx:1.25');
    expect(text.status).to.equal(1);
    expect(text.stdout).to.contain('rule:        "docker.io/library/*"').and.contain('validator:   docker-official-images (static)')
      .and.contain(`DENIED [STATIC_DENY] — ${shippedMessage()}`);
    const json = explain('--json', 'redis:7');
    expect(json.status).to.equal(1);
    const [entry] = JSON.parse(json.stdout);
    expect(entry).to.include({ image: 'redis:7', normalized: 'docker.io/library/redis:7', outcome: 'denied', code: 'STATIC_DENY', reason: shippedMessage() });
    expect(entry.validator).to.deep.equal({ name: 'docker-official-images', type: 'static' });
  });
});
