/**
 * Prometheus metrics of one webhook, on their own prom-client Registry (never the global one), so several
 * servers in one process (tests, benchmarks) do not mix their counts.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { AlertOutcome } from '../alerting/types.js';
import type { VerificationEvent } from '../admission/engine.js';
import type { RegistryExchange } from '../registry/observer.js';
import { AuditMetrics } from './audit.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25];

export type AdmissionOutcome = 'admitted' | 'denied' | 'warned' | 'error';

export class Metrics {
  readonly registry = new Registry();
  readonly admissions = new Counter({
    name: 'imprimatur_admission_requests_total',
    help: 'AdmissionReview requests by outcome (admitted, denied, warned, error) and object kind',
    labelNames: ['outcome', 'kind'] as const,
    registers: [this.registry],
  });
  readonly validatingRequests = new Counter({
    name: 'imprimatur_validating_requests_total',
    help: 'Re-checks of the final object by the validating webhook (after every mutating webhook), by outcome and object kind',
    labelNames: ['outcome', 'kind'] as const,
    registers: [this.registry],
  });
  readonly ownerProofs = new Counter({
    name: 'imprimatur_owner_proofs_total',
    help: 'Automatic child approval lookups by result: valid (the owner vouched), absent, invalid, owner-unavailable',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly pullSecretReads = new Counter({
    name: 'imprimatur_pull_secret_reads_total',
    help: 'Kubernetes API reads of workload pull secrets and ServiceAccounts (auth.fromWorkload; reads served from the 10 s cache are not counted), by kind and result: found, missing, error',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });
  readonly admissionDuration = new Histogram({
    name: 'imprimatur_admission_duration_seconds',
    help: 'Time from receiving an AdmissionReview to sending the answer',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly verifications = new Counter({
    name: 'imprimatur_verifications_total',
    help: 'Image verifications by validator type, validator name and result (admitted, denied)',
    labelNames: ['validator_type', 'validator', 'result'] as const,
    registers: [this.registry],
  });
  readonly attestations = new Counter({
    name: 'imprimatur_attestations_total',
    help: 'Required attestations checked with a verification, by validator, predicate type and result (satisfied, missing, signature_invalid, policy_failed); cached verifications count again, as for imprimatur_verifications_total',
    labelNames: ['validator', 'predicate_type', 'result'] as const,
    registers: [this.registry],
  });
  readonly skipped = new Counter({
    name: 'imprimatur_skipped_validations_total',
    help: 'Image validations not run against a registry, by reason (cache, shared, unchanged, child)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly registryRequests = new Counter({
    name: 'imprimatur_registry_requests_total',
    help: 'HTTP exchanges with registries and Notary servers, by method and status (HTTP code or error code)',
    labelNames: ['method', 'status'] as const,
    registers: [this.registry],
  });
  readonly registryDuration = new Histogram({
    name: 'imprimatur_registry_request_duration_seconds',
    help: 'Duration of one HTTP exchange with a registry or Notary server',
    labelNames: ['method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly alerts = new Counter({
    name: 'imprimatur_alerts_total',
    help: 'Alerts by receiver and outcome (sent, failed, dropped, suppressed, empty: the template rendered nothing)',
    labelNames: ['receiver', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly cacheRequests = new Counter({
    name: 'imprimatur_cache_requests_total',
    help: 'Verification cache lookups by result (hit, miss) and store (memory, redis)',
    labelNames: ['result', 'store'] as const,
    registers: [this.registry],
  });
  readonly cacheIntegrityFailures = new Counter({
    name: 'imprimatur_cache_integrity_failures_total',
    help: 'Shared-cache (Redis) entries ignored because their HMAC did not verify (another integrity key, an older format, or tampering)',
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: 'imprimatur_config_reloads_total',
    help: 'Configuration reloads by result (success, failure)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /** In-cluster audit and Kubernetes Events (src/metrics/audit.ts). */
  readonly audit = new AuditMetrics(this.registry);

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'imprimatur_' });
    // Every series a dashboard needs exists from the start, at zero.
    // (prom-client exports a labelled series only once it has been touched: inc(0).)
    for (const outcome of ['admitted', 'denied', 'warned', 'error']) this.admissions.labels(outcome, 'Pod').inc(0);
    for (const reason of ['cache', 'unchanged', 'child']) this.skipped.labels(reason).inc(0);
    for (const result of ['hit', 'miss']) this.cacheRequests.labels(result, 'memory').inc(0);
    for (const result of ['success', 'failure']) this.reloads.labels(result).inc(0);
    for (const outcome of ['admitted', 'denied', 'warned', 'error']) this.validatingRequests.labels(outcome, 'Pod').inc(0);
    for (const result of ['valid', 'absent', 'invalid', 'owner-unavailable']) this.ownerProofs.labels(result).inc(0);
  }

  readonly validating = (outcome: AdmissionOutcome, kind: string): void => {
    this.validatingRequests.labels(outcome, kind || 'unknown').inc();
  };

  readonly cacheIntegrityFailure = (): void => {
    this.cacheIntegrityFailures.inc();
  };

  readonly pullSecretRead = (kind: string, result: string): void => {
    this.pullSecretReads.labels(kind, result).inc();
  };

  readonly ownerProof = (result: string): void => {
    this.ownerProofs.labels(result).inc();
  };

  readonly admission = (outcome: AdmissionOutcome, kind: string): void => {
    this.admissions.labels(outcome, kind || 'unknown').inc();
  };

  readonly verification = (e: VerificationEvent): void => {
    this.verifications.labels(e.type, e.validator, e.result).inc();
    for (const a of e.attestations ?? []) this.attestations.labels(e.validator, a.predicateType, a.result).inc();
    if (e.source === 'hit') this.skipped.labels('cache').inc();
    else if (e.source === 'shared') this.skipped.labels('shared').inc();
  };

  readonly cache = (event: 'hit' | 'miss', store: string): void => {
    this.cacheRequests.labels(event, store).inc();
  };

  readonly skippedImage = (reason: string): void => {
    this.skipped.labels(reason).inc();
  };

  readonly alert = (receiver: string, outcome: AlertOutcome): void => {
    this.alerts.labels(receiver, outcome).inc();
  };

  readonly registryExchange = (e: RegistryExchange): void => {
    this.registryRequests.labels(e.method, e.status !== undefined ? String(e.status) : (e.error ?? 'ERROR')).inc();
    this.registryDuration.labels(e.method).observe(e.durationMs / 1000);
  };

  readonly reload = (ok: boolean): void => {
    this.reloads.labels(ok ? 'success' : 'failure').inc();
  };

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Sum of a counter's series matching `labels` (tests, benchmarks). */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = await this.registry.getSingleMetric(name)?.get();
    if (!metric) return 0;
    return metric.values
      .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
      .reduce((sum, v) => sum + v.value, 0);
  }
}
