/** Connects a Metrics instance to a Runtime (decisions, reloads), the express app (/metrics, latency) and the registry transport. */
import type express from 'express';
import type { HandledReview } from '../admission/handler.js';
import type { AdmissionReview } from '../admission/review.js';
import { addRegistryObserver } from '../registry/observer.js';
import type { Runtime } from '../server/runtime.js';
import type { AdmissionOutcome, Metrics } from './metrics.js';

/** admitted / warned / denied / error, as the API server sees the answer. */
export function outcomeOf(result: HandledReview): AdmissionOutcome {
  const r = result.response;
  if (r.allowed) return r.warnings?.length ? 'warned' : 'admitted';
  return (r.status?.code ?? 403) >= 500 ? 'error' : 'denied';
}

/** Counts every decided (and every failed) request, every skipped image and every reload. */
export function attachRuntime(metrics: Metrics, runtime: Runtime): void {
  const previous = runtime.onDecision;
  runtime.onDecision = (result: HandledReview, review: AdmissionReview) => {
    previous?.(result, review);
    if (result.phase === 'validate') {
      metrics.validating(outcomeOf(result), review.request.kind.kind);
      return;
    }
    metrics.admission(outcomeOf(result), review.request.kind.kind);
    for (const r of result.event?.results ?? []) {
      if (r.outcome === 'skipped' && r.skippedBecause) metrics.skippedImage(r.skippedBecause);
    }
  };
  runtime.onDecisionError = (review: AdmissionReview, _error: unknown, phase) =>
    (phase === 'validate' ? metrics.validating : metrics.admission)('error', review.request.kind?.kind ?? 'unknown');
  runtime.onReload((ok) => metrics.reload(ok));
  runtime.onOwnerProof = metrics.ownerProof;
}

/** GET /metrics, and the latency (plus 4xx/5xx answers) of POST /mutate. Register before the /mutate route. */
export function metricsRoutes(metrics: Metrics): (app: express.Express) => void {
  return (app) => {
    app.get('/metrics', (_req, res, next) => {
      metrics.scrape().then(({ contentType, body }) => res.set('Content-Type', contentType).send(body), next);
    });
    app.use('/mutate', (req, res, next) => {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const malformed = res.statusCode >= 400;
        if (malformed) metrics.admission('error', 'unknown');
        metrics.admissionDuration.labels(malformed ? 'error' : 'answered').observe(seconds);
      });
      next();
    });
  };
}

/** Starts counting registry exchanges; returns the function that stops it. */
export function observeRegistry(metrics: Metrics): () => void {
  return addRegistryObserver(metrics.registryExchange);
}
