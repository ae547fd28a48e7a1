/**
 * Issue 11, item 4: webhooks that mutate after Imprimatur. A second real mutating webhook, registered on the real
 * kube-apiserver under a name that sorts after Imprimatur's (so the API server calls it later), adds a sidecar or
 * rewrites an image. The chart's ValidatingWebhookConfiguration re-checks the final object; the chart's
 * `reinvocationPolicy: IfNeeded` lets Imprimatur's mutating webhook verify and pin what the injector added.
 */
import { expect } from 'chai';
import { KubernetesObjectApi } from '@kubernetes/client-node';
import { localSelfSigned } from '../../src/server/tls.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { startInjectorWebhook, type InjectorWebhook } from '../harness/injector-webhook.js';
import { applyManifests, ensureNamespace, startKubeApiServer, webhookConfiguration, KUBE_VERSIONS, type KubeApiServer } from '../harness/kube.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import {
  header, NS, pod, policyConfig, refusal, registerWebhook, storedImages, switchConfig, useServer, waitUntilWebhookActive, webhookCaPem,
} from './helpers.js';

for (const version of KUBE_VERSIONS) {
  describe(`e2e: a mutating webhook that runs after Imprimatur (sidecar injector) (kube-apiserver ${version})`, function () {
    this.timeout(60_000);
    let kube: KubeApiServer;
    let reg: TestRegistry;
    let key: TestKey;
    let hook: TestWebhook;
    let injector: InjectorWebhook;
    let api: KubernetesObjectApi;
    let signed: string;
    let pinned: string;
    let sidecar: string;
    let sidecarPinned: string;
    let unsigned: string;
    const seen: Array<{ phase: string; allowed: boolean }> = [];

    before(async function () {
      this.timeout(20 * 60_000);
      [kube, reg] = await Promise.all([startKubeApiServer({ version }), startRegistry()]);
      useServer(kube);
      key = generateTestKey('ecdsa-p256');
      const a = await reg.pushRandomImage('myorg/api', '1.0', { seed: 'e2e-order-api' });
      await signImage(reg, reg.host, 'myorg/api', a.digest, [key]);
      const s = await reg.pushRandomImage('myorg/proxy', '1.0', { seed: 'e2e-order-proxy' });
      await signImage(reg, reg.host, 'myorg/proxy', s.digest, [key]);
      await reg.pushRandomImage('myorg/worker', '2.0', { seed: 'e2e-order-worker' });
      signed = `${reg.host}/myorg/api:1.0`;
      pinned = `${signed}@${a.digest}`;
      sidecar = `${reg.host}/myorg/proxy:1.0`;
      sidecarPinned = `${sidecar}@${s.digest}`;
      unsigned = `${reg.host}/myorg/worker:2.0`;
      hook = await startWebhook(policyConfig(reg, key), {
        setup: (rt) => { rt.onDecision = (result) => { seen.push({ phase: result.phase, allowed: result.response.allowed }); }; },
      });
      injector = await startInjectorWebhook(localSelfSigned(join(tmpdir(), 'imprimatur-test-tls')));
      api = KubernetesObjectApi.makeApiClient(kube.kc);
      await ensureNamespace(kube.kc, NS);
      await registerWebhook(kube, hook); // the chart's mutating (reinvocationPolicy IfNeeded) and validating webhooks
      await applyManifests(kube.kc, [webhookConfiguration({
        name: 'zz-sidecar-injector', url: injector.url, caPem: webhookCaPem(),
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
      })]);
      await waitUntilWebhookActive(kube, unsigned);
    });

    after(async () => {
      await injector?.stop();
      await hook?.close();
      await reg?.stop();
      await kube?.stop();
    });

    afterEach(() => injector.set({ kind: 'none' }));

    /** Sets the reinvocation policy of Imprimatur's registered mutating webhook; waits until the API server uses it. */
    async function setReinvocation(policy: 'Never' | 'IfNeeded'): Promise<void> {
      const stored = await api.read({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'imprimatur' } }) as Record<string, any>;
      stored.webhooks[0].reinvocationPolicy = policy;
      await api.replace(stored);
      // The API server picks a changed registration up asynchronously: probe with a dry run whose outcome depends on it.
      injector.set({ kind: 'add-sidecar', image: sidecar });
      const end = Date.now() + 15_000;
      for (;;) {
        const pinnedBoth = await api.create(pod('probe-reinvocation', signed), undefined, 'All').then((o) => storedImages(o).includes(sidecarPinned), () => false);
        if (pinnedBoth === (policy === 'IfNeeded')) break;
        if (Date.now() > end) throw new Error(`the API server did not pick up reinvocationPolicy ${policy}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      injector.set({ kind: 'none' });
    }

    for (const policy of ['Never', 'IfNeeded'] as const) {
      describe(`Imprimatur's mutating webhook with reinvocationPolicy ${policy}`, () => {
        before(() => setReinvocation(policy));
        after(() => setReinvocation('IfNeeded'));

        it('an unsigned sidecar injected after Imprimatur is refused with 403 naming it; nothing is stored', async () => {
          injector.set({ kind: 'add-sidecar', image: unsigned });
          const calls = injector.calls();
          const decisions = seen.length;
          const o = pod(`unsigned-sidecar-${policy.toLowerCase()}`, signed);
          const s = await refusal(api.create(o));
          expect(injector.calls(), 'the injector ran').to.be.greaterThan(calls);
          expect(s.code).to.equal(403);
          expect(s.message).to.contain(`Imprimatur denied Pod ${NS}/${o.metadata!.name}: image "${unsigned}"`).and.match(/no signatures found/);
          expect((await refusal(api.read(header(o)))).code).to.equal(404);
          // Never: only the validating webhook saw the sidecar; IfNeeded: the reinvoked mutating webhook refused it first.
          const denier = seen.slice(decisions).find((d) => !d.allowed);
          expect(denier?.phase).to.equal(policy === 'Never' ? 'validate' : 'mutate');
        });

        it('an image rewritten to an unsigned one after Imprimatur is refused', async () => {
          injector.set({ kind: 'rewrite-first', image: unsigned });
          const s = await refusal(api.create(pod(`rewritten-${policy.toLowerCase()}`, signed)));
          expect(s.code).to.equal(403);
          expect(s.message).to.contain(`image "${unsigned}"`);
        });

        if (policy === 'IfNeeded') {
          it('a signed sidecar injected after Imprimatur is verified and pinned too (Imprimatur is reinvoked)', async () => {
            injector.set({ kind: 'add-sidecar', image: sidecar });
            const created = await api.create(pod('with-signed-sidecar', signed));
            expect(storedImages(created)).to.deep.equal([pinned, sidecarPinned]);
          });
        } else {
          it('a signed sidecar left unpinned is refused: the runtime would pull the tag, not what was verified', async () => {
            injector.set({ kind: 'add-sidecar', image: sidecar });
            const s = await refusal(api.create(pod('unpinned-sidecar', signed)));
            expect(s.code).to.equal(403);
            expect(s.message).to.contain(`image "${sidecar}"`).and.contain('not pinned');
          });
        }
      });
    }

    it('in detection mode the injected unsigned sidecar is admitted with the warning', async () => {
      switchConfig(hook, policyConfig(reg, key, { detectionMode: true }));
      try {
        injector.set({ kind: 'add-sidecar', image: unsigned });
        const created = await api.create(pod('detected-sidecar', signed));
        expect(storedImages(created)).to.deep.equal([pinned, unsigned]);
      } finally {
        switchConfig(hook, policyConfig(reg, key));
      }
    });
  });
}
