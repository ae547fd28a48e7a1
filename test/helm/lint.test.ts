/**
 * The chart under the real Helm's own checks: `helm lint --strict` and `helm template` with the default values, a
 * Connaisseur-style values file and a file setting every option the chart has; values.schema.json enforced by Helm;
 * and every `kubernetes.*` option of helm/values.yaml shown to change what is rendered.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { parseConfig } from '../../src/config/load.js';
import { CHART_DIR, findObject, helm, type Helm } from '../harness/helm.js';
import { HELM_MAJORS } from '../harness/tools.js';
import { createTestCertificates } from '../harness/tls.js';

type Obj = Record<string, any>;
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'helm');
const CONNAISSEUR_STYLE = join(FIXTURES, 'connaisseur-style-values.yaml');
/** Connaisseur's chart's every key, and its integration-test overlays, in Connaisseur's format (issue 12). */
const CONNAISSEUR_FILES = ['values.yaml', 'alerting-overlay.yaml', 'cosign-overlay.yaml', 'notaryv1-overlay.yaml', 'cert-overlay.yaml']
  .map((f) => join(FIXTURES, '..', 'connaisseur', f));
const load = (file: string): Obj[] => yaml.loadAll(readFileSync(file, 'utf8')) as Obj[];
const certs = createTestCertificates();
/** every-option-values.yaml with its TLS certificate filled in (deterministic renders: no generated certificate). */
const EVERY_OPTION: Obj = (() => {
  const doc = load(join(FIXTURES, 'every-option-values.yaml'))[0]!;
  doc['kubernetes'].deployment.tls = { cert: certs.certPem, key: certs.keyPem, ca: certs.caPem };
  return doc;
})();
const ALTERNATIVES = load(join(FIXTURES, 'every-option-alternatives.yaml'));
const DEFAULTS = yaml.load(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Obj;

/** Dotted paths of the leaves of `o`: scalars, lists, and empty maps. */
function leaves(o: unknown, prefix: string): string[] {
  if (o !== null && typeof o === 'object' && !Array.isArray(o) && Object.keys(o).length > 0) {
    return Object.entries(o).flatMap(([k, v]) => leaves(v, `${prefix}.${k}`));
  }
  return [prefix];
}
function get(o: Obj, path: string): unknown {
  return path.split('.').reduce<unknown>((x, k) => (x !== null && typeof x === 'object' ? (x as Obj)[k] : undefined), o);
}
function has(o: Obj, path: string): boolean {
  const keys = path.split('.');
  const parent = get(o, keys.slice(0, -1).join('.'));
  return parent !== null && typeof parent === 'object' && keys[keys.length - 1]! in (parent as Obj);
}
function withValue(o: Obj, path: string, value: unknown): Obj {
  const copy = structuredClone(o);
  const keys = path.split('.');
  const parent = get(copy, keys.slice(0, -1).join('.')) as Obj;
  parent[keys[keys.length - 1]!] = value;
  return copy;
}
/** A different value of the same kind (for options whose every-option value is their default). */
function flipped(v: unknown): unknown {
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'number') return v + 1;
  if (typeof v === 'string') return `${v}-changed`;
  if (Array.isArray(v)) return [...v, 'CHANGED'];
  return { changed: 'yes' };
}

async function lint(h: Helm, valueFiles: string[] = [], values: Obj[] = []): Promise<{ code: number; out: string }> {
  const r = await h.run(['lint', '--strict', CHART_DIR, ...h.valuesArgs({ values, valueFiles })]);
  return { code: r.code, out: `${r.stdout}${r.stderr}` };
}

