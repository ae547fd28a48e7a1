/**
 * The rendered chart applied to a real kube-apiserver (v1.20.2): the API server's validation is the check,
 * then RBAC is probed with SubjectAccessReviews and the webhook's namespaceSelector with a real HTTPS webhook.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { AuthorizationV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { findObject, renderChart } from '../harness/helm-render/render.js';
import { applyManifests, ensureNamespace, retargetWebhook, startKubeApiServer, type KubeApiServer } from '../harness/kube.js';
import { createTestCertificates } from '../harness/tls.js';
import { ENV_VALUES, TEST_VALUES } from './values.js';

const pod = (namespace: string, name = 'demo'): KubernetesObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace },
  spec: { containers: [{ name: 'c', image: 'docker.io/library/nginx:1.25' }] },
} as KubernetesObject);

/**
 * Paths present in `rendered` but absent from what the API server stored. Kubernetes 1.20 silently drops
 * unknown fields, so this is what catches a misspelt or misplaced field in a template.
 */
function droppedFields(rendered: unknown, stored: unknown, path = ''): string[] {
  if (Array.isArray(rendered)) {
    return rendered.flatMap((v, i) => droppedFields(v, Array.isArray(stored) ? stored[i] : undefined, `${path}[${i}]`));
  }
  if (rendered !== null && typeof rendered === 'object') {
    if (stored === null || typeof stored !== 'object') return [path];
    // client-node's models rename a few keys that are reserved words in their generator (NetworkPolicy `from` → `_from`)
    return Object.entries(rendered).flatMap(([k, v]) => {
      const key = k in stored ? k : `_${k}` in stored ? `_${k}` : undefined;
      return key === undefined ? [`${path}.${k}`] : droppedFields(v, (stored as Record<string, unknown>)[key], `${path}.${k}`);
    });
  }
  return stored === undefined ? [path] : [];
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the API server to reject the request');
}

