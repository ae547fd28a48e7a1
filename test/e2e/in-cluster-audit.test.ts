/**
 * The webhook's own cluster features against a real kube-apiserver (v1.20.2 and the current release): the in-cluster audit (lease, PolicyReports
 * kept current, imprimatur_audit_* metrics, images that stop verifying) and Kubernetes Events for denials.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { startClusterFeatures, type ClusterFeatures } from '../../src/server/cluster-features.js';
import { EventRecorder, kubernetesEventWriter, type EventOutcome } from '../../src/kubernetes/events.js';
import { silentLogger } from '../../src/log.js';
import { capturingLogger } from '../cache/log-capture.js';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { CHART_DIR } from '../harness/helm.js';
import { applyManifests, deleteManifests, ensureNamespace, startKubeApiServer, KUBE_VERSIONS, type KubeApiServer } from '../harness/kube.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import {
  policyConfig, rawClient, refusal, registerWebhook, switchConfig, useServer, waitUntilWebhookActive, workload,
} from './helpers.js';

function obj(kind: string, name: string, ns: string, image: string | string[], owner?: KubernetesObject): KubernetesObject {
  const o = workload(kind, name, image);
  o.metadata!.namespace = ns;
  if (owner) o.metadata!.ownerReferences = [{ apiVersion: owner.apiVersion!, kind: owner.kind!, name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true }];
  return o;
}

/** The value of one series in a Prometheus exposition, or undefined. */
function series(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[2]);
  }
  return undefined;
}

