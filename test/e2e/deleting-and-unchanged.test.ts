/**
 * Issue 11, items 1 and 3, against a real kube-apiserver with the chart's webhook registration:
 * - an UPDATE of an object being deleted passes unchecked only while its images stay what they were;
 * - automatic unchanged approval skips only signature verification: a static deny still denies.
 */
import { expect } from 'chai';
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { ensureNamespace, startKubeApiServer, KUBE_VERSIONS, type KubeApiServer } from '../harness/kube.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import {
  header, NS, policyConfig, refusal, registerWebhook, storedImages, switchConfig, useServer, waitUntilWebhookActive, workload,
} from './helpers.js';

const HOLD = 'e2e.imprimatur.dev/hold';
const STATICALLY_DENIED = 'quay.io/someone/app:1.0';

for (const version of KUBE_VERSIONS) {
  describe(`e2e: objects being deleted and unchanged approval (kube-apiserver ${version})`, function () {
    this.timeout(60_000);
    let kube: KubeApiServer;
    let reg: TestRegistry;
    let key: TestKey;
    let hook: TestWebhook;
    let api: KubernetesObjectApi;
    let signed: string;
    let pinned: string;
    let unsignedPinned: string;
    let unsigned: string;

    before(async function () {
      this.timeout(20 * 60_000);
      [kube, reg] = await Promise.all([startKubeApiServer({ version }), startRegistry()]);
      useServer(kube);
      key = generateTestKey('ecdsa-p256');
      const a = await reg.pushRandomImage('myorg/api', '1.0', { seed: 'e2e-del-api' });
      await signImage(reg, reg.host, 'myorg/api', a.digest, [key]);
      const w = await reg.pushRandomImage('myorg/worker', '2.0', { seed: 'e2e-del-worker' });
      signed = `${reg.host}/myorg/api:1.0`;
      pinned = `${signed}@${a.digest}`;
      unsigned = `${reg.host}/myorg/worker:2.0`;
      unsignedPinned = `${reg.host}/myorg/worker@${w.digest}`;
      hook = await startWebhook(policyConfig(reg, key));
      api = KubernetesObjectApi.makeApiClient(kube.kc);
      await ensureNamespace(kube.kc, NS);
      await registerWebhook(kube, hook);
      await waitUntilWebhookActive(kube, unsigned);
    });

    after(async () => {
      await hook?.close();
      await reg?.stop();
      await kube?.stop();
    });

    const setImage = (o: KubernetesObject, image: string) =>
      api.patch({ ...header(o), spec: { template: { spec: { containers: [{ name: 'c0', image }] } } } } as KubernetesObject,
        undefined, undefined, undefined, undefined, PatchStrategy.StrategicMergePatch);
    const setFinalizers = (o: KubernetesObject, finalizers: string[]) =>
      api.patch({ ...header(o), metadata: { ...header(o).metadata, finalizers } } as KubernetesObject, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
    const setLabel = (o: KubernetesObject, value: string) =>
      api.patch({ ...header(o), metadata: { ...header(o).metadata, labels: { touched: value } } } as KubernetesObject, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);

    describe('an object being deleted (held by a finalizer)', () => {
      let held: KubernetesObject;

      before(async () => {
        held = workload('Deployment', 'held', signed, { finalizers: [HOLD] });
        const created = await api.create(held);
        expect(storedImages(created)).to.deep.equal([pinned]);
        expect(created.metadata?.annotations).to.have.property('imprimatur.dev/verified-deployment');
        await api.delete(header(held) as KubernetesObject);
        const deleting = await api.read(header(held));
        expect(deleting.metadata?.deletionTimestamp, 'the finalizer keeps the Deployment').to.not.equal(undefined);
      });

      it('its pod template cannot be switched to an unsigned image (pinned by digest): 403', async () => {
        const s = await refusal(setImage(held, unsignedPinned));
        expect(s.code).to.equal(403);
        expect(s.message).to.contain(`Imprimatur denied Deployment ${NS}/held: image "${unsignedPinned}"`).and.match(/no signatures found/);
        expect(storedImages(await api.read(header(held)))).to.deep.equal([pinned]);
      });

      it('its pod template may change to another verified image (validated and pinned like any UPDATE)', async () => {
        const updated = await setImage(held, signed);
        expect(storedImages(updated)).to.deep.equal([pinned]);
        // An owner being deleted never gets an owner proof: the one from its creation is removed.
        expect(updated.metadata?.annotations ?? {}).to.not.have.property('imprimatur.dev/verified-deployment');
      });

      it('an update that leaves the images alone (a label) is admitted without validation', async () => {
        reg.resetRequestCount();
        const updated = await setLabel(held, 'yes');
        expect(updated.metadata?.labels?.touched).to.equal('yes');
        expect(reg.requestCount(), 'no registry request for an unchanged deleting object').to.equal(0);
      });

      it('removing its last finalizer is admitted and the object goes away', async () => {
        await setFinalizers(held, []);
        const end = Date.now() + 5000;
        while ((await api.read(header(held)).then(() => true, () => false))) {
          if (Date.now() > end) throw new Error('the Deployment still exists after its last finalizer was removed');
          await new Promise((r) => setTimeout(r, 100));
        }
      });
    });

    describe('automatic unchanged approval', () => {
      const enforcingUnchanged = () => policyConfig(reg, key, { automaticUnchangedApproval: true });
      let legacy: KubernetesObject;
      let staticDenied: KubernetesObject;

      before(async () => {
        // Both exist from before enforcement (admitted in detection mode).
        switchConfig(hook, policyConfig(reg, key, { detectionMode: true }));
        legacy = workload('Deployment', 'legacy-unsigned', unsigned);
        staticDenied = workload('Deployment', 'static-denied', STATICALLY_DENIED);
        await api.create(legacy);
        await api.create(staticDenied);
        switchConfig(hook, enforcingUnchanged());
      });
      after(() => switchConfig(hook, policyConfig(reg, key)));

      it('skips signature verification of an image the object already had: the update is admitted', async () => {
        reg.resetRequestCount();
        const updated = await setLabel(legacy, 'yes');
        expect(updated.metadata?.labels?.touched).to.equal('yes');
        expect(storedImages(updated)).to.deep.equal([unsigned]);
        expect(reg.requestCount()).to.equal(0);
      });

      it('does not skip a static deny: an update of an object with a statically denied image is refused', async () => {
        const s = await refusal(setLabel(staticDenied, 'yes'));
        expect(s.code).to.equal(403);
        expect(s.message).to.contain(`Imprimatur denied Deployment ${NS}/static-denied: image "${STATICALLY_DENIED}" (rule "*:*", validator "deny"): denied by static validator "deny"`);
      });

      it('an image new to the object is verified as usual', async () => {
        const s = await refusal(setImage(legacy, `${reg.host}/myorg/worker:other`));
        expect(s.code).to.equal(403);
      });
    });
  });
}
