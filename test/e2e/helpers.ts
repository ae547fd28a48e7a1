/**
 * Shared pieces of the end-to-end tests: the real webhook registered with a real kube-apiserver through the
 * chart's own MutatingWebhookConfiguration, workload objects of every kind, and raw HTTPS requests to the
 * API server (for what @kubernetes/client-node does not expose, e.g. the `Warning` response header).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { ApiException, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { localSelfSigned } from '../../src/server/tls.js';
import { findObject, renderChart } from '../harness/helm.js';
import { applyManifests, retargetWebhook, type KubeApiServer } from '../harness/kube.js';
import type { TestRegistry } from '../harness/registry.js';
import type { TestKey } from '../harness/cosign-signing.js';
import type { TestWebhook } from '../support/webhook.js';
import { cosignKeyValidator } from '../support/configs.js';

export const NS = 'e2e';
export const STATIC_ALLOWED = 'registry.k8s.io/pause:3.9';


/** deny `*:*`, allow `registry.k8s.io/*`, cosign-verify `<registry>/myorg/*` (no transparency log). */
export function policyConfig(reg: TestRegistry, key: TestKey, features: Record<string, unknown> = {}): string {
  const feats = Object.entries(features).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n');
  return `
insecureRegistries: ["${reg.host}"]
validators:
  - name: deny
    type: static
    approve: false
  - name: allow
    type: static
    approve: true
${cosignKeyValidator('myorg', key.publicPem)}policy:
  - pattern: "*:*"
    validator: deny
  - pattern: "registry.k8s.io/*"
    validator: allow
  - pattern: "${reg.host}/myorg/*"
    validator: myorg
    with:
      verifyInTransparencyLog: false
${feats ? `features:\n${feats}\n` : ''}`;
}

/** Writes a new config for a running webhook and reloads it (startWebhook does not poll). */
export function switchConfig(hook: TestWebhook, yamlText: string): void {
  writeFileSync(hook.configFile, yamlText);
  const r = hook.server.runtime.reload();
  if (r.error) throw new Error(`webhook refused the new config: ${r.error.message}`);
  if (!r.changed) throw new Error('webhook config did not change');
}

/** The PEM of the self-signed certificate test/support/webhook.ts serves (it is its own CA). */
export function webhookCaPem(): string {
  return localSelfSigned(join(tmpdir(), 'imprimatur-test-tls')).cert;
}

let chartWebhooks: Promise<{ mutating: KubernetesObject; validating: KubernetesObject }> | undefined;

function chartWebhookConfigurations() {
  chartWebhooks ??= renderChart({ release: 'imprimatur', namespace: 'imprimatur' }).then((objects) => ({
    mutating: findObject<KubernetesObject>(objects, 'MutatingWebhookConfiguration'),
    validating: findObject<KubernetesObject>(objects, 'ValidatingWebhookConfiguration'),
  }));
  return chartWebhooks;
}

/**
 * The chart's webhook registrations (rendered for release `imprimatur`), pointed at `hook`: the
 * MutatingWebhookConfiguration at /mutate and the ValidatingWebhookConfiguration at /validate.
 */
export async function registerWebhook(kube: KubeApiServer, hook: TestWebhook): Promise<Record<string, any>> {
  const { mutating, validating } = await chartWebhookConfigurations();
  const [stored] = await applyManifests(kube.kc, [
    retargetWebhook(mutating, `${hook.url}/mutate`, webhookCaPem()),
    retargetWebhook(validating, `${hook.url}/validate`, webhookCaPem()),
  ]);
  return stored as Record<string, any>;
}

/**
 * Waits until the API server calls the webhook at `hook`: a dry-run Pod with an image the policy denies must
 * come back as a 403 from Imprimatur (the API server picks up webhook configurations asynchronously).
 */