for (const version of KUBE_VERSIONS) {
  describe(`e2e: in-cluster audit and denial Events against a real kube-apiserver (kube-apiserver ${version})`, function () {
    this.timeout(120_000);
    let kube: KubeApiServer;
    let reg: TestRegistry;
    let key: TestKey;
    let hook: TestWebhook;
    let api: KubernetesObjectApi;
    let signed: string;
    let unsigned: string;
    let enforcing: string;
    let features: ClusterFeatures;
    const logs = capturingLogger();

    const report = async (ns: string): Promise<any | undefined> => {
      try {
        return await api.read({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', metadata: { name: 'imprimatur', namespace: ns } });
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }
    };
    const scrape = async () => (await hook.post(undefined, { method: 'GET', path: '/metrics' })).text;

    before(async function () {
      this.timeout(20 * 60_000); // a cold machine builds kube-apiserver first (~7 minutes)
      [kube, reg] = await Promise.all([startKubeApiServer({ version }), startRegistry()]);
      useServer(kube);
      key = generateTestKey('ecdsa-p256');
      const a = await reg.pushRandomImage('myorg/api', '1.0', { seed: 'incluster-api' });
      await signImage(reg, reg.host, 'myorg/api', a.digest, [key]);
      await reg.pushRandomImage('myorg/worker', '2.0', { seed: 'incluster-worker' });
      signed = `${reg.host}/myorg/api:1.0`;
      unsigned = `${reg.host}/myorg/worker:2.0`;
      api = KubernetesObjectApi.makeApiClient(kube.kc);
      for (const ns of ['shop', 'kube-system', 'imprimatur', 'e2e']) await ensureNamespace(kube.kc, ns);
      await ensureNamespace(kube.kc, 'staging', { 'imprimatur.dev/webhook': 'detect' });
      await ensureNamespace(kube.kc, 'lab', { 'imprimatur.dev/webhook': 'ignore' });
      const [web] = await applyManifests(kube.kc, [obj('Deployment', 'web', 'shop', signed)]);
      await applyManifests(kube.kc, [obj('ReplicaSet', 'web-1', 'shop', signed, web)]);
      await applyManifests(kube.kc, [
        obj('Deployment', 'worker', 'shop', unsigned), obj('Deployment', 'canary', 'staging', unsigned),
        obj('Pod', 'hack', 'lab', unsigned), obj('Pod', 'proxy', 'kube-system', unsigned),
      ]);
      await applyManifests(kube.kc, [yaml.load(readFileSync(join(CHART_DIR, 'files', 'policyreport-crd.yaml'), 'utf8')) as KubernetesObject]);
      // A report of another tool in the same namespace must survive Imprimatur's writes.
      for (let i = 0; ; i++) {
        try {
          await applyManifests(kube.kc, [{ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', metadata: { name: 'other-tool', namespace: 'shop' }, results: [] } as KubernetesObject]);
          break;
        } catch (err) {
          if (i > 60) throw err;
          await new Promise((r) => setTimeout(r, 250)); // the CRD becomes servable a moment after it is created
        }
      }

      enforcing = policyConfig(reg, key);
      hook = await startWebhook(enforcing, { logger: logs.logger });
      features = await startClusterFeatures({
        kubeconfig: kube.kubeconfigPath,
        events: true,
        audit: { intervalSeconds: 3600, firstRunMs: 3_600_000, concurrency: 2, policyReports: true, releaseNamespace: 'imprimatur', excludedNamespaces: [], allowNamespaceDetection: true },
        runtime: hook.server.runtime,
        metrics: hook.server.metrics,
        logger: logs.logger,
        identity: 'replica-a',
      });
      expect(await features.lease!.attempt(), 'replica-a takes the lease').to.equal(true);
    });

    after(async () => {
      await features?.close();
      await hook?.close();
      await reg?.stop();
      await kube?.stop();
    });

    describe('in-cluster audit', () => {
      it('the lease holder audits; another replica does not (and says so in imprimatur_audit_leader)', async () => {
        const other = await startWebhook(enforcing);
        const b = await startClusterFeatures({
          kubeconfig: kube.kubeconfigPath, events: false,
          audit: { intervalSeconds: 3600, firstRunMs: 3_600_000, concurrency: 2, policyReports: true, releaseNamespace: 'imprimatur', excludedNamespaces: [], allowNamespaceDetection: true },
          runtime: other.server.runtime, metrics: other.server.metrics, logger: silentLogger, identity: 'replica-b',
        });
        try {
          expect(await b.lease!.attempt()).to.equal(false);
          expect(await b.audit!.runOnce()).to.equal(undefined);
          expect(series((await other.post(undefined, { method: 'GET', path: '/metrics' })).text, 'imprimatur_audit_leader')).to.equal(0);
          expect(series((await other.post(undefined, { method: 'GET', path: '/metrics' })).text, 'imprimatur_audit_runs_total', { result: 'success' })).to.equal(0);
        } finally {
          await b.close();
          await other.close();
        }
      });

      it('writes one PolicyReport per covered namespace with workloads, and none elsewhere', async () => {
        const result = await features.audit!.runOnce();
        expect(result?.summary).to.include({ workloads: 3, deny: 1, warn: 1 });
        const shop = await report('shop');
        expect(shop.metadata.labels).to.deep.equal({ 'app.kubernetes.io/managed-by': 'imprimatur' });
        // web's Deployment and ReplicaSet carry the same image: one workload, one finding
        expect(shop.summary).to.deep.equal({ pass: 1, fail: 1, warn: 0, error: 0, skip: 0 });
        const worker = shop.results.find((r: any) => r.resources[0].name === 'worker');
        expect(worker).to.include({ source: 'imprimatur', policy: 'image-signatures', rule: `${reg.host}/myorg/*`, result: 'fail', scored: true });
        expect(worker.message).to.match(/no signatures found/);
        expect((await report('staging')).summary).to.deep.equal({ pass: 0, fail: 0, warn: 1, error: 0, skip: 0 });
        for (const ns of ['lab', 'kube-system', 'imprimatur', 'default', 'e2e']) expect(await report(ns), ns).to.equal(undefined);
        expect(await api.read({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', metadata: { name: 'other-tool', namespace: 'shop' } })).to.have.nested.property('metadata.name', 'other-tool');
      });

      it('exports imprimatur_audit_* for a dashboard', async () => {
        const text = await scrape();
        expect(series(text, 'imprimatur_audit_leader')).to.equal(1);
        expect(series(text, 'imprimatur_audit_runs_total', { result: 'success' })).to.equal(1);
        expect(series(text, 'imprimatur_audit_workloads', { namespace: 'shop', verdict: 'deny' })).to.equal(1);
        expect(series(text, 'imprimatur_audit_workloads', { namespace: 'shop', verdict: 'admit' })).to.equal(1);
        expect(series(text, 'imprimatur_audit_workloads', { namespace: 'staging', verdict: 'warn' })).to.equal(1);
        expect(series(text, 'imprimatur_audit_findings', { namespace: 'shop', verdict: 'admit' })).to.equal(1);
        expect(series(text, 'imprimatur_audit_findings', { namespace: 'shop', verdict: 'deny' })).to.equal(1);
        expect(series(text, 'imprimatur_audit_images', { result: 'verified' })).to.equal(1);
        expect(series(text, 'imprimatur_audit_images', { result: 'failed' })).to.equal(1);
        expect(series(text, 'imprimatur_audit_failing_images', { namespace: 'shop', image: unsigned, verdict: 'deny', code: 'NO_SIGNATURES', validator: 'myorg' })).to.equal(1);
        expect(series(text, 'imprimatur_audit_failing_images', { namespace: 'staging', image: unsigned, verdict: 'warn' })).to.equal(1);
        expect(series(text, 'imprimatur_audit_policy_report_writes_total', { result: 'written' })).to.equal(2);
        expect(series(text, 'imprimatur_audit_last_success_timestamp_seconds')).to.be.closeTo(Date.now() / 1000, 60);
        expect(series(text, 'imprimatur_audit_duration_seconds')).to.be.greaterThan(0);
      });

      it('keeps reports current: a removed workload leaves the report, an emptied namespace loses its report', async () => {
        await deleteManifests(kube.kc, [obj('Deployment', 'worker', 'shop', unsigned), obj('Deployment', 'canary', 'staging', unsigned)]);
        await features.audit!.runOnce();
        const shop = await report('shop');
        expect(shop.summary).to.deep.equal({ pass: 1, fail: 0, warn: 0, error: 0, skip: 0 });
        expect(shop.results.map((r: any) => r.resources[0].name)).to.not.include('worker');
        expect(await report('staging')).to.equal(undefined);
        const text = await scrape();
        expect(series(text, 'imprimatur_audit_workloads', { namespace: 'shop', verdict: 'deny' })).to.equal(0);
        expect(series(text, 'imprimatur_audit_failing_images', { namespace: 'shop', image: unsigned })).to.equal(undefined);
        expect(series(text, 'imprimatur_audit_policy_report_writes_total', { result: 'deleted' })).to.equal(1);
      });

      it('a running image that stops verifying (the key was rotated out) is logged and counted', async () => {
        const rotated = generateTestKey('ecdsa-p256');
        switchConfig(hook, policyConfig(reg, rotated));
        try {
          const result = await features.audit!.runOnce();
          expect(result?.summary.deny).to.equal(1);
          const text = await scrape();
          expect(series(text, 'imprimatur_audit_stopped_verifying_total')).to.equal(1);
          const line = logs.lines.find((l) => String(l.msg).startsWith(`running image ${signed} verified on the previous audit and fails now`)) as Record<string, any>;
          expect(line, 'warning logged').to.not.equal(undefined);
          expect(line.workloads).to.deep.equal(['shop/Deployment/web']);
          expect((await report('shop')).summary.fail).to.equal(1);
        } finally {
          switchConfig(hook, enforcing);
        }
      });
    });

    describe('Kubernetes Events for denials', () => {
      let raw: ReturnType<typeof rawClient>;
      before(async () => {
        raw = rawClient(kube);
        await registerWebhook(kube, hook);
        await waitUntilWebhookActive(kube, unsigned);
      });
      after(async () => { await raw?.close(); });

      const eventsFor = async (ns: string, name: string): Promise<any[]> => {
        const list = await raw.send('GET', `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name%3D${name}`);
        return list.json.items;
      };
      const until = async (what: () => Promise<boolean>, label: string) => {
        const end = Date.now() + 10_000;
        while (!(await what())) {
          if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };

      it('a denial creates a Warning Event on the namespace, with the reason kubectl showed', async () => {
        const s = await refusal(api.create(obj('Deployment', 'blocked', 'shop', unsigned)));
        expect(s.code).to.equal(403);
        await features.events!.flush();
        const [ev, ...more] = await eventsFor('shop', 'blocked');
        expect(more).to.deep.equal([]);
        expect(ev).to.deep.include({ type: 'Warning', reason: 'ImprimaturDenied', count: 1, reportingComponent: 'imprimatur.dev/webhook', reportingInstance: 'replica-a' });
        expect(ev.involvedObject).to.deep.equal({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'blocked', namespace: 'shop' });
        expect(ev.message).to.equal(s.message.replace(/^admission webhook "[^"]+" denied the request: /, ''));
        expect(ev.source).to.deep.equal({ component: 'imprimatur', host: 'replica-a' });
      });

      it('repeated denials of the same object are aggregated into one Event (count), not one Event each', async () => {
        for (let i = 0; i < 4; i++) await refusal(api.create(obj('Deployment', 'again', 'shop', unsigned)));
        await features.events!.flush();
        expect(await eventsFor('shop', 'again')).to.have.length(1);
        const text = await scrape();
        expect(series(text, 'imprimatur_kubernetes_events_total', { outcome: 'aggregated' })).to.equal(3);
      });

      it('an UPDATE denial names the stored object by UID; a detection namespace gets ImprimaturWouldDeny', async () => {
        const [stored] = await applyManifests(kube.kc, [obj('Deployment', 'site', 'staging', signed)]);
        const patch = { ...obj('Deployment', 'site', 'staging', unsigned) };
        const res = await api.patch(patch, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
        expect(res.metadata?.name).to.equal('site');
        await features.events!.flush();
        const [ev] = await eventsFor('staging', 'site');
        expect(ev).to.deep.include({ reason: 'ImprimaturWouldDeny', type: 'Warning' });
        expect(ev.involvedObject.uid).to.equal(stored!.metadata!.uid);
        expect(ev.message).to.match(/^Imprimatur would deny Deployment staging\/site: image /);
      });

      it('dry-run requests and admissions create no Event', async () => {
        await refusal(api.create(obj('Deployment', 'dry', 'shop', unsigned), undefined, 'All'));
        await api.create(obj('Deployment', 'fine', 'shop', signed));
        await features.events!.flush();
        expect(await eventsFor('shop', 'dry')).to.deep.equal([]);
        expect(await eventsFor('shop', 'fine')).to.deep.equal([]);
      });

      it('the recorder: per-namespace burst, then dropped and counted; aggregated counts patched onto the Event', async () => {
        let now = 1_800_000_000_000;
        const outcomes: EventOutcome[] = [];
        const recorder = new EventRecorder({ writer: kubernetesEventWriter(kube.kc), logger: silentLogger, now: () => now, burst: 3, perNamespacePerMinute: 6, patchIntervalMs: 50, onOutcome: (o) => outcomes.push(o) });
        try {
          const deny = (name: string) => recorder.record({ object: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name }, reason: 'ImprimaturDenied', message: `denied ${name}` });
          for (let i = 0; i < 5; i++) deny(`flood-${i}`);
          await recorder.flush();
          expect(outcomes.filter((o) => o === 'created')).to.have.length(3);
          expect(outcomes.filter((o) => o === 'dropped')).to.have.length(2);
          now += 10_000; // one token back (6 per minute)
          deny('flood-4');
          deny('flood-0');
          deny('flood-0');
          await new Promise((r) => setTimeout(r, 200));
          await recorder.flush();
          expect(await eventsFor('shop', 'flood-4')).to.have.length(1);
          await until(async () => (await eventsFor('shop', 'flood-0'))[0]?.count === 3, 'the count patch');
          const [ev] = await eventsFor('shop', 'flood-0');
          expect(Date.parse(ev.lastTimestamp)).to.equal(now - (now % 1000));
        } finally {
          await recorder.close();
        }
      });
    });
  });
}
