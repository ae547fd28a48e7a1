/**
 * `imprimatur audit` against a real kube-apiserver (v1.20.2 and the current release): workloads created before any webhook exists, audited
 * with a policy that admits some and denies others, through the built CLI (bin/imprimatur.js). JSON and PolicyReport
 * output checked field by field; the PolicyReports are applied to the API server under the chart's CRD.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { Engine } from '../../src/admission/engine.js';
import { runAudit } from '../../src/audit/audit.js';
import { kubernetesClusterSource } from '../../src/audit/cluster.js';
import { defaultSelection } from '../../src/audit/namespaces.js';
import { MemoryStore } from '../../src/cache/memory.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { applyManifests, ensureNamespace, kubeconfigYaml, startKubeApiServer, KUBE_VERSIONS, type KubeApiServer } from '../harness/kube.js';
import { freePort } from '../harness/ports.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { writeTempConfig } from '../support/webhook.js';
import { CHART_DIR } from '../harness/helm.js';
import {
  policyConfig, useServer, workload,
} from './helpers.js';

const BIN = join(process.cwd(), 'bin', 'imprimatur.js');
const PAUSE = 'registry.k8s.io/pause:3.9';
const FOREIGN = 'quay.io/other/tool:1';

interface Run { code: number | null; stdout: string; stderr: string }

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'audit', ...args], { env: { ...process.env, IMPRIMATUR_LOG_LEVEL: 'silent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `o` in namespace `ns`, owned by `owner` (controller), with `extra` metadata. */
function obj(kind: string, name: string, ns: string, image: string | string[], owner?: KubernetesObject): KubernetesObject {
  const o = workload(kind, name, image);
  o.metadata!.namespace = ns;
  if (owner) {
    o.metadata!.ownerReferences = [{ apiVersion: owner.apiVersion!, kind: owner.kind!, name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true }];
  }
  return o;
}

