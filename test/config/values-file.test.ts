/**
 * A whole values file: every top-level key is a section of the chart or an error saying where it belongs, and
 * `kubernetes:` is checked against the chart's schema (issue 19, item 3).
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { Ajv } from 'ajv';
import { ConfigError } from '../../src/errors.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigProblem } from '../../src/errors.js';

const APP = { validators: [{ name: 'default', type: 'static', approve: false }], policy: [{ pattern: '*:*' }] };

function problems(doc: Record<string, unknown>): ConfigProblem[] {
  try {
    parseConfig(yaml.dump(doc), '/srv/values.yaml');
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).message).to.contain('/srv/values.yaml: ');
    return (err as ConfigError).problems;
  }
  throw new Error('expected the values file to be refused');
}

function problemAt(doc: Record<string, unknown>, path: string): string {
  const found = problems(doc).find((p) => p.path === path);
  expect(found, `a problem at ${path}`).to.not.equal(undefined);
  return found!.message;
}

describe('values file: top-level keys', () => {
  const table: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['features at the top level (detection mode silently off otherwise)', { application: APP, features: { detectionMode: true } }, 'features',
      /is not a top-level key of a values file; it belongs under application: move it to application\.features/],
    ['insecureRegistries at the top level', { application: APP, insecureRegistries: ['registry.local:5000'] }, 'insecureRegistries',
      /belongs under application: move it to application\.insecureRegistries/],
    ['validators at the top level', { application: APP, validators: [] }, 'validators', /move it to application\.validators/],
    ['a receiver section at the top level', { application: APP, rejectRequest: { receivers: [] } }, 'rejectRequest', /belongs under alerting: move it to alerting\.rejectRequest/],
    ['a chart key at the top level', { application: APP, deployment: { replicasCount: 1 } }, 'deployment', /move it to kubernetes\.deployment/],
    ['a feature at the top level', { application: APP, detectionMode: true }, 'detectionMode', /move it to application\.features\.detectionMode/],
    ['an unknown key', { application: APP, foo: 'bar' }, 'foo', /unknown top-level key "foo"; a values file has only kubernetes, application, alerting/],
  ];
  for (const [what, doc, path, message] of table) {
    it(`${what} is an error at ${path}`, () => {
      expect(problemAt(doc, path)).to.match(message);
    });
  }

  it('keys in the wrong section say where they belong', () => {
    expect(problemAt({ application: { ...APP, detectionMode: true } }, 'application.detectionMode')).to.match(/it belongs under application\.features: move it to application\.features\.detectionMode/);
    expect(problemAt({ application: { ...APP, alerting: {} } }, 'application.alerting')).to.match(/"alerting" is a top-level section; move it out of application/);
    expect(problemAt({ application: { ...APP, replicasCount: 3 } }, 'application.replicasCount')).to.match(/move it to kubernetes\.deployment\.replicasCount/);
    expect(problemAt({ application: APP, alerting: { receivers: [] } }, 'alerting.receivers')).to.match(/unknown key "receivers"; allowed keys here: clusterIdentifier, templateDirectory, admitRequest, rejectRequest/);
  });

  it('a bare application config with a chart key says it belongs to a values file', () => {
    try {
      parseConfig(yaml.dump({ ...APP, deployment: {} }), 'c.yaml');
      expect.fail('should be refused');
    } catch (err) {
      expect((err as ConfigError).problems.find((p) => p.path === 'deployment')!.message).to.match(/belongs to a Helm values file \(kubernetes\.deployment\), not to a bare application config/);
    }
  });
});

describe('values file: the kubernetes section has a real schema', () => {
  const table: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['an unknown deployment key', { deployment: { replicaCount: 3 } }, 'kubernetes.deployment.replicaCount', /unknown key "replicaCount"; allowed keys here: replicasCount,/],
    ['a wrong type', { deployment: { replicasCount: 'three' } }, 'kubernetes.deployment.replicasCount', /must be an integer/],
    ['a webhook failurePolicy typo', { webhook: { failurePolicy: 'fail' } }, 'kubernetes.webhook.failurePolicy', /must be one of: "Fail", "Ignore"/],
    ['a timeout over the API server limit', { webhook: { timeoutSeconds: 60 } }, 'kubernetes.webhook.timeoutSeconds', /must be <= 30/],
    ['an unknown section', { ingress: {} }, 'kubernetes.ingress', /unknown key "ingress"/],
    ['a heap bound too small to run', { deployment: { heapLimitMiB: 5 } }, 'kubernetes.deployment.heapLimitMiB', /^is not allowed \(got number 5\): V8 old-space limit .*at least 32.* 0: no bound/],
    ['a PodDisruptionBudget that is neither a number nor a percentage', { podDisruptionBudget: { minAvailable: 'half' } }, 'kubernetes.podDisruptionBudget.minAvailable', /^is not allowed \(got string "half"\): a number of pods .* or a percentage/],
    ['an alert template that is not a template file name', { alertTemplates: { 'sysdig.txt': '{}' } }, 'kubernetes.alertTemplates', /./],
  ];
  for (const [what, kubernetes, path, message] of table) {
    it(`${what}: ${path}`, () => {
      expect(problemAt({ kubernetes, application: APP }, path)).to.match(message);
    });
  }

  it("accepts every key of the chart's own values.yaml (and the program loads it)", () => {
    const values = yaml.load(readFileSync('helm/values.yaml', 'utf8')) as Record<string, unknown>;
    const config = parseConfig(yaml.dump(values), 'values.yaml', { mode: 'check' });
    expect(config.warnings, JSON.stringify(config.warnings)).to.deep.equal([]);
  });

  it('Helm refuses the same mistakes (helm/values.schema.json)', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync('helm/values.schema.json', 'utf8')));
    expect(validate({ application: APP, features: {} }), 'top-level features').to.equal(false);
    expect(validate({ application: APP, kubernetes: { deployment: { replicaCount: 3 } } }), 'kubernetes typo').to.equal(false);
    expect(validate({ application: APP, kubernetes: { redis: { image: { repository: 'redis' } } } }), 'Connaisseur redis keys are accepted').to.equal(true);
    expect(validate({ application: APP, kubernetes: { deployment: { heapLimitMiB: 0 } } }), 'heapLimitMiB 0: no bound').to.equal(true);
    expect(validate({ application: APP, kubernetes: { deployment: { heapLimitMiB: 5 } } }), 'heapLimitMiB 5').to.equal(false);
  });
});
