/**
 * check-config and explain check what the chart will deploy, on a machine without the cluster's secrets (issue 19
 * item 9; issue 12 items 9 and 10): one code path with serve for template directories, the chart's inline alert
 * templates and its literal environment, warnings for what only the pod has.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { writeTempConfig } from '../support/webhook.js';

const BIN = join(process.cwd(), 'bin', 'imprimatur.js');
function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const base = { ...process.env };
  for (const k of ['IMPRIMATUR_TEMPLATE_DIRS', 'SYSDIG_SECURE_API_TOKEN', 'TEAM_HOOK', 'IMPRIMATUR_SECRETS_DIR']) delete base[k];
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...base, IMPRIMATUR_LOG_LEVEL: 'silent', ...env } });
}

const VALUES = {
  kubernetes: {
    deployment: { envs: { TEAM_HOOK: 'T000/B000' } },
    alertTemplates: { 'team.json': '{"text": "{{ alert_message }}", "cluster": "{{ cluster }}"}' },
  },
  application: {
    validators: [
      { name: 'allow', type: 'static', approve: true },
      { name: 'deny', type: 'static', approve: false },
      { name: 'private', type: 'cosign', auth: { secretName: 'regcred' }, trustRoots: [{ name: 'default', key: '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEG5dOzQD2fp2MGzscdBO9ZdhZpIWN\ncY27Od0Lo6UuHkjr8hT9VefoJuh9t2iGt/SsGykjVGXBzQiF7ADVU9WEAw==\n-----END PUBLIC KEY-----\n' }] },
    ],
    policy: [{ pattern: '*:*', validator: 'deny' }, { pattern: 'registry.k8s.io/*', validator: 'allow' }, { pattern: 'ghcr.io/acme/*', validator: 'private' }],
  },
  alerting: {
    templateDirectory: '/app/config/alert-templates',
    rejectRequest: {
      receivers: [
        { template: 'team', receiverUrl: 'https://hooks.example.com/services/${TEAM_HOOK}' },
        { template: 'sysdig', receiverUrl: 'https://eu1.app.sysdig.com/api/v1/eventsDispatch/ingest', customHeaders: ['Authorization: Bearer ${SYSDIG_SECURE_API_TOKEN}'] },
      ],
    },
  },
};

describe('check-config and explain check what the chart deploys', () => {
  const file = writeTempConfig(yaml.dump(VALUES), 'values.yaml');

  it('check-config: the chart\'s templates and literal envs count; the Secret\'s variable and the registry secret are warnings', () => {
    const r = run(['check-config', file]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/valid — 3 validator\(s\) .*, 2 alert receiver\(s\), detection mode off, 2 warning\(s\)/);
    const warnings = r.stderr.trim().split('\n');
    expect(warnings).to.have.length(2);
    expect(warnings[0]).to.match(new RegExp(`^warning: ${file}: alerting\\.rejectRequest\\.receivers\\[1\\]\\.customHeaders\\[0\\]: header Authorization refers to environment variable SYSDIG_SECURE_API_TOKEN, which is not set here`));
    expect(warnings[1]).to.match(/application\.validators\[2\]\.auth\.secretName: secret "regcred" is not mounted here .*the pod reads it from \/app\/secrets\/regcred/);
  });

  it('explain runs on the same values file without the token, printing the same warnings', () => {
    const r = run(['explain', '--config', file, 'registry.k8s.io/pause:3.9']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('rule:        "registry.k8s.io/*"');
    expect(r.stderr).to.match(/warning: .*SYSDIG_SECURE_API_TOKEN/);
  });

  it('a template that exists nowhere is still an error', () => {
    const broken = structuredClone(VALUES);
    (broken.alerting.rejectRequest.receivers[0] as Record<string, unknown>).template = 'teem';
    const r = run(['check-config', writeTempConfig(yaml.dump(broken), 'values.yaml')]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/alerting\.rejectRequest\.receivers\[0\]\.template: unknown template "teem"/);
  });

  it('check-config reads IMPRIMATUR_TEMPLATE_DIRS exactly as serve does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imprimatur-tpl-'));
    writeFileSync(join(dir, 'custom.json.hbs'), '{"text": "{{alert_message}}"}');
    const config = writeTempConfig('validators:\n  - name: default\n    type: static\n    approve: false\npolicy:\n  - pattern: "*:*"\nalerting:\n  rejectRequest:\n    receivers:\n      - template: custom\n        receiverUrl: https://hooks.example.com/x\n');
    expect(run(['check-config', config], { IMPRIMATUR_TEMPLATE_DIRS: dir }).status).to.equal(0);
    const without = run(['check-config', config]);
    expect(without.status).to.equal(1);
    expect(without.stderr).to.match(/unknown template "custom"/);
  });

  it('a misplaced top-level key of a values file is an error saying where it belongs', () => {
    const r = run(['check-config', writeTempConfig(yaml.dump({ ...VALUES, features: { detectionMode: true } }), 'values.yaml')]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/values\.yaml: features: is not a top-level key of a values file; it belongs under application: move it to application\.features/);
  });

  it('explain names a tie between equally specific rules: the later one wins', () => {
    const config = writeTempConfig('validators:\n  - name: a\n    type: static\n    approve: false\n  - name: b\n    type: static\n    approve: true\npolicy:\n  - pattern: "ghcr.io/*"\n    validator: a\n  - pattern: "ghcr.io/*"\n    validator: b\n');
    const r = run(['explain', '--config', config, 'ghcr.io/acme/app:1']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('rule:        "ghcr.io/*" (policy[1])');
    expect(r.stdout).to.contain('tie:         as specific as "ghcr.io/*" (policy[0]); the later rule wins');
    expect(r.stderr).to.match(/warning: .*policy\[1\]\.pattern: pattern "ghcr\.io\/\*" is the same as policy\[0\]\.pattern/);
    const json = JSON.parse(run(['explain', '--json', '--config', config, 'ghcr.io/acme/app:1']).stdout);
    expect(json[0].tiedWith).to.deep.equal([{ pattern: 'ghcr.io/*', path: 'policy[0]' }]);
  });
});
