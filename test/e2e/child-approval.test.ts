/**
 * Automatic child approval end to end: the webhook reads owners from a real kube-apiserver (v1.20.2) with
 * the test kubeconfig. A child whose controller owner exists with the claimed UID and carries the same
 * digest-pinned images is admitted without a registry request (counted by the registry harness's front);
 * anything else is verified normally. The verification cache is off, so every verification is visible.
 */
import { expect } from 'chai';
import { KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { childApproval, kubernetesObjectReader } from '../../src/admission/child-approval.js';
import { silentLogger } from '../../src/log.js';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { ensureNamespace, startKubeApiServer, type KubeApiServer } from '../harness/kube.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { NS, header, policyConfig, refusal, registerWebhook, storedImages, waitUntilWebhookActive, workload } from './helpers.js';

const controllerRef = (o: KubernetesObject, uid = o.metadata!.uid!) => ({
  apiVersion: o.apiVersion!, kind: o.kind!, name: o.metadata!.name!, uid, controller: true, blockOwnerDeletion: true,
});

const FORGED_UID = '00000000-0000-4000-8000-000000000000';

describe('e2e: automatic child approval against a real kube-apiserver', function () {
  this.timeout(60_000);
  let kube: KubeApiServer;
  let reg: TestRegistry;
  let key: TestKey;
  let hook: TestWebhook;
  let api: KubernetesObjectApi;
  let signed: string;
  let pinned: string;
  let unsigned: string;
  let deployment: KubernetesObject;

  before(async function () {
    this.timeout(20 * 60_000); // a cold machine builds kube-apiserver first (~7 minutes)
    [kube, reg] = await Promise.all([startKubeApiServer(), startRegistry()]);
    key = generateTestKey('ecdsa-p256');
    const a = await reg.pushRandomImage('myorg/api', '1.0', { seed: 'e2e-child-api' });
    await signImage(reg, reg.host, 'myorg/api', a.digest, [key]);
    await reg.pushRandomImage('myorg/worker', '2.0', { seed: 'e2e-child-worker' });
    signed = `${reg.host}/myorg/api:1.0`;
    pinned = `${signed}@${a.digest}`;
    unsigned = `${reg.host}/myorg/worker:2.0`;
    const kubeconfig = kube.kubeconfigPath;
    hook = await startWebhook(policyConfig(reg, key, { automaticChildApproval: true, cache: { expirySeconds: 0 } }), {
      setup: (rt) => { rt.ownerImages = childApproval(kubernetesObjectReader(kubeconfig), silentLogger); },
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
    it('the Deployment is verified against the registry and stored pinned to the digest', async () => {
      const { result, requests } = await registryRequests(() => api.create(workload('Deployment', 'web', signed)));
      deployment = result;
      expect(requests, 'the Deployment itself is verified').to.be.greaterThan(0);
      expect(storedImages(await api.read(header(deployment)))).to.deep.equal([pinned]);
      expect(deployment.metadata?.uid).to.be.a('string');
    });

    it('a ReplicaSet and a Pod it controls (real UIDs) are admitted without any registry request', async () => {
      const { result, requests } = await registryRequests(async () => {
        const rs = await api.create(workload('ReplicaSet', 'web-5d8f7c', pinned, { ownerReferences: [controllerRef(deployment)] }));
        const p = await api.create(workload('Pod', 'web-5d8f7c-abcde', pinned, { ownerReferences: [controllerRef(rs)] }));
        return { rs, p };
      });
      expect(requests, 'registry requests while creating the children').to.equal(0);
      expect(storedImages(await api.read(header(result.rs)))).to.deep.equal([pinned]);
      expect(storedImages(await api.read(header(result.p)))).to.deep.equal([pinned]);
      expect(result.p.metadata?.ownerReferences?.[0]?.uid).to.equal(result.rs.metadata?.uid);
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
  });

  describe('CronJob (batch/v1beta1) → Job', () => {
    it('a Job controlled by a verified CronJob is admitted without any registry request', async () => {
      const cronjob = await api.create(workload('CronJob', 'nightly', signed));
      expect(storedImages(cronjob)).to.deep.equal([pinned]);
      const { result, requests } = await registryRequests(() =>
        api.create(workload('Job', 'nightly-27000000', pinned, { ownerReferences: [controllerRef(cronjob)] })));
      expect(requests).to.equal(0);
      expect(storedImages(await api.read(header(result)))).to.deep.equal([pinned]);
    });
  });
});
