/**
 * End to end: a real kube-apiserver (v1.20.2 and the current release) calls the real Imprimatur webhook through the chart's own
 * MutatingWebhookConfiguration (retargeted to https://127.0.0.1:<port>/mutate, the webhook's certificate as
 * caBundle). Images live in a real docker-registry and carry real cosign-format signatures. Every object
 * is created through the API server and read back from it.
 */
import { expect } from 'chai';
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { findObject, renderChart } from '../harness/helm.js';
import { ensureNamespace, startKubeApiServer, KUBE_VERSIONS, type KubeApiServer } from '../harness/kube.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import {
  apiStatus, header, NS, pod, policyConfig, rawClient, refusal, registerWebhook, STATIC_ALLOWED, storedImages, switchConfig, useServer, waitUntilWebhookActive, warnings, webhookCaPem, workload,
} from './helpers.js';

const KINDS = ['Pod', 'Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob', 'ReplicationController'];

for (const version of KUBE_VERSIONS) {
  describe(`e2e: kube-apiserver → MutatingWebhookConfiguration → Imprimatur (kube-apiserver ${version})`, function () {
    this.timeout(60_000);
    let kube: KubeApiServer;
    let reg: TestRegistry;
    let key: TestKey;
    let hook: TestWebhook | undefined;
    let api: KubernetesObjectApi;
    let raw: ReturnType<typeof rawClient>;
    let signed: string;
    let pinned: string;
    let unsigned: string;
    let enforcing: string;

    before(async function () {
      this.timeout(20 * 60_000); // a cold machine builds kube-apiserver first (~7 minutes)
      [kube, reg] = await Promise.all([startKubeApiServer({ version }), startRegistry()]);
      useServer(kube);
      key = generateTestKey('ecdsa-p256');
      const a = await reg.pushRandomImage('myorg/api', '1.0', { seed: 'e2e-api' });
      await signImage(reg, reg.host, 'myorg/api', a.digest, [key]);
      await reg.pushRandomImage('myorg/worker', '2.0', { seed: 'e2e-worker' });
      signed = `${reg.host}/myorg/api:1.0`;
      pinned = `${signed}@${a.digest}`;
      unsigned = `${reg.host}/myorg/worker:2.0`;
      enforcing = policyConfig(reg, key);
      hook = await startWebhook(enforcing);
      api = KubernetesObjectApi.makeApiClient(kube.kc);
      raw = rawClient(kube);
      await ensureNamespace(kube.kc, NS);
      await registerWebhook(kube, hook);
      await waitUntilWebhookActive(kube, unsigned);
    });

    after(async () => {
      await raw?.close();
      await hook?.close();
      await reg?.stop();
      await kube?.stop();
    });

    const denialPrefix = (kind: string, name: string) =>
      `Imprimatur denied ${kind} ${NS}/${name}: image "${unsigned}" (rule "${reg.host}/myorg/*", validator "myorg")`;

    async function expectAbsent(o: KubernetesObject): Promise<void> {
      const s = await refusal(api.read(header(o)));
      expect(s.code, `${o.kind} ${o.metadata?.name} must not be stored`).to.equal(404);
    }

    it('is registered with the chart\'s rules, failurePolicy Fail, sideEffects NoneOnDryRun, v1 reviews and the test CA', async () => {
      const chart = findObject(await renderChart({ release: 'imprimatur', namespace: 'imprimatur' }), 'MutatingWebhookConfiguration');
      const stored = await api.read({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: chart.metadata.name } }) as Record<string, any>;
      // One entry per namespace mode: ordinary namespaces → /mutate, namespaces labelled detect → /mutate/detect.
      expect(stored.webhooks.map((w: any) => w.clientConfig.url)).to.deep.equal([`${hook!.url}/mutate`, `${hook!.url}/mutate/detect`]);
      stored.webhooks.forEach((w: any, i: number) => {
        expect(w.clientConfig.url).to.match(/^https:\/\/127\.0\.0\.1:\d+\/mutate(\/detect)?$/);
        expect(Buffer.from(w.clientConfig.caBundle, 'base64').toString()).to.equal(webhookCaPem());
        expect(w.failurePolicy).to.equal('Fail');
        expect(w.sideEffects, 'Events for denials: suppressed on dry runs').to.equal('NoneOnDryRun');
        expect(w.admissionReviewVersions).to.deep.equal(['v1']);
        expect(w.rules).to.deep.equal(chart.webhooks[i].rules);
        expect(w.namespaceSelector).to.deep.equal(chart.webhooks[i].namespaceSelector);
      });
    });

    for (const kind of KINDS) {
      describe(kind, () => {
        it('with a signed image is stored pinned to the verified digest', async () => {
          const o = workload(kind, `${kind.toLowerCase()}-signed`, signed);
          const created = await api.create(o);
          expect(storedImages(created)).to.deep.equal([pinned]);
          const read = await api.read(header(o));
          expect(read.metadata?.uid).to.equal(created.metadata?.uid);
          expect(storedImages(read)).to.deep.equal([pinned]);
        });

        it('with an unsigned image is refused with 403 and Imprimatur\'s message, and not stored', async () => {
          const o = workload(kind, `${kind.toLowerCase()}-unsigned`, unsigned);
          const s = await refusal(api.create(o));
          expect(s.code).to.equal(403);
          expect(s.message).to.contain(denialPrefix(kind, o.metadata!.name!)).and.match(/no signatures found/);
          await expectAbsent(o);
        });

        it('with a statically allowed image is stored unchanged', async () => {
          const o = workload(kind, `${kind.toLowerCase()}-static`, STATIC_ALLOWED);
          const created = await api.create(o);
          expect(storedImages(created)).to.deep.equal([STATIC_ALLOWED]);
          expect(storedImages(await api.read(header(o)))).to.deep.equal([STATIC_ALLOWED]);
        });
      });
    }

    it('a Deployment with a signed and an unsigned image is refused naming only the unsigned one', async () => {
      const o = workload('Deployment', 'mixed', [signed, unsigned, STATIC_ALLOWED]);
      const s = await refusal(api.create(o));
      expect(s.code).to.equal(403);
      expect(s.reason).to.equal('Forbidden');
      expect(s.message).to.contain(denialPrefix('Deployment', 'mixed'));
      expect(s.message).to.not.contain('myorg/api').and.not.contain('registry.k8s.io');
      await expectAbsent(o);
    });

    it('an UPDATE that swaps in an unsigned image is refused; the stored object keeps its pinned image', async () => {
      const o = workload('Deployment', 'updated', signed);
      expect(storedImages(await api.create(o))).to.deep.equal([pinned]);
      const s = await refusal(api.patch({ ...header(o), spec: { template: { spec: { containers: [{ name: 'c0', image: unsigned }] } } } } as KubernetesObject,
        undefined, undefined, undefined, undefined, PatchStrategy.StrategicMergePatch));
      expect(s.code).to.equal(403);
      expect(s.message).to.contain(denialPrefix('Deployment', 'updated'));
      expect(storedImages(await api.read(header(o)))).to.deep.equal([pinned]);
    });

    describe('dryRun=All', () => {
      it('calls the webhook (the returned object is pinned) and stores nothing', async () => {
        const o = pod('dry-signed', signed);
        const returned = await api.create(o, undefined, 'All');
        expect(storedImages(returned)).to.deep.equal([pinned]);
        await expectAbsent(o);
      });

      it('an unsigned image is refused by the webhook and nothing is stored', async () => {
        const o = workload('Deployment', 'dry-unsigned', unsigned);
        const s = await refusal(api.create(o, undefined, 'All'));
        expect(s.code).to.equal(403);
        expect(s.message).to.contain(denialPrefix('Deployment', 'dry-unsigned'));
        await expectAbsent(o);
      });
    });

    describe('detection mode', () => {
      before(() => { switchConfig(hook!, policyConfig(reg, key, { detectionMode: true })); });
      after(() => { switchConfig(hook!, enforcing); });

      it('stores the object, returns the warning in the Warning header and still pins the verified image', async () => {
        const o = pod('detected', [signed, unsigned]);
        const res = await raw.send('POST', `/api/v1/namespaces/${NS}/pods`, o);
        expect(res.status, JSON.stringify(res.json)).to.equal(201);
        const texts = warnings(res.headers.warning);
        expect(texts, `Warning header: ${String(res.headers.warning)}`).to.have.length(1);
        expect(texts[0]!.startsWith(`detection mode: would deny image "${unsigned}" (rule "${reg.host}/myorg/*", validator "myorg"): `), texts[0]).to.equal(true);
        expect(texts[0]).to.match(/no signatures found/);
        expect(storedImages(res.json)).to.deep.equal([pinned, unsigned]);
        const read = await api.read(header(o));
        expect(storedImages(read)).to.deep.equal([pinned, unsigned]);
      });

      it('a Deployment with only an unsigned image is stored unchanged, with the warning', async () => {
        const o = workload('Deployment', 'detected-deploy', unsigned);
        const res = await raw.send('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, o);
        expect(res.status, JSON.stringify(res.json)).to.equal(201);
        expect(warnings(res.headers.warning).join('\n')).to.contain(`would deny image "${unsigned}"`);
        expect(storedImages(await api.read(header(o)))).to.deep.equal([unsigned]);
      });
    });

    describe('finalizers', () => {
      it('removing the finalizer of an object being deleted succeeds although its image is now denied', async () => {
        // Created while the policy only warns …
        switchConfig(hook!, policyConfig(reg, key, { detectionMode: true }));
        const o = pod('held', unsigned, { finalizers: ['e2e.imprimatur.dev/hold'] });
        try {
          await api.create(o);
        } finally {
          switchConfig(hook!, enforcing);
        }
        // … now the same object is refused on an ordinary update.
        const labelled = await refusal(api.patch({ ...header(o), metadata: { ...header(o).metadata, labels: { touched: 'yes' } } } as KubernetesObject,
          undefined, undefined, undefined, undefined, PatchStrategy.MergePatch));
        expect(labelled.code).to.equal(403);
        expect(labelled.message).to.contain(denialPrefix('Pod', 'held'));

        await api.delete(header(o) as KubernetesObject);
        const deleting = await api.read(header(o));
        expect(deleting.metadata?.deletionTimestamp, 'the finalizer keeps the Pod').to.not.equal(undefined);
        expect(deleting.metadata?.finalizers).to.deep.equal(['e2e.imprimatur.dev/hold']);

        const patched = await api.patch({ ...header(o), metadata: { ...header(o).metadata, finalizers: [] } } as KubernetesObject,
          undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
        expect(patched.metadata?.finalizers ?? []).to.deep.equal([]);
        const end = Date.now() + 5000;
        for (;;) {
          try {
            await api.read(header(o));
          } catch (err) {
            expect(apiStatus(err).code).to.equal(404);
            break;
          }
          if (Date.now() > end) throw new Error('the Pod still exists after its last finalizer was removed');
          await new Promise((r) => setTimeout(r, 100));
        }
      });
    });

    describe('webhook process down', () => {
      it('webhook down: the API server refuses (fail closed); back up: the same request is admitted', async () => {
        await hook!.close();
        hook = undefined;
        const o = pod('while-down', STATIC_ALLOWED);
        const s = await refusal(api.create(o));
        expect(s.code).to.equal(500);
        expect(s.message).to.match(/failed calling webhook/).and.match(/connection refused/);
        await expectAbsent(o);

        hook = await startWebhook(enforcing);
        await registerWebhook(kube, hook);
        await waitUntilWebhookActive(kube, unsigned);
        const created = await api.create(o);
        expect(storedImages(created)).to.deep.equal([STATIC_ALLOWED]);
      });
    });
  });
}
