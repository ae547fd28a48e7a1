/** Imprimatur's real HTTPS webhook on loopback, with Connaisseur's mock validators swapped in after the config loads. */
import { request } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { HandledReview } from '../../src/admission/handler.js';
import type { AdmissionReview } from '../../src/admission/review.js';
import type { ResultStore } from '../../src/cache/types.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { localSelfSigned } from '../../src/server/tls.js';
import type { Validator } from '../../src/validators/types.js';
import { isObject } from './cases.js';
import { mockValidator } from './mocks.js';
import { scratchDir } from './ops-config.js';

export interface Webhook {
  url: string;
  running: RunningServer;
  /** Every decided request, in order. */
  decisions: HandledReview[];
  /** Calls per mock validator name. */
  calls: Map<string, number>;
  post(body: string | Buffer | null, opts?: { method?: string; contentType?: string | null; path?: string }): Promise<{ status: number; text: string; json?: unknown }>;
  close(): Promise<void>;
}

export interface WebhookOptions {
  /** name → behaviour (MockValidator, MockAllowValidator, MockDenyValidator, Panic). */
  mocks?: Record<string, string>;
  slowMocksMs?: number;
  cacheableMocks?: boolean;
  features?: Record<string, unknown>;
  alerting?: Record<string, unknown>;
  deadlineMs?: number;
  cache?: ResultStore;
  setup?: (running: RunningServer) => void;
}

let seq = 0;

/** Starts the webhook on a bare config document (Connaisseur's config format). */
export async function startWebhook(config: unknown, opts: WebhookOptions = {}): Promise<Webhook> {
  const doc = structuredClone(config) as Record<string, unknown>;
  const validators = (Array.isArray(doc.validators) ? doc.validators : []) as Array<Record<string, unknown>>;
  for (const name of Object.keys(opts.mocks ?? {})) {
    if (!validators.some((v) => v.name === name)) validators.push({ name, type: 'static', approve: true });
  }
  doc.validators = validators;
  if (opts.features) doc.features = { ...(isObject(doc.features) ? doc.features : {}), ...opts.features };
  if (opts.alerting) doc.alerting = opts.alerting;
  if (opts.deadlineMs !== undefined) doc.admissionDeadlineSeconds = opts.deadlineMs / 1000;
  const file = join(scratchDir(), `webhook-${++seq}.yaml`);
  writeFileSync(file, yaml.dump(doc, { lineWidth: -1 }));
  const tls = localSelfSigned(join(scratchDir(), 'tls'));
  const decisions: HandledReview[] = [];
  const calls = new Map<string, number>();
  const running = await startServer({ configFile: file, host: '127.0.0.1', port: 0, tls, logger: silentLogger, reloadPollMs: 0, cache: opts.cache });
  const engine = running.runtime.engine;
  for (const [name, behaviour] of Object.entries(opts.mocks ?? {})) {
    const inner = mockValidator(name, behaviour, opts.slowMocksMs ?? 0);
    const counted: Validator = {
      ...inner,
      cacheable: opts.cacheableMocks ?? false,
      validate: (image, options, ctx) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return inner.validate(image, options, ctx);
      },
    };
    engine.validators.set(name, counted);
  }
  const previous = running.runtime.onDecision;
  running.runtime.onDecision = (result: HandledReview, review: AdmissionReview) => {
    previous?.(result, review);
    decisions.push(result);
  };
  opts.setup?.(running);
  const url = running.url;
  return {
    url,
    running,
    decisions,
    calls,
    post: (body, o = {}) =>
      new Promise((resolve, reject) => {
        const target = new URL(o.path ?? '/mutate', url);
        const headers: Record<string, string> = {};
        if (o.contentType !== null) headers['content-type'] = o.contentType ?? 'application/json';
        const req = request(target, { method: o.method ?? 'POST', ca: tls.cert, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, text, json });
          });
        });
        req.on('error', reject);
        if (body !== null) req.write(body);
        req.end();
      }),
    close: () => running.close(),
  };
}

/** The admission response of a review answer, if it is one. */
export function responseOf(answer: { json?: unknown }): { allowed?: boolean; patch?: string; warnings?: string[]; status?: { code?: number; message?: string } } | undefined {
  const r = (answer.json as { response?: unknown } | undefined)?.response;
  return isObject(r) ? (r as ReturnType<typeof responseOf>) : undefined;
}

export function patchOps(patch: string | undefined): Array<{ op: string; path: string; value: string }> {
  return patch ? (JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Array<{ op: string; path: string; value: string }>) : [];
}