/** An HTTPS webhook that denies everything and records what it was asked. */
async function denyingWebhook(): Promise<{ server: Server; url: string; caPem: string; seen: string[]; paths: string[] }> {
  const certs = createTestCertificates();
  const seen: string[] = [];
  const paths: string[] = [];
  const server = createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      const review = JSON.parse(body) as { request: { uid: string; namespace: string; kind: { kind: string } } };
      seen.push(`${review.request.kind.kind}@${review.request.namespace}`);
      paths.push(`${review.request.namespace}:${new URL(req.url ?? '/', 'https://x').pathname}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
        response: { uid: review.request.uid, allowed: false, status: { code: 403, message: 'denied by the test webhook' } },
      }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `https://127.0.0.1:${port}/mutate`, caPem: certs.caPem, seen, paths };
}

describe('Helm chart applied to a real kube-apiserver', function () {
  this.timeout(60_000);
  let kube: KubeApiServer;
  let release: KubernetesObject[];

  before(async function () {
    this.timeout(20 * 60_000); // the first run builds kube-apiserver (~7 minutes)
    kube = await startKubeApiServer();
  });
  after(async () => { await kube?.stop(); });

  async function canI(sa: string, verb: string, group: string, resource: string): Promise<boolean> {
    const api = kube.kc.makeApiClient(AuthorizationV1Api);
    const review = await api.createSubjectAccessReview({ body: {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user: `system:serviceaccount:${sa}`, groups: ['system:serviceaccounts'], resourceAttributes: { verb, group, resource, namespace: 'apps' } },
    } });
    return review.status?.allowed === true;
  }

  it('accepts every object of the default release', async () => {
    await ensureNamespace(kube.kc, 'imprimatur');
    release = await renderChart({ release: 'imprimatur', namespace: 'imprimatur' });
    const stored = await applyManifests(kube.kc, release);
    expect(stored.map((o) => `${o.kind}/${o.metadata?.name}`)).to.have.members(release.map((o) => `${o.kind}/${o.metadata?.name}`));
    for (const o of release) {
      const kept = stored.find((x) => x.kind === o.kind && x.metadata?.name === o.metadata?.name);
      expect(droppedFields(o, kept), `${o.kind} fields the API server dropped`).to.deep.equal([]);
    }
    const webhook = findObject(stored, 'MutatingWebhookConfiguration').webhooks[0];
    expect(webhook.clientConfig.caBundle).to.equal(findObject(release, 'MutatingWebhookConfiguration').webhooks[0].clientConfig.caBundle);
    expect(webhook.rules).to.have.length(3);
  });

  it('accepts the same release again (an upgrade replaces every object)', async () => {
    const dry = await applyManifests(kube.kc, release, { dryRun: true });
    const after = await applyManifests(kube.kc, release);
    expect(after).to.have.length(release.length);
    expect(findObject(after, 'Deployment').metadata.generation).to.be.greaterThan(0);
    expect(dry).to.have.length(release.length);
  });

  it('lets the service account get owner workloads and nothing else', async () => {
    const sa = 'imprimatur:imprimatur';
    expect(await canI(sa, 'get', 'apps', 'replicasets')).to.equal(true);
    expect(await canI(sa, 'get', 'batch', 'cronjobs')).to.equal(true);
    expect(await canI(sa, 'list', 'apps', 'replicasets')).to.equal(false);
    expect(await canI(sa, 'update', 'apps', 'deployments')).to.equal(false);
    expect(await canI(sa, 'get', '', 'secrets')).to.equal(false);
    expect(await canI(sa, 'get', '', 'pods')).to.equal(false);
  });

  it('accepts a release with the test values (envs from a Secret too); without child approval its account reads nothing', async () => {
    // A second installation's namespace opts out of the first one's webhook, as docs/helm.md says.
    await ensureNamespace(kube.kc, 'audit', { 'imprimatur.dev/webhook': 'ignore' });
    const objects = await renderChart({ release: 'audit', namespace: 'audit', values: [TEST_VALUES, ENV_VALUES] });
    const stored = await applyManifests(kube.kc, objects);
    expect(stored).to.have.length(objects.length);
    for (const o of objects) {
      const kept = stored.find((x) => x.kind === o.kind && x.metadata?.name === o.metadata?.name);
      expect(droppedFields(o, kept), `${o.kind} fields the API server dropped`).to.deep.equal([]);
    }
    const env = findObject(stored, 'Deployment').spec.template.spec.containers[0].env;
    expect(env).to.deep.include({ name: 'SYSDIG_SECURE_API_TOKEN', valueFrom: { secretKeyRef: { name: 'imprimatur-alerting', key: 'sysdig-token' } } });
    expect(stored.filter((o) => /Role/.test(o.kind!))).to.deep.equal([]);
    expect(await canI('audit:audit-imprimatur', 'get', 'apps', 'replicasets')).to.equal(false);
  });

  describe('namespaceSelector, with the chart\'s webhook pointed at a denying test webhook', () => {
    let hook: Awaited<ReturnType<typeof denyingWebhook>>;
    before(async () => {
      hook = await denyingWebhook();
      await applyManifests(kube.kc, [retargetWebhook(findObject(release, 'MutatingWebhookConfiguration'), hook.url, hook.caPem)]);
      await ensureNamespace(kube.kc, 'apps');
      await ensureNamespace(kube.kc, 'kube-system');
      await ensureNamespace(kube.kc, 'opted-out', { 'imprimatur.dev/webhook': 'ignore' });
      await ensureNamespace(kube.kc, 'staging', { 'imprimatur.dev/webhook': 'detect' });
    });
    after(() => { hook?.server.close(); });

    it('sends Pods, Deployments and CronJobs of an ordinary namespace to the webhook', async () => {
      expect(await rejection(applyManifests(kube.kc, [pod('apps')]))).to.match(/HTTP 403.*denied by the test webhook/);
      const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'apps' },
        spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: (pod('apps') as any).spec } } };
      expect(await rejection(applyManifests(kube.kc, [deployment as KubernetesObject]))).to.match(/denied by the test webhook/);
      const cronjob = { apiVersion: 'batch/v1beta1', kind: 'CronJob', metadata: { name: 'c', namespace: 'apps' },
        spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { ...(pod('apps') as any).spec, restartPolicy: 'Never' } } } } } };
      expect(await rejection(applyManifests(kube.kc, [cronjob as KubernetesObject]))).to.match(/denied by the test webhook/);
      expect(hook.seen).to.deep.equal(['Pod@apps', 'Deployment@apps', 'CronJob@apps']);
      expect(hook.paths).to.deep.equal(['apps:/mutate', 'apps:/mutate', 'apps:/mutate']);
    });

    it('sends a namespace labelled detect to the detect entry (/mutate/detect) only', async () => {
      hook.seen.length = 0;
      hook.paths.length = 0;
      expect(await rejection(applyManifests(kube.kc, [pod('staging')]))).to.match(/denied by the test webhook/);
      expect(hook.paths).to.deep.equal(['staging:/mutate/detect']);
    });

    it('never sends kube-system, its own namespace or an `ignore`-labelled namespace', async () => {
      hook.seen.length = 0;
      for (const ns of ['kube-system', 'imprimatur', 'opted-out']) {
        const [created] = await applyManifests(kube.kc, [pod(ns)]);
        expect(created!.metadata?.uid, ns).to.be.a('string');
      }
      expect(hook.seen).to.deep.equal([]);
    });
  });
});
