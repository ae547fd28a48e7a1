/**
 * docs/rollout.md, step by step, on a real kube-apiserver: the chart's objects are applied to it, the webhook runs
 * as the chart's pod would (env from the Secret, the config directory projected with the kubelet's atomic-writer
 * layout, test/harness/kubelet.ts) behind a stand-in Service, and every request goes through the API server.
 * Images live in a real docker-registry; alerts go to a real HTTP receiver.
 *
 * The steps depend on each other (as the runbook's do): install in detection → watch → find what blocking would
 * deny → switch to blocking → roll back → emergency off switch.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { Agent, request } from 'undici';
import { CoreV1Api, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { CHART_DIR, findObject, helm, parseManifests } from '../harness/helm.js';
import { applyManifests, ensureNamespace, retargetWebhook, startKubeApiServer, KUBE_VERSIONS, type KubeApiServer } from '../harness/kube.js';
import { runDeploymentPod, startService, type RunningPod, type TestService } from '../harness/kubelet.js';
import { startHttpReceiver, type HttpReceiver } from '../harness/http-receiver.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import { createTestCertificates, type TestCertificates } from '../harness/tls.js';
import {
  apiStatus, rawClient, useServer, warnings,
} from './helpers.js';

const RELEASE = 'imprimatur';
const WEBHOOK = 'imprimatur.imprimatur.svc';
const BIN = join(process.cwd(), 'bin', 'imprimatur.js');

type Obj = Record<string, any>;

function podObject(namespace: string, name: string, image: string): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { containers: [{ name: 'app', image }] } } as KubernetesObject;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, IMPRIMATUR_LOG_LEVEL: 'silent', ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

for (const version of KUBE_VERSIONS) {
  describe(`e2e: the rollout runbook (docs/rollout.md) on a real kube-apiserver (kube-apiserver ${version})`, function () {
    this.timeout(90_000);
    let kube: KubeApiServer;
    let reg: TestRegistry;
    let rx: HttpReceiver;
    let service: TestService;
    let certs: TestCertificates;
    let key: TestKey;
    let raw: ReturnType<typeof rawClient>;
    let api: KubernetesObjectApi;
    let pod: RunningPod | undefined;
    let checksum = '';
    const token = `tok-${randomBytes(8).toString('hex')}`;
    const revisions: Array<Record<string, unknown>> = [];
    const dir = makeTempDir('rollout');
    const images = { web: '', legacy: '', vendor: '', fresh: '' };
    let legacyDigest = '';

    /** The user's values file (docs/rollout.md §1), for detection or blocking. */
    function values(detection: boolean): Record<string, unknown> {
      return {
        kubernetes: {
          deployment: {
            replicasCount: 1,
            tls: { cert: certs.certPem, key: certs.keyPem, ca: certs.caPem },
            envs: { SYSDIG_SECURE_API_TOKEN: { valueFrom: { secretKeyRef: { name: 'imprimatur-alerting', key: 'sysdig-token' } } } },
          },
          webhook: { failurePolicy: detection ? 'Ignore' : 'Fail' },
        },
        application: {
          insecureRegistries: [reg.host],
          validators: [
            { name: 'deny', type: 'static', approve: false },
            { name: 'allow', type: 'static', approve: true },
            { name: 'myorg', type: 'cosign', trustRoots: [{ name: 'default', key: key.publicPem }] },
          ],
          policy: [
            { pattern: '*:*', validator: 'deny' },
            { pattern: 'registry.k8s.io/*', validator: 'allow' },
            { pattern: `${reg.host}/*`, validator: 'myorg', with: { verifyInTransparencyLog: false } },
          ],
          features: { detectionMode: detection },
        },
        alerting: {
          clusterIdentifier: 'e2e-rollout',
          rejectRequest: { receivers: [{ template: 'sysdig', receiverUrl: rx.url, customHeaders: ['Authorization: Bearer ${SYSDIG_SECURE_API_TOKEN}'] }] },
        },
      };
    }

    function valuesFile(name: string, v: Record<string, unknown>): string {
      const file = join(dir, name);
      writeFileSync(file, yaml.dump(v));
      return file;
    }

    /**
     * `helm upgrade --install` (the real Helm 3) with `v`, then what the cluster would do: the pod rolls when the pod
     * template changed (as the Deployment controller would), and the webhook registrations reach it through the
     * stand-in Service.
     */
    let registered: KubernetesObject[] = [];
    async function helmApply(v: Record<string, unknown>): Promise<void> {
      revisions.push(v);
      const h = await helm('v3');
      const kubeconfig = kube.kubeconfigPath;
      // Undo this test's retargeting first (url instead of service): Helm's three-way merge would add the service back
      // beside the url, which the API server refuses. A registration deleted by hand stays deleted (§7).
      for (const w of registered) {
        const header = { apiVersion: w.apiVersion!, kind: w.kind!, metadata: { name: w.metadata!.name! } };
      if (await api.read(header).then(() => true, () => false)) await applyManifests(kube.kc, [w]);
      }
      await h.ok(['upgrade', '--install', RELEASE, CHART_DIR, '-n', 'imprimatur', ...h.valuesArgs({ values: [v] })], { kubeconfig });
      const objects = parseManifests((await h.ok(['get', 'manifest', RELEASE, '-n', 'imprimatur'], { kubeconfig })).stdout);
      const mutating = findObject<KubernetesObject>(objects, 'MutatingWebhookConfiguration');
      const validating = findObject<KubernetesObject>(objects, 'ValidatingWebhookConfiguration');
      registered = [mutating, validating];
      const next = findObject(objects, 'Deployment').spec.template.metadata.annotations['checksum/config'] as string;
      if (next !== checksum || !pod) {
        const old = pod;
        pod = await runDeploymentPod(kube.kc, 'imprimatur', RELEASE);
        await pod.ready();
        service.setEndpoints([pod.port]);
        await old?.stop();
        checksum = next;
      }
      // Both registrations point at the Service (retargetWebhook keeps each entry's path: /mutate, /validate, …/detect).
      await applyManifests(kube.kc, [retargetWebhook(mutating, `${service.url}/mutate`, certs.caPem), retargetWebhook(validating, `${service.url}/validate`, certs.caPem)]);
    }

    /** A server-side dry run (`kubectl run --dry-run=server`): status, warnings and the Pod as admitted. */
    async function dryRun(namespace: string, image: string): Promise<{ status: number; warnings: string[]; image?: string; message?: string }> {
      const res = await raw.send('POST', `/api/v1/namespaces/${namespace}/pods?dryRun=All`, podObject(namespace, 'imprimatur-probe', image));
      return { status: res.status, warnings: warnings(res.headers.warning), image: res.json?.spec?.containers?.[0]?.image, message: res.json?.message };
    }

    async function rejectAlerts(n: number): Promise<Obj[]> {
      return rx.waitForRequests(n) as Promise<Obj[]>;
    }

    async function metric(name: string, labels: string): Promise<number> {
      const dispatcher = new Agent({ connect: { ca: certs.caPem } });
      try {
        const res = await request(`${pod!.url}/metrics`, { dispatcher });
        const text = await res.body.text();
        const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
        return line ? Number(line.split(' ').pop()) : 0;
      } finally {
        await dispatcher.close();
      }
    }

    before(async function () {
      this.timeout(20 * 60_000); // a cold machine builds kube-apiserver first (~7 minutes)
      [kube, reg, rx, service] = await Promise.all([startKubeApiServer({ version }), startRegistry(), startHttpReceiver(), startService()]);
      useServer(kube);
      certs = createTestCertificates();
      key = generateTestKey('ecdsa-p256');
      const web = await reg.pushRandomImage('myorg/web', '1.0', { seed: 'rollout-web' });
      await signImage(reg, reg.host, 'myorg/web', web.digest, [key]);
      legacyDigest = (await reg.pushRandomImage('myorg/legacy', '1.0', { seed: 'rollout-legacy' })).digest;
      const vendor = await reg.pushRandomImage('vendor/tool', '2.0', { seed: 'rollout-vendor' });
      await signImage(reg, reg.host, 'vendor/tool', vendor.digest, [generateTestKey('ecdsa-p256')]); // signed, by another key
      await reg.pushRandomImage('myorg/fresh', '1.0', { seed: 'rollout-fresh' });
      images.web = `${reg.host}/myorg/web:1.0`;
      images.legacy = `${reg.host}/myorg/legacy:1.0`;
      images.vendor = `${reg.host}/vendor/tool:2.0`;
      images.fresh = `${reg.host}/myorg/fresh:1.0`;
      raw = rawClient(kube);
      api = KubernetesObjectApi.makeApiClient(kube.kc);
      for (const ns of ['imprimatur', 'kube-system', 'apps', 'vendor']) await ensureNamespace(kube.kc, ns);
    });

    after(async () => {
      await pod?.stop();
      await raw?.close();
      await Promise.all([service?.close(), rx?.close(), reg?.stop()]);
      await kube?.stop();
    });

    it('§1 check-config and explain work on the values file before anything is installed', async () => {
      const file = valuesFile('detection.yaml', values(true));
      const check = await cli(['check-config', file], { SYSDIG_SECURE_API_TOKEN: token });
      expect(check.code, check.stderr).to.equal(0);
      expect(check.stdout).to.match(/detection mode ON/);
      const explain = await cli(['explain', '--config', file, images.web, images.legacy], { SYSDIG_SECURE_API_TOKEN: token });
      expect(explain.code, 'exit 1: an image would be denied').to.equal(1);
      expect(explain.stdout).to.contain('DENIED (detection: admitted with a warning)').and.contain(`no signatures found for ${images.legacy}`);
    });

    it('§2 install in detection mode: the pod gets the token from the Secret and the config as a directory; the probe warns', async () => {
      await applyManifests(kube.kc, [{
        apiVersion: 'v1', kind: 'Secret', metadata: { name: 'imprimatur-alerting', namespace: 'imprimatur' },
        type: 'Opaque', data: { 'sysdig-token': Buffer.from(`${token}\n`).toString('base64') },
      } as KubernetesObject]);
      await helmApply(values(true));
      expect(pod!.env.SYSDIG_SECURE_API_TOKEN).to.equal(`${token}\n`);
      expect(pod!.specArgs).to.include.members(['--host', '*']);
      expect(Object.keys(pod!.mounts)).to.include('/app/config');

      const probe = await until('the API server calls the webhook', async () => {
        const r = await dryRun('apps', images.fresh);
        return r.warnings.length > 0 ? r : undefined;
      });
      expect(probe.status, 'detection mode admits').to.equal(201);
      expect(probe.warnings).to.deep.equal([
        `detection mode: would deny image "${images.fresh}" (rule "${reg.host}/*", validator "myorg"): no signatures found for ${images.fresh}`,
      ]);
    });

    it('§2 the would-be denial reaches the reject receiver, marked as detection, with the token from the Secret', async () => {
      const [alert] = await rejectAlerts(1);
      expect(alert!.headers.authorization).to.equal(`Bearer ${token}`);
      const event = alert!.json.events[0];
      expect(event.tags).to.include('detection-mode');
      expect(event.output_fields).to.include({ cluster: 'e2e-rollout', namespace: 'apps', decision: 'reject', detection_mode: 'true', admitted: 'true' });
      expect(event.output).to.match(/^Imprimatur would reject a request \(detection mode: it was admitted with a warning\)/);
    });

    it('§3 workloads deployed during detection are admitted; logs and metrics show the would-be denials', async () => {
      const [web] = await applyManifests(kube.kc, [podObject('apps', 'web', images.web)]);
      expect((web as Obj).spec.containers[0].image, 'verified images are pinned in detection too').to.match(new RegExp(`^${images.web.replace(/[.:/]/g, '\\$&')}@sha256:[0-9a-f]{64}$`));
      await applyManifests(kube.kc, [podObject('apps', 'legacy', images.legacy), podObject('vendor', 'tool', images.vendor)]);
      const flagged = () => pod!.logs.filter((l) => l.msg === 'admission decision' && l.detectionMode === true).map((l) => `${l.namespace}/${l.name}`);
      await until('the decision log lines', async () => (flagged().includes('vendor/tool') ? true : undefined));
      expect(flagged()).to.include.members(['apps/legacy', 'vendor/tool']);
      expect(await metric('imprimatur_admission_requests_total', 'outcome="warned"')).to.be.at.least(3);
    });

    it('§4 find what blocking would deny (imprimatur audit, and explain on the running images), then fix or stage each', async () => {
      const blocking = valuesFile('blocking.yaml', values(false));
      const env = { SYSDIG_SECURE_API_TOKEN: token };
      const audit = async () => {
        const run = await cli(['audit', '--config', blocking, '--kubeconfig', kube.kubeconfigPath, '--all-namespaces', '-o', 'json'], env);
        if (run.code === 2) throw new Error(`audit failed: ${run.stderr}`);
        return { code: run.code, findings: (JSON.parse(run.stdout) as Obj).findings as Obj[] };
      };
      const first = await audit();
      expect(first.code, 'exit 1: something would be denied').to.equal(1);
      expect(first.findings.filter((f) => f.verdict === 'deny').map((f) => [`${f.namespace}/${f.kind}/${f.name}`, f.image, f.reason])).to.deep.equal([
        ['apps/Pod/legacy', images.legacy, `no signatures found for ${images.legacy}`],
        ['vendor/Pod/tool', images.vendor, 'no signature matches trust root "default": 1 signature found, it does not match this key'],
      ]);

      // The same per image with explain, from the images of the running Pods (kubectl get pods -A …).
      const running = await kube.kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
      const imgs = [...new Set(running.items.flatMap((p) => (p.spec?.containers ?? []).map((c) => c.image!)))].sort();
      const run = await cli(['explain', '--config', blocking, '--json', ...imgs], env);
      expect(run.code, run.stderr).to.equal(1);
      expect((JSON.parse(run.stdout) as Obj[]).filter((e) => e.outcome === 'denied').map((e) => e.image)).to.deep.equal([images.legacy, images.vendor]);

      // Options: sign our own image; keep the vendor's namespace in detection for now.
      await signImage(reg, reg.host, 'myorg/legacy', legacyDigest, [key]);
      await ensureNamespace(kube.kc, 'vendor', { 'imprimatur.dev/webhook': 'detect' });
      const again = await audit();
      expect(again.code, 'nothing would be denied any more').to.equal(0);
      expect(again.findings.filter((f) => f.verdict !== 'admit').map((f) => [f.name, f.verdict, f.enforcementSource])).to.deep.equal([['tool', 'warn', 'namespace']]);
    });

    it('§5 switch to blocking: the pod rolls, unsigned images are denied with the specific reason, the staged namespace warns', async () => {
      const before = checksum;
      await helmApply(values(false));
      expect(checksum, 'the config change rolled the pod').to.not.equal(before);
      const denied = await until('blocking is in force', async () => {
        const r = await dryRun('apps', images.fresh);
        return r.status === 403 ? r : undefined;
      });
      expect(denied.message).to.equal(`admission webhook "${WEBHOOK}" denied the request: Imprimatur denied Pod apps/imprimatur-probe: `
        + `image "${images.fresh}" (rule "${reg.host}/*", validator "myorg"): no signatures found for ${images.fresh}`);
      expect((await dryRun('apps', images.vendor)).message).to.match(/no signature matches trust root "default": 1 signature found, it does not match this key$/);
      // What ran during detection and was signed since: a restart (a new Pod) is admitted and pinned.
      const restarted = await dryRun('apps', images.legacy);
      expect(restarted.status).to.equal(201);
      expect(restarted.image).to.equal(`${images.legacy}@${legacyDigest}`);
      // The namespace kept in detection (label detect) warns instead of blocking.
      const staged = await dryRun('vendor', images.vendor);
      expect(staged.status).to.equal(201);
      expect(staged.warnings[0]).to.match(/^detection mode \(namespace\): would deny image/);
      const blocked = await until('a blocking-mode alert', async () => rx.requests.map((a) => (a.json as Obj).events[0])
        .find((e) => e.output_fields.detection_mode === 'false' && e.output_fields.images === images.fresh));
      // The probe is a server-side dry run: the alert says so (dry_run) and is tagged dry-run.
      expect(blocked.output).to.match(/^Imprimatur rejected a request \(dry run: nothing was created or changed\): Imprimatur denied Pod apps\/imprimatur-probe/);
      expect(blocked.tags).to.not.include('detection-mode');
      expect(blocked.tags).to.include('dry-run');
    });

    it('§6 roll back: helm rollback to the detection revision, then forward again', async () => {
      await helmApply(revisions[0]!);
      const r = await until('detection is back', async () => {
        const p = await dryRun('apps', images.fresh);
        return p.status === 201 ? p : undefined;
      });
      expect(r.warnings[0]).to.match(/^detection mode: would deny/);
      await helmApply(values(false));
      await until('blocking again', async () => ((await dryRun('apps', images.fresh)).status === 403 ? true : undefined));
    });

    it('§6 roll back without a rollout: editing the ConfigMap reaches the running pod (hot reload); a broken edit is refused, logged once', async () => {
      const core = kube.kc.makeApiClient(CoreV1Api);
      const running = pod!;
      const edit = async (change: (text: string) => string) => {
        const cm = await core.readNamespacedConfigMap({ name: 'imprimatur-config', namespace: 'imprimatur' });
        cm.data!['config.yaml'] = change(cm.data!['config.yaml']!);
        await core.replaceNamespacedConfigMap({ name: 'imprimatur-config', namespace: 'imprimatur', body: cm });
        expect(await running.sync(), 'the kubelet swapped ..data').to.equal(true);
      };
      const reloads = () => running.logs.filter((l) => /^configuration reload/.test(String(l.msg))).map((l) => l.msg);

      await edit((t) => t.replace('detectionMode: false', 'detectionMode: true'));
      const r = await until('the edited config is in force', async () => {
        const p = await dryRun('apps', images.fresh);
        return p.status === 201 ? p : undefined;
      });
      expect(r.warnings[0]).to.match(/^detection mode: would deny/);
      // The pod's log arrives through a pipe: wait for the line rather than race the API server's answer.
      await until('the reload log line', async () => (reloads().length > 0 ? true : undefined));
      expect(reloads()).to.deep.equal(['configuration reloaded']);

      await edit((t) => t.replace('validators:', 'validators: [broken'));
      await until('the broken edit is refused', async () => (reloads().length === 2 ? true : undefined));
      await new Promise((res) => setTimeout(res, 2500)); // a poll or two more
      expect(reloads()[1]).to.match(/^configuration reload failed; the previous configuration stays in force/);
      expect(reloads(), 'logged once').to.have.length(2);
      expect((await dryRun('apps', images.fresh)).status, 'the previous (detection) config stays').to.equal(201);

      await edit((t) => t.replace('validators: [broken', 'validators:').replace('detectionMode: true', 'detectionMode: false'));
      await until('blocking after the fixed edit', async () => ((await dryRun('apps', images.fresh)).status === 403 ? true : undefined));
      await until('the recovery log line', async () => (reloads().length >= 4 ? true : undefined));
      expect(reloads().slice(2)).to.deep.equal(['configuration reloaded', 'configuration reload recovered: the new configuration is in force']);
      expect(running, 'no restart: the same pod').to.equal(pod);
    });

    it('§7 emergency: webhook down blocks Pods (Fail); deleting the two webhook registrations lets the cluster create Pods again', async () => {
      service.setEndpoints([]);
      await pod!.stop();
      pod = undefined;
      const down = await raw.send('POST', '/api/v1/namespaces/apps/pods', podObject('apps', 'blocked', images.web));
      expect(down.status).to.equal(500);
      expect(down.json.message).to.match(new RegExp(`^Internal error occurred: failed calling webhook "${WEBHOOK.replace(/\./g, '\\.')}"`));
      // Imprimatur's own namespace and kube-system are never sent to it: they can always be repaired.
      for (const ns of ['imprimatur', 'kube-system']) {
        const ok = await raw.send('POST', `/api/v1/namespaces/${ns}/pods?dryRun=All`, podObject(ns, 'repair', images.web));
        expect(ok.status, ns).to.equal(201);
      }

      // kubectl delete mutatingwebhookconfiguration,validatingwebhookconfiguration imprimatur
      const registration = (kind: string) => ({ apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name: RELEASE } });
      const started = Date.now();
      await api.delete(registration('MutatingWebhookConfiguration'));
      await api.delete(registration('ValidatingWebhookConfiguration'));
      const created = await until('Pods can be created again', async () => {
        const res = await raw.send('POST', '/api/v1/namespaces/apps/pods', podObject('apps', 'after-off-switch', images.fresh));
        return res.status === 201 ? res : undefined;
      });
      expect(created.json.spec.containers[0].image, 'unchecked: nothing verified or pinned').to.equal(images.fresh);
      expect(Date.now() - started).to.be.below(15_000);

      // Restore: helm upgrade with the same values recreates the registration.
      await helmApply(values(false));
      await until('blocking restored', async () => ((await dryRun('apps', images.fresh)).status === 403 ? true : undefined));
      for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
        await api.read(registration(kind)).catch((err) => { throw new Error(`${kind} not restored: ${apiStatus(err).message}`); });
      }
    });
  });
}
