/**
 * One loader for serve, check-config and explain; they differ only in what the place they run can know
 * (src/config/load-context.ts): registry secrets, the chart's alert templates and environment.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { ConfigError } from '../../src/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { makeTempDir } from '../harness/temp-dirs.js';

const KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEG5dOzQD2fp2MGzscdBO9ZdhZpIWN
cY27Od0Lo6UuHkjr8hT9VefoJuh9t2iGt/SsGykjVGXBzQiF7ADVU9WEAw==
-----END PUBLIC KEY-----
`;
const withAuth = (secretName: string) => ({
  validators: [{ name: 'private', type: 'cosign', auth: { secretName }, trustRoots: [{ name: 'default', key: KEY }] }],
  policy: [{ pattern: '*', validator: 'private' }],
});

function refusal(text: string, options: Parameters<typeof parseConfig>[2]): string {
  try {
    parseConfig(text, 'c.yaml', options);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a refusal');
}

describe('load context: registry secrets', () => {
  const secrets = makeTempDir('secrets');
  mkdirSync(join(secrets, 'good'));
  writeFileSync(join(secrets, 'good', '.dockerconfigjson'), JSON.stringify({ auths: { 'ghcr.io': { username: 'u', password: 'p' } } }));
  mkdirSync(join(secrets, 'broken'));
  writeFileSync(join(secrets, 'broken', '.dockerconfigjson'), '{"auths": {"[[]]": {"username": "u", "password": "p"}}}');

  it('serve: a secret that is not mounted is an error naming where it was looked for', () => {
    expect(refusal(yaml.dump(withAuth('absent')), { mode: 'serve', secretsDir: secrets })).to.match(
      /validators\[0\]\.auth\.secretName: secret "absent" is not mounted: neither .*absent\/\.dockerconfigjson nor .*absent\/secret\.yaml exists/,
    );
    expect(parseConfig(yaml.dump(withAuth('good')), 'c.yaml', { mode: 'serve', secretsDir: secrets }).warnings).to.deep.equal([]);
  });

  it('check: a secret only the pod has is a warning; a mounted but broken one is still an error', () => {
    const config = parseConfig(yaml.dump(withAuth('absent')), 'c.yaml', { mode: 'check', secretsDir: secrets });
    expect(config.warnings.map((w) => w.path)).to.deep.equal(['validators[0].auth.secretName']);
    expect(config.warnings[0]!.message).to.match(/is not mounted here .*the pod reads it from \/app\/secrets\/absent/);
    expect(refusal(yaml.dump(withAuth('broken')), { mode: 'check', secretsDir: secrets })).to.match(/auth\.secretName: .*has an entry "\[\[\]\]" that is not a registry/);
  });
});

describe('load context: a values file read as the chart deploys it (check mode)', () => {
  const values = (alerting: Record<string, unknown>, kubernetes: Record<string, unknown> = {}) =>
    yaml.dump({
      kubernetes,
      application: { validators: [{ name: 'default', type: 'static', approve: false }], policy: [{ pattern: '*' }] },
      alerting,
    });
  const receivers = { rejectRequest: { receivers: [{ template: 'team', receiverUrl: 'https://hooks.example.com/${HOOK}' }] } };

  it("kubernetes.alertTemplates are the templates at /app/config/alert-templates, as the pod will see them", () => {
    const text = values({ templateDirectory: '/app/config/alert-templates', ...receivers }, {
      alertTemplates: { 'team.json': '{"text": "{{ alert_message }}"}' },
      deployment: { envs: { HOOK: 'T0/B0' } },
    });
    const config = parseConfig(text, 'values.yaml', { mode: 'check', env: {} });
    expect(config.warnings).to.deep.equal([]);
    // a broken inline template is found broken here too
    const broken = values({ templateDirectory: '/app/config/alert-templates', ...receivers }, { alertTemplates: { 'team.json': '{"text": "{{ nope }}"}' }, deployment: { envs: { HOOK: 'x' } } });
    expect(refusal(broken, { mode: 'check', env: {} })).to.match(/receivers\[0\]\.template: uses \{\{nope\}\}/);
  });

  it('without templateDirectory the chart still announces its templates (IMPRIMATUR_TEMPLATE_DIRS)', () => {
    const text = values(receivers, { alertTemplates: { 'team.json.hbs': '{"text": "{{alert_message}}"}' }, deployment: { envs: { HOOK: 'x' } } });
    expect(parseConfig(text, 'values.yaml', { mode: 'check', env: {} }).warnings).to.deep.equal([]);
  });

  it('a variable from a Secret reference in kubernetes.deployment.envs is named as coming from the pod', () => {
    const text = values(receivers, { alertTemplates: { 'team.json': '{}' }, deployment: { envs: { HOOK: { valueFrom: { secretKeyRef: { name: 'hooks', key: 'team' } } } } } });
    const config = parseConfig(text, 'values.yaml', { mode: 'check', env: {} });
    expect(config.warnings.map((w) => w.message)).to.deep.equal([`refers to environment variable HOOK, which the pod gets from a Secret (kubernetes.deployment.envs); its value cannot be checked here`]);
  });

  it('serve ignores the kubernetes section for the environment: the pod\'s real environment counts', () => {
    const text = values(receivers, { alertTemplates: { 'team.json': '{}' }, deployment: { envs: { HOOK: 'x' } } });
    expect(refusal(text, { mode: 'serve', env: {}, templateDirs: [] })).to.match(/HOOK, which is not set/);
  });
});

describe('load context: key text around a Notary root key', () => {
  it('refuses text before or after the PEM block (as Connaisseur: "contains extraneous characters")', () => {
    const doc = { validators: [{ name: 'nv', type: 'notaryv1', trustRoots: [{ name: 'default', key: `${KEY}and some more\n` }] }], policy: [{ pattern: '*', validator: 'nv' }] };
    expect(refusal(yaml.dump(doc), {})).to.match(/trustRoots\[0\]\.key: .*has text before or after the PEM block/);
    doc.validators[0]!.trustRoots[0]!.key = `${KEY}   \n`;
    expect(parseConfig(yaml.dump(doc), 'c.yaml').validators).to.have.length(1);
  });
});
