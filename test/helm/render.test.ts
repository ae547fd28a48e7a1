/** The chart's rendered structure, with default and with test values, rendered by the real `helm template` (Helm 3 and 4). */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import yaml from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';
import { CHART_DIR, findObject, renderChart as render, renderChartText as renderText, isHook, type RenderOptions } from '../harness/helm.js';
import { HELM_MAJORS } from '../harness/tools.js';
import { createTestCertificates } from '../harness/tls.js';
import { AUTH_VALUES, ENV_VALUES, TEST_VALUES, detectionValues, workloadCredentialValues } from './values.js';

type Obj = Record<string, any>;
const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
const container = (objects: KubernetesObject[]): Obj => findObject(objects, 'Deployment').spec.template.spec.containers[0];
const webhook = (objects: KubernetesObject[]): Obj => findObject(objects, 'MutatingWebhookConfiguration').webhooks[0];
const detectEntry = (objects: KubernetesObject[]): Obj | undefined => findObject(objects, 'MutatingWebhookConfiguration').webhooks[1];
const checksum = (objects: KubernetesObject[]): string => findObject(objects, 'Deployment').spec.template.metadata.annotations['checksum/config'];

for (const major of HELM_MAJORS) {
  const renderChart = (opts: RenderOptions = {}) => render({ ...opts, helm: major });
  const renderChartText = (opts: RenderOptions = {}) => renderText({ ...opts, helm: major });

  describe(`Helm ${major} chart: default values`, function () {
    this.timeout(120_000);
    let objects: KubernetesObject[];
    before(async () => { objects = await renderChart({ release: 'imprimatur', namespace: 'imprimatur' }); });

    it('renders exactly the expected objects, plus the webhook configurations again as pre-delete hooks', () => {
      const kinds = objects.filter((o) => !isHook(o)).map((o) => o.kind).sort();
      expect(kinds).to.deep.equal(['ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'Deployment',
        'MutatingWebhookConfiguration', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Secret', 'Service', 'ServiceAccount', 'ValidatingWebhookConfiguration']);
      for (const o of objects.filter((x) => !x.kind!.startsWith('Cluster') && !x.kind!.endsWith('WebhookConfiguration'))) {
        expect(o.metadata?.namespace, `${o.kind} namespace`).to.equal('imprimatur');
      }
      // Helm 3 deletes webhook configurations last on uninstall; these hooks make it delete them first (docs/helm.md).
      const hooks = objects.filter(isHook);
      expect(hooks.map((o) => `${o.kind}/${o.metadata?.name}`)).to.deep.equal(['MutatingWebhookConfiguration/imprimatur', 'ValidatingWebhookConfiguration/imprimatur']);
      for (const hook of hooks) {
        expect(hook.metadata!.annotations).to.deep.equal({ 'helm.sh/hook': 'pre-delete', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded' });
        const { annotations: _, ...metadata } = hook.metadata!;
        expect({ ...hook, metadata }, `the ${hook.kind} hook is the release's ${hook.kind}`).to.deep.equal(findObject<KubernetesObject>(objects, hook.kind!));
      }
    });

    it('runs 3 replicas spread by anti-affinity, with a restricted security context', () => {
      const dep = findObject(objects, 'Deployment');
      expect(dep.spec.replicas).to.equal(3);
      const anti = dep.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0];
      expect(anti.podAffinityTerm.topologyKey).to.equal('kubernetes.io/hostname');
      expect(anti.podAffinityTerm.labelSelector.matchLabels).to.deep.equal(dep.spec.selector.matchLabels);
      const sc = container(objects).securityContext;
      expect(sc).to.include({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false });
      expect(sc.capabilities).to.deep.equal({ drop: ['ALL'] });
      expect(sc.seccompProfile).to.deep.equal({ type: 'RuntimeDefault' });
      expect(dep.spec.template.spec.securityContext.runAsNonRoot).to.equal(true);
    });

    it('probes /ready and /health over HTTPS and bounds resources', () => {
      const c = container(objects);
      expect(c.ports).to.deep.equal([{ name: 'https', containerPort: 5000, protocol: 'TCP' }]);
      expect(c.readinessProbe.httpGet).to.deep.equal({ path: '/ready', port: 'https', scheme: 'HTTPS' });
      expect(c.livenessProbe.httpGet).to.deep.equal({ path: '/health', port: 'https', scheme: 'HTTPS' });
      expect(c.resources.requests).to.have.keys('cpu', 'memory');
      expect(c.resources.limits).to.have.keys('cpu', 'memory');
    });

    it('runs `serve` with the mounted config and TLS files on port 5000, behind Service port 443', () => {
      const c = container(objects);
      expect(c.args).to.deep.equal(['serve', '--config', '/app/config/config.yaml', '--tls-cert', '/app/certs/tls.crt',
        '--tls-key', '/app/certs/tls.key', '--host', '*', '--port', '5000', '--shutdown-delay', '5', '--key-file', '/app/keys/integrity.key', '--events']);
      // not ready but answering for 5 s, then up to the 25 s admission deadline to drain, plus 5 s
      expect(findObject(objects, 'Deployment').spec.template.spec.terminationGracePeriodSeconds).to.equal(35);
      const mounts = Object.fromEntries(c.volumeMounts.map((m: Obj) => [m.mountPath, m]));
      // The directory, never a subPath (the kubelet never updates a subPath mount, so hot reload could not work).
      expect(mounts['/app/config']).to.deep.equal({ name: 'config', mountPath: '/app/config', readOnly: true });
      expect(c.volumeMounts.filter((m: Obj) => 'subPath' in m || 'subPathExpr' in m)).to.deep.equal([]);
      expect(mounts['/app/certs']).to.include({ name: 'certs', readOnly: true });
      const volumes = findObject(objects, 'Deployment').spec.template.spec.volumes as Obj[];
      expect(volumes.find((v) => v.name === 'certs')!.secret.secretName).to.equal('imprimatur-tls');
      expect(volumes.find((v) => v.name === 'config')!.projected.sources).to.deep.equal([
        { configMap: { name: 'imprimatur-config', items: [{ key: 'config.yaml', path: 'config.yaml' }] } },
      ]);
      const svc = findObject(objects, 'Service');
      expect(svc.spec.ports).to.deep.equal([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    });

    it('registers every workload kind and pods/ephemeralcontainers for CREATE and UPDATE', () => {
      const w = webhook(objects);
      const resources = (w.rules as Obj[]).flatMap((r) => {
        expect(r.operations).to.deep.equal(['CREATE', 'UPDATE']);
        return (r.resources as string[]).map((res) => `${r.apiGroups[0]}/${res}`);
      });
      expect(resources).to.have.members(['/pods', '/pods/ephemeralcontainers', '/replicationcontrollers', 'apps/deployments',
        'apps/replicasets', 'apps/daemonsets', 'apps/statefulsets', 'batch/jobs', 'batch/cronjobs']);
      // Events for denials are a side effect, suppressed on dry runs
      expect(w).to.include({ failurePolicy: 'Fail', reinvocationPolicy: 'IfNeeded', timeoutSeconds: 30, sideEffects: 'NoneOnDryRun' });
      expect(w.admissionReviewVersions).to.deep.equal(['v1']);
      expect(w.clientConfig.service).to.deep.equal({ name: 'imprimatur', namespace: 'imprimatur', path: '/mutate', port: 443 });
    });

    it('registers a validating webhook per mutating entry (/validate, /validate/detect): same rules, namespaces, failure policy, timeout', () => {
      const validating = findObject(objects, 'ValidatingWebhookConfiguration').webhooks as Obj[];
      const mutating = findObject(objects, 'MutatingWebhookConfiguration').webhooks as Obj[];
      expect(validating).to.have.length(mutating.length).and.length.above(0);
      validating.forEach((v, i) => {
        const m = mutating[i]!;
        expect(v.clientConfig.service).to.deep.equal({ ...m.clientConfig.service, path: m.clientConfig.service.path.replace('/mutate', '/validate') });
        expect(v.clientConfig.caBundle).to.equal(m.clientConfig.caBundle);
        expect(v.rules).to.deep.equal(m.rules);
        expect(v.namespaceSelector).to.deep.equal(m.namespaceSelector);
        expect(v).to.include({ failurePolicy: 'Fail', timeoutSeconds: 30, sideEffects: 'NoneOnDryRun', name: m.name });
        expect(v).to.not.have.property('reinvocationPolicy');
        expect(v.admissionReviewVersions).to.deep.equal(['v1']);
      });
      expect(validating.map((v) => v.clientConfig.service.path)).to.deep.equal(['/validate', '/validate/detect']);
    });

    it('admits ingress only to the webhook port of its own pods; by default from outside the pod network', () => {
      const np = findObject(objects, 'NetworkPolicy');
      expect(np.spec.podSelector.matchLabels).to.deep.equal(findObject(objects, 'Deployment').spec.selector.matchLabels);
      expect(np.spec.policyTypes).to.deep.equal(['Ingress']);
      expect(np.spec.ingress).to.deep.equal([{ ports: [{ port: 5000, protocol: 'TCP' }], from: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }] }]);
      expect(container(objects).ports[0].containerPort).to.equal(5000);
    });

    it('creates the integrity key Secret and mounts it read-only for --key-file; no RBAC reads it', () => {
      const secret = findObject(objects, 'Secret', 'imprimatur-integrity-key');
      expect(b64(secret.data['integrity.key'])).to.match(/^[A-Za-z0-9]{64}$/);
      const c = container(objects);
      expect(c.args[c.args.indexOf('--key-file') + 1]).to.equal('/app/keys/integrity.key');
      expect(c.volumeMounts).to.deep.include({ name: 'integrity-key', mountPath: '/app/keys', readOnly: true });
      expect(findObject(objects, 'Deployment').spec.template.spec.volumes).to.deep.include({ name: 'integrity-key', secret: { secretName: 'imprimatur-integrity-key' } });
    });

    it('never sends kube-system or its own namespace to the webhook; `ignore`-labelled namespaces are skipped', () => {
      expect(webhook(objects).namespaceSelector.matchExpressions).to.deep.equal([
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'imprimatur'] },
        { key: 'imprimatur.dev/webhook', operator: 'NotIn', values: ['ignore', 'detect'] },
      ]);
    });

    it('sends namespaces labelled `detect` to a second entry, path /mutate/detect, otherwise identical', () => {
      const [enforce, detect] = findObject(objects, 'MutatingWebhookConfiguration').webhooks as Obj[];
      expect(detect!.name).to.equal('detect.imprimatur.imprimatur.svc');
      expect(detect!.clientConfig.service).to.deep.equal({ name: 'imprimatur', namespace: 'imprimatur', path: '/mutate/detect', port: 443 });
      expect(detect!.namespaceSelector.matchExpressions).to.deep.equal([
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'imprimatur'] },
        { key: 'imprimatur.dev/webhook', operator: 'In', values: ['detect'] },
      ]);
      const rest = (w: Obj) => ({ ...w, name: undefined, clientConfig: { ...w.clientConfig, service: { ...w.clientConfig.service, path: undefined } }, namespaceSelector: undefined });
      expect(rest(detect!)).to.deep.equal(rest(enforce!));
    });

    it('generates a CA and a serving certificate for the Service names; caBundle is that CA', () => {
      const secret = findObject(objects, 'Secret', 'imprimatur-tls');
      expect(secret.type).to.equal('kubernetes.io/tls');
      const cert = new X509Certificate(b64(secret.data['tls.crt']));
      const ca = new X509Certificate(b64(webhook(objects).clientConfig.caBundle));
      expect(b64(secret.data['ca.crt'])).to.equal(ca.toString());
      expect(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'certificate signed by the caBundle CA').to.equal(true);
      expect(cert.checkPrivateKey(createPrivateKey(b64(secret.data['tls.key'])))).to.equal(true);
      for (const name of ['imprimatur', 'imprimatur.imprimatur', 'imprimatur.imprimatur.svc', 'imprimatur.imprimatur.svc.cluster.local']) {
        expect(cert.checkHost(name), name).to.equal(name);
      }
    });

    it('grants only `get` on owner workload kinds (child approval), and no Secret access', () => {
      const role = findObject(objects, 'ClusterRole', 'imprimatur-owner-reader');
      for (const rule of role.rules as Obj[]) expect(rule.verbs).to.deep.equal(['get']);
      const granted = (role.rules as Obj[]).flatMap((r) => r.resources as string[]);
      expect(granted).to.have.members(['deployments', 'replicasets', 'daemonsets', 'statefulsets', 'jobs', 'cronjobs']);
      expect((role.rules as Obj[]).map((r) => r.apiGroups).flat()).to.have.members(['apps', 'batch']);
      expect(findObject(objects, 'ClusterRoleBinding', 'imprimatur-owner-reader').subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'imprimatur', namespace: 'imprimatur' }]);
      expect(findObject(objects, 'Deployment').spec.template.spec.automountServiceAccountToken).to.equal(true);
    });

    it('ships a config file the program loads, holding the values\' application section', () => {
      const text = findObject(objects, 'ConfigMap', 'imprimatur-config').data['config.yaml'] as string;
      const values = yaml.load(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Obj;
      expect((yaml.load(text) as Obj).application).to.deep.equal(values.application);
      const config = parseConfig(text, 'config.yaml');
      expect(config.prefix).to.equal('application.');
      expect(config.policy.map((r) => `${r.pattern}->${r.validator}`)).to.deep.equal(['*:*->deny', 'registry.k8s.io/*->allow', 'dhi.io/*->dhi', 'docker.io/library/*->docker-official-images']);
    });

    it('helm/values.yaml itself loads as program config', () => {
      const config = loadConfigFile(join(CHART_DIR, 'values.yaml'));
      expect(config.validators.map((v) => v.name)).to.include.members(['allow', 'deny']);
      expect(config.features.automaticChildApproval).to.equal(true);
    });
  });

  describe(`Helm ${major} chart: test values`, function () {
    this.timeout(120_000);
    const certs = createTestCertificates();
    let objects: KubernetesObject[];
    before(async () => {
      objects = await renderChart({ release: 'imprimatur', namespace: 'security', values: [TEST_VALUES, {
        kubernetes: { deployment: { tls: { cert: certs.certPem, key: certs.keyPem, ca: certs.caPem } } },
      }] });
    });

    it('puts detection mode and the other features into the program config', () => {
      const config = parseConfig(findObject(objects, 'ConfigMap', 'imprimatur-config').data['config.yaml'], 'config.yaml');
      expect(config.features.detectionMode).to.equal(true);
      expect(config.features.namespacedValidation.mode).to.equal('validate');
      expect(config.features.automaticChildApproval).to.equal(false);
    });

    it('namespaced validation `validate` selects only namespaces labelled validate (enforced) or detect (detection)', () => {
      const exprs = webhook(objects).namespaceSelector.matchExpressions as Obj[];
      expect(exprs).to.deep.include({ key: 'imprimatur.dev/webhook', operator: 'In', values: ['validate'] });
      expect(exprs).to.deep.include({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'security', 'monitoring'] });
      expect(detectEntry(objects)!.namespaceSelector.matchExpressions).to.deep.include({ key: 'imprimatur.dev/webhook', operator: 'In', values: ['detect'] });
    });

    it('allowNamespaceDetection: false drops the detect entry and enforces namespaces labelled detect', async () => {
      const off = { kubernetes: { webhook: { allowNamespaceDetection: false } } };
      const ignoreMode = await renderChart({ release: 'imprimatur', namespace: 'imprimatur', values: [off] });
      expect(findObject(ignoreMode, 'MutatingWebhookConfiguration').webhooks).to.have.length(1);
      expect(webhook(ignoreMode).namespaceSelector.matchExpressions[1]).to.deep.equal({ key: 'imprimatur.dev/webhook', operator: 'NotIn', values: ['ignore'] });
      const validateMode = await renderChart({ release: 'imprimatur', namespace: 'imprimatur', values: [off, { application: { features: { namespacedValidation: { mode: 'validate' } } } }] });
      expect(webhook(validateMode).namespaceSelector.matchExpressions[1]).to.deep.equal({ key: 'imprimatur.dev/webhook', operator: 'In', values: ['validate', 'detect'] });
    });

    it('takes failurePolicy, reinvocationPolicy and timeoutSeconds from values', () => {
      expect(webhook(objects)).to.include({ failurePolicy: 'Ignore', reinvocationPolicy: 'Never', timeoutSeconds: 10 });
    });

    it('uses the supplied certificate, key and CA', () => {
      const secret = findObject(objects, 'Secret', 'imprimatur-tls');
      expect(b64(secret.data['tls.crt'])).to.equal(certs.certPem);
      expect(b64(secret.data['tls.key'])).to.equal(certs.keyPem);
      expect(b64(webhook(objects).clientConfig.caBundle)).to.equal(certs.caPem);
    });

    it('without child approval and Events: no RBAC and no service-account token', () => {
      expect(objects.filter((o) => /Role/.test(o.kind!))).to.deep.equal([]);
      expect(findObject(objects, 'Deployment').spec.template.spec.automountServiceAccountToken).to.equal(false);
    });

    it('projects custom alert templates into the config directory and sets the Redis URL', () => {
      const c = container(objects);
      expect(c.volumeMounts.map((m: Obj) => m.mountPath)).to.have.members(['/app/config', '/app/certs', '/tmp', '/app/keys'], 'no mount nested in /app/config');
      const volume = (findObject(objects, 'Deployment').spec.template.spec.volumes as Obj[]).find((v) => v.name === 'config')!;
      expect(volume.projected.sources[1]).to.deep.equal({
        configMap: { name: 'imprimatur-alert-templates', items: [{ key: 'team.json', path: 'alert-templates/team.json' }] },
      });
      const env = Object.fromEntries(c.env.map((e: Obj) => [e.name, e.value ?? e.valueFrom]));
      expect(env).to.deep.include({ REDIS_URL: 'redis://redis.cache:6379/0', IMPRIMATUR_TEMPLATE_DIRS: '/app/config/alert-templates' });
      expect(env.NODE_OPTIONS, 'the default heap bound (kubernetes.deployment.heapLimitMiB)').to.equal('--max-old-space-size=128');
      expect(findObject(objects, 'ConfigMap', 'imprimatur-alert-templates').data).to.have.key('team.json');
    });
  });

  describe(`Helm ${major} chart: upgrades and checks`, function () {
    this.timeout(120_000);

    it('mounts each registry Secret named by a validator\'s auth.secretName under /app/secrets/<name>', async () => {
      const objects = await renderChart({ values: [AUTH_VALUES] });
      const spec = findObject(objects, 'Deployment').spec.template.spec;
      expect(spec.containers[0].volumeMounts).to.deep.include({ name: 'auth-registry-creds', mountPath: '/app/secrets/registry-creds', readOnly: true });
      expect(spec.volumes).to.deep.include({ name: 'auth-registry-creds', secret: { secretName: 'registry-creds' } });
      expect(checksum(objects)).to.not.equal(checksum(await renderChart()));
    });

    it('auth.fromWorkload grants get (only) on Secrets and ServiceAccounts, cluster-wide, and mounts the API token', async () => {
      const objects = await renderChart({ values: [workloadCredentialValues()] });
      const role = findObject(objects, 'ClusterRole', 'imprimatur-pull-secret-reader');
      expect(role.rules).to.deep.equal([{ apiGroups: [''], resources: ['secrets', 'serviceaccounts'], verbs: ['get'] }]);
      const binding = findObject(objects, 'ClusterRoleBinding', 'imprimatur-pull-secret-reader');
      expect(binding.roleRef.name).to.equal('imprimatur-pull-secret-reader');
      expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'imprimatur', namespace: 'imprimatur' }]);
      const secretRules = objects.filter((o) => o.kind === 'ClusterRole').flatMap((o) => ((o as Obj).rules as Obj[]).filter((r) => r.resources.includes('secrets')).map(() => o.metadata!.name));
      expect(secretRules, 'roles granting anything on Secrets').to.deep.equal(['imprimatur-pull-secret-reader']);
      expect(objects.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata!.name), 'no owner reader without child approval').to.not.include('imprimatur-owner-reader');
      expect(findObject(objects, 'Deployment').spec.template.spec.automountServiceAccountToken).to.equal(true);
    });

    it('kubernetes.workloadCredentials.namespaces: a RoleBinding in each listed namespace instead of the ClusterRoleBinding', async () => {
      const objects = await renderChart({ values: [workloadCredentialValues(['team-a', 'team-b'])] });
      expect(objects.filter((o) => o.kind === 'ClusterRoleBinding' && (o as Obj).roleRef.name === 'imprimatur-pull-secret-reader')).to.deep.equal([]);
      const bindings = objects.filter((o) => o.kind === 'RoleBinding') as Obj[];
      expect(bindings.map((b) => b.metadata.namespace)).to.deep.equal(['team-a', 'team-b']);
      for (const b of bindings) expect(b.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'imprimatur-pull-secret-reader' });
    });

    it('without auth.fromWorkload nothing grants access to Secrets or ServiceAccounts', async () => {
      for (const values of [[], [TEST_VALUES], [AUTH_VALUES]]) {
        const objects = await renderChart({ values });
        const rules = objects.filter((o) => /Role$/.test(o.kind!)).flatMap((o) => (o as Obj).rules as Obj[]);
        expect(rules.filter((r) => r.resources.some((x: string) => x === 'secrets' || x === 'serviceaccounts' || x === '*'))).to.deep.equal([]);
      }
    });

    it('the checksum annotation is stable for equal config and changes with the config', async () => {
      const [a, b, c] = await Promise.all([renderChart(), renderChart(), renderChart({ values: [detectionValues(true)] })]);
      expect(checksum(a)).to.match(/^[0-9a-f]{64}$/);
      expect(checksum(b)).to.equal(checksum(a));
      expect(checksum(c)).to.not.equal(checksum(a));
    });

    it('NetworkPolicy: pod CIDRs are excluded, the API server source replaces the default, metrics scrapers are added, or it is off', async () => {
      const monitoring = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
      const excluded = findObject(await renderChart({ values: [{ kubernetes: { networkPolicy: { podCidrs: ['10.244.0.0/16', 'fd00:10:244::/56'], metrics: [monitoring] } } }] }), 'NetworkPolicy');
      expect(excluded.spec.ingress[0].from).to.deep.equal([
        { ipBlock: { cidr: '0.0.0.0/0', except: ['10.244.0.0/16'] } }, { ipBlock: { cidr: '::/0', except: ['fd00:10:244::/56'] } }, monitoring,
      ]);
      const apiServer = findObject(await renderChart({ values: [{ kubernetes: { networkPolicy: { apiServer: [{ ipBlock: { cidr: '172.18.0.0/24' } }] } } }] }), 'NetworkPolicy');
      expect(apiServer.spec.ingress[0].from).to.deep.equal([{ ipBlock: { cidr: '172.18.0.0/24' } }]);
      expect((await renderChart({ values: [{ kubernetes: { networkPolicy: { enabled: false } } }] })).map((o) => o.kind)).to.not.include('NetworkPolicy');
    });

    it('uses kubernetes.integrityKey.existingSecret instead of creating one', async () => {
      const objects = await renderChart({ values: [{ kubernetes: { integrityKey: { existingSecret: 'my-key' } } }] });
      expect(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata!.name)).to.deep.equal(['imprimatur-tls']);
      expect(findObject(objects, 'Deployment').spec.template.spec.volumes).to.deep.include({ name: 'integrity-key', secret: { secretName: 'my-key' } });
    });

    it('passes kubernetes.deployment.envs as literals or as valueFrom (a Secret key), after the chart\'s own variables', async () => {
      const objects = await renderChart({ values: [ENV_VALUES] });
      const env = container(objects).env as Obj[];
      expect(env.map((e) => e.name)).to.deep.equal(['IMPRIMATUR_SECRETS_DIR', 'POD_NAME', 'POD_NAMESPACE', 'NODE_OPTIONS', 'HTTPS_PROXY', 'RETRIES', 'SYSDIG_SECURE_API_TOKEN']);
      expect(env).to.deep.include({ name: 'HTTPS_PROXY', value: 'http://proxy.internal:3128' });
      expect(env).to.deep.include({ name: 'RETRIES', value: '3' });
      expect(env).to.deep.include({ name: 'SYSDIG_SECURE_API_TOKEN', valueFrom: { secretKeyRef: { name: 'imprimatur-alerting', key: 'sysdig-token' } } });
      expect(env).to.deep.include({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
      // Nothing of the token reference reaches the program's config file.
      expect(findObject(objects, 'ConfigMap', 'imprimatur-config').data['config.yaml']).not.to.contain('imprimatur-alerting');
    });

    it('refuses an envs entry that is neither a literal nor valueFrom, and names the chart sets itself', async () => {
      const failure = async (values: Record<string, unknown>): Promise<string> => {
        let err: Error | undefined;
        await renderChartText({ values: [values] }).catch((e: Error) => { err = e; });
        return err?.message ?? 'rendered without error';
      };
      const envs = (e: Record<string, unknown>, more: Record<string, unknown> = {}) => ({ kubernetes: { ...more, deployment: { envs: e } } });
      expect(await failure(envs({ TOKEN: { secretKeyRef: { name: 's', key: 'k' } } })))
        .to.match(/kubernetes\.deployment\.envs\.TOKEN: write a literal value, or valueFrom: \{secretKeyRef: \{name: <secret>, key: <key>\}\} \(got keys: secretKeyRef\)/);
      // values.schema.json refuses a list before the template's own check ("a list is not a value") runs.
      expect(await failure(envs({ TOKEN: ['a'] }))).to.match(/'\/kubernetes\/deployment\/envs\/TOKEN': got array, want boolean or number or string or object/);
      expect(await failure(envs({ REDIS_URL: 'redis://x' }, { redis: { url: 'redis://y' } }))).to.match(/envs\.REDIS_URL: the chart sets REDIS_URL itself, from kubernetes\.redis/);
      expect(await failure(envs({ NODE_OPTIONS: '--x' }))).to.match(/envs\.NODE_OPTIONS: the chart sets NODE_OPTIONS itself, from kubernetes\.deployment\.heapLimitMiB/);
      expect(await failure(envs({ POD_NAME: 'x' }))).to.match(/envs\.POD_NAME: the chart sets POD_NAME itself/);
      // Without a heap bound, NODE_OPTIONS is the user's.
      const objects = await renderChart({ values: [{ kubernetes: { deployment: { heapLimitMiB: 0, envs: { NODE_OPTIONS: '--use-openssl-ca' } } } }] });
      expect((container(objects).env as Obj[]).filter((e) => e.name === 'NODE_OPTIONS')).to.deep.equal([{ name: 'NODE_OPTIONS', value: '--use-openssl-ca' }]);
    });

    it('refuses a webhook timeout that is not above the admission deadline', async () => {
      let err: Error | undefined;
      await renderChartText({ set: { 'kubernetes.webhook.timeoutSeconds': 20 } }).catch((e: Error) => { err = e; });
      expect(err?.message).to.match(/admissionDeadlineSeconds \(25\) must be below kubernetes.webhook.timeoutSeconds \(20\)/);
    });

    it('refuses a TLS certificate without its key', async () => {
      let err: Error | undefined;
      await renderChartText({ set: { 'kubernetes.deployment.tls.cert': 'x' } }).catch((e: Error) => { err = e; });
      expect(err?.message).to.match(/tls.key is required/);
    });
  });
}