for (const version of KUBE_VERSIONS) {
  describe(`e2e: imprimatur audit of a running cluster (kube-apiserver ${version})`, function () {
    this.timeout(120_000);
    let kube: KubeApiServer;
    let reg: TestRegistry;
    let key: TestKey;
    let api: KubernetesObjectApi;
    let configFile: string;
    let signed: string;
    let pinned: string;
    let digest: string;
    let unsigned: string;
    let experimental: string;
    const uids: Record<string, string> = {};

    async function create(o: KubernetesObject): Promise<KubernetesObject> {
      const [stored] = await applyManifests(kube.kc, [o]);
      uids[`${o.metadata!.namespace}/${o.kind}/${o.metadata!.name}`] = stored!.metadata!.uid!;
      return stored!;
    }

    before(async function () {
      this.timeout(20 * 60_000); // a cold machine builds kube-apiserver first (~7 minutes)
      [kube, reg] = await Promise.all([startKubeApiServer({ version }), startRegistry()]);
      useServer(kube);
      key = generateTestKey('ecdsa-p256');
      const a = await reg.pushRandomImage('myorg/api', '1.0', { seed: 'audit-api' });
      await signImage(reg, reg.host, 'myorg/api', a.digest, [key]);
      await reg.pushRandomImage('myorg/worker', '2.0', { seed: 'audit-worker' });
      await reg.pushRandomImage('myorg/experimental', '0.1', { seed: 'audit-exp' });
      digest = a.digest;
      signed = `${reg.host}/myorg/api:1.0`;
      pinned = `${signed}@${a.digest}`;
      unsigned = `${reg.host}/myorg/worker:2.0`;
      experimental = `${reg.host}/myorg/experimental:0.1`;
      configFile = writeTempConfig(`${policyConfig(reg, key)}  - pattern: "${reg.host}/myorg/experimental*"
    validator: myorg
    with:
      verifyInTransparencyLog: false
      enforcement: detect
`);
      api = KubernetesObjectApi.makeApiClient(kube.kc);

      // No webhook is registered: everything below is stored as it is, as in a cluster before Imprimatur.
      await ensureNamespace(kube.kc, 'shop');
      await ensureNamespace(kube.kc, 'staging', { 'imprimatur.dev/webhook': 'detect' });
      await ensureNamespace(kube.kc, 'opted-out', { 'imprimatur.dev/webhook': 'ignore' });
      await ensureNamespace(kube.kc, 'kube-system');
      await ensureNamespace(kube.kc, 'imprimatur');
      await ensureNamespace(kube.kc, 'clean');

      const web = await create(obj('Deployment', 'web', 'shop', signed));
      const webRs = await create(obj('ReplicaSet', 'web-5d8f', 'shop', pinned, web));
      await create(obj('Pod', 'web-5d8f-a1', 'shop', pinned, webRs));
      await create(obj('Pod', 'web-5d8f-b2', 'shop', pinned, webRs));
      const worker = await create(obj('Deployment', 'worker', 'shop', unsigned));
      const workerRs = await create(obj('ReplicaSet', 'worker-77c9', 'shop', unsigned, worker));
      await create(obj('Pod', 'worker-77c9-x1', 'shop', unsigned, workerRs));
      const nightly = await create(obj('CronJob', 'nightly', 'shop', PAUSE));
      const job = await create(obj('Job', 'nightly-2760', 'shop', PAUSE, nightly));
      await create(obj('Pod', 'nightly-2760-q', 'shop', PAUSE, job));
      await create(obj('Pod', 'debug', 'shop', [PAUSE, FOREIGN]));
      await create(obj('Pod', 'exp', 'shop', experimental));
      const db = await create(obj('StatefulSet', 'db', 'shop', signed));
      await create(obj('Pod', 'db-0', 'shop', pinned, db));
      await create(obj('DaemonSet', 'agent', 'shop', [PAUSE]));
      await create(obj('ReplicationController', 'legacy', 'shop', PAUSE));
      await create(obj('Deployment', 'canary', 'staging', unsigned));
      await create(obj('Pod', 'hack', 'opted-out', unsigned));
      await create(obj('Pod', 'kube-proxy', 'kube-system', unsigned));
      await create(obj('Pod', 'imprimatur-0', 'imprimatur', unsigned));
      await create(obj('Deployment', 'site', 'clean', signed));
    });

    after(async () => {
      await reg?.stop();
      await kube?.stop();
    });

    describe('--output json', () => {
      let run: Run;
      let report: any;
      before(async () => {
        run = await cli('--config', configFile, '--kubeconfig', kube.kubeconfigPath, '--output', 'json', '--concurrency', '3');
        report = JSON.parse(run.stdout);
      });

      it('exits 1 because something would be denied, with progress on stderr', () => {
        expect(run.code, run.stderr).to.equal(1);
        // the API server's own default, kube-public and kube-node-lease are covered too, as in a real cluster
        expect(run.stderr).to.contain('9 namespace(s), 6 covered by the webhook').and.contain('listed 7 Pod(s) in covered namespaces');
        expect(run.stderr).to.contain('verifying 6 distinct image(s): 0/6').and.contain('verifying 6 distinct image(s): 6/6');
        expect(run.stderr).to.contain('10 workload(s), 6 image(s): 9 admit, 2 warn, 2 deny');
      });

      it('names the report and the config', () => {
        expect(report.apiVersion).to.equal('imprimatur.dev/v1alpha1');
        expect(report.kind).to.equal('AuditReport');
        expect(report.config).to.equal(configFile);
        expect(Date.parse(report.generatedAt)).to.be.closeTo(Date.now(), 60_000);
        expect(report.skippedObjects).to.deep.equal([]);
      });

      it('lists every namespace with its coverage: kube-system, the release namespace and ignore-labelled ones are not audited', () => {
        const byName = Object.fromEntries(report.namespaces.map((n: any) => [n.name, n]));
        expect(byName.shop).to.deep.equal({ name: 'shop', covered: true, mode: 'enforce' });
        expect(byName.clean).to.deep.equal({ name: 'clean', covered: true, mode: 'enforce' });
        expect(byName.default).to.deep.equal({ name: 'default', covered: true, mode: 'enforce' });
        expect(report.namespaces.map((n: any) => n.name)).to.deep.equal(['clean', 'default', 'imprimatur', 'kube-node-lease', 'kube-public', 'kube-system', 'opted-out', 'shop', 'staging']);
        expect(byName.staging).to.deep.equal({ name: 'staging', covered: true, mode: 'detect' });
        expect(byName['opted-out']).to.deep.equal({ name: 'opted-out', covered: false, reason: 'labelled imprimatur.dev/webhook=ignore' });
        expect(byName['kube-system']).to.deep.equal({ name: 'kube-system', covered: false, reason: 'kube-system is never sent to the webhook' });
        expect(byName.imprimatur).to.deep.equal({ name: 'imprimatur', covered: false, reason: 'excluded from the webhook (kube-system, imprimatur)' });
        expect(report.findings.map((f: any) => f.namespace)).to.not.include.members(['opted-out', 'kube-system', 'imprimatur']);
      });

      it('folds owners: one row per workload and image, the objects that carry it listed', () => {
        const rows = report.findings.map((f: any) => `${f.namespace} ${f.kind}/${f.name} ${f.image} ${f.verdict}`);
        // sorted by namespace, kind, name; a workload's own images first, then its children's, in container order
        expect(rows).to.deep.equal([
          `clean Deployment/site ${signed} admit`,
          `shop CronJob/nightly ${PAUSE} admit`,
          `shop DaemonSet/agent ${PAUSE} admit`,
          `shop Deployment/web ${signed} admit`,
          `shop Deployment/web ${pinned} admit`,
          `shop Deployment/worker ${unsigned} deny`,
          `shop Pod/debug ${PAUSE} admit`,
          `shop Pod/debug ${FOREIGN} deny`,
          `shop Pod/exp ${experimental} warn`,
          `shop ReplicationController/legacy ${PAUSE} admit`,
          `shop StatefulSet/db ${signed} admit`,
          `shop StatefulSet/db ${pinned} admit`,
          `staging Deployment/canary ${unsigned} warn`,
        ]);
        const web = report.findings.filter((f: any) => f.name === 'web');
        expect(web.find((f: any) => f.image === signed).objects).to.deep.equal(['Deployment/web']);
        expect(web.find((f: any) => f.image === pinned).objects).to.deep.equal(['ReplicaSet/web-5d8f', 'Pod/web-5d8f-a1', 'Pod/web-5d8f-b2']);
        const worker = report.findings.find((f: any) => f.name === 'worker');
        expect(worker.objects).to.deep.equal(['Deployment/worker', 'ReplicaSet/worker-77c9', 'Pod/worker-77c9-x1']);
        expect(report.findings.find((f: any) => f.name === 'nightly').objects).to.deep.equal(['CronJob/nightly', 'Job/nightly-2760', 'Pod/nightly-2760-q']);
      });

      it('gives each finding the workload identity, rule, validator, enforcement, reason and digest', () => {
        const find = (name: string, image: string) => report.findings.find((f: any) => f.name === name && f.image === image);
        expect(find('web', pinned)).to.deep.equal({
          namespace: 'shop', apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: uids['shop/Deployment/web'],
          image: pinned, objects: ['ReplicaSet/web-5d8f', 'Pod/web-5d8f-a1', 'Pod/web-5d8f-b2'], normalized: pinned,
          rule: `${reg.host}/myorg/*`, validator: 'myorg', validatorType: 'cosign', verdict: 'admit',
          reason: find('web', pinned).reason, digest, enforcement: 'enforce', enforcementSource: 'default',
        });
        expect(find('web', pinned).reason).to.equal(`${pinned} (${digest}) is signed by: default (via classic .sig-tag signature)`);
        const worker = find('worker', unsigned);
        expect(worker).to.include({ uid: uids['shop/Deployment/worker'], rule: `${reg.host}/myorg/*`, validator: 'myorg', verdict: 'deny', code: 'NO_SIGNATURES', enforcement: 'enforce', enforcementSource: 'default' });
        expect(worker.reason).to.match(/no signatures found/);
        expect(worker.digest).to.equal(undefined);
        expect(find('debug', FOREIGN)).to.include({ apiVersion: 'v1', kind: 'Pod', rule: '*:*', validator: 'deny', validatorType: 'static', verdict: 'deny', code: 'STATIC_DENY', reason: 'denied by static validator "deny"' });
        expect(find('debug', PAUSE)).to.include({ rule: 'registry.k8s.io/*', validator: 'allow', verdict: 'admit', enforcementSource: 'default' });
        expect(find('exp', experimental)).to.include({ rule: `${reg.host}/myorg/experimental*`, verdict: 'warn', enforcement: 'detect', enforcementSource: 'rule', code: 'NO_SIGNATURES' });
        expect(find('canary', unsigned)).to.include({ namespace: 'staging', verdict: 'warn', enforcement: 'detect', enforcementSource: 'namespace', uid: uids['staging/Deployment/canary'] });
        expect(find('nightly', PAUSE).apiVersion).to.equal(kube.minor >= 21 ? 'batch/v1' : 'batch/v1beta1');
      });

      it('summarises findings and workloads', () => {
        expect(report.summary).to.deep.equal({ namespaces: 6, workloads: 10, images: 6, admit: 9, warn: 2, deny: 2, workloadsDenied: 2, workloadsWarned: 2 });
      });
    });

    it('each distinct image is verified once, however many objects carry it', async () => {
      const config = parseConfig(readFileSync(configFile, 'utf8'), configFile);
      const verified: string[] = [];
      const engine = new Engine(config, { logger: silentLogger, observer: { verification: (e) => verified.push(`${e.validator}:${e.result}`) } });
      try {
        const result = await runAudit({ engine, cluster: await kubernetesClusterSource(kube.kc), selection: defaultSelection('imprimatur'), logger: silentLogger, concurrency: 2 });
        expect([...result.decisions.keys()].sort()).to.deep.equal([PAUSE, FOREIGN, signed, pinned, unsigned, experimental].sort());
        expect(verified, 'one verification per distinct image').to.have.length(6);
        expect(verified.filter((v) => v === 'myorg:admitted')).to.have.length(2);
      } finally {
        await engine.close();
      }
    });

    it('--output table: one aligned row per workload and image, then the summary', async () => {
      const run = await cli('--config', configFile, '--kubeconfig', kube.kubeconfigPath, '-n', 'shop');
      expect(run.code).to.equal(1);
      const lines = run.stdout.split('\n');
      expect(lines[0]).to.match(/^NAMESPACE\s+WORKLOAD\s+IMAGE\s+RULE\s+VALIDATOR\s+MODE\s+VERDICT\s+REASON$/);
      const worker = lines.find((l) => l.includes('Deployment/worker'))!;
      expect(worker).to.match(new RegExp(`^shop\\s+Deployment/worker\\s+${escape(unsigned)}\\s+${escape(reg.host)}/myorg/\\*\\s+myorg\\s+enforce\\s+DENY\\s+no signatures found`));
      expect(lines.find((l) => l.includes('Pod/exp'))).to.match(/detect \(rule\)\s+warn \(detection\)/);
      expect(run.stdout).to.contain('Audited 8 workload(s) in 1 namespace(s)').and.contain('8 would be admitted, 1 admitted with a warning (detection), 2 would be denied');
      expect(run.stdout).to.not.contain('staging');
      // the column starts line up
      const header = lines[0]!;
      expect(worker.indexOf('Deployment/worker')).to.equal(header.indexOf('WORKLOAD'));
    });

    it('exits 0 when nothing would be denied', async () => {
      const run = await cli('--config', configFile, '--kubeconfig', kube.kubeconfigPath, '-n', 'clean', '-o', 'json');
      expect(run.code, run.stderr).to.equal(0);
      expect(JSON.parse(run.stdout).summary).to.include({ workloads: 1, admit: 1, deny: 0 });
    });

    it('a namespace the webhook does not cover: exit 0, nothing audited, stderr says why', async () => {
      const run = await cli('--config', configFile, '--kubeconfig', kube.kubeconfigPath, '-n', 'opted-out', '-o', 'json');
      expect(run.code).to.equal(0);
      expect(JSON.parse(run.stdout).findings).to.deep.equal([]);
      expect(run.stderr).to.contain('namespace opted-out is not covered by the webhook (labelled imprimatur.dev/webhook=ignore): nothing in it would be denied');
    });

    it('a values file with kubernetes.webhook.excludedNamespaces and namespacedValidation validate selects like the chart', async () => {
      const values = writeTempConfig(yaml.dump({
        kubernetes: { webhook: { excludedNamespaces: ['shop'] } },
        application: { ...(yaml.load(readFileSync(configFile, 'utf8')) as object), features: { namespacedValidation: { mode: 'validate' } } },
      }), 'values.yaml');
      const run = await cli('--config', values, '--kubeconfig', kube.kubeconfigPath, '-o', 'json', '--release-namespace', 'security');
      const report = JSON.parse(run.stdout);
      const byName = Object.fromEntries(report.namespaces.map((n: any) => [n.name, n]));
      expect(byName.shop.reason).to.equal('excluded from the webhook (kube-system, security, shop)');
      expect(byName.clean.reason).to.equal('not labelled imprimatur.dev/webhook=validate (namespacedValidation.mode is validate)');
      expect(byName.imprimatur.reason).to.equal('not labelled imprimatur.dev/webhook=validate (namespacedValidation.mode is validate)');
      expect(byName.staging).to.include({ covered: true, mode: 'detect' });
      expect(report.findings.map((f: any) => `${f.namespace}/${f.name}`)).to.deep.equal(['staging/canary']);
      expect(run.code, 'only a warning: exit 0').to.equal(0);
    });

    describe('--output policyreport', () => {
      let docs: any[];
      before(async () => {
        const run = await cli('--config', configFile, '--kubeconfig', kube.kubeconfigPath, '--output', 'policyreport');
        expect(run.code, run.stderr).to.equal(1);
        docs = yaml.loadAll(run.stdout) as any[];
      });

      it('writes one wgpolicyk8s.io/v1alpha2 PolicyReport per covered namespace with workloads', () => {
        expect(docs.map((d) => `${d.apiVersion} ${d.kind} ${d.metadata.namespace}/${d.metadata.name}`)).to.deep.equal([
          'wgpolicyk8s.io/v1alpha2 PolicyReport clean/imprimatur',
          'wgpolicyk8s.io/v1alpha2 PolicyReport shop/imprimatur',
          'wgpolicyk8s.io/v1alpha2 PolicyReport staging/imprimatur',
        ]);
        const shop = docs[1];
        expect(shop.metadata.labels).to.deep.equal({ 'app.kubernetes.io/managed-by': 'imprimatur' });
        expect(shop.metadata.annotations['imprimatur.dev/namespace-mode']).to.equal('enforce');
        expect(docs[2].metadata.annotations['imprimatur.dev/namespace-mode']).to.equal('detect');
        expect(shop.summary).to.deep.equal({ pass: 8, fail: 2, warn: 1, error: 0, skip: 0 });
        expect(docs[2].summary).to.deep.equal({ pass: 0, fail: 0, warn: 1, error: 0, skip: 0 });
      });

      it('maps each finding to a result: pass, fail (scored), warn (not scored), with the resource and properties', () => {
        const shop = docs[1];
        const worker = shop.results.find((r: any) => r.resources[0].name === 'worker');
        expect(worker).to.deep.equal({
          source: 'imprimatur', policy: 'image-signatures', rule: `${reg.host}/myorg/*`, category: 'Supply chain: image signatures',
          severity: 'high', timestamp: worker.timestamp, result: 'fail', scored: true,
          message: `image "${unsigned}": ${worker.message.slice(`image "${unsigned}": `.length)}`,
          resources: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'worker', namespace: 'shop', uid: uids['shop/Deployment/worker'] }],
          properties: {
            image: unsigned, verdict: 'deny', enforcement: 'enforce', enforcementSource: 'default',
            objects: 'Deployment/worker, ReplicaSet/worker-77c9, Pod/worker-77c9-x1', normalized: unsigned, validator: 'myorg',
            validatorType: 'cosign', code: 'NO_SIGNATURES',
          },
        });
        expect(worker.message).to.match(/no signatures found/);
        expect(worker.timestamp.nanos).to.equal(0);
        expect(worker.timestamp.seconds).to.be.closeTo(Date.now() / 1000, 120);
        const exp = shop.results.find((r: any) => r.resources[0].name === 'exp');
        expect(exp).to.include({ result: 'warn', scored: false, rule: `${reg.host}/myorg/experimental*` });
        expect(exp.properties).to.include({ verdict: 'warn', enforcement: 'detect', enforcementSource: 'rule' });
        const web = shop.results.find((r: any) => r.resources[0].name === 'web' && r.properties.image === pinned);
        expect(web).to.include({ result: 'pass', scored: true });
        expect(web.properties.digest).to.equal(digest);
        const debug = shop.results.find((r: any) => r.resources[0].name === 'debug' && r.properties.image === FOREIGN);
        expect(debug).to.include({ result: 'fail', rule: '*:*', message: `image "${FOREIGN}": denied by static validator "deny"` });
      });

      it('the API server accepts them under the chart\'s PolicyReport CRD and stores every field', async () => {
        const crd = yaml.load(readFileSync(join(CHART_DIR, 'files', 'policyreport-crd.yaml'), 'utf8')) as KubernetesObject;
        await applyManifests(kube.kc, [crd]);
        await waitForResource(kube, 'wgpolicyk8s.io/v1alpha2', 'policyreports');
        const stored = await applyManifests(kube.kc, docs);
        for (const [i, doc] of docs.entries()) {
          const back = await api.read({ apiVersion: doc.apiVersion, kind: 'PolicyReport', metadata: { name: doc.metadata.name, namespace: doc.metadata.namespace } }) as any;
          expect(back.metadata.uid).to.equal(stored[i]!.metadata!.uid);
          expect(back.summary).to.deep.equal(doc.summary);
          expect(back.results).to.deep.equal(doc.results);
        }
        // A second run replaces them in place (kubectl apply semantics).
        const again = await applyManifests(kube.kc, docs);
        expect(again.map((o) => o.metadata!.uid)).to.deep.equal(stored.map((o) => o.metadata!.uid));
      });
    });

    describe('errors exit 2', () => {
      it('a kubeconfig that does not exist', async () => {
        const run = await cli('--config', configFile, '--kubeconfig', '/nonexistent/kubeconfig');
        expect(run.code).to.equal(2);
        expect(run.stderr).to.contain('cannot load the kubeconfig /nonexistent/kubeconfig');
      });

      it('an API server that does not answer', async () => {
        const port = await freePort();
        const file = writeTempConfig(kubeconfigYaml(`https://127.0.0.1:${port}`, kube.caPem, kube.token), 'kubeconfig');
        const run = await cli('--config', configFile, '--kubeconfig', file, '-o', 'json');
        expect(run.code).to.equal(2);
        expect(run.stdout).to.equal('');
        expect(run.stderr).to.match(new RegExp(`imprimatur audit failed: cannot list namespaces: the API server https://127\\.0\\.0\\.1:${port} is not reachable \\(ECONNREFUSED\\)`));
      });

      it('a user without the right to list workloads', async () => {
        // The admin impersonates a user without any role (kubeconfig `as:`).
        const limited = kubeconfigYaml(kube.url, kube.caPem, kube.token).replace('    token:', '    as: nobody\n    token:');
        const file = writeTempConfig(limited, 'kubeconfig');
        const run = await cli('--config', configFile, '--kubeconfig', file);
        expect(run.code).to.equal(2);
        expect(run.stderr).to.match(/cannot list namespaces: HTTP 403: namespaces is forbidden: User "nobody" cannot list resource "namespaces"/);
        expect(run.stderr).to.contain('docs/audit.md');
      });

      it('a broken config or bad arguments', async () => {
        expect((await cli('--config', '/nonexistent.yaml')).code).to.equal(2);
        expect((await cli('--output', 'xml')).stderr).to.contain('--output must be one of table, json, policyreport');
        expect((await cli('--concurrency', '0')).code).to.equal(2);
        expect((await cli('-n', 'a', '--all-namespaces')).code).to.equal(2);
      });
    });
  });

  function escape(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }

  async function waitForResource(kube: KubeApiServer, apiVersion: string, plural: string): Promise<void> {
    const api = KubernetesObjectApi.makeApiClient(kube.kc);
    const end = Date.now() + 15_000;
    for (;;) {
      try {
        await api.list(apiVersion, 'PolicyReport');
        return;
      } catch (err) {
        if (Date.now() > end) throw new Error(`${plural}.${apiVersion} never became available: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}
