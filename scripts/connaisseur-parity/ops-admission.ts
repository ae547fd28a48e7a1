/** Operations that run AdmissionReviews through Imprimatur's real webhook. */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { childApproval, type ObjectReader } from '../../src/admission/child-approval.js';
import { containerImages } from '../../src/admission/workload.js';
import { createResultStore } from '../../src/cache/index.js';
import { IntegrityKey } from '../../src/integrity/key.js';
import { silentLogger } from '../../src/log.js';
import { startHttpReceiver } from '../../test/harness/http-receiver.js';
import { isObject, sameJson, sameReference, type Case, type Vectors } from './cases.js';
import type { Outcome } from './ops-config.js';
import { patchOps, responseOf, startWebhook, type Webhook, type WebhookOptions } from './webhook.js';

const ALLOW_ALL = { validators: [{ name: 'default', type: 'static', approve: true }], policy: [{ pattern: '*' }] };

function configOf(c: Case, v: Vectors): unknown {
  return typeof c.file === 'string' || typeof c.yaml === 'string' ? v.document(c) : ALLOW_ALL;
}

function webhookOptions(c: Case): WebhookOptions {
  return {
    mocks: (c.mocks as Record<string, string>) ?? {},
    features: c.features as Record<string, unknown> | undefined,
    slowMocksMs: c.slowMocks ? 5000 : 0,
    deadlineMs: typeof c.deadlineMs === 'number' ? c.deadlineMs : undefined,
  };
}

async function withWebhook<T>(config: unknown, opts: WebhookOptions, run: (w: Webhook) => Promise<T>): Promise<T> {
  const w = await startWebhook(config, opts);
  try {
    return await run(w);
  } finally {
    await w.close();
  }
}

function reviewText(c: Case, v: Vectors): string {
  const text = v.text(String(c.review));
  if (typeof c.kind !== 'string') return text;
  const doc = JSON.parse(text) as { request: { kind: { kind: string } } };
  doc.request.kind.kind = c.kind;
  return JSON.stringify(doc);
}

/** op http: a raw request. */
export async function opHttp(c: Case, v: Vectors): Promise<Outcome> {
  return withWebhook(ALLOW_ALL, {}, async (w) => {
    const body = typeof c.bodyFile === 'string' ? v.text(c.bodyFile) : (c.body as string | null | undefined) ?? null;
    const answer = await w.post(body, { method: String(c.method ?? 'POST'), contentType: c.contentType === null ? null : undefined, path: c.path as string | undefined });
    const want = (c.expect as { status: number }).status;
    return { ok: answer.status === want, detail: `HTTP ${answer.status} ${answer.text.slice(0, 120)}` };
  });
}

interface AdmissionExpect {
  allowed?: boolean;
  status?: number;
  patch?: 'none' | Array<[string, string]>;
  message?: string;
  warnings?: string[];
  noWarnings?: string[];
  alertBody?: unknown;
  refused?: boolean;
  images?: string[];
}

/** op admission: an AdmissionReview file; compares allowed, patch, message, warnings and the alert sent. */
export async function opAdmission(c: Case, v: Vectors): Promise<Outcome> {
  const e = c.expect as AdmissionExpect;
  const opts = webhookOptions(c);
  const receiver = await startHttpReceiver({ status: typeof c.receiverStatus === 'number' ? c.receiverStatus : 200 });
  try {
    if (typeof c.alerting === 'string') {
      const alerting = yaml.load(v.text(c.alerting)) as Record<string, unknown>;
      for (const key of ['admitRequest', 'rejectRequest']) {
        const section = alerting[key] as { receivers?: Array<Record<string, unknown>> } | undefined;
        for (const r of section?.receivers ?? []) r.receiverUrl = `${receiver.url}/`;
      }
      if (typeof c.templates === 'string') alerting.templateDirectory = v.path(c.templates);
      opts.alerting = alerting;
    }
    return await withWebhook(configOf(c, v), opts, async (w) => {
      const answer = await w.post(reviewText(c, v));
      return judgeAnswer(e, answer, w, receiver.requests.map((r) => r.json));
    });
  } finally {
    await receiver.close();
  }
}

