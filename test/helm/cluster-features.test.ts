/**
 * The chart's Events, in-cluster audit (RBAC only when on, PolicyReport CRD only when absent), and Grafana dashboard
 * (every query names a metric the webhook really exports).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import yaml from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { CHART_DIR, findObject, renderChart } from '../harness/helm.js';
import { applyManifests, deleteManifests, startKubeApiServer, KUBE_VERSIONS, type KubeApiServer } from '../harness/kube.js';
import { startWebhook } from '../support/webhook.js';
import { staticPolicy } from '../support/configs.js';

type Obj = Record<string, any>;
/** `helm template`; with `cluster`, against that API server (`--dry-run=server`: `lookup` sees its objects). */
const render = (values: Record<string, unknown> = {}, cluster?: KubeApiServer) =>
  renderChart({ release: 'imprimatur', namespace: 'imprimatur', values: [values], ...(cluster ? { kubeconfig: cluster.kubeconfigPath } : {}) });
const container = (objects: KubernetesObject[]): Obj => findObject(objects, 'Deployment').spec.template.spec.containers[0];
const named = (objects: KubernetesObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata?.name === name) as Obj | undefined;
const AUDIT = { kubernetes: { audit: { enabled: true } } };

describe('Helm chart: Events and in-cluster audit', function () {
  this.timeout(120_000);

  it('default: Events on (create/patch events, nothing else), no audit RBAC, no CRD, sideEffects NoneOnDryRun', async () => {
    const objects = await render();
    const role = named(objects, 'ClusterRole', 'imprimatur-cluster-features')!;
    expect(role.rules).to.deep.equal([{ apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] }]);
    expect(named(objects, 'ClusterRoleBinding', 'imprimatur-cluster-features')!.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'imprimatur', namespace: 'imprimatur' }]);
    expect(objects.filter((o) => o.kind === 'Role' || o.kind === 'CustomResourceDefinition')).to.deep.equal([]);
    expect(container(objects).args).to.include('--events').and.not.include('--audit-interval');
    expect(container(objects).env).to.deep.include({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    for (const w of findObject(objects, 'MutatingWebhookConfiguration').webhooks) expect(w.sideEffects).to.equal('NoneOnDryRun');
  });

  it('Events off: no role for them, no flag, sideEffects None', async () => {
    const objects = await render({ kubernetes: { events: { enabled: false } } });
    expect(named(objects, 'ClusterRole', 'imprimatur-cluster-features')).to.equal(undefined);
    expect(container(objects).args).to.not.include('--events');
    for (const w of findObject(objects, 'MutatingWebhookConfiguration').webhooks) expect(w.sideEffects).to.equal('None');
  });

  it('audit on: list on namespaces and workload kinds, PolicyReport writes, one named Lease; the flags and the CRD', async () => {
    const objects = await render({ kubernetes: { audit: { enabled: true, intervalSeconds: 300, concurrency: 2 }, webhook: { excludedNamespaces: ['monitoring', 'logging'] } } });
    const role = named(objects, 'ClusterRole', 'imprimatur-cluster-features')!;
    expect(role.rules).to.deep.equal([
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      { apiGroups: [''], resources: ['namespaces', 'pods', 'replicationcontrollers'], verbs: ['list'] },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'daemonsets', 'statefulsets'], verbs: ['list'] },
      { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['list'] },
      { apiGroups: ['wgpolicyk8s.io'], resources: ['policyreports'], verbs: ['list', 'create', 'update', 'delete'] },
    ]);
    const lease = named(objects, 'Role', 'imprimatur-audit-lease')!;
    expect(lease.metadata.namespace).to.equal('imprimatur');
    expect(lease.rules).to.deep.equal([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['imprimatur-audit'], verbs: ['get', 'update'] },
    ]);
    expect(named(objects, 'RoleBinding', 'imprimatur-audit-lease')!.roleRef.name).to.equal('imprimatur-audit-lease');
    const args = container(objects).args as string[];
    expect(args.slice(args.indexOf('--events'))).to.deep.equal(['--events', '--audit-interval', '300', '--audit-concurrency', '2', '--audit-policy-reports',
      '--release-namespace', 'imprimatur', '--audit-lease', 'imprimatur-audit', '--exclude-namespaces', 'monitoring,logging']);
    const crd = findObject(objects, 'CustomResourceDefinition');
    const shipped = yaml.load(readFileSync(join(CHART_DIR, 'files', 'policyreport-crd.yaml'), 'utf8')) as Obj;
    expect(crd.spec).to.deep.equal(shipped.spec);
    expect(crd.metadata.annotations).to.deep.equal({ 'helm.sh/resource-policy': 'keep' });
    expect(crd.metadata.labels['app.kubernetes.io/instance']).to.equal('imprimatur');
  });

  it('audit on with only the audit (no child approval, no Events): the token is still mounted; detection off is passed on', async () => {
    const objects = await render({
      kubernetes: { audit: { enabled: true }, events: { enabled: false }, webhook: { allowNamespaceDetection: false } },
      application: { features: { automaticChildApproval: false } },
    });
    expect(findObject(objects, 'Deployment').spec.template.spec.automountServiceAccountToken).to.equal(true);
    expect(container(objects).args).to.include('--no-namespace-detection');
    expect(named(objects, 'ClusterRole', 'imprimatur-cluster-features')!.rules[0].resources).to.deep.equal(['namespaces', 'pods', 'replicationcontrollers']);
  });

  it('audit without PolicyReports: no report rule, no CRD, no flag', async () => {
    const objects = await render({ kubernetes: { audit: { enabled: true, policyReports: { enabled: false } } } });
    expect(container(objects).args).to.not.include('--audit-policy-reports');
    expect(objects.filter((o) => o.kind === 'CustomResourceDefinition')).to.deep.equal([]);
    expect(JSON.stringify(named(objects, 'ClusterRole', 'imprimatur-cluster-features'))).to.not.contain('policyreports');
  });

  for (const version of KUBE_VERSIONS) {
    it(`leaves a PolicyReport CRD installed by someone else alone, and keeps managing its own (lookup on kube-apiserver ${version})`, async function () {
      this.timeout(40 * 60_000); // a cold machine builds kube-apiserver first
      const kube = await startKubeApiServer({ version });
      try {
        const shipped = yaml.load(readFileSync(join(CHART_DIR, 'files', 'policyreport-crd.yaml'), 'utf8')) as Obj;
        const crd = (annotations: Record<string, string>) => ({ ...shipped, metadata: { name: 'policyreports.wgpolicyk8s.io', annotations } }) as KubernetesObject;
        const existing = async (annotations: Record<string, string>): Promise<KubernetesObject[]> => {
          await applyManifests(kube.kc, [crd(annotations)]);
          return render(AUDIT, kube);
        };
        const kyverno = await existing({ 'meta.helm.sh/release-name': 'kyverno' });
        expect(kyverno.filter((o) => o.kind === 'CustomResourceDefinition')).to.deep.equal([]);
        const bare = await existing({});
        expect(bare.filter((o) => o.kind === 'CustomResourceDefinition')).to.deep.equal([]);
        const ours = await existing({ 'meta.helm.sh/release-name': 'imprimatur' });
        expect(ours.filter((o) => o.kind === 'CustomResourceDefinition')).to.have.length(1);
        await deleteManifests(kube.kc, [crd({})]);
        expect((await render(AUDIT, kube)).filter((o) => o.kind === 'CustomResourceDefinition'), 'none installed yet').to.have.length(1);
      } finally {
        await kube.stop();
      }
      const off = await render({ kubernetes: { audit: { enabled: true, policyReports: { installCRD: false } } } });
      expect(off.filter((o) => o.kind === 'CustomResourceDefinition')).to.deep.equal([]);
    });
  }
});

