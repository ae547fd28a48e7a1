import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { Ajv } from 'ajv';
import { valuesSchemaText } from '../../src/config/values-schema-file.js';
import { loadConfigFile } from '../../src/config/load.js';

describe('helm/values.schema.json', () => {
  it('is exactly the program\'s config schema (regenerate with `npm run schema`)', () => {
    expect(readFileSync('helm/values.schema.json', 'utf8')).to.equal(valuesSchemaText());
  });

  it('accepts the chart\'s values.yaml, which also loads as program config', () => {
    const values = yaml.load(readFileSync('helm/values.yaml', 'utf8'));
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync('helm/values.schema.json', 'utf8')));
    expect(validate(values), JSON.stringify(validate.errors)).to.equal(true);
    const config = loadConfigFile('helm/values.yaml');
    expect(config.prefix).to.equal('application.');
    expect(config.policy.length).to.be.greaterThan(0);
  });

  it('accepts kubernetes.deployment.envs with literals and valueFrom.secretKeyRef entries (what docs/alerting.md shows)', async () => {
    const { ENV_VALUES } = await import('../helm/values.js');
    const values = yaml.load(readFileSync('helm/values.yaml', 'utf8')) as Record<string, any>;
    values.kubernetes.deployment.envs = (ENV_VALUES as any).kubernetes.deployment.envs;
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync('helm/values.schema.json', 'utf8')));
    expect(validate(values), JSON.stringify(validate.errors)).to.equal(true);
  });

  it('rejects values with an unknown application key and a static validator without approve', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync('helm/values.schema.json', 'utf8')));
    expect(validate({ application: { validators: [], policy: [], bogus: 1 } })).to.equal(false);
    expect(validate({ application: { validators: [{ name: 'a', type: 'static' }], policy: [] } })).to.equal(false);
  });

  it('the shipped policies/default.yaml mirrors the chart\'s application section', () => {
    const chart = loadConfigFile('helm/values.yaml');
    const shipped = loadConfigFile('policies/default.yaml');
    expect(shipped.validators).to.deep.equal(chart.validators);
    expect(shipped.policy.map((r) => [r.pattern, r.validator, r.with])).to.deep.equal(chart.policy.map((r) => [r.pattern, r.validator, r.with]));
  });
});
