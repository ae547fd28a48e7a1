/**
 * Issue 18: `auth.fromWorkload` end to end. A real kube-apiserver (v1.20.2) with the chart's webhook registrations
 * calls the real webhook, which reads Secrets and ServiceAccounts from that API server (one `get` each). Two real
 * registries hold private, signed images: one with htpasswd (Basic) auth, behind a front that records every
 * Authorization header it receives, and one with Docker token auth (a real token service that records what it is
 * sent). The verification cache is on (600 s, longer than this file runs on a busy machine) and shared through a
 * real redis-server, so the cross-namespace cases go through it; the webhook logs at debug level (with the production
 * logger's redaction) into memory and sends an alert for every admitted and rejected request to a real HTTP receiver,
 * so the last case can look for credentials in all three.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { CoreV1Api, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { kubernetesObjectReader } from '../../src/admission/child-approval.js';
import { PullSecretStore } from '../../src/pull-secrets/store.js';
import { workloadCredentialsFrom } from '../../src/pull-secrets/workload.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { RedisStore } from '../../src/cache/redis.js';
import { IntegrityKey } from '../../src/integrity/key.js';
import { loggerOptions } from '../../src/log.js';
import { pino } from 'pino';
import { generateTestKey, signImage, type TestKey } from '../harness/cosign-signing.js';
import { startHttpFront, type HttpFront } from '../harness/http-front.js';
import { startHttpReceiver, type HttpReceiver } from '../harness/http-receiver.js';
import { startInjectorWebhook, type InjectorWebhook } from '../harness/injector-webhook.js';
import { localSelfSigned } from '../../src/server/tls.js';
import { tmpdir } from 'node:os';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { applyManifests, deleteManifests, ensureNamespace, kubeconfigYaml, startKubeApiServer, webhookConfiguration, KUBE_VERSIONS, type KubeApiServer } from '../harness/kube.js';
import { renderChart } from '../harness/helm.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import { indentPem } from '../support/configs.js';
import { startWebhook, type TestWebhook } from '../support/webhook.js';
import { header, refusal, registerWebhook, storedImages, useServer, waitUntilWebhookActive, webhookCaPem, workload, type Extra } from './helpers.js';

const ALICE = { user: 'alice', password: 'basic:pass' };
const BOB = { user: 'bob', password: 'token-pass' };
const basicAuth = (u: { user: string; password: string }) => `Basic ${Buffer.from(`${u.user}:${u.password}`).toString('base64')}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

const BIN = join(process.cwd(), 'bin', 'imprimatur.js');

/** The built CLI: `imprimatur <args>`. */
function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, IMPRIMATUR_LOG_LEVEL: 'silent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A kubernetes.io/dockerconfigjson Secret with one entry per host. */
function pullSecret(namespace: string, name: string, auths: Record<string, { user: string; password: string }>, type = 'kubernetes.io/dockerconfigjson'): KubernetesObject {
  const config = { auths: Object.fromEntries(Object.entries(auths).map(([host, u]) => [host, { auth: b64(`${u.user}:${u.password}`) }])) };
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type, data: { '.dockerconfigjson': b64(JSON.stringify(config)) } } as KubernetesObject;
}

/** `workload(...)` with imagePullSecrets and/or a serviceAccountName in its pod spec. */
function withPullSecrets(o: KubernetesObject, secrets: string[], serviceAccount?: string): KubernetesObject {
  const any = o as Record<string, any>;
  const spec = o.kind === 'Pod' ? any.spec : o.kind === 'CronJob' ? any.spec.jobTemplate.spec.template.spec : any.spec.template.spec;
  if (secrets.length) spec.imagePullSecrets = secrets.map((name) => ({ name }));
  if (serviceAccount) spec.serviceAccountName = serviceAccount;
  return o;
}