export async function waitUntilWebhookActive(kube: KubeApiServer, deniedImage: string, timeoutMs = 20_000): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kube.kc);
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    try {
      await api.create(pod('probe', deniedImage), undefined, 'All');
      last = 'the probe Pod was admitted';
    } catch (err) {
      const s = apiStatus(err);
      if (s.code === 403 && /Imprimatur denied/.test(s.message)) return;
      last = `HTTP ${s.code}: ${s.message}`;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the API server never called the webhook within ${timeoutMs} ms (last: ${last})`);
}

export interface ApiStatus { code: number; reason?: string; message: string }

/** The API server's Status body from a client-node error. */
export function apiStatus(err: unknown): ApiStatus {
  if (!(err instanceof ApiException)) throw err;
  const body = typeof err.body === 'string' ? (JSON.parse(err.body || '{}') as Record<string, unknown>) : (err.body as Record<string, unknown>);
  return { code: err.code, reason: body?.reason as string | undefined, message: String(body?.message ?? '') };
}

/** The Status of a request the API server must refuse; fails when it succeeds. */
export async function refusal(work: Promise<unknown>): Promise<ApiStatus> {
  try {
    await work;
  } catch (err) {
    return apiStatus(err);
  }
  throw new Error('expected the API server to refuse the request, but it succeeded');
}

// ---------------------------------------------------------------- objects

export const API_VERSION: Record<string, string> = {
  Pod: 'v1', ReplicationController: 'v1',
  Deployment: 'apps/v1', ReplicaSet: 'apps/v1', DaemonSet: 'apps/v1', StatefulSet: 'apps/v1',
  Job: 'batch/v1', CronJob: 'batch/v1beta1', // set by useServer: 1.20 serves CronJob only as batch/v1beta1, 1.25+ only as batch/v1
};

/** Makes the objects built here match the API server the suite runs against (call it after starting the server). */
export function useServer(kube: KubeApiServer): void {
  API_VERSION['CronJob'] = kube.minor >= 21 ? 'batch/v1' : 'batch/v1beta1';
}

export interface Extra {
  ownerReferences?: Array<Record<string, unknown>>;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Default NS. */
  namespace?: string;
}

function podSpecOf(images: string[], restartPolicy?: string): Record<string, unknown> {
  return { containers: images.map((image, i) => ({ name: `c${i}`, image })), ...(restartPolicy ? { restartPolicy } : {}) };
}

export function pod(name: string, image: string | string[], extra: Extra = {}): KubernetesObject {
  return workload('Pod', name, image, extra);
}

/** A minimal valid object of `kind` in namespace NS whose pod template runs `images`. */
export function workload(kind: string, name: string, image: string | string[], extra: Extra = {}): KubernetesObject {
  const images = Array.isArray(image) ? image : [image];
  const labels = { app: name, ...(extra.labels ?? {}) };
  const metadata = {
    name, namespace: extra.namespace ?? NS, labels,
    ...(extra.ownerReferences ? { ownerReferences: extra.ownerReferences } : {}),
    ...(extra.finalizers ? { finalizers: extra.finalizers } : {}),
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
  };
  const apiVersion = API_VERSION[kind];
  if (!apiVersion) throw new Error(`no apiVersion for ${kind}`);
  const template = (restartPolicy?: string) => ({ metadata: { labels: { app: name } }, spec: podSpecOf(images, restartPolicy) });
  let spec: Record<string, unknown>;
  switch (kind) {
    case 'Pod': spec = podSpecOf(images); break;
    case 'Job': spec = { template: template('Never') }; break;
    case 'CronJob': spec = { schedule: '*/5 * * * *', jobTemplate: { spec: { template: template('Never') } } }; break;
    case 'StatefulSet': spec = { serviceName: name, selector: { matchLabels: { app: name } }, template: template() }; break;
    case 'ReplicationController': spec = { selector: { app: name }, template: template() }; break;
    default: spec = { selector: { matchLabels: { app: name } }, template: template() };
  }
  return { apiVersion, kind, metadata, spec } as KubernetesObject;
}

/** The images of the stored object's pod (template) spec, in container order. */
export function storedImages(o: KubernetesObject): string[] {
  const any = o as Record<string, any>;
  const spec = o.kind === 'Pod' ? any.spec
    : o.kind === 'CronJob' ? any.spec?.jobTemplate?.spec?.template?.spec
    : any.spec?.template?.spec;
  return (spec?.containers ?? []).map((c: { image: string }) => c.image);
}

export function header(o: KubernetesObject): { apiVersion: string; kind: string; metadata: { name: string; namespace: string } } {
  return { apiVersion: o.apiVersion!, kind: o.kind!, metadata: { name: o.metadata!.name!, namespace: o.metadata!.namespace! } };
}

// ---------------------------------------------------------------- raw requests

export interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; json: any }

/** An HTTPS request to the API server with the admin bearer token, trusting the API server's CA. */
export function rawClient(kube: KubeApiServer) {
  const dispatcher = new Agent({ connect: { ca: kube.caPem } });
  return {
    /** `headers` are added to the request, e.g. `Impersonate-User` to act as another user. */
    async send(method: string, path: string, body?: unknown, contentType = 'application/json', headers: Record<string, string> = {}): Promise<RawResponse> {
      const res = await request(`${kube.url}${path}`, {
        method: method as 'POST',
        headers: { authorization: `Bearer ${kube.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': contentType }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher,
      });
      const text = await res.body.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: res.statusCode, headers: res.headers, json };
    },
    close: () => dispatcher.close(),
  };
}

/** The warning texts of a `Warning` header value (`299 - "text"`, possibly several, comma-separated or repeated). */
export function warnings(value: string | string[] | undefined): string[] {
  const all = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const v of all) {
    for (const m of v.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)) out.push(m[1]!.replace(/\\(.)/g, '$1'));
  }
  return out;
}
