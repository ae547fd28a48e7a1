/**
 * The chart's RBAC for Events and the in-cluster audit on a real kube-apiserver: least privilege (SubjectAccessReviews),
 * and enough — the in-cluster audit, its Lease, PolicyReports and Events run as the chart's service account
 * (impersonated) and succeed.
 */
import { expect } from 'chai';
import { AuthorizationV1Api, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { startClusterFeatures } from '../../src/server/cluster-features.js';
import { silentLogger } from '../../src/log.js';
import { renderChart } from '../harness/helm.js';
import { applyManifests, ensureNamespace, kubeconfigYaml, startKubeApiServer, KUBE_VERSIONS, type KubeApiServer } from '../harness/kube.js';
import { staticPolicy } from '../support/configs.js';
import { startWebhook, writeTempConfig } from '../support/webhook.js';

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'CustomResourceDefinition']);

for (const version of KUBE_VERSIONS) {
  describe(`Helm chart RBAC for Events and the in-cluster audit, on a real kube-apiserver (kube-apiserver ${version})`, function () {
    this.timeout(90_000);
    let kube: KubeApiServer;

    before(async function () {
      this.timeout(20 * 60_000); // the first run builds kube-apiserver (~7 minutes)
      kube = await startKubeApiServer({ version });
      for (const ns of ['plain', 'watch', 'shop']) await ensureNamespace(kube.kc, ns);
      // Only the RBAC (and the CRD): no webhook configuration pointing at a Service that does not run here.
      const install = async (release: string, values: Record<string, unknown>) => {
        const objects = await renderChart({ release, namespace: release, values: [values] });
        await applyManifests(kube.kc, objects.filter((o) => RBAC_KINDS.has(o.kind!)));
      };
      await install('plain', {});
      await install('watch', { kubernetes: { audit: { enabled: true } } });
    });
    after(async () => { await kube?.stop(); });

    async function canI(sa: string, verb: string, group: string, resource: string, namespace?: string, name?: string): Promise<boolean> {
      const api = kube.kc.makeApiClient(AuthorizationV1Api);
      const review = await api.createSubjectAccessReview({ body: {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
        spec: { user: `system:serviceaccount:${sa}`, groups: ['system:serviceaccounts'], resourceAttributes: { verb, group, resource, namespace, name } },
      } });
      return review.status?.allowed === true;
    }

    it('default release: may create and patch Events anywhere, nothing the audit needs', async () => {
      const sa = 'plain:plain-imprimatur';
      expect(await canI(sa, 'create', '', 'events', 'shop')).to.equal(true);
      expect(await canI(sa, 'patch', '', 'events', 'shop')).to.equal(true);
      expect(await canI(sa, 'get', '', 'events', 'shop')).to.equal(false);
      expect(await canI(sa, 'list', '', 'pods', 'shop')).to.equal(false);
      expect(await canI(sa, 'list', '', 'namespaces')).to.equal(false);
      expect(await canI(sa, 'create', 'coordination.k8s.io', 'leases', 'plain')).to.equal(false);
    });

    it('audit release: list (not get) namespaces and workloads, PolicyReports, its one Lease; no Secrets, no writes to workloads', async () => {
      const sa = 'watch:watch-imprimatur';
      for (const [group, resource] of [['', 'pods'], ['', 'replicationcontrollers'], ['apps', 'deployments'], ['apps', 'replicasets'], ['apps', 'daemonsets'], ['apps', 'statefulsets'], ['batch', 'jobs'], ['batch', 'cronjobs']]) {
        expect(await canI(sa, 'list', group!, resource!), `list ${resource}`).to.equal(true);
        expect(await canI(sa, 'watch', group!, resource!), `watch ${resource}`).to.equal(false);
        expect(await canI(sa, 'update', group!, resource!, 'shop'), `update ${resource}`).to.equal(false);
      }
      expect(await canI(sa, 'list', '', 'namespaces')).to.equal(true);
      expect(await canI(sa, 'update', '', 'namespaces', undefined, 'shop')).to.equal(false);
      expect(await canI(sa, 'get', '', 'secrets', 'shop')).to.equal(false);
      expect(await canI(sa, 'list', '', 'secrets')).to.equal(false);
      expect(await canI(sa, 'list', '', 'configmaps')).to.equal(false);
      for (const verb of ['list', 'create', 'update', 'delete']) expect(await canI(sa, verb, 'wgpolicyk8s.io', 'policyreports', 'shop'), verb).to.equal(true);
      expect(await canI(sa, 'update', 'coordination.k8s.io', 'leases', 'watch', 'watch-imprimatur-audit')).to.equal(true);
      expect(await canI(sa, 'update', 'coordination.k8s.io', 'leases', 'watch', 'kube-scheduler')).to.equal(false);
      expect(await canI(sa, 'update', 'coordination.k8s.io', 'leases', 'shop', 'watch-imprimatur-audit')).to.equal(false);
    });

    it('that is enough: the audit, its Lease, PolicyReports and Events work as the service account', async () => {
      const api = KubernetesObjectApi.makeApiClient(kube.kc);
      await applyManifests(kube.kc, [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'tool', namespace: 'shop' }, spec: { containers: [{ name: 'c', image: 'quay.io/someone/tool:1' }] } } as KubernetesObject]);
      const kubeconfig = writeTempConfig(kubeconfigYaml(kube.url, kube.caPem, kube.token).replace('    token:', '    as: system:serviceaccount:watch:watch-imprimatur\n    token:'), 'kubeconfig');
      const hook = await startWebhook(staticPolicy());
      const features = await startClusterFeatures({
        kubeconfig, events: true,
        audit: { intervalSeconds: 3600, firstRunMs: 3_600_000, concurrency: 2, policyReports: true, releaseNamespace: 'watch', excludedNamespaces: [], allowNamespaceDetection: true, leaseName: 'watch-imprimatur-audit' },
        runtime: hook.server.runtime, metrics: hook.server.metrics, logger: silentLogger, identity: 'watch-0',
      });
      try {
        expect(await features.lease!.attempt(), 'the Lease').to.equal(true);
        const result = await features.audit!.runOnce();
        expect(result?.summary).to.include({ workloads: 1, deny: 1 });
        const report = await api.read({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', metadata: { name: 'imprimatur', namespace: 'shop' } }) as any;
        expect(report.summary.fail).to.equal(1);
        features.events!.record({ object: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'tool' }, reason: 'ImprimaturDenied', message: 'test' });
        await features.events!.flush();
        expect(await hook.server.metrics.value('imprimatur_kubernetes_events_total', { outcome: 'created' })).to.equal(1);
        expect(await hook.server.metrics.value('imprimatur_audit_policy_report_writes_total', { result: 'failed' })).to.equal(0);
      } finally {
        await features.close();
        await hook.close();
      }
    });
  });
}