async function judgeAnswer(e: AdmissionExpect, answer: { status: number; text: string; json?: unknown }, w: Webhook, alerts: unknown[]): Promise<Outcome> {
  const r = responseOf(answer);
  const summary = r ? `allowed=${String(r.allowed)}${r.status?.message ? ` "${r.status.message.slice(0, 160)}"` : ''}${r.warnings?.length ? ` warnings=${JSON.stringify(r.warnings)}` : ''}` : `HTTP ${answer.status} ${answer.text.slice(0, 120)}`;
  if (e.status !== undefined) return { ok: answer.status === e.status, detail: summary };
  if (e.refused) return { ok: answer.status >= 400 || r?.allowed === false, detail: summary };
  if (!r) return { ok: false, detail: summary };
  if (e.allowed !== undefined && r.allowed !== e.allowed) return { ok: false, detail: summary };
  if (e.message !== undefined && !new RegExp(e.message).test(r.status?.message ?? '')) return { ok: false, detail: `message: ${summary}` };
  for (const w of e.warnings ?? []) if (!(r.warnings ?? []).some((x) => new RegExp(w).test(x))) return { ok: false, detail: `no warning /${w}/: ${summary}` };
  for (const w of e.noWarnings ?? []) if ((r.warnings ?? []).some((x) => new RegExp(w).test(x))) return { ok: false, detail: `warning /${w}/ present: ${summary}` };
  if (e.patch !== undefined) {
    const ops = patchOps(r.patch);
    if (e.patch === 'none') {
      if (ops.length) return { ok: false, detail: `patch ${JSON.stringify(ops)}` };
    } else {
      const got = ops.map((o) => [o.path, o.value]);
      if (JSON.stringify(got) !== JSON.stringify(e.patch)) {
        const same = got.length === e.patch.length && got.every(([p, val], i) => p === e.patch![i]![0] && sameReference(val!, e.patch![i]![1]));
        return { ok: false, detail: `patch ${JSON.stringify(got)}${same ? ' (same reference spelled differently)' : ''}` };
      }
    }
  }
  if (e.images !== undefined) {
    const seen = (w.decisions.at(-1)?.event?.results ?? []).map((x) => x.image).sort();
    if (JSON.stringify(seen) !== JSON.stringify([...e.images].sort())) return { ok: false, detail: `images ${JSON.stringify(seen)}` };
  }
  if (e.alertBody !== undefined) {
    if (!alerts.some((a) => sameJson(a, e.alertBody))) return { ok: false, detail: `alerts sent: ${JSON.stringify(alerts)}; ${summary}` };
  }
  return { ok: true, detail: summary };
}

/** op review: an AdmissionReview file against an allow-everything config: how the object is read. */
export async function opReview(c: Case, v: Vectors): Promise<Outcome> {
  return withWebhook(ALLOW_ALL, {}, async (w) => judgeAnswer(c.expect as AdmissionExpect, await w.post(reviewText(c, v)), w, []));
}

function pod(containers: unknown, init: unknown, ephemeral: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const list = (xs: unknown) => ((xs as string[] | undefined) ?? []).map((image, i) => ({ name: `c${i}`, image }));
  const spec: Record<string, unknown> = { containers: list(containers) };
  if (init) spec.initContainers = list(init);
  if (ephemeral) spec.ephemeralContainers = list(ephemeral);
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', ...extra }, spec };
}

function podReview(object: Record<string, unknown>, old?: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u-1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name: 'p',
      namespace: 'ns',
      operation: old ? 'UPDATE' : 'CREATE',
      userInfo: { username: 'tester' },
      object,
      oldObject: old ?? null,
    },
  });
}

interface ImageExpect {
  outcome?: string;
  validator?: string;
  mode?: string;
  reason?: string;
  pinned?: string;
}

