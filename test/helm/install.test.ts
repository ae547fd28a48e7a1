/**
 * The chart installed, upgraded and uninstalled by the real Helm CLI (v3 and v4) on a real kube-apiserver
 * (v1.20.2 and the current release): the API server's validation is the check, RBAC is probed with
 * SubjectAccessReviews, the webhook's namespaceSelector with a real HTTPS webhook, and the order in which
 * `helm uninstall` deletes objects is read back from the API server's own watch history.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { ApiException, AuthorizationV1Api, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { CHART_DIR, findObject, helm, isHook, parseManifests, type Helm } from '../harness/helm.js';
import {
  applyManifests, currentResourceVersion, ensureNamespace, eventsSince, retargetWebhook, startKubeApiServer,
  KUBE_VERSIONS, type KubeApiServer, type WatchEvent,
} from '../harness/kube.js';
import { HELM_MAJORS } from '../harness/tools.js';
import { createTestCertificates } from '../harness/tls.js';
import { ENV_VALUES, TEST_VALUES, detectionValues, workloadCredentialValues } from './values.js';

type Obj = Record<string, any>;

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

/** The stored object, or undefined when the API server answers 404. */
async function stored(kube: KubeApiServer, o: KubernetesObject): Promise<KubernetesObject | undefined> {
  const api = KubernetesObjectApi.makeApiClient(kube.kc);
  try {
    return await api.read({ apiVersion: o.apiVersion!, kind: o.kind!, metadata: { name: o.metadata!.name!, namespace: o.metadata?.namespace } });
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

const id = (o: KubernetesObject): string => `${o.kind}/${o.metadata?.name}`;
const WEBHOOK_KINDS = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

for (const version of KUBE_VERSIONS) {
  describe(`Helm chart installed by the real Helm on kube-apiserver ${version}`, function () {
    this.timeout(120_000);
    let kube: KubeApiServer;

    before(async function () {
      this.timeout(40 * 60_000); // a cold machine builds kube-apiserver first (minutes)
      kube = await startKubeApiServer({ version });
      // Kubernetes >= 1.21 labels every namespace with its name; the 1.20 test server does not (ensureNamespace does).
      await ensureNamespace(kube.kc, 'kube-system');
    });
    after(async () => { await kube?.stop(); });

    async function canI(sa: string, verb: string, group: string, resource: string, namespace = 'apps'): Promise<boolean> {
      const api = kube.kc.makeApiClient(AuthorizationV1Api);
      const review = await api.createSubjectAccessReview({ body: {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
        spec: { user: `system:serviceaccount:${sa}`, groups: ['system:serviceaccounts'], resourceAttributes: { verb, group, resource, namespace } },
      } });
      return review.status?.allowed === true;
    }

    /** The objects of an installed release, from Helm's own record (`helm get manifest`): no hooks. */
    async function releaseObjects(h: Helm, release: string, ns: string): Promise<KubernetesObject[]> {
      return parseManifests((await h.ok(['get', 'manifest', release, '-n', ns], { kubeconfig: kube.kubeconfigPath })).stdout);
    }

    /** Uninstalls; returns the changes to the release's webhook configurations and the deletions of its Service and Deployment. */
    async function uninstallWatched(h: Helm, release: string, ns: string, args: string[] = []): Promise<{ webhooks: Record<string, WatchEvent[]>; service: WatchEvent; deployment: WatchEvent }> {
      const from = await currentResourceVersion(kube);
      await h.ok(['uninstall', release, '-n', ns, ...args], { kubeconfig: kube.kubeconfigPath });
      const [mutating, validating, services, deployments] = await Promise.all([
        eventsSince(kube, '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', from),
        eventsSince(kube, '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', from),
        eventsSince(kube, `/api/v1/namespaces/${ns}/services`, from),
        eventsSince(kube, `/apis/apps/v1/namespaces/${ns}/deployments`, from),
      ]);
      const deleted = (events: WatchEvent[], what: string): WatchEvent => {
        const e = events.filter((x) => x.type === 'DELETED');
        expect(e, `${what} deleted once`).to.have.length(1);
        return e[0]!;
      };
      return {
        webhooks: { MutatingWebhookConfiguration: mutating.filter((e) => e.name === release), ValidatingWebhookConfiguration: validating.filter((e) => e.name === release) },
        service: deleted(services, 'Service'), deployment: deleted(deployments, 'Deployment'),
      };
    }

    for (const major of HELM_MAJORS) {
      describe(`with Helm ${major}`, () => {
        const ns = `imprimatur-${major}`;
        const release = 'imprimatur';
        let h: Helm;
        let installed: KubernetesObject[];
        const k = { timeoutMs: 120_000, get kubeconfig() { return kube.kubeconfigPath; } };

        before(async function () {
          this.timeout(40 * 60_000); // a cold machine builds Helm first
          h = await helm(major);
          await ensureNamespace(kube.kc, ns);
        });

        it('installs the release: every object stored as rendered, the webhook configuration last', async () => {
          const out = await h.ok(['install', release, CHART_DIR, '-n', ns], k);
          expect(out.stdout).to.match(/STATUS: deployed/);
          installed = await releaseObjects(h, release, ns);
          // What Helm recorded is what `helm template` renders (hooks aside), and each object is stored.
          const rendered = (await h.template({ release, namespace: ns })).filter((o) => !isHook(o));
          expect(installed.map(id).sort()).to.deep.equal(rendered.map(id).sort());
          expect(installed.map((o) => o.kind)).to.include.members(['Deployment', 'Service', 'Secret', 'ConfigMap', ...WEBHOOK_KINDS]);
          for (const o of installed) {
            const kept = await stored(kube, o);
            expect(kept, `${id(o)} exists`).to.not.equal(undefined);
            expect(droppedFields(o, kept), `${id(o)}: fields the API server dropped`).to.deep.equal([]);
          }
          // The capabilities Helm read from this API server decide the PodDisruptionBudget's version.
          expect(findObject(installed, 'PodDisruptionBudget').apiVersion).to.equal(kube.minor >= 21 ? 'policy/v1' : 'policy/v1beta1');
          // The pre-delete hooks are kept in the release record, not created.
          for (const kind of WEBHOOK_KINDS) {
            const webhook = (await stored(kube, findObject(installed, kind))) as Obj;
            expect(webhook.metadata.annotations?.['helm.sh/hook'], kind).to.equal(undefined);
            expect(webhook.webhooks[0].rules, kind).to.have.length(3);
          }
          const hooks = (await h.ok(['get', 'hooks', release, '-n', ns], k)).stdout;
          expect(parseManifests(hooks).map(id).sort()).to.deep.equal(WEBHOOK_KINDS.map((kind) => `${kind}/imprimatur`));
        });

        it('lets the service account get owner workloads and nothing else', async () => {
          const sa = `${ns}:imprimatur`;
          expect(await canI(sa, 'get', 'apps', 'replicasets')).to.equal(true);
          expect(await canI(sa, 'get', 'batch', 'cronjobs')).to.equal(true);
          expect(await canI(sa, 'list', 'apps', 'replicasets')).to.equal(false);
          expect(await canI(sa, 'update', 'apps', 'deployments')).to.equal(false);
          expect(await canI(sa, 'get', '', 'secrets')).to.equal(false);
          expect(await canI(sa, 'get', '', 'pods')).to.equal(false);
        });

        it('upgrades: the config and the pods\' checksum change, the TLS Secret, caBundle and integrity key stay (Helm `lookup`)', async () => {
          const before = Object.fromEntries(await Promise.all(installed.map(async (o) => [id(o), await stored(kube, o)] as const))) as Record<string, Obj>;
          await h.ok(['upgrade', release, CHART_DIR, '-n', ns, ...h.valuesArgs({ values: [detectionValues(true)] })], k);
          const after = Object.fromEntries(await Promise.all(installed.map(async (o) => [id(o), await stored(kube, o)] as const))) as Record<string, Obj>;
          expect(after['Secret/imprimatur-tls']!.data).to.deep.equal(before['Secret/imprimatur-tls']!.data);
          expect(after['Secret/imprimatur-integrity-key']!.data).to.deep.equal(before['Secret/imprimatur-integrity-key']!.data);
          const caBundle = (o: Obj | undefined): string => o!.webhooks[0].clientConfig.caBundle;
          for (const kind of WEBHOOK_KINDS) {
            expect(caBundle(after[`${kind}/imprimatur`])).to.equal(caBundle(before[`${kind}/imprimatur`]));
            expect(caBundle(after[`${kind}/imprimatur`])).to.equal(before['Secret/imprimatur-tls']!.data['ca.crt']);
          }
          expect(after['ConfigMap/imprimatur-config']!.data['config.yaml']).to.match(/detectionMode: true/);
          const checksum = (o: Obj | undefined): string => o!.spec.template.metadata.annotations['checksum/config'];
          expect(checksum(after['Deployment/imprimatur'])).to.not.equal(checksum(before['Deployment/imprimatur']));
          expect((await h.ok(['history', release, '-n', ns, '--output', 'json'], k)).stdout).to.match(/"revision":2/);
        });

        it('refuses values its schema rejects, before touching the cluster (Helm enforces values.schema.json)', async () => {
          const res = await h.run(['upgrade', release, CHART_DIR, '-n', ns, '--set-json', 'application.features.detectionMode="yes"'], k);
          expect(res.code).to.not.equal(0);
          expect(res.stderr).to.match(/values don't meet the specifications of the schema/);
          expect(res.stderr).to.match(/detectionMode/);
          const history = JSON.parse((await h.ok(['history', release, '-n', ns, '--output', 'json'], k)).stdout) as Array<{ revision: number }>;
          expect(history.map((r) => r.revision)).to.deep.equal([1, 2]);
        });

        it('installs a second release with the test values (envs from a Secret too); without child approval its account reads nothing', async () => {
          // A second installation's namespace opts out of the first one's webhook, as docs/helm.md says.
          const auditNs = `audit-${major}`;
          await ensureNamespace(kube.kc, auditNs, { 'imprimatur.dev/webhook': 'ignore' });
          await h.ok(['install', 'audit', CHART_DIR, '-n', auditNs, ...h.valuesArgs({ values: [TEST_VALUES, ENV_VALUES] })], k);
          const objects = await releaseObjects(h, 'audit', auditNs);
          for (const o of objects) {
            expect(droppedFields(o, await stored(kube, o)), `${id(o)}: fields the API server dropped`).to.deep.equal([]);
          }
          const env = ((await stored(kube, findObject(objects, 'Deployment'))) as Obj).spec.template.spec.containers[0].env;
          expect(env).to.deep.include({ name: 'SYSDIG_SECURE_API_TOKEN', valueFrom: { secretKeyRef: { name: 'imprimatur-alerting', key: 'sysdig-token' } } });
          expect(objects.filter((o) => /Role/.test(o.kind!))).to.deep.equal([]);
          expect(await canI(`${auditNs}:audit-imprimatur`, 'get', 'apps', 'replicasets')).to.equal(false);
          await h.ok(['uninstall', 'audit', '-n', auditNs], k);
          for (const o of objects) expect(await stored(kube, o), `${id(o)} removed`).to.equal(undefined);
        });

        it('auth.fromWorkload: get on Secrets and ServiceAccounts everywhere, or only in kubernetes.workloadCredentials.namespaces', async () => {
          // failurePolicy Ignore (TEST_VALUES): these releases' webhooks point at Services without pods.
          const credsNs = `creds-${major}`;
          await ensureNamespace(kube.kc, credsNs, { 'imprimatur.dev/webhook': 'ignore' });
          await h.ok(['install', 'wide', CHART_DIR, '-n', credsNs, ...h.valuesArgs({ values: [TEST_VALUES, workloadCredentialValues()] })], k);
          const wide = `${credsNs}:wide-imprimatur`;
          expect(await canI(wide, 'get', '', 'secrets', 'anywhere')).to.equal(true);
          expect(await canI(wide, 'get', '', 'serviceaccounts', 'anywhere')).to.equal(true);
          expect(await canI(wide, 'list', '', 'secrets', 'anywhere'), 'never list').to.equal(false);
          expect(await canI(wide, 'watch', '', 'secrets', 'anywhere'), 'never watch').to.equal(false);
          expect(await canI(wide, 'get', 'apps', 'replicasets'), 'no owner access without child approval').to.equal(false);
          await h.ok(['uninstall', 'wide', '-n', credsNs], k);
          expect(await canI(wide, 'get', '', 'secrets', 'anywhere'), 'removed with the release').to.equal(false);

          for (const team of ['team-a', 'team-b']) await ensureNamespace(kube.kc, team);
          await h.ok(['install', 'narrow', CHART_DIR, '-n', credsNs, ...h.valuesArgs({ values: [TEST_VALUES, workloadCredentialValues(['team-a', 'team-b'])] })], k);
          for (const o of await releaseObjects(h, 'narrow', credsNs)) {
            expect(droppedFields(o, await stored(kube, o)), `${id(o)}: fields the API server dropped`).to.deep.equal([]);
          }
          const narrow = `${credsNs}:narrow-imprimatur`;
          expect(await canI(narrow, 'get', '', 'secrets', 'team-a')).to.equal(true);
          expect(await canI(narrow, 'get', '', 'serviceaccounts', 'team-b')).to.equal(true);
          expect(await canI(narrow, 'get', '', 'secrets', 'team-c')).to.equal(false);
          expect(await canI(narrow, 'get', '', 'secrets', 'kube-system')).to.equal(false);
          await h.ok(['uninstall', 'narrow', '-n', credsNs], k);
        });

        it("installs a release from a Connaisseur values file (every key of Connaisseur's chart, test/fixtures/connaisseur) with an overlay", async () => {
          const migratedNs = `migrated-${major}`;
          await ensureNamespace(kube.kc, migratedNs, { 'imprimatur.dev/webhook': 'ignore' });
          const valueFiles = ['values.yaml', 'cosign-overlay.yaml'].map((f) => `test/fixtures/connaisseur/${f}`);
          // failurePolicy Ignore: this release has no running pods and must not block the other tests while installed
          await h.ok(['install', 'migrated', CHART_DIR, '-n', migratedNs, ...h.valuesArgs({ valueFiles, set: { 'kubernetes.webhook.failurePolicy': 'Ignore' } })], k);
          const objects = await releaseObjects(h, 'migrated', migratedNs);
          for (const o of objects) {
            expect(droppedFields(o, await stored(kube, o)), `${id(o)}: fields the API server dropped`).to.deep.equal([]);
          }
          const deployment = (await stored(kube, findObject(objects, 'Deployment'))) as Obj;
          expect(deployment.spec.template.spec.containers[0].image).to.equal('registry.example.com/platform/admission:v3.10.0');
          expect(deployment.spec.template.spec.tolerations[0]).to.include({ key: 'dedicated', value: 'security' });
          await h.ok(['uninstall', 'migrated', '-n', migratedNs], k);
          for (const o of objects) expect(await stored(kube, o), `${id(o)} removed`).to.equal(undefined);
        });

        describe('namespaceSelector, with the installed webhook pointed at a denying test webhook', () => {
          let hook: Awaited<ReturnType<typeof denyingWebhook>>;
          before(async () => {
            hook = await denyingWebhook();
            await applyManifests(kube.kc, [retargetWebhook(findObject(installed, 'MutatingWebhookConfiguration'), hook.url, hook.caPem)]);
            await ensureNamespace(kube.kc, 'apps');
            await ensureNamespace(kube.kc, 'opted-out', { 'imprimatur.dev/webhook': 'ignore' });
            await ensureNamespace(kube.kc, 'staging', { 'imprimatur.dev/webhook': 'detect' });
            // The API server picks up a changed webhook configuration asynchronously: wait until it calls the test webhook.
            const end = Date.now() + 20_000;
            let last = '';
            while (!/denied by the test webhook/.test(last)) {
              if (Date.now() > end) throw new Error(`the API server never called the retargeted webhook (last: ${last})`);
              last = await applyManifests(kube.kc, [pod('apps', 'probe')], { dryRun: true }).then(() => 'admitted', (e: Error) => e.message);
            }
            hook.seen.length = 0;
            hook.paths.length = 0;
          });
          after(() => { hook?.server.close(); });

          it('sends Pods, Deployments and CronJobs of an ordinary namespace to the webhook', async () => {
            expect(await rejection(applyManifests(kube.kc, [pod('apps')]))).to.match(/HTTP 403.*denied by the test webhook/);
            const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'apps' },
              spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: (pod('apps') as any).spec } } };
            expect(await rejection(applyManifests(kube.kc, [deployment as KubernetesObject]))).to.match(/denied by the test webhook/);
            const cronjob = { apiVersion: kube.minor >= 21 ? 'batch/v1' : 'batch/v1beta1', kind: 'CronJob', metadata: { name: 'c', namespace: 'apps' },
              spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { ...(pod('apps') as any).spec, restartPolicy: 'Never' } } } } } };
            expect(await rejection(applyManifests(kube.kc, [cronjob as KubernetesObject]))).to.match(/denied by the test webhook/);
            expect(hook.seen).to.deep.equal(['Pod@apps', 'Deployment@apps', 'CronJob@apps']);
            expect(hook.paths).to.deep.equal(['apps:/mutate', 'apps:/mutate', 'apps:/mutate']);
          });

          it('sends a namespace labelled detect to the detect entry (/mutate/detect) only', async () => {
            hook.seen.length = 0;
            hook.paths.length = 0;
            expect(await rejection(applyManifests(kube.kc, [pod('staging', `demo-${major}`)]))).to.match(/denied by the test webhook/);
            expect(hook.paths).to.deep.equal(['staging:/mutate/detect']);
          });

          it('never sends kube-system, its own namespace or an `ignore`-labelled namespace', async () => {
            hook.seen.length = 0;
            for (const namespace of ['kube-system', ns, 'opted-out']) {
              const [created] = await applyManifests(kube.kc, [pod(namespace, `demo-${major}`)]);
              expect(created!.metadata?.uid, namespace).to.be.a('string');
            }
            expect(hook.seen).to.deep.equal([]);
          });
        });

        describe('uninstall', () => {
          it('uninstalls: the webhook configuration goes first, then every other object', async () => {
            const { webhooks, service, deployment } = await uninstallWatched(h, release, ns);
            for (const kind of WEBHOOK_KINDS) {
              // pre-delete hook: the release's webhook configuration deleted, the identical hook created and deleted
              expect(webhooks[kind]!.map((e) => e.type), kind).to.deep.equal(['DELETED', 'ADDED', 'DELETED']);
              for (const e of webhooks[kind]!) {
                expect(e.resourceVersion < service.resourceVersion, `${kind} changed before the Service was deleted`).to.equal(true);
                expect(e.resourceVersion < deployment.resourceVersion, `${kind} changed before the Deployment was deleted`).to.equal(true);
              }
            }
            for (const o of installed) expect(await stored(kube, o), `${id(o)} removed`).to.equal(undefined);
            expect((await h.ok(['list', '-n', ns, '--short'], k)).stdout.trim()).to.equal('');
          });

          it(`without the hook (--no-hooks), Helm ${major} itself deletes the webhook configuration ${major === 'v3' ? 'last — why the chart has the hook' : 'first'}`, async () => {
            await h.ok(['install', release, CHART_DIR, '-n', ns], k);
            const { webhooks, service } = await uninstallWatched(h, release, ns, ['--no-hooks']);
            for (const kind of WEBHOOK_KINDS) {
              expect(webhooks[kind]!.map((e) => e.type), kind).to.deep.equal(['DELETED']);
              expect(webhooks[kind]![0]!.resourceVersion < service.resourceVersion, `${kind} deleted before the Service`).to.equal(major !== 'v3');
            }
            for (const o of installed) expect(await stored(kube, o), `${id(o)} removed`).to.equal(undefined);
          });
        });
      });
    }
  });
}