describe('Helm chart: Grafana dashboard', function () {
  this.timeout(120_000);
  const file = readFileSync(join(CHART_DIR, 'dashboards', 'imprimatur.json'), 'utf8');
  const dashboard = JSON.parse(file) as Obj;
  const panels = dashboard.panels as Obj[];
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t: Obj) => t.expr as string));

  it('is off by default; on, a ConfigMap with the sidecar label carries the JSON unchanged', async () => {
    expect((await render()).filter((o) => o.metadata?.name === 'imprimatur-grafana-dashboard')).to.deep.equal([]);
    const objects = await render({ kubernetes: { grafanaDashboard: { enabled: true, namespace: 'monitoring', labels: { grafana_dashboard: '1', team: 'sre' }, annotations: { grafana_folder: 'Security' } } } });
    const cm = findObject(objects, 'ConfigMap', 'imprimatur-grafana-dashboard');
    expect(cm.metadata.namespace).to.equal('monitoring');
    expect(cm.metadata.labels).to.include({ grafana_dashboard: '1', team: 'sre', 'app.kubernetes.io/instance': 'imprimatur' });
    expect(cm.metadata.annotations).to.deep.equal({ grafana_folder: 'Security' });
    expect(JSON.parse(cm.data['imprimatur.json'])).to.deep.equal(dashboard);
    const defaults = findObject(await render({ kubernetes: { grafanaDashboard: { enabled: true } } }), 'ConfigMap', 'imprimatur-grafana-dashboard');
    expect(defaults.metadata.namespace).to.equal('imprimatur');
    expect(defaults.metadata.labels.grafana_dashboard).to.equal('1');
  });

  it('is a well-formed dashboard: unique ids, panels on the 24-column grid, every query on the chosen data source and job', () => {
    expect(dashboard).to.include({ uid: 'imprimatur', title: 'Imprimatur' });
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).to.equal(ids.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).to.be.at.most(24);
      if (p.type === 'row') continue;
      expect(p.datasource, p.title).to.deep.equal({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets.length, p.title).to.be.greaterThan(0);
    }
    expect(exprs.length).to.be.greaterThan(20);
    for (const e of exprs) expect(e, e).to.contain('job=~"$job"');
    expect(dashboard.templating.list.map((v: Obj) => v.name)).to.deep.equal(['datasource', 'job']);
  });

  it('queries only metrics the webhook exports (checked against a real /metrics), and covers every imprimatur_ metric family', async () => {
    const hook = await startWebhook(staticPolicy());
    let text: string;
    try {
      text = (await hook.post(undefined, { method: 'GET', path: '/metrics' })).text;
    } finally {
      await hook.close();
    }
    const exported = new Set([...text.matchAll(/^# TYPE (imprimatur_\w+) (\w+)$/gm)].map((m) => m[1]!));
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b(imprimatur_\w+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''))));
    for (const name of used) expect(exported.has(name), `${name} is queried but not exported`).to.equal(true);
    // Every family Imprimatur itself defines (not the Node.js process defaults) is on the dashboard.
    const own = [...exported].filter((n) => !/^imprimatur_(process|nodejs)_/.test(n));
    const missing = own.filter((n) => !used.has(n));
    expect(missing, 'exported but not on the dashboard: add a panel to helm/dashboards/imprimatur.json (keep gridPos on the 24-column grid)').to.deep.equal([]);
  });
});
