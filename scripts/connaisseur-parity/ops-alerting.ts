/** Operations on alerting: loading receivers, rendering Connaisseur templates, sending to a loopback receiver. */
import { existsSync } from 'node:fs';
import yaml from 'js-yaml';
import type { AdmissionEvent } from '../../src/admission/types.js';
import { parseAlertingConfig } from '../../src/alerting/config.js';
import { createAlertDispatcher } from '../../src/alerting/dispatcher.js';
import { renderPayload } from '../../src/alerting/payload.js';
import { loadTemplate } from '../../src/alerting/template-files.js';
import { buildVariables } from '../../src/alerting/variables.js';
import { silentLogger } from '../../src/log.js';
import { startHttpReceiver } from '../../test/harness/http-receiver.js';
import { isObject, sameJson, type Case, type Vectors } from './cases.js';
import { loadDocument, type Outcome } from './ops-config.js';

function event(decision: 'admit' | 'reject', message = ''): AdmissionEvent {
  return {
    uid: 'request-1',
    decision,
    admitted: decision === 'admit',
    detectionMode: false,
    dryRun: false,
    operation: 'CREATE',
    kind: 'Pod',
    namespace: 'default',
    name: 'p',
    user: 'tester',
    message,
    results: [],
    warnings: [],
    timestamp: new Date(0),
  };
}

/** op alertingLoad: an alerting section (file, or inline receivers) loaded with a trivial policy. */
export function opAlertingLoad(c: Case, v: Vectors): Outcome {
  const e = c.expect as { ok: boolean; cluster?: string; admit?: number; reject?: number; names?: string[] };
  let alerting: unknown;
  if (typeof c.file === 'string') {
    if (!existsSync(v.path(c.file))) return { ok: e.ok === false, detail: 'no such file' };
    try {
      alerting = yaml.load(v.text(c.file));
    } catch (err) {
      return { ok: e.ok === false, detail: `not YAML: ${(err as Error).message.split('\n')[0]}` };
    }
  } else {
    const r = c.receivers as Record<string, unknown[]>;
    alerting = Object.fromEntries(Object.entries(r).map(([k, list]) => [k, { receivers: list }]));
  }
  const loaded = loadDocument({ validators: [{ name: 'default', type: 'static', approve: true }], policy: [{ pattern: '*' }], alerting });
  const at = (c.expect as { at?: string }).at;
  if (!loaded.config && at !== undefined && !(loaded.paths ?? []).some((p) => p === at || p.startsWith(`${at}.`) || p.startsWith(`${at}[`))) {
    return { ok: false, detail: `refused, but not at ${at}: ${loaded.error}` };
  }
  if (!loaded.config) return { ok: e.ok === false, detail: `refused: ${loaded.error?.split('\n').find((l) => at === undefined || l.includes(`: ${at}`)) ?? loaded.error}` };
  if (!e.ok) return { ok: false, detail: 'Imprimatur loads it' };
  const parsed = parseAlertingConfig(loaded.config.alerting, 'alerting', {}).config!;
  const admit = parsed.receivers.filter((r) => r.decision === 'admit');
  const reject = parsed.receivers.filter((r) => r.decision === 'reject');
  if (e.cluster !== undefined && parsed.clusterIdentifier !== e.cluster) return { ok: false, detail: `cluster ${parsed.clusterIdentifier}` };
  if (e.admit !== undefined && (admit.length !== e.admit || reject.length !== e.reject)) return { ok: false, detail: `${admit.length}/${reject.length} receivers` };
  if (e.names) {
    const names = [...admit, ...reject].map((r) => r.name);
    if (JSON.stringify(names) !== JSON.stringify(e.names)) return { ok: false, detail: `receiver names ${names.join(', ')}` };
  }
  return { ok: true, detail: `${admit.length} admit / ${reject.length} reject receivers, cluster ${parsed.clusterIdentifier}` };
}

const FIELD = {
  AlertMessage: 'alert_message',
  Images: 'images',
  ConnaisseurPodId: 'connaisseur_pod_id',
  Timestamp: 'timestamp',
  Cluster: 'cluster',
  Namespace: 'namespace',
  RequestId: 'request_id',
  Priority: 'priority',
} as const;

/** op render: load a receiver using the template (the load-time checks run), then render it with the case's values. */
export function opRender(c: Case, v: Vectors): Outcome {
  const e = c.expect as { body?: unknown; error?: boolean; empty?: boolean; json?: boolean };
  const dir = v.path(typeof c.templateDir === 'string' ? c.templateDir : 'testdata/alerts');
  const values = (c.values as Record<string, unknown>) ?? {};
  const priority = typeof values.Priority === 'number' ? values.Priority : 3;
  const payloadFields = isObject(c.payloadFields) ? c.payloadFields : undefined;
  const section = { templateDirectory: dir, admitRequest: { receivers: [{ template: String(c.template), receiverUrl: 'https://receiver.example/', priority, ...(payloadFields ? { payloadFields } : {}) }] } };
  const { config, problems } = parseAlertingConfig(section, 'alerting', {});
  if (!config) return { ok: e.error === true, detail: `refused at load: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}` };
  const receiver = config.receivers[0]!;
  const vars = buildVariables(event('admit'), { cluster: 'c', podId: '', priority, receiver: receiver.name, suppressedCount: 0, dedupeSeconds: 0 }) as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(values)) {
    const name = FIELD[field as keyof typeof FIELD];
    vars[name] = value;
    if (name === 'connaisseur_pod_id') vars.pod_id = value;
  }
  let body: unknown;
  try {
    body = renderPayload(loadTemplate(receiver.templateFile), vars as never, receiver.payloadFields, receiver.template);
  } catch (err) {
    return { ok: e.error === true, detail: `render error: ${(err as Error).message}` };
  }
  if (e.error) return { ok: false, detail: `renders ${JSON.stringify(body)}` };
  if (e.empty) return { ok: body === undefined, detail: body === undefined ? 'nothing to send' : `renders ${JSON.stringify(body)}` };
  if (e.json) return { ok: isObject(body), detail: JSON.stringify(body).slice(0, 120) };
  return { ok: sameJson(body, e.body), detail: JSON.stringify(body) };
}

