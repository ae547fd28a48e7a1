/**
 * Staged enforcement end to end: the chart's two webhook entries (ordinary namespaces → /mutate, namespaces
 * labelled imprimatur.dev/webhook=detect → /mutate/detect) registered with a real kube-apiserver, and a rule in
 * detection (`with.enforcement: detect`). Also: who may put a namespace in detection — a namespace admin (the
 * built-in `admin` role bound in the namespace) may not label it.
 */
import { expect } from 'chai';
import { KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { applyManifests, ensureNamespace, startKubeApiServer, KUBE_VERSIONS, type KubeApiServer } from '../harness/kube.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { NS, policyConfig, rawClient, refusal, registerWebhook, storedImages, switchConfig, useServer, waitUntilWebhookActive, warnings, workload } from './helpers.js';

const DETECT_NS = 'e2e-detect';

/** `workload` in another namespace. */
function inNamespace(o: KubernetesObject, namespace: string): KubernetesObject {
  return { ...o, metadata: { ...o.metadata, namespace } };
}

for (const version of KUBE_VERSIONS) {
  describe(`e2e: staged enforcement (namespace label and rule) through the real API server (kube-apiserver ${version})`, function () {
    this.timeout(60_000);
    let kube: KubeApiServer;
    let reg: TestRegistry;
    let key: TestKey;
    let hook: TestWebhook;
    let api: KubernetesObjectApi;
    let raw: ReturnType<typeof rawClient>;
    let signed: string;
    let pinned: string;
    let unsigned: string;

    before(async function () {
      this.timeout(20 * 60_000); // a cold machine builds kube-apiserver first (~7 minutes)
      [kube, reg] = await Promise.all([startKubeApiServer({ version }), startRegistry()]);
      useServer(kube);
      key = generateTestKey('ecdsa-p256');
      const a = await reg.pushRandomImage('myorg/api', '1.0', { seed: 'staged-api' });
      await signImage(reg, reg.host, 'myorg/api', a.digest, [key]);
      await reg.pushRandomImage('myorg/worker', '2.0', { seed: 'staged-worker' });
      signed = `${reg.host}/myorg/api:1.0`;
      pinned = `${signed}@${a.digest}`;
      unsigned = `${reg.host}/myorg/worker:2.0`;
      hook = await startWebhook(policyConfig(reg, key));
      api = KubernetesObjectApi.makeApiClient(kube.kc);
      raw = rawClient(kube);
      await ensureNamespace(kube.kc, NS);
      await ensureNamespace(kube.kc, DETECT_NS, { 'imprimatur.dev/webhook': 'detect' });
      await registerWebhook(kube, hook);
      await waitUntilWebhookActive(kube, unsigned);
    });

    after(async () => {
      await raw?.close();
      await hook?.close();
      await reg?.stop();
      await kube?.stop();
    });

    async function create(o: KubernetesObject): Promise<{ status: number; warnings: string[]; json: any }> {
      const ns = o.metadata!.namespace!;
      const path = o.kind === 'Pod' ? `/api/v1/namespaces/${ns}/pods` : `/apis/apps/v1/namespaces/${ns}/${o.kind!.toLowerCase()}s`;
      const res = await raw.send('POST', path, o);
      return { status: res.status, warnings: warnings(res.headers.warning), json: res.json };
    }

    it('an ordinary namespace refuses the unsigned image', async () => {
      const s = await refusal(api.create(workload('Pod', 'plain-unsigned', unsigned)));
      expect(s.code).to.equal(403);
      expect(s.message).to.contain(`Imprimatur denied Pod ${NS}/plain-unsigned: image "${unsigned}"`);
    });

    it('a namespace labelled detect stores it with a "detection mode (namespace)" warning and still pins the verified image', async () => {
      const res = await create(inNamespace(workload('Pod', 'detected', [signed, unsigned]), DETECT_NS));
      expect(res.status, JSON.stringify(res.json)).to.equal(201);
      expect(res.warnings).to.have.length(1);
      expect(res.warnings[0]!.startsWith(`detection mode (namespace): would deny image "${unsigned}" (rule "${reg.host}/myorg/*", validator "myorg"): `), res.warnings[0]).to.equal(true);
      expect(storedImages(res.json)).to.deep.equal([pinned, unsigned]);
      const read = await api.read({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'detected', namespace: DETECT_NS } });
      expect(storedImages(read)).to.deep.equal([pinned, unsigned]);
    });

    it('relabelling the namespace back to enforcement blocks the next create at once (no cache in between)', async () => {
      await applyManifests(kube.kc, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'e2e-flip', labels: { 'kubernetes.io/metadata.name': 'e2e-flip', 'imprimatur.dev/webhook': 'detect' } } }]);
      expect((await create(inNamespace(workload('Deployment', 'flip-1', unsigned), 'e2e-flip'))).status).to.equal(201);
      await applyManifests(kube.kc, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'e2e-flip', labels: { 'kubernetes.io/metadata.name': 'e2e-flip' } } }]);
      const end = Date.now() + 10_000;
      let last: number | undefined;
      while (Date.now() < end) {
        // the API server's namespace informer catches up within a moment
        const res = await create(inNamespace(workload('Deployment', `flip-${Date.now()}`, unsigned), 'e2e-flip'));
        last = res.status;
        if (res.status === 403) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(last).to.equal(403);
    });

    describe('a rule in detection (with.enforcement: detect)', () => {
      before(() => {
        switchConfig(hook, `${policyConfig(reg, key)}  - pattern: "${reg.host}/myorg/worker*"
    validator: myorg
    with:
      verifyInTransparencyLog: false
      enforcement: detect
`);
      });
      after(() => { switchConfig(hook, policyConfig(reg, key)); });

      it('admits that rule\'s failures in an ordinary namespace with a "detection mode (rule)" warning', async () => {
        const res = await create(workload('Deployment', 'rule-detected', unsigned));
        expect(res.status, JSON.stringify(res.json)).to.equal(201);
        expect(res.warnings).to.have.length(1);
        expect(res.warnings[0]!.startsWith(`detection mode (rule): would deny image "${unsigned}" (rule "${reg.host}/myorg/worker*", validator "myorg"): `), res.warnings[0]).to.equal(true);
      });

      it('other rules keep blocking', async () => {
        const s = await refusal(api.create(workload('Pod', 'other-rule', 'quay.io/other/app:1')));
        expect(s.code).to.equal(403);
        expect(s.message).to.contain('(rule "*:*", validator "deny")');
      });
    });

    /** The rules of an aggregated ClusterRole, assembled as kube-controller-manager's aggregation controller does. */
    async function aggregatedRules(name: string): Promise<unknown[]> {
      type Role = { metadata: { name: string; labels?: Record<string, string> }; rules?: unknown[]; aggregationRule?: { clusterRoleSelectors?: Array<{ matchLabels?: Record<string, string> }> } };
      const all = (await raw.send('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles')).json.items as Role[];
      const resolve = (role: Role, seen: Set<string>): unknown[] => {
        if (!role.aggregationRule) return role.rules ?? [];
        seen.add(role.metadata.name);
        const selectors = role.aggregationRule.clusterRoleSelectors ?? [];
        return all
          .filter((r) => !seen.has(r.metadata.name) && selectors.some((sel) => Object.entries(sel.matchLabels ?? {}).every(([k, v]) => r.metadata.labels?.[k] === v)))
          .flatMap((r) => resolve(r, seen));
      };
      return resolve(all.find((r) => r.metadata.name === name)!, new Set());
    }

    describe('who can put a namespace in detection', () => {
      const as = (user: string) => ({ 'Impersonate-User': user });
      const label = (value: string, user: string) => raw.send('PATCH', `/api/v1/namespaces/${NS}`, { metadata: { labels: { 'imprimatur.dev/webhook': value } } }, 'application/merge-patch+json', as(user));

      before(async () => {
        // The built-in `admin` ClusterRole is aggregated by kube-controller-manager, which this test cluster does not
        // run: assemble its rules as the aggregation controller would (every ClusterRole labelled aggregate-to-admin).
        const rules = await aggregatedRules('admin');
        expect(rules.length, 'aggregated admin rules').to.be.greaterThan(10);
        const binding = (name: string, roleKind: string, role: string, user: string) => ({
          apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: NS },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
        }) as KubernetesObject;
        await applyManifests(kube.kc, [
          { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'e2e-namespace-admin' }, rules } as KubernetesObject,
          binding('alice-admin', 'ClusterRole', 'e2e-namespace-admin', 'alice'),
          // A "namespace owner" Role granting everything in the namespace, a common shortcut.
          { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'owner', namespace: NS }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] } as KubernetesObject,
          binding('bob-owner', 'Role', 'owner', 'bob'),
        ]);
      });

      it('a namespace admin (the built-in admin role bound in her namespace) cannot label it', async () => {
        const res = await label('detect', 'alice');
        expect(res.status, JSON.stringify(res.json)).to.equal(403);
        expect(res.json.message).to.match(/User "alice" cannot patch resource "namespaces"/);
        expect((await label('ignore', 'alice')).status).to.equal(403);
      });

      it('she can create workloads there, and they are enforced', async () => {
        const res = await raw.send('POST', `/api/v1/namespaces/${NS}/pods`, workload('Pod', 'alice-signed', signed), 'application/json', as('alice'));
        expect(res.status, JSON.stringify(res.json)).to.equal(201);
        expect(storedImages(res.json)).to.deep.equal([pinned]);
        const denied = await raw.send('POST', `/api/v1/namespaces/${NS}/pods`, workload('Pod', 'alice-unsigned', unsigned), 'application/json', as('alice'));
        expect(denied.status).to.equal(403);
        expect(denied.json.message).to.contain(`image "${unsigned}"`);
      });

      it('a Role granting `*` on `*` inside the namespace also covers its Namespace object: bob can relabel it (ignore as well as detect)', async () => {
        // The API server authorises a request on namespaces/<ns> inside <ns>, so such a Role is as strong as the label
        // permission; docs/helm.md says so. `detect` gives nothing `ignore` would not already give.
        try {
          expect((await label('detect', 'bob')).status).to.equal(200);
          expect((await label('ignore', 'bob')).status).to.equal(200);
        } finally {
          await raw.send('PATCH', `/api/v1/namespaces/${NS}`, { metadata: { labels: { 'imprimatur.dev/webhook': null } } }, 'application/merge-patch+json');
        }
        const end = Date.now() + 10_000;
        for (;;) {
          const probe = await raw.send('POST', `/api/v1/namespaces/${NS}/pods?dryRun=All`, workload('Pod', 'probe-enforced', unsigned));
          if (probe.status === 403) break;
          if (Date.now() > end) throw new Error(`namespace ${NS} is still not enforced after removing the label`);
          await new Promise((r) => setTimeout(r, 200));
        }
      });
    });
  });
}
