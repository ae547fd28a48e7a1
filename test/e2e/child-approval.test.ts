/**
 * Automatic child approval end to end against a real kube-apiserver (v1.20.2 and the current release) with the chart's mutating and
 * validating webhook registrations. The webhook reads owners with the test kubeconfig. A child skips the registry
 * only for images its controller owner carries an owner proof for — the annotation Imprimatur's own patch wrote,
 * HMAC-bound to the owner's namespace, kind, name, images and the configuration in force. Everything else is
 * verified (registry requests counted by the registry harness's front; the verification cache is off).
 */
import { expect } from 'chai';
import { ApiextensionsV1Api, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { childApproval, kubernetesObjectReader } from '../../src/admission/child-approval.js';
import type { AdmissionReview } from '../../src/admission/review.js';
import { silentLogger } from '../../src/log.js';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { ensureNamespace, startKubeApiServer, KUBE_VERSIONS, type KubeApiServer } from '../harness/kube.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import {
  header, NS, policyConfig, refusal, registerWebhook, storedImages, switchConfig, useServer, waitUntilWebhookActive, workload,
} from './helpers.js';

const controllerRef = (o: KubernetesObject, uid = o.metadata!.uid!) => ({
  apiVersion: o.apiVersion!, kind: o.kind!, name: o.metadata!.name!, uid, controller: true, blockOwnerDeletion: true,
});

const FORGED_UID = '00000000-0000-4000-8000-000000000000';
const PROOF = {
  Deployment: 'imprimatur.dev/verified-deployment',
  ReplicaSet: 'imprimatur.dev/verified-replicaset',
  CronJob: 'imprimatur.dev/verified-cronjob',
};
const annotations = (o: KubernetesObject): Record<string, string> => o.metadata?.annotations ?? {};