/** op images: a Pod with the case's containers; compares the decision for each image. */
export async function opImages(c: Case, v: Vectors): Promise<Outcome> {
  const object = pod(c.containers, c.initContainers, c.ephemeralContainers);
  const old = c.oldContainers !== undefined ? pod(c.oldContainers, undefined, undefined) : undefined;
  return withWebhook(configOf(c, v), webhookOptions(c), async (w) => {
    const answer = await w.post(podReview(object, old));
    const r = responseOf(answer);
    const results = w.decisions.at(-1)?.event?.results ?? [];
    const ops = patchOps(r?.patch);
    const problems: string[] = [];
    for (const [image, want] of Object.entries(c.expect as Record<string, ImageExpect>)) {
      const got = results.find((x) => x.image === image);
      if (!got) {
        problems.push(`${image}: no decision (${answer.status} ${answer.text.slice(0, 160)})`);
        continue;
      }
      if (want.outcome && got.outcome !== want.outcome) problems.push(`${image}: ${got.outcome} (${got.reason})`);
      if (want.validator && got.validator !== want.validator) problems.push(`${image}: validator ${String(got.validator)}`);
      if (want.mode && got.mode !== want.mode) problems.push(`${image}: mode ${String(got.mode)}`);
      if (want.reason && !new RegExp(want.reason).test(got.reason)) problems.push(`${image}: reason "${got.reason}"`);
      if (want.pinned !== undefined) {
        const pointers = containerImages('Pod', object).filter((x) => x.image === image).map((x) => x.pointer);
        const op = ops.find((o) => pointers.includes(o.path));
        if (want.pinned === 'none' && op) problems.push(`${image}: patched to ${op.value}`);
        if (want.pinned !== 'none' && op?.value !== want.pinned) {
          problems.push(`${image}: patched to ${op?.value ?? '(nothing)'}${op && sameReference(op.value, want.pinned) ? ' (same reference spelled differently)' : ''}`);
        }
      }
    }
    const summary = results.map((x) => `${x.image}=${x.outcome}`).join(', ');
    return { ok: problems.length === 0, detail: problems.length ? problems.join('; ') : summary };
  });
}

/** op containers / containerPath: where images are found (JSON pointers of the patch). */
export function opContainers(c: Case): Outcome {
  const found = containerImages('Pod', pod(c.containers, c.initContainers, c.ephemeralContainers));
  const e = c.expect as Record<string, unknown>;
  if (Array.isArray(e.distinct)) {
    const distinct = [...new Set(found.map((f) => f.image))].sort();
    return { ok: JSON.stringify(distinct) === JSON.stringify([...e.distinct].sort()), detail: distinct.join(', ') };
  }
  const byImage: Record<string, string[]> = {};
  for (const f of found) (byImage[f.image] ??= []).push(f.pointer);
  return { ok: sameJson(byImage, e), detail: JSON.stringify(byImage) };
}

export function opContainerPath(c: Case): Outcome {
  const kind = String(c.kind);
  const spec = { containers: [{ name: 'a', image: 'a' }] };
  const object =
    kind === 'Pod' ? { spec } : kind === 'CronJob' ? { spec: { jobTemplate: { spec: { template: { spec } } } } } : { spec: { template: { spec } } };
  const pointer = containerImages(kind, object)[0]?.pointer;
  return { ok: pointer === (c.expect as { path: string }).path, detail: String(pointer) };
}

/** op metrics: the referenced case's request, then the counters Imprimatur exposes. */
export async function opMetrics(c: Case, v: Vectors, byId: Map<string, Case>): Promise<Outcome> {
  const ref = byId.get(String(c.after));
  if (!ref) return { ok: false, detail: `no case ${String(c.after)}` };
  const config = ref.op === 'http' ? ALLOW_ALL : configOf(ref, v);
  return withWebhook(config, webhookOptions(ref), async (w) => {
    if (ref.op === 'http') await w.post((ref.body as string | null | undefined) ?? null, { method: String(ref.method ?? 'POST') });
    else await w.post(reviewText(ref, v));
    const text = (await w.post(null, { method: 'GET', path: '/metrics' })).text;
    const count = (outcome?: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('imprimatur_admission_requests_total{') && (!outcome || l.includes(`outcome="${outcome}"`)))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    const got = { received: count(), admitted: count('admitted') + count('warned'), denied: count('denied') + count('error') };
    return { ok: false, detail: `counted under other names: imprimatur_admission_requests_total ${JSON.stringify(got)} (Connaisseur: ${JSON.stringify(c.expect)})` };
  });
}

function reader(owner: Record<string, unknown> | 'down'): ObjectReader {
  return async (ref) => {
    if (owner === 'down') throw new Error('no Kubernetes API');
    const meta = owner.metadata as Record<string, unknown>;
    if (ref.kind !== owner.kind || ref.name !== meta.name || ref.namespace !== meta.namespace || ref.apiVersion !== owner.apiVersion) {
      throw new Error('404 not found');
    }
    return owner as KubernetesObject;
  };
}

function ownerObject(kind: string, apiVersion: string, namespace: string, uid: string, containers: unknown, init?: unknown, ephemeral?: unknown): Record<string, unknown> {
  const p = pod(containers, init, ephemeral);
  const spec = p.spec;
  const body = kind === 'Pod' ? { spec } : { spec: { template: { spec } } };
  return { apiVersion, kind, metadata: { name: 'ownerName', namespace, uid }, ...body };
}