for (const major of HELM_MAJORS) {
  describe(`Helm ${major}: helm lint --strict, helm template and the values schema`, function () {
    this.timeout(120_000);
    let h: Helm;
    before(async function () {
      this.timeout(40 * 60_000); // a cold machine builds Helm first
      h = await helm(major);
    });

    it('lints clean with the default values', async () => {
      const r = await lint(h);
      expect(r.code, r.out).to.equal(0);
      expect(r.out).to.match(/1 chart\(s\) linted, 0 chart\(s\) failed/).and.not.match(/\[(WARNING|ERROR)\]/);
    });

    it('takes a Connaisseur-style values file unchanged: lints clean, and the pod reads its application and alerting sections', async () => {
      const r = await lint(h, [CONNAISSEUR_STYLE]);
      expect(r.code, r.out).to.equal(0);
      expect(r.out).to.not.match(/\[(WARNING|ERROR)\]/);
      const objects = await h.template({ valueFiles: [CONNAISSEUR_STYLE] });
      const file = load(CONNAISSEUR_STYLE)[0]!;
      const text = findObject(objects, 'ConfigMap', 'imprimatur-config').data['config.yaml'] as string;
      expect(yaml.load(text)).to.deep.equal({ application: file['application'], alerting: file['alerting'] });
      // Secrets come from the environment (kubernetes.deployment.envs from a Secret), as for the running pod.
      process.env['OPSGENIE_KEY'] = 'test-only';
      const config = parseConfig(text, 'config.yaml');
      delete process.env['OPSGENIE_KEY'];
      expect(config.validators.map((v) => `${v.name}:${v.type}`)).to.deep.equal(['allow:static', 'deny:static', 'acme:cosign', 'dockerhub:notaryv1']);
      expect(config.features.detectionMode).to.equal(true);
      const dep = findObject(objects, 'Deployment');
      const k = file['kubernetes'].deployment;
      expect(dep.spec.replicas).to.equal(k.replicasCount);
      expect(dep.spec.template.spec.tolerations).to.deep.equal(k.tolerations);
      expect(dep.spec.template.spec.nodeSelector).to.deep.equal(k.nodeSelector);
      expect(dep.spec.template.spec.affinity).to.deep.equal(k.affinity);
      expect(dep.spec.template.spec.imagePullSecrets).to.deep.equal(k.imagePullSecrets);
      expect(dep.spec.template.spec.containers[0].resources).to.deep.equal(k.resources);
      expect(dep.spec.template.metadata.labels).to.include(k.podLabels);
      expect(findObject(objects, 'ServiceAccount').metadata.annotations).to.deep.equal(file['kubernetes'].serviceaccount.annotations);
      for (const w of findObject(objects, 'MutatingWebhookConfiguration').webhooks) expect(w).to.include({ failurePolicy: 'Fail', reinvocationPolicy: 'Never' });
    });

    it("takes a values file with every key of Connaisseur's chart, alone and with each overlay (test/fixtures/connaisseur): lints clean, renders, loads", async () => {
      const [base, ...overlays] = CONNAISSEUR_FILES;
      // custom template platform-chat.json: a file Connaisseur users kept in its chart (here: kubernetes.alertTemplates
      // or alerting.templateDirectory, see the migration guide)
      const templates = join(FIXTURES, '..', 'connaisseur', 'alert-templates');
      for (const files of [[base!], ...overlays.map((o) => [base!, o])]) {
        const r = await lint(h, files);
        expect(r.code, `${files.join(' + ')}: ${r.out}`).to.equal(0);
        expect(r.out).to.not.match(/\[(WARNING|ERROR)\]/);
        const objects = await h.template({ valueFiles: files });
        const dep = findObject(objects, 'Deployment');
        expect(dep.spec.template.spec.containers[0].image).to.equal('registry.example.com/platform/admission:v3.10.0');
        expect(dep.spec.template.spec.tolerations[0]).to.include({ key: 'dedicated', value: 'security' });
        const text = findObject(objects, 'ConfigMap', 'imprimatur-config').data['config.yaml'] as string;
        // check mode: registry Secrets only the pod has are warnings here
        const config = parseConfig(text, 'config.yaml', { mode: 'check', templateDirs: [templates] });
        expect(config.validators.length, files.join(' + ')).to.be.greaterThan(0);
      }
    });

    it('lints and renders every option set (every-option-values.yaml), and each alternative to one of them', async () => {
      for (const alternative of [{}, ...ALTERNATIVES]) {
        const r = await lint(h, [], [EVERY_OPTION, alternative]);
        expect(r.code, `${JSON.stringify(alternative)}: ${r.out}`).to.equal(0);
        expect(r.out).to.not.match(/\[(WARNING|ERROR)\]/);
        const objects = await h.template({ values: [EVERY_OPTION, alternative] });
        expect(findObject(objects, 'Deployment').spec.replicas).to.equal(5);
      }
    });

    for (const [what, set, key] of [
      ['an unknown validator type', { 'application.validators': [{ name: 'x', type: 'bogus' }] }, 'type'],
      ['a string where detectionMode is a boolean', { 'application.features.detectionMode': 'yes' }, 'detectionMode'],
      ['a misspelt feature (additional property)', { 'application.features.detectonMode': true }, 'detectonMode'],
    ] as const) {
      it(`lint and template refuse ${what}, naming it (values.schema.json; install: test/helm/install.test.ts)`, async () => {
        const args = h.valuesArgs({ set: set as Record<string, unknown> });
        const linted = await h.run(['lint', '--strict', CHART_DIR, ...args]);
        expect(linted.code, 'lint').to.not.equal(0);
        expect(`${linted.stdout}${linted.stderr}`).to.match(/values don't meet the specifications of the schema/).and.include(key);
        const rendered = await h.run(['template', 'imprimatur', CHART_DIR, ...args]);
        expect(rendered.code, 'template').to.not.equal(0);
        expect(rendered.stderr).to.match(/values don't meet the specifications of the schema/).and.include(key);
      });
    }
  });
}

describe('Helm chart: every kubernetes.* option of values.yaml', function () {
  this.timeout(600_000);
  const options = leaves(DEFAULTS['kubernetes'], 'kubernetes');
  let h: Helm;
  let base: string;
  before(async function () {
    this.timeout(40 * 60_000);
    h = await helm('v3');
    base = await h.templateText({ values: [EVERY_OPTION] });
  });

  it('is set by every-option-values.yaml or one of its alternatives (add new options there)', () => {
    const documents = [EVERY_OPTION, ...ALTERNATIVES];
    const missing = options.filter((p) => !documents.some((d) => has(d, p)));
    expect(missing, 'options of helm/values.yaml that no every-option file sets').to.deep.equal([]);
  });

  it('changes what the chart renders (each option back to its default, or to another value when set to its default)', async () => {
    // An option may matter only beside an alternative (image.tag once no digest is set): then it is tried there too.
    const contexts = [{}, ...ALTERNATIVES];
    const inert: string[] = [];
    for (const path of options.filter((p) => has(EVERY_OPTION, p))) {
      const mine = get(EVERY_OPTION, path);
      const dflt = get(DEFAULTS, path);
      const variant = withValue(EVERY_OPTION, path, JSON.stringify(mine) === JSON.stringify(dflt) ? flipped(mine) : dflt);
      let effective = false;
      for (const context of contexts) {
        const reference = context === contexts[0] ? base : await h.templateText({ values: [EVERY_OPTION, context] });
        const text = await h.templateText({ values: [variant, context] }).catch((err: Error) => `refused: ${err.message}`);
        if (text !== reference) {
          effective = true;
          break;
        }
      }
      if (!effective) inert.push(path);
    }
    expect(inert, 'options that change nothing in the rendered chart').to.deep.equal([]);
  });

  it('each alternative changes what the chart renders', async () => {
    for (const alternative of ALTERNATIVES) {
      expect(await h.templateText({ values: [EVERY_OPTION, alternative] }), JSON.stringify(alternative)).to.not.equal(base);
    }
  });
});