for (const version of KUBE_VERSIONS) {
  describe(`e2e: automatic child approval against a real kube-apiserver (kube-apiserver ${version})`, function () {
    this.timeout(60_000);
    let kube: KubeApiServer;
    let reg: TestRegistry;
    let key: TestKey;
    let hook: TestWebhook;
    let api: KubernetesObjectApi;
    let signed: string;
    let pinned: string;
    let unsigned: string;
    let unsignedPinned: string;
    let deployment: KubernetesObject;
    let enforcing: string;
    /** Every AdmissionReview the webhook decided, by phase. */
    const seen: Array<{ phase: string; review: AdmissionReview }> = [];

    before(async function () {
      this.timeout(20 * 60_000); // a cold machine builds kube-apiserver first (~7 minutes)
      [kube, reg] = await Promise.all([startKubeApiServer({ version }), startRegistry()]);
      useServer(kube);
      key = generateTestKey('ecdsa-p256');
      const a = await reg.pushRandomImage('myorg/api', '1.0', { seed: 'e2e-child-api' });
      await signImage(reg, reg.host, 'myorg/api', a.digest, [key]);
      const w = await reg.pushRandomImage('myorg/worker', '2.0', { seed: 'e2e-child-worker' });
      signed = `${reg.host}/myorg/api:1.0`;
      pinned = `${signed}@${a.digest}`;
      unsigned = `${reg.host}/myorg/worker:2.0`;
      unsignedPinned = `${reg.host}/myorg/worker@${w.digest}`;
      const kubeconfig = kube.kubeconfigPath;
      enforcing = policyConfig(reg, key, { automaticChildApproval: true, cache: { expirySeconds: 0 } });
      hook = await startWebhook(enforcing, {
        setup: (rt) => {
          rt.ownerImages = childApproval({ reader: kubernetesObjectReader(kubeconfig), proofs: rt.proofs, logger: silentLogger });
          rt.onDecision = (result, review) => { seen.push({ phase: result.phase, review }); };
        },
      });
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

    /** Runs `work` and returns how many requests the registry received meanwhile. */
    async function registryRequests<T>(work: () => Promise<T>): Promise<{ result: T; requests: number }> {
      const before = reg.requestCount();
      const result = await work();
      return { result, requests: reg.requestCount() - before };
    }

    describe('a verified Deployment and its children', () => {
      it('the Deployment is verified, stored pinned, and carries the owner proof Imprimatur wrote', async () => {
        const { result, requests } = await registryRequests(() => api.create(workload('Deployment', 'web', signed)));
        deployment = result;
        expect(requests, 'the Deployment itself is verified').to.be.greaterThan(0);
        const stored = await api.read(header(deployment));
        expect(storedImages(stored)).to.deep.equal([pinned]);
        const proof = JSON.parse(annotations(stored)[PROOF.Deployment]!);
        expect(proof).to.have.keys('v', 'config', 'images', 'mac');
        expect(proof.images).to.deep.equal([pinned]);
      });

      it('on CREATE the mutating webhook sees no UID yet, the validating webhook does (why the proof binds the name)', () => {
        const creates = seen.filter((s) => s.review.request.operation === 'CREATE' && s.review.request.name === 'web' && s.review.request.kind.kind === 'Deployment');
        const mutate = creates.find((s) => s.phase === 'mutate')!;
        const validate = creates.find((s) => s.phase === 'validate')!;
        expect((mutate.review.request.object!.metadata as Record<string, unknown>).uid).to.equal(undefined);
        expect((validate.review.request.object!.metadata as Record<string, unknown>).uid).to.equal(deployment.metadata!.uid);
        expect((mutate.review.request.object!.metadata as Record<string, unknown>).name).to.equal('web');
      });

      it('a ReplicaSet and a Pod it controls (real UIDs) are admitted without any registry request', async () => {
        const { result, requests } = await registryRequests(async () => {
          // As the Deployment controller does, the ReplicaSet carries the Deployment's annotations.
          const rs = await api.create(workload('ReplicaSet', 'web-5d8f7c', pinned, { ownerReferences: [controllerRef(deployment)], annotations: annotations(deployment) }));
          const p = await api.create(workload('Pod', 'web-5d8f7c-abcde', pinned, { ownerReferences: [controllerRef(rs)] }));
          return { rs, p };
        });
        expect(requests, 'registry requests while creating the children').to.equal(0);
        expect(storedImages(await api.read(header(result.rs)))).to.deep.equal([pinned]);
        expect(storedImages(await api.read(header(result.p)))).to.deep.equal([pinned]);
        // The ReplicaSet got its own proof and kept the copied Deployment one untouched, so the controller's next
        // copy of the Deployment's annotations changes nothing (no update loop).
        const rs = annotations(await api.read(header(result.rs)));
        expect(rs[PROOF.Deployment]).to.equal(annotations(deployment)[PROOF.Deployment]);
        expect(JSON.parse(rs[PROOF.ReplicaSet]!).images).to.deep.equal([pinned]);
      });

      it('the controller copying the Deployment annotations onto its ReplicaSet again changes nothing', async () => {
        const rs = await api.read({ ...header(deployment), kind: 'ReplicaSet', metadata: { name: 'web-5d8f7c', namespace: NS } });
        const before = annotations(rs);
        const updated = await api.patch({ ...header(rs), metadata: { ...header(rs).metadata, annotations: annotations(deployment) } } as KubernetesObject,
          undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
        expect(annotations(updated)).to.deep.equal(before);
      });

      it('a ReplicaSet proof copied onto the Deployment (kubectl rollout undo) is removed, so it is never copied back', async () => {
        const rs = await api.read({ ...header(deployment), kind: 'ReplicaSet', metadata: { name: 'web-5d8f7c', namespace: NS } });
        const updated = await api.patch({ ...header(deployment), metadata: { ...header(deployment).metadata, annotations: annotations(rs) } } as KubernetesObject,
          undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
        expect(annotations(updated)).to.not.have.property(PROOF.ReplicaSet);
        expect(annotations(updated)[PROOF.Deployment]).to.equal(annotations(deployment)[PROOF.Deployment]);
      });

      it('a Pod controlled directly by the Deployment (real UID) is admitted without any registry request', async () => {
        const { result, requests } = await registryRequests(() =>
          api.create(workload('Pod', 'web-direct', pinned, { ownerReferences: [controllerRef(deployment)] })));
        expect(requests).to.equal(0);
        expect(storedImages(await api.read(header(result)))).to.deep.equal([pinned]);
      });

      it('control: the same Pod without an owner reference is verified against the registry', async () => {
        const { result, requests } = await registryRequests(() => api.create(workload('Pod', 'web-orphan', pinned)));
        expect(requests).to.be.greaterThan(0);
        expect(storedImages(result)).to.deep.equal([pinned]);
      });
    });

    describe('what the owner does not vouch for', () => {
      it('a forged owner reference (wrong UID) is verified against the registry', async () => {
        const forged = { ...controllerRef(deployment), uid: FORGED_UID };
        const { result, requests } = await registryRequests(() => api.create(workload('Pod', 'forged-signed', pinned, { ownerReferences: [forged] })));
        expect(requests, 'a forged owner must not skip verification').to.be.greaterThan(0);
        expect(storedImages(result)).to.deep.equal([pinned]);
      });

      it('a forged owner reference with an unsigned image is denied with 403', async () => {
        const forged = { ...controllerRef(deployment), uid: FORGED_UID };
        const o = workload('ReplicaSet', 'forged-unsigned', unsigned, { ownerReferences: [forged] });
        const { result: s, requests } = await registryRequests(() => refusal(api.create(o)));
        expect(requests).to.be.greaterThan(0);
        expect(s.code).to.equal(403);
        expect(s.message).to.contain(`Imprimatur denied ReplicaSet ${NS}/forged-unsigned: image "${unsigned}" (rule "${reg.host}/myorg/*", validator "myorg")`);
        expect((await refusal(api.read(header(o)))).code).to.equal(404);
      });

      it('the real owner does not vouch for an image it does not carry: an unsigned one is denied', async () => {
        const o = workload('Pod', 'owned-unsigned', [pinned, unsigned], { ownerReferences: [controllerRef(deployment)] });
        const s = await refusal(api.create(o));
        expect(s.code).to.equal(403);
        expect(s.message).to.contain(`image "${unsigned}"`).and.not.contain(`image "${pinned}"`);
      });

      it('the real owner does not vouch for the tag it was pinned from: the tag is verified and pinned', async () => {
        const { result, requests } = await registryRequests(() =>
          api.create(workload('Pod', 'owned-tag', signed, { ownerReferences: [controllerRef(deployment)] })));
        expect(requests).to.be.greaterThan(0);
        expect(storedImages(result)).to.deep.equal([pinned]);
      });

      it('an owner reference to an object that does not exist is verified against the registry', async () => {
        const ghost = { ...controllerRef(deployment), name: 'no-such-deployment' };
        const { requests } = await registryRequests(() => api.create(workload('Pod', 'ghost-owner', pinned, { ownerReferences: [ghost] })));
        expect(requests).to.be.greaterThan(0);
      });

      it('a non-controller owner reference (controller: false) does not skip verification', async () => {
        const ref = { ...controllerRef(deployment), controller: false };
        const { requests } = await registryRequests(() => api.create(workload('Pod', 'not-controller', pinned, { ownerReferences: [ref] })));
        expect(requests).to.be.greaterThan(0);
      });

      it('after a configuration change the old proof vouches for nothing until the owner is admitted again', async () => {
        switchConfig(hook, `${enforcing}# changed\n`);
        try {
          const { requests } = await registryRequests(() => api.create(workload('Pod', 'after-reload', pinned, { ownerReferences: [controllerRef(deployment)] })));
          expect(requests).to.be.greaterThan(0);
        } finally {
          switchConfig(hook, enforcing);
        }
      });
    });

    describe('owners Imprimatur did not verify (issue 11, item 2)', () => {
      it('a Deployment admitted in detection mode vouches for nothing once enforcement is on', async () => {
        switchConfig(hook, policyConfig(reg, key, { automaticChildApproval: true, detectionMode: true, cache: { expirySeconds: 0 } }));
        let detected: KubernetesObject;
        try {
          detected = await api.create(workload('Deployment', 'detected', [pinned, unsignedPinned]));
        } finally {
          switchConfig(hook, enforcing);
        }
        expect(storedImages(detected)).to.deep.equal([pinned, unsignedPinned]);
        expect(annotations(detected), 'no proof for an owner admitted only by detection mode').to.not.have.property(PROOF.Deployment);
        const s = await refusal(api.create(workload('Pod', 'detected-child', [pinned, unsignedPinned], { ownerReferences: [controllerRef(detected)] })));
        expect(s.code).to.equal(403);
        expect(s.message).to.contain(`image "${unsignedPinned}"`).and.match(/no signatures found/);
      });

      it('a Deployment admitted unverified under podsOnly vouches for nothing', async () => {
        const podsOnly = policyConfig(reg, key, { automaticChildApproval: true, resourceValidationMode: 'podsOnly', cache: { expirySeconds: 0 } });
        switchConfig(hook, podsOnly);
        try {
          const unverified = await api.create(workload('Deployment', 'pods-only', unsignedPinned));
          expect(annotations(unverified)).to.not.have.property(PROOF.Deployment);
          const s = await refusal(api.create(workload('Pod', 'pods-only-child', unsignedPinned, { ownerReferences: [controllerRef(unverified)] })));
          expect(s.code).to.equal(403);
          expect(s.message).to.contain(`image "${unsignedPinned}"`);
        } finally {
          switchConfig(hook, enforcing);
        }
      });

      it('a Deployment being deleted vouches for nothing: its children are verified', async () => {
        const held = await api.create(workload('Deployment', 'held', signed, { finalizers: ['e2e.imprimatur.dev/hold'] }));
        expect(annotations(held)).to.have.property(PROOF.Deployment);
        await api.delete(header(held) as KubernetesObject);
        const { requests } = await registryRequests(() => api.create(workload('Pod', 'held-child', pinned, { ownerReferences: [controllerRef(held)] })));
        expect(requests, 'an owner being deleted must not skip verification').to.be.greaterThan(0);
        const s = await refusal(api.create(workload('Pod', 'held-child-unsigned', unsignedPinned, { ownerReferences: [controllerRef(held)] })));
        expect(s.code).to.equal(403);
        await api.patch({ ...header(held), metadata: { ...header(held).metadata, finalizers: [] } } as KubernetesObject, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
      });

      it('a kind named StatefulSet in another API group (a custom resource) is not an owner', async () => {
        const ext = kube.kc.makeApiClient(ApiextensionsV1Api);
        await ext.createCustomResourceDefinition({
          body: {
            metadata: { name: 'statefulsets.evil.example.com' },
            spec: {
              group: 'evil.example.com', scope: 'Namespaced',
              names: { kind: 'StatefulSet', plural: 'statefulsets', singular: 'statefulset' },
              versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } }],
            },
          },
        });
        const crApi = api;
        let fake: KubernetesObject | undefined;
        const end = Date.now() + 15_000;
        while (!fake) {
          try {
            fake = await crApi.create({
              apiVersion: 'evil.example.com/v1', kind: 'StatefulSet', metadata: { name: 'evil', namespace: NS },
              spec: { template: { spec: { containers: [{ name: 'c0', image: unsignedPinned }] } } },
            } as KubernetesObject);
          } catch (err) {
            if (Date.now() > end) throw err;
            await new Promise((r) => setTimeout(r, 250)); // the new resource is being registered
          }
        }
        const s = await refusal(api.create(workload('Pod', 'evil-child', unsignedPinned, { ownerReferences: [controllerRef(fake)] })));
        expect(s.code).to.equal(403);
        expect(s.message).to.contain(`image "${unsignedPinned}"`);
      });

      it('a proof copied onto another owner (created while its namespace was not validated) vouches for nothing', async () => {
        const ns = 'e2e-forge';
        await ensureNamespace(kube.kc, ns, { 'imprimatur.dev/webhook': 'ignore' });
        const copy = await api.create(workload('Deployment', 'web', unsignedPinned, { namespace: ns, annotations: { [PROOF.Deployment]: annotations(deployment)[PROOF.Deployment]! } }));
        expect(annotations(copy)[PROOF.Deployment], 'the webhook did not see it').to.equal(annotations(deployment)[PROOF.Deployment]);
        await ensureNamespace(kube.kc, ns, { 'imprimatur.dev/webhook': 'validate' });
        // (the API server picks the namespace label change up at once for new requests)
        const s = await refusal(api.create(workload('Pod', 'copy-child', unsignedPinned, { namespace: ns, ownerReferences: [controllerRef(copy)] })));
        expect(s.code).to.equal(403);
        expect(s.message).to.contain(`image "${unsignedPinned}"`);
      });
    });

    describe('CronJob → Job', () => {
      it('the CronJob carries a proof; its Jobs skip the registry where CronJob is batch/v1, on 1.20 (batch/v1beta1 only) they are verified', async () => {
        const cronjob = await api.create(workload('CronJob', 'nightly', signed));
        expect(storedImages(cronjob)).to.deep.equal([pinned]);
        expect(JSON.parse(annotations(cronjob)[PROOF.CronJob]!).images).to.deep.equal([pinned]);
        // Owners are read in batch/v1 only; Kubernetes 1.20 serves CronJob as batch/v1beta1.
        const { result, requests } = await registryRequests(() =>
          api.create(workload('Job', 'nightly-27000000', pinned, { ownerReferences: [controllerRef(cronjob)] })));
        if (kube.minor >= 21) expect(requests).to.equal(0);
        else expect(requests).to.be.greaterThan(0);
        expect(storedImages(await api.read(header(result)))).to.deep.equal([pinned]);
      });

      it('a Job vouches for its Pods', async () => {
        const job = await api.create(workload('Job', 'once', signed));
        const { requests } = await registryRequests(() => api.create(workload('Pod', 'once-abcde', pinned, { ownerReferences: [controllerRef(job)] })));
        expect(requests).to.equal(0);
      });
    });
  });
}
