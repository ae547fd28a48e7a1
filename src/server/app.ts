/** The express application: POST /mutate, POST /validate (and their /detect twins), GET /health, GET /ready. Client errors are 4xx with a sentence, never 500. */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../log.js';
import { handleAdmissionReview, type AdmissionPhase } from '../admission/handler.js';
import { BadRequestError, clampWarning, parseAdmissionReview, reviewResponse } from '../admission/review.js';
import type { Runtime } from './runtime.js';
import type { NamespaceMode } from '../admission/enforcement.js';

/**
 * The admission paths. The mutating webhook (`/mutate`) decides, pins and writes owner proofs; the validating webhook
 * (`/validate`) re-checks the final object after every mutating webhook ran, never patching. The chart registers one
 * entry of each per namespace mode: namespaces labelled `imprimatur.dev/webhook=detect` are sent to the `/detect`
 * paths by the API server's namespaceSelector, so the namespace's mode comes from the API server itself, never from
 * anything in the request.
 */
const ADMISSION_PATHS: Array<{ path: string; namespaceMode: NamespaceMode; phase: AdmissionPhase }> = [
  { path: '/mutate', namespaceMode: 'enforce', phase: 'mutate' },
  { path: '/mutate/detect', namespaceMode: 'detect', phase: 'mutate' },
  { path: '/validate', namespaceMode: 'enforce', phase: 'validate' },
  { path: '/validate/detect', namespaceMode: 'detect', phase: 'validate' },
];

export interface AppOptions {
  runtime: Runtime;
  logger: Logger;
  /** Maximum request body in bytes (default 3 MiB). */
  maxBodyBytes?: number;
  /** Extra routes (e.g. /metrics) registered before the fallbacks. */
  extraRoutes?: (app: express.Express) => void;
}

export function createApp(options: AppOptions): express.Express {
  const { runtime, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/health', (_req, res) => { res.json({ status: 'ok' }); });
  app.get('/ready', (_req, res) => {
    if (runtime.ready) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'not ready' });
  });
  options.extraRoutes?.(app);

  const paths = ADMISSION_PATHS.map((p) => p.path);
  app.all(paths, (req, res, next) => {
    if (req.method !== 'POST') {
      res.set('Allow', 'POST').status(405).json({ error: `method ${req.method} not allowed on ${req.path}; send POST with an AdmissionReview` });
      return;
    }
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      res.status(415).json({ error: `content type must be application/json (got ${type ? JSON.stringify(type) : 'none'})` });
      return;
    }
    next();
  });
  for (const { path, namespaceMode, phase } of ADMISSION_PATHS) {
    app.post(path, express.raw({ type: () => true, limit: options.maxBodyBytes ?? 3 * 1024 * 1024 }), async (req: Request, res: Response) => {
      let review;
      try {
        const text = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch (err) {
          throw new BadRequestError(`the body is not valid JSON: ${(err as Error).message}`);
        }
        review = parseAdmissionReview(body);
      } catch (err) {
        if (err instanceof BadRequestError) {
          res.status(err.status).json({ error: err.message });
          return;
        }
        throw err;
      }
      const engine = runtime.acquire();
      try {
        const result = await handleAdmissionReview(review, {
          engine: engine.engine,
          alerts: engine.alerts,
          logger,
          deadlineMs: apiServerTimeoutMs(req.query.timeout),
          ownerImages: runtime.ownerImages,
          proofs: runtime.proofs,
          pullSecrets: runtime.pullSecrets,
          namespaceMode,
          phase,
        });
        runtime.onDecision?.(result, review);
        res.json(reviewResponse(review, result.response));
      } catch (err) {
        logger.error({ err, uid: review.request.uid, phase }, 'admission handler failed');
        runtime.onDecisionError?.(review, err, phase);
        // Fail closed with a well-formed AdmissionReview — except in detection mode (global or the namespace's), which never blocks.
        const reason = `Imprimatur could not decide this request: ${(err as Error).message}`;
        res.json(
          reviewResponse(
            review,
            engine.engine.config.features.detectionMode || namespaceMode === 'detect'
              ? { uid: review.request.uid, allowed: true, warnings: [clampWarning(`detection mode: ${reason}`)] }
              : { uid: review.request.uid, allowed: false, status: { code: 500, message: reason } },
          ),
        );
      } finally {
        engine.release();
      }
    });
  }

  app.use((_req, res) => { res.status(404).json({ error: 'not found; the webhook listens on POST /mutate and POST /validate' }); });
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.too.large') {
      res.status(400).json({ error: `the request body is larger than the limit of ${options.maxBodyBytes ?? 3 * 1024 * 1024} bytes` });
      return;
    }
    if (err.status && err.status >= 400 && err.status < 500) {
      res.status(err.status).json({ error: err.message });
      return;
    }
    logger.error({ err }, 'unexpected server error');
    res.status(500).json({ error: 'internal error' });
  });
  return app;
}

/** The API server appends `?timeout=10s`; keep one second for the way back. */
function apiServerTimeoutMs(raw: unknown): number | undefined {
  if (typeof raw !== 'string') return undefined;
  const m = /^([0-9]+)s$/.exec(raw);
  if (!m) return undefined;
  return Math.max(500, Number(m[1]) * 1000 - 1000);
}