async function childDecision(c: Case, owner: Record<string, unknown> | 'down', image: string, ownerRef: Record<string, unknown>, features: Record<string, unknown>): Promise<{ outcome: string; detail: string }> {
  return withWebhook(
    { validators: [{ name: 'default', type: 'static', approve: true }], policy: [{ pattern: '*', validator: 'mock' }] },
    { mocks: { mock: 'MockDenyValidator' }, features, setup: (running) => (running.runtime.ownerImages = childApproval({ reader: reader(owner), proofs: running.runtime.proofs, logger: silentLogger })) },
    async (w) => {
      const child = pod([image], undefined, undefined, { ownerReferences: [ownerRef] });
      const answer = await w.post(podReview(child));
      const result = w.decisions.at(-1)?.event?.results.find((x) => x.image === image);
      void c;
      return { outcome: result?.outcome ?? 'none', detail: `${result?.outcome ?? `HTTP ${answer.status}`}: ${result?.reason ?? answer.text.slice(0, 100)}` };
    },
  );
}

/** op child: skip_test's automaticChildApproval (parent images given directly). */
export async function opChild(c: Case): Promise<Outcome> {
  const owner = ownerObject('ReplicaSet', 'apps/v1', 'ns', 'uid-1', c.parentImages);
  const features = { automaticChildApproval: c.enabled === true, resourceValidationMode: c.podsOnly ? 'podsOnly' : 'all' };
  const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'ownerName', uid: 'uid-1', controller: true };
  const d = await childDecision(c, owner, String(c.image), ref, features);
  const want = (c.expect as { skipped: boolean }).skipped;
  return { ok: (d.outcome === 'skipped') === want, detail: d.detail };
}

/** op owner: kube_api_test's owner lookups. */
export async function opOwner(c: Case): Promise<Outcome> {
  const owner = c.apiDown
    ? 'down'
    : ownerObject(String(c.ownerKind), String(c.ownerApi), typeof c.ownerNamespace === 'string' ? c.ownerNamespace : 'ns', typeof c.ownerUid === 'string' ? c.ownerUid : 'uid-1', c.containers, c.initContainers, c.ephemeralContainers);
  const ref = { apiVersion: String(c.ownerApi), kind: String(c.ownerKind), name: 'ownerName', uid: 'uid-1', controller: true };
  const d = await childDecision(c, owner, String(c.child), ref, { automaticChildApproval: true });
  const want = (c.expect as { approved: boolean }).approved;
  return { ok: (d.outcome === 'skipped') === want, detail: d.detail };
}

/** op cacheErrors / cacheExpiry: is a second identical request answered without calling the validator again? */
export async function opCaching(c: Case): Promise<Outcome> {
  const features = c.op === 'cacheErrors' ? { cache: { cacheErrors: c.cacheErrors } } : { cache: { expirySeconds: c.expirySeconds } };
  const behaviour = c.op === 'cacheErrors' ? 'MockDenyValidator' : 'MockAllowValidator';
  const config = { validators: [{ name: 'default', type: 'static', approve: true }], policy: [{ pattern: '*', validator: 'mock' }] };
  return withWebhook(config, { mocks: { mock: behaviour }, cacheableMocks: true, features }, async (w) => {
    for (let i = 0; i < 2; i++) await w.post(podReview(pod(['will-be-denied-1'], undefined, undefined)));
    const calls = w.calls.get('mock') ?? 0;
    const cached = calls === 1;
    return { ok: cached === (c.expect as { cached: boolean }).cached, detail: `validator called ${calls}× for two identical requests` };
  });
}

/** op cacheDown: the shared cache is unreachable; the image is still validated. */
export async function opCacheDown(c: Case): Promise<Outcome> {
  const cache = createResultStore({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_TIMEOUT_MS: '50' }, silentLogger, { key: IntegrityKey.random() });
  const config = { validators: [{ name: 'default', type: 'static', approve: true }], policy: [{ pattern: '*', validator: 'mock' }] };
  try {
    return await withWebhook(config, { mocks: { mock: 'MockAllowValidator' }, cacheableMocks: true, cache }, async (w) => {
      const answer = await w.post(podReview(pod(['docker.io/securesystemsengineering/testimage:signed'], undefined, undefined)));
      const validated = (w.calls.get('mock') ?? 0) > 0 && responseOf(answer)?.allowed === true;
      return { ok: validated === (c.expect as { validated: boolean }).validated, detail: `validated=${validated}` };
    });
  } finally {
    await cache.close?.();
  }
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export { isObject };