/** op send: one receiver, one admit decision, a real HTTP receiver. */
export async function opSend(c: Case, v: Vectors): Promise<Outcome> {
  const e = c.expect as { error?: boolean; calls?: number; body?: unknown; headers?: Record<string, string> };
  const receiver = await startHttpReceiver({ status: typeof c.receiverStatus === 'number' ? c.receiverStatus : 200 });
  try {
    const values = (c.values as Record<string, string>) ?? {};
    const section = {
      templateDirectory: v.path('testdata/alerts'),
      admitRequest: {
        receivers: [{ template: String(c.template), receiverUrl: typeof c.url === 'string' ? c.url : `${receiver.url}/`, failIfAlertSendingFails: true, ...((c.headers as string[])?.length ? { customHeaders: c.headers } : {}) }],
      },
    };
    let dispatcher;
    try {
      dispatcher = createAlertDispatcher(section, { logger: silentLogger, podId: values.ConnaisseurPodId ?? '', retries: 0 });
    } catch (err) {
      return { ok: e.error === true, detail: `refused at load: ${(err as Error).message.split('\n')[0]}` };
    }
    const result = await dispatcher.dispatch(event('admit'), AbortSignal.timeout(5000));
    await dispatcher.idle();
    await dispatcher.close();
    const calls = receiver.requests.length;
    if (e.error) return { ok: result.blockingFailures.length > 0, detail: `failures: ${JSON.stringify(result.blockingFailures)}; ${calls} call(s)` };
    if (result.blockingFailures.length) return { ok: false, detail: `failed: ${result.blockingFailures.join('; ')}` };
    if (e.calls !== undefined && calls !== e.calls) return { ok: false, detail: `${calls} call(s)` };
    const req = receiver.requests[0];
    if (e.body !== undefined && !sameJson(req?.json, e.body)) return { ok: false, detail: `body ${req?.body}` };
    for (const [h, want] of Object.entries(e.headers ?? {})) {
      const got = req?.headers[h.toLowerCase()];
      if ((got ?? '') !== want) return { ok: false, detail: `header ${h}: ${JSON.stringify(got)}` };
    }
    return { ok: true, detail: `${calls} call(s)${req ? ` ${req.body}` : ''}` };
  } finally {
    await receiver.close();
  }
}

/** op notify: the receivers of an alerting file, one decision dispatched. */
export async function opNotify(c: Case, v: Vectors): Promise<Outcome> {
  const e = c.expect as { error?: boolean; body?: unknown; bodies?: unknown[]; blockingFailure?: boolean };
  const receiver = await startHttpReceiver();
  try {
    const section = yaml.load(v.text(String(c.file))) as Record<string, unknown>;
    for (const key of ['admitRequest', 'rejectRequest']) {
      for (const r of ((section[key] as { receivers?: Array<Record<string, unknown>> } | undefined)?.receivers ?? [])) r.receiverUrl = `${receiver.url}/`;
    }
    section.templateDirectory = v.path('testdata/alerts');
    let dispatcher;
    try {
      dispatcher = createAlertDispatcher(section, { logger: silentLogger, podId: '', retries: 0 });
    } catch (err) {
      return { ok: e.error === true, detail: `refused at load: ${(err as Error).message.split('\n')[0]}` };
    }
    if (e.error) {
      await dispatcher.close();
      return { ok: false, detail: 'loads' };
    }
    const decision = c.decision === 'reject' ? 'reject' : 'admit';
    const signal = c.aborted ? AbortSignal.abort() : AbortSignal.timeout(5000);
    const result = await dispatcher.dispatch(event(decision, typeof c.error === 'string' ? c.error : ''), signal);
    await dispatcher.idle();
    await dispatcher.close();
    if (e.blockingFailure) return { ok: result.blockingFailures.length > 0, detail: JSON.stringify(result.blockingFailures) };
    const bodies = receiver.requests.map((r) => r.json);
    if (e.bodies) {
      const ok = e.bodies.every((b) => bodies.some((x) => sameJson(x, b))) && bodies.length === e.bodies.length;
      return { ok, detail: JSON.stringify(bodies) };
    }
    return { ok: bodies.some((b) => sameJson(b, e.body)), detail: JSON.stringify(bodies) };
  } finally {
    await receiver.close();
  }
}
