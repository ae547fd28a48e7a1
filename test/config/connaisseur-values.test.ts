/**
 * Connaisseur values files load unchanged (issue 12): the fixtures in test/fixtures/connaisseur set every key of
 * Connaisseur v3.10.0's chart and of its integration overlays (see their README). Keys Connaisseur has that mean
 * nothing here load with one warning each, naming the key and why.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { Ajv } from 'ajv';
import { parseConfig } from '../../src/config/load.js';
import type { AppConfig } from '../../src/config/types.js';

const DIR = 'test/fixtures/connaisseur';
const TEMPLATES = join(DIR, 'alert-templates');

function read(name: string): Record<string, unknown> {
  return yaml.load(readFileSync(join(DIR, name), 'utf8')) as Record<string, unknown>;
}

/** Connaisseur's integration tests merge an overlay over values.yaml with yq `*`: mappings merged, lists replaced. */
export function merge(base: unknown, over: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isMap(base) || !isMap(over)) return structuredClone(over);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? merge(out[k], v) : structuredClone(v);
  return out;
}

function load(doc: unknown, mode: 'serve' | 'check', env: NodeJS.ProcessEnv = {}): AppConfig {
  return parseConfig(yaml.dump(doc), 'values.yaml', { mode, env, templateDirs: [TEMPLATES], secretsDir: '/nonexistent' });
}

const REDIS_KEYS = ['image', 'pullPolicy', 'resources', 'securityContext', 'podSecurityContext', 'tls'];

describe('Connaisseur values files load unchanged', () => {
  const values = read('values.yaml');

  it("a values file with every key of Connaisseur's chart loads, warning once for each key without effect", () => {
    const config = load(values, 'check');
    expect(config.validators.map((v) => `${v.name}:${v.type}`)).to.deep.equal(['allow:static', 'deny:static', 'platform-notary:notaryv1']);
    expect(config.policy).to.have.length(4);
    expect(config.logLevel).to.equal('info');
    expect(config.logFormat).to.equal('json-pretty');
    expect(config.warnings.map((w) => w.path)).to.deep.equal(REDIS_KEYS.map((k) => `kubernetes.redis.${k}`).sort());
    for (const w of config.warnings) expect(w.message).to.match(/^has no effect in Imprimatur .*does not deploy Redis.*kubernetes\.redis\.url/);
    // serve mode reads the same file the same way
    expect(load(values, 'serve').warnings).to.deep.equal(config.warnings);
  });

  it('…and Helm accepts it too (helm/values.schema.json)', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync('helm/values.schema.json', 'utf8')));
    for (const overlay of ['alerting-overlay.yaml', 'cosign-overlay.yaml', 'notaryv1-overlay.yaml', 'cert-overlay.yaml']) {
      const doc = merge(values, read(overlay));
      expect(validate(doc), `${overlay}: ${JSON.stringify(validate.errors)}`).to.equal(true);
    }
    expect(validate(values), JSON.stringify(validate.errors)).to.equal(true);
  });

  it('the alerting overlay loads: application.alerts is warned about, a Connaisseur <name>.json template is found', () => {
    const doc = merge(values, read('alerting-overlay.yaml'));
    const checked = load(doc, 'check');
    const byPath = new Map(checked.warnings.map((w) => [w.path, w.message]));
    expect(byPath.get('application.alerts')).to.match(/never reads it; alert receivers are configured in the top-level alerting section/);
    // check-config runs where the Secret's variable is not set: a warning, not an error
    expect(byPath.get('alerting.admitRequest.receivers[0].customHeaders[0]')).to.match(/OPSGENIE_KEY, which is not set here/);
    // serve, in the pod, needs the variable
    expect(() => load(doc, 'serve')).to.throw(/customHeaders\[0\]: header Authorization refers to environment variable OPSGENIE_KEY, which is not set/);
    const served = load(doc, 'serve', { OPSGENIE_KEY: 'k' });
    expect(served.alerting).to.have.property('clusterIdentifier', 'platform-staging');
    expect(served.policy.map((r) => r.validator)).to.deep.equal(['platform-cosign']);
  });

  it('the cosign overlay loads (keys, Rekor host, keyless; threshold, required, trustRoot "*")', () => {
    const config = load(merge(values, read('cosign-overlay.yaml')), 'check');
    expect(config.validators.map((v) => v.name)).to.deep.equal(['default', 'multi', 'rekor-cosign', 'keyless']);
    expect(config.policy.find((r) => r.pattern === 'registry.example.com/app:multi-*')!.with).to.include({ trustRoot: '*', threshold: 2 });
    expect(config.warnings.map((w) => w.path)).to.include('application.alerts');
  });

  it('the notaryv1 overlay loads (own host and CA, delegations)', () => {
    const config = load(merge(values, read('notaryv1-overlay.yaml')), 'check');
    expect(config.policy[1]!.with).to.deep.include({ trustRoot: 'release-team', delegations: ['releases', 'targets/qa'] });
  });

  it('the cert overlay loads (custom serving certificate)', () => {
    expect(load(merge(values, read('cert-overlay.yaml')), 'check').validators).to.have.length(3);
  });
});