// One suite per API server (v1.20.2 and the current release), as every e2e suite.
for (const version of KUBE_VERSIONS) describe(`e2e: registry credentials from the workload (auth.fromWorkload) (kube-apiserver ${version})`, function () {
  this.timeout(60_000);
  let kube: KubeApiServer;
  let basic: TestRegistry;
  let token: TestRegistry;
  let recording: HttpFront;
  let hook: TestWebhook;
  let api: KubernetesObjectApi;
  let core: CoreV1Api;
  let key: TestKey;
  /** Authorization headers the Basic-auth registry received (undefined: none sent). */
  const received: Array<string | undefined> = [];
  let basicImage: string;
  let basicPinned: string;
  let tokenImage: string;
  let fallbackImage: string;
  let secretsDir: string;
  /** Images verified only by the "both entries" case (so no earlier cache entry serves them). */
  let basicImage2: string;
  let tokenImage2: string;
  let redis: TestRedis;
  let store: RedisStore;
  let alerts: HttpReceiver;
  /** Every log line the webhook wrote (debug level, production redaction). */
  const logLines: string[] = [];

  const tokenHost = () => token.tokenServer!.host;

  before(async function () {
    this.timeout(20 * 60_000); // a cold machine builds kube-apiserver first (~7 minutes)
    [kube, basic, token, redis, alerts] = await Promise.all([
      startKubeApiServer({ version }), startRegistry({ htpasswd: ALICE }), startRegistry({ token: true, htpasswd: BOB }), startRedis(), startHttpReceiver(),
    ]);
    useServer(kube); // the CronJob API version this API server serves (other suites may have set another)
    recording = await startHttpFront({
      upstream: basic.directUrl,
      intercept: async (req, forward) => {
        received.push(req.headers.authorization);
        return forward();
      },
    });
    key = generateTestKey('ecdsa-p256');
    const a = await basic.pushRandomImage('team/app', '1.0', { seed: 'pull-secrets-basic' });
    await signImage(basic, recording.host, 'team/app', a.digest, [key]);
    basicImage = `${recording.host}/team/app:1.0`;
    basicPinned = `${basicImage}@${a.digest}`;
    const t = await token.pushRandomImage('team/api', '2.0', { seed: 'pull-secrets-token' });
    await signImage(token, token.host, 'team/api', t.digest, [key]);
    tokenImage = `${token.host}/team/api:2.0`;
    const a2 = await basic.pushRandomImage('team/app2', '1.0', { seed: 'pull-secrets-basic-2' });
    await signImage(basic, recording.host, 'team/app2', a2.digest, [key]);
    basicImage2 = `${recording.host}/team/app2:1.0`;
    const t2 = await token.pushRandomImage('team/api2', '2.0', { seed: 'pull-secrets-token-2' });
    await signImage(token, token.host, 'team/api2', t2.digest, [key]);
    tokenImage2 = `${token.host}/team/api2:2.0`;
    const f = await token.pushRandomImage('central/tool', '3.0', { seed: 'pull-secrets-fallback' });
    await signImage(token, token.host, 'central/tool', f.digest, [key]);
    fallbackImage = `${token.host}/central/tool:3.0`;

    // The validator's own secret (auth.secretName, mounted): credentials for the token registry's central/ only.
    secretsDir = makeTempDir('pull-secrets-mounted');
    mkdirSync(join(secretsDir, 'central'));
    writeFileSync(join(secretsDir, 'central', '.dockerconfigjson'), JSON.stringify({ auths: { [`${token.host}/central`]: { auth: b64(`${BOB.user}:${BOB.password}`) } } }));

    const config = `
insecureRegistries: ["${recording.host}", "${token.host}", "${tokenHost()}"]
features:
  cache:
    expirySeconds: 600
validators:
  - name: deny
    type: static
    approve: false
  - name: private
    type: cosign
    auth:
      fromWorkload: true
      secretName: central
      tokenHosts: ["${tokenHost()}"]
    trustRoots:
      - name: default
        key: |
${indentPem(key.publicPem, 10)}
alerting:
  clusterIdentifier: e2e-pull-secrets
  admitRequest: { receivers: [{ template: ecs-1-12-0, receiverUrl: "${alerts.url}" }] }
  rejectRequest: { receivers: [{ template: ecs-1-12-0, receiverUrl: "${alerts.url}" }] }
policy:
  - pattern: "*:*"
    validator: deny
  - pattern: "${recording.host}/team/*"
    validator: private
    with: { verifyInTransparencyLog: false }
  - pattern: "${token.host}/*"
    validator: private
    with: { verifyInTransparencyLog: false }
`;
    const kubeconfig = kube.kubeconfigPath;
    const metrics = new Metrics({ defaultMetrics: false });
    const logger = pino(loggerOptions('debug'), { write: (line: string) => void logLines.push(line) });
    const integrityKey = IntegrityKey.random();
    // Redis commands bounded by 5 s, not the production 100 ms: on a loaded test machine a write that times out is
    // skipped (the LRU still serves), and the last case reads what was written to Redis.
    store = new RedisStore({ url: redis.url, logger, key: integrityKey, commandTimeoutMs: 5000 });
    const end = Date.now() + 5000;
    while (!store.healthy && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    hook = await startWebhook(config, {
      secretsDir,
      metrics,
      logger,
      cache: store,
      integrityKey,
      setup: (rt) => {
        rt.pullSecrets = workloadCredentialsFrom(new PullSecretStore({ reader: kubernetesObjectReader(kubeconfig), observe: metrics.pullSecretRead }));
      },
    });
    api = KubernetesObjectApi.makeApiClient(kube.kc);
    core = kube.kc.makeApiClient(CoreV1Api);
    for (const ns of ['e2e', 'team-a', 'team-b', 'team-c', 'team-d']) await ensureNamespace(kube.kc, ns);
    await registerWebhook(kube, hook);
    await waitUntilWebhookActive(kube, 'quay.io/someone/unsigned:1.0');
  });

  after(async () => {
    await hook?.close();
    await store?.close();
    await redis?.stop();
    await alerts?.close();
    await recording?.stop();
    await basic?.stop();
    await token?.stop();
    await kube?.stop();
  });

  const create = (kind: string, name: string, image: string, secrets: string[], extra: Extra & { serviceAccount?: string } = {}) =>
    api.create(withPullSecrets(workload(kind, name, image, extra), secrets, extra.serviceAccount));

  /** Runs `work` and returns the Authorization headers the Basic registry received meanwhile. */
  async function authorizations<T>(work: () => Promise<T>): Promise<{ result: T; headers: Array<string | undefined> }> {
    const from = received.length;
    const result = await work();
    return { result, headers: received.slice(from) };
  }

  describe('a Pod with and without the secret (htpasswd registry)', () => {
    before(async () => {
      await api.create(pullSecret('team-a', 'regcred', { [recording.host]: ALICE }));
      await core.createNamespacedServiceAccount({ namespace: 'team-a', body: { metadata: { name: 'default' } } });
    });

    it('a Pod naming the secret is verified with its credentials and pinned', async () => {
      const { result, headers } = await authorizations(() => create('Pod', 'with-secret', basicImage, ['regcred'], { namespace: 'team-a' }));
      expect(storedImages(await api.read(header(result)))).to.deep.equal([basicPinned]);
      expect(headers, 'the registry received the secret\'s credentials').to.include(basicAuth(ALICE));
    });

    it('a CronJob naming it (spec.jobTemplate.spec.template.spec.imagePullSecrets) is verified with it', async () => {
      const c = await create('CronJob', 'nightly', basicImage, ['regcred'], { namespace: 'team-a' });
      expect(storedImages(await api.read(header(c)))).to.deep.equal([basicPinned]);
    });

    it('a Pod without it (and a ServiceAccount without any) is refused, saying why', async () => {
      const status = await refusal(create('Pod', 'without-secret', basicImage, [], { namespace: 'team-a' }));
      expect(status.code).to.equal(403);
      expect(status.message).to.contain(`registry ${recording.host} requires authentication, and no credentials for it were found`);
      expect(status.message).to.contain('neither Pod team-a/without-secret nor its ServiceAccount "default" names any imagePullSecrets');
    });
  });

  describe('a ServiceAccount carrying the secret (token registry)', () => {
    before(async () => {
      await api.create(pullSecret('team-a', 'tokencred', { [token.host]: BOB }));
      await core.createNamespacedServiceAccount({ namespace: 'team-a', body: { metadata: { name: 'builder' }, imagePullSecrets: [{ name: 'tokencred' }] } });
    });

    it('a Deployment running as that ServiceAccount is verified with its credentials, sent to the token service only', async () => {
      token.tokenServer!.resetHits();
      const d = await create('Deployment', 'api', tokenImage, [], { namespace: 'team-a', serviceAccount: 'builder' });
      expect(storedImages(await api.read(header(d)))[0]).to.match(/@sha256:[0-9a-f]{64}$/);
      const asked = token.tokenServer!.requests();
      expect(asked.map((r) => r.authorization)).to.include(basicAuth(BOB));
      expect(asked.flatMap((r) => r.scopes)).to.deep.equal(asked.map(() => 'repository:team/api:pull'));
    });

    it('a Pod running as that ServiceAccount, naming no imagePullSecrets itself, is verified with them too', async () => {
      // (the test API server runs without the ServiceAccount admission plugin, so the Pod arrives as written)
      const p = await create('Pod', 'api-pod', tokenImage, [], { namespace: 'team-a', serviceAccount: 'builder' });
      const stored = await api.read(header(p)) as KubernetesObject & { spec: { imagePullSecrets?: unknown } };
      expect(stored.spec.imagePullSecrets, 'nothing copied them into the Pod').to.equal(undefined);
      expect(storedImages(stored)[0]!.startsWith(`${tokenImage}@sha256:`)).to.equal(true);
    });

    it('a workload naming its own imagePullSecrets does not use its ServiceAccount\'s (as the ServiceAccount admission plugin)', async () => {
      const status = await refusal(create('Pod', 'own-secrets', tokenImage, ['regcred'], { namespace: 'team-a', serviceAccount: 'builder' }));
      expect(status.message).to.contain(`registry ${token.host} requires authentication`);
      expect(status.message).to.contain(`pull secret "regcred" has no entry for ${token.host} (it has: ${recording.host})`);
    });
  });

  describe('a secret for another host', () => {
    before(async () => {
      await api.create(pullSecret('team-d', 'tokenonly', { [token.host]: BOB }));
      await api.create(pullSecret('team-d', 'both', { [token.host]: BOB, [recording.host]: ALICE }));
    });

    it('is never sent to the image\'s registry', async () => {
      // an image no earlier case verified without credentials, so the registry is really asked (no cached refusal)
      const { result: status, headers } = await authorizations(() => refusal(create('Pod', 'other-host', basicImage2, ['tokenonly'], { namespace: 'team-d' })));
      expect(status.message, status.message).to.contain(`pull secret "tokenonly" has no entry for ${recording.host} (it has: ${token.host})`);
      expect(headers.length, 'the registry was asked').to.be.greaterThan(0);
      expect(headers.filter((h) => h !== undefined), 'Authorization headers the registry received').to.deep.equal([]);
    });

    it('from a secret with entries for both, each registry gets only its own entry', async () => {
      token.tokenServer!.resetHits();
      const { headers } = await authorizations(async () => {
        await create('Pod', 'both-1', basicImage2, ['both'], { namespace: 'team-d' });
        await create('Pod', 'both-2', tokenImage2, ['both'], { namespace: 'team-d' });
      });
      const sent = headers.filter((h) => h !== undefined);
      expect(sent.length).to.be.greaterThan(0);
      expect([...new Set(sent)], 'what the Basic registry received').to.deep.equal([basicAuth(ALICE)]);
      expect(token.tokenServer!.requests().map((r) => r.authorization).filter(Boolean)).to.deep.equal([basicAuth(BOB)]);
    });
  });

  describe('failures name the secret and the reason', () => {
    before(async () => {
      await api.create(pullSecret('team-b', 'stale', { [recording.host]: { user: ALICE.user, password: 'old-password' } }));
      await api.create(pullSecret('team-b', 'fresh', { [recording.host]: ALICE }));
      await api.create({ ...pullSecret('team-b', 'opaque', { [recording.host]: ALICE }, 'Opaque') });
    });

    it('a refused secret (HTTP 401), a missing one, one of the wrong type', async () => {
      const status = await refusal(create('Pod', 'stale', basicImage, ['absent', 'opaque', 'stale'], { namespace: 'team-b' }));
      expect(status.message).to.contain(`registry ${recording.host} refused every credential tried`);
      expect(status.message).to.contain('pull secret "stale": refused (HTTP 401)');
      expect(status.message).to.contain('pull secret "absent" does not exist');
      expect(status.message).to.contain('pull secret "opaque" cannot be used: its type is Opaque, not kubernetes.io/dockerconfigjson');
      expect(status.message).to.not.contain('old-password');
    });

    it('API reads are counted by kind and result (imprimatur_pull_secret_reads_total)', async () => {
      const text = (await hook.server.metrics.scrape()).body;
      const count = (kind: string, result: string) => Number(new RegExp(`imprimatur_pull_secret_reads_total\\{kind="${kind}",result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
      expect(count('Secret', 'found')).to.be.greaterThan(0);
      expect(count('Secret', 'missing'), 'pull secret "absent"').to.be.greaterThan(0);
      expect(count('ServiceAccount', 'found')).to.be.greaterThan(0);
    });

    it('a refused secret is followed by the next one, as the kubelet does', async () => {
      const p = await create('Pod', 'rotated', basicImage, ['stale', 'fresh'], { namespace: 'team-b' });
      expect(storedImages(await api.read(header(p)))).to.deep.equal([basicPinned]);
    });
  });

  describe('the verification cache across namespaces', () => {
    before(async () => {
      await api.create(pullSecret('team-c', 'copy-of-regcred', { [recording.host]: ALICE }));
    });

    it('a verification made with team-a\'s credentials does not admit the image for a namespace without them', async () => {
      const { result: first } = await authorizations(() => create('Pod', 'cached-a', basicImage, ['regcred'], { namespace: 'team-a' }));
      expect(storedImages(await api.read(header(first)))).to.deep.equal([basicPinned]);
      const status = await refusal(create('Pod', 'uncached-b', basicImage, [], { namespace: 'team-b' }));
      expect(status.message).to.contain(`registry ${recording.host} requires authentication`);
      expect(status.message, 'team-a\'s secret is not named to team-b').to.not.contain('regcred');
    });

    it('a namespace holding the same credentials shares the result: no registry request at all', async () => {
      const { result, headers } = await authorizations(() => create('Pod', 'shared-c', basicImage, ['copy-of-regcred'], { namespace: 'team-c' }));
      expect(storedImages(await api.read(header(result)))).to.deep.equal([basicPinned]);
      expect(headers, 'registry requests').to.deep.equal([]);
    });
  });

  describe('the validator\'s own auth.secretName', () => {
    it('is used when the workload has no credentials for the image', async () => {
      const p = await create('Pod', 'fallback', fallbackImage, [], { namespace: 'team-c' });
      expect(storedImages(await api.read(header(p)))[0]).to.match(/@sha256:/);
    });
  });

  describe('a webhook that mutates after Imprimatur adds a private sidecar (and its pull secret)', () => {
    let injector: InjectorWebhook;
    let registration: KubernetesObject;
    before(async () => {
      injector = await startInjectorWebhook(localSelfSigned(join(tmpdir(), 'imprimatur-test-tls')));
      registration = webhookConfiguration({
        name: 'zz-sidecar-injector', url: injector.url, caPem: webhookCaPem(),
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
      });
      await applyManifests(kube.kc, [registration]);
      // the API server picks a new registration up asynchronously: dry runs until the injector is called
      injector.set({ kind: 'add-sidecar', image: tokenImage });
      const end = Date.now() + 15_000;
      while (injector.calls() === 0) {
        if (Date.now() > end) throw new Error('the API server never called the injector');
        await api.create(withPullSecrets(workload('Pod', 'probe-injector', tokenImage, { namespace: 'team-a' }), ['tokencred']), undefined, 'All').catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
    });
    after(async () => {
      await deleteManifests(kube.kc, [registration]);
      await injector?.stop();
    });

    it('the sidecar is verified with the pull secret the injector added (the final object\'s secrets) and pinned', async () => {
      injector.set({ kind: 'add-sidecar', image: basicImage, pullSecret: 'regcred' });
      const p = await create('Pod', 'injected-with-secret', tokenImage, ['tokencred'], { namespace: 'team-a' });
      const stored = await api.read(header(p)) as KubernetesObject & { spec: { imagePullSecrets: Array<{ name: string }> } };
      expect(stored.spec.imagePullSecrets.map((s) => s.name)).to.deep.equal(['tokencred', 'regcred']);
      const images = storedImages(stored);
      expect(images[0]!.startsWith(`${tokenImage}@sha256:`), images[0]).to.equal(true);
      expect(images[1]).to.equal(basicPinned);
    });

    it('without it the sidecar is refused, saying no credentials for its registry were found', async () => {
      injector.set({ kind: 'add-sidecar', image: basicImage });
      const status = await refusal(create('Pod', 'injected-without-secret', tokenImage, ['tokencred'], { namespace: 'team-a' }));
      expect(status.code).to.equal(403);
      expect(status.message).to.contain(`image "${basicImage}"`);
      expect(status.message).to.contain(`registry ${recording.host} requires authentication, and no credentials for it were found`);
      expect(status.message).to.contain(`pull secret "tokencred" has no entry for ${recording.host}`);
    });
  });

  describe('imprimatur explain and imprimatur audit (no admission request)', () => {
    it('explain without a workload uses the validator\'s own credentials only, and says so', async () => {
      const r = await cli('explain', '--config', hook.configFile, '--secrets-dir', secretsDir, basicImage);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stdout).to.contain(`registry ${recording.host} requires authentication`);
      expect(r.stdout).to.contain('credentials: no credentials (anonymous)');
      expect(r.stdout).to.contain('no workload was given, so no pull secret was read');
      expect(r.stdout).to.contain('pass --namespace');
    });

    it('explain --namespace --pull-secret verifies as a Pod of that namespace would be', async () => {
      const r = await cli('explain', '--config', hook.configFile, '--secrets-dir', secretsDir, '--kubeconfig', kube.kubeconfigPath,
        '--namespace', 'team-a', '--pull-secret', 'regcred', basicImage);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.contain('credentials: pull secret "regcred" — pull secrets from the imagePullSecrets of a Pod in namespace team-a');
      const sa = await cli('explain', '--config', hook.configFile, '--secrets-dir', secretsDir, '--kubeconfig', kube.kubeconfigPath,
        '--namespace', 'team-a', '--service-account', 'builder', '--json', tokenImage);
      expect(sa.code, sa.stdout + sa.stderr).to.equal(0);
      expect(JSON.parse(sa.stdout)[0].credentials).to.deep.equal({ tried: ['pull secret "tokencred"'], from: 'ServiceAccount "builder" (a Pod in namespace team-a names no imagePullSecrets)' });
    });

    it('audit verifies each image with the pull secrets of the workloads that run it', async () => {
      // team-b's Pod "rotated" runs with [stale, fresh]; without "fresh" it would no longer verify.
      const before = await cli('audit', '--config', hook.configFile, '--secrets-dir', secretsDir, '--kubeconfig', kube.kubeconfigPath, '-n', 'team-b', '-o', 'json');
      expect(before.code, before.stderr).to.equal(0);
      const rotated = () => JSON.parse(before.stdout).findings.find((f: Record<string, string>) => f.name === 'rotated');
      expect(rotated().verdict).to.equal('admit');
      await core.deleteNamespacedSecret({ namespace: 'team-b', name: 'fresh' });
      const after = await cli('audit', '--config', hook.configFile, '--secrets-dir', secretsDir, '--kubeconfig', kube.kubeconfigPath, '-n', 'team-b', '-o', 'json');
      expect(after.code, after.stderr).to.equal(1);
      const finding = JSON.parse(after.stdout).findings.find((f: Record<string, string>) => f.name === 'rotated');
      expect(finding.verdict).to.equal('deny');
      expect(finding.reason).to.contain('pull secret "stale": refused (HTTP 401)');
      expect(finding.reason).to.contain('pull secret "fresh" does not exist');
    });
  });

  describe('the chart\'s RBAC, namespaced (kubernetes.workloadCredentials.namespaces)', () => {
    let kubeconfig: string;
    before(async () => {
      // The chart's identity and RBAC for a release reading pull secrets in team-a only, and a token of its account.
      await ensureNamespace(kube.kc, 'imprimatur-narrow', { 'imprimatur.dev/webhook': 'ignore' });
      const values = { kubernetes: { workloadCredentials: { namespaces: ['team-a'] } }, application: { validators: [{ name: 'private', type: 'cosign', trustRoots: [{ name: 'default', key: key.publicPem }], auth: { fromWorkload: true } }], policy: [{ pattern: '*:*', validator: 'private' }] } };
      const objects = await renderChart({ release: 'narrow', namespace: 'imprimatur-narrow', values: [values] });
      await applyManifests(kube.kc, objects.filter((o) => ['ServiceAccount', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(o.kind!)));
      const token = await core.createNamespacedServiceAccountToken({ name: 'narrow-imprimatur', namespace: 'imprimatur-narrow', body: { spec: { audiences: [], expirationSeconds: 3600 } } });
      kubeconfig = join(makeTempDir('narrow-kubeconfig'), 'kubeconfig');
      writeFileSync(kubeconfig, kubeconfigYaml(kube.url, kube.caPem, token.status!.token));
    });

    it('reads a pull secret in a listed namespace', async () => {
      const r = await cli('explain', '--config', hook.configFile, '--secrets-dir', secretsDir, '--kubeconfig', kubeconfig, '--namespace', 'team-a', '--pull-secret', 'regcred', basicImage);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
    });

    it('elsewhere the API server refuses, and the denial says so and what to grant', async () => {
      const r = await cli('explain', '--config', hook.configFile, '--secrets-dir', secretsDir, '--kubeconfig', kubeconfig, '--namespace', 'team-c', '--pull-secret', 'copy-of-regcred', basicImage);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.contain('pull secret "copy-of-regcred" could not be read: the API server answered HTTP 403: secrets "copy-of-regcred" is forbidden');
      expect(r.stdout).to.contain('Imprimatur needs get on secrets and serviceaccounts in this namespace');
    });
  });

  describe('credentials never reach logs, alerts or the shared cache in clear', () => {
    it('no password, base64 user:password or Authorization value of any secret used above, in any of the three', async () => {
      const users = [ALICE, BOB, { user: ALICE.user, password: 'old-password' }];
      const secrets = users.flatMap((u) => [u.password, b64(`${u.user}:${u.password}`), basicAuth(u)]);
      // what was looked at, so that the test can fail: every case above ran through this webhook
      const admitted = alerts.requests.filter((r) => (r.json as any)?.labels?.decision === 'admit');
      const rejected = alerts.requests.filter((r) => (r.json as any)?.labels?.decision === 'reject');
      expect(admitted.length, 'alerts for admitted requests').to.be.greaterThan(3);
      expect(rejected.length, 'alerts for rejected requests').to.be.greaterThan(3);
      expect(rejected.map((r) => (r.json as any).event.reason).join('\n'), 'the denials reached the alerts').to.contain('pull secret "stale": refused (HTTP 401)');
      const debug = logLines.filter((l) => JSON.parse(l).level === 20);
      expect(debug.length, 'debug log lines').to.be.greaterThan(0);
      const keys = redis.cli('--scan', '--pattern', '*').split('\n').filter(Boolean);
      expect(keys.length, 'entries in Redis').to.be.greaterThan(3);
      const redisText = keys.map((k) => `${k} ${redis.cli('GET', k)}`).join('\n');

      const sinks: Record<string, string> = {
        logs: logLines.join('\n'),
        alerts: alerts.requests.map((r) => `${JSON.stringify(r.headers)} ${r.body}`).join('\n'),
        redis: redisText,
      };
      for (const [sink, text] of Object.entries(sinks)) {
        for (const secret of secrets) expect(text.includes(secret), `${sink} contain ${JSON.stringify(secret)}`).to.equal(false);
      }
      // cache keys are hashes (of the image, config and the keyed identity of the credentials): nothing in clear
      for (const k of keys) expect(k).to.match(/^imprimatur:v2:[0-9a-f]{64}$/);
    });
  });
});
