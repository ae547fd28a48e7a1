/**
 * `imprimatur_audit_*`: what the in-cluster audit found on its last run — what enforcement would break today, and
 * which running images stopped verifying since the run before (revoked key, expired trust data). Gauges describe
 * the last successful run of the replica holding the audit lease (`imprimatur_audit_leader 1`); a dashboard takes
 * `max` over replicas. Also `imprimatur_kubernetes_events_total`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuditResult } from '../audit/audit.js';
import type { EventOutcome } from '../kubernetes/events.js';

/** Bound on `imprimatur_audit_failing_images` series (namespace × image); the rest is counted in `…_left_out`. */
export const MAX_FAILING_IMAGE_SERIES = 500;

export class AuditMetrics {
  readonly runs: Counter<'result'>;
  readonly lastSuccess: Gauge;
  readonly duration: Gauge;
  readonly leader: Gauge;
  readonly workloads: Gauge<'namespace' | 'verdict'>;
  readonly findings: Gauge<'namespace' | 'verdict'>;
  readonly images: Gauge<'result'>;
  readonly failingImages: Gauge<'namespace' | 'image' | 'rule' | 'validator' | 'verdict' | 'code'>;
  readonly failingImagesLeftOut: Gauge;
  readonly stoppedVerifying: Counter;
  readonly reportWrites: Counter<'result'>;
  readonly events: Counter<'outcome'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.runs = new Counter({ name: 'imprimatur_audit_runs_total', help: 'In-cluster audit runs by result (success, failure)', labelNames: ['result'], registers });
    this.lastSuccess = new Gauge({ name: 'imprimatur_audit_last_success_timestamp_seconds', help: 'Unix time the last successful in-cluster audit finished', registers });
    this.duration = new Gauge({ name: 'imprimatur_audit_duration_seconds', help: 'How long the last in-cluster audit took', registers });
    this.leader = new Gauge({ name: 'imprimatur_audit_leader', help: '1 on the replica that runs the in-cluster audit (holds the lease), else 0', registers });
    this.workloads = new Gauge({
      name: 'imprimatur_audit_workloads', help: 'Workloads (owners folded) by namespace and worst verdict (admit, warn, deny) on the last audit',
      labelNames: ['namespace', 'verdict'], registers,
    });
    this.findings = new Gauge({
      name: 'imprimatur_audit_findings', help: 'Workload × image findings by namespace and verdict on the last audit',
      labelNames: ['namespace', 'verdict'], registers,
    });
    this.images = new Gauge({ name: 'imprimatur_audit_images', help: 'Distinct running images by verification result (verified, failed) on the last audit', labelNames: ['result'], registers });
    this.failingImages = new Gauge({
      name: 'imprimatur_audit_failing_images',
      help: `Running images that fail verification, by namespace, image, rule, validator, verdict (deny, warn) and code: the number of workloads running them (at most ${MAX_FAILING_IMAGE_SERIES} series)`,
      labelNames: ['namespace', 'image', 'rule', 'validator', 'verdict', 'code'], registers,
    });
    this.failingImagesLeftOut = new Gauge({ name: 'imprimatur_audit_failing_images_left_out', help: 'Failing (namespace, image) pairs not exported because of the series bound', registers });
    this.stoppedVerifying = new Counter({ name: 'imprimatur_audit_stopped_verifying_total', help: 'Running images that verified on the previous audit and fail now (revoked key, expired trust data, deleted signature)', registers });
    this.reportWrites = new Counter({ name: 'imprimatur_audit_policy_report_writes_total', help: 'PolicyReport writes by result (written, deleted, failed)', labelNames: ['result'], registers });
    this.events = new Counter({ name: 'imprimatur_kubernetes_events_total', help: 'Kubernetes Events for denials by outcome (created, aggregated, dropped, failed)', labelNames: ['outcome'], registers });
    for (const r of ['success', 'failure']) this.runs.labels(r).inc(0);
    for (const r of ['written', 'deleted', 'failed']) this.reportWrites.labels(r).inc(0);
    for (const o of ['created', 'aggregated', 'dropped', 'failed']) this.events.labels(o).inc(0);
    this.leader.set(0);
  }

  readonly event = (outcome: EventOutcome): void => {
    this.events.labels(outcome).inc();
  };

  /** Replaces the last-run gauges with this run's numbers. */
  record(result: AuditResult, durationMs: number, finishedAt: Date): void {
    this.clearFindings();
    for (const ns of result.namespaces.filter((n) => n.covered)) {
      for (const v of ['admit', 'warn', 'deny']) {
        this.workloads.labels(ns.name, v).set(0);
        this.findings.labels(ns.name, v).set(0);
      }
    }
    const rank = { admit: 0, warn: 1, deny: 2 } as const;
    const worst = new Map<string, { namespace: string; verdict: keyof typeof rank }>();
    const failing = new Map<string, { labels: Record<string, string>; workloads: Set<string> }>();
    for (const f of result.findings) {
      this.findings.labels(f.namespace, f.verdict).inc();
      const key = `${f.namespace}/${f.kind}/${f.name}`;
      const before = worst.get(key);
      if (!before || rank[f.verdict] > rank[before.verdict]) worst.set(key, { namespace: f.namespace, verdict: f.verdict });
      if (f.verdict !== 'admit') {
        const id = `${f.namespace}\u0000${f.image}`;
        let entry = failing.get(id);
        if (!entry) {
          entry = { labels: { namespace: f.namespace, image: f.image, rule: f.rule ?? '', validator: f.validator ?? '', verdict: f.verdict, code: f.code ?? '' }, workloads: new Set() };
          failing.set(id, entry);
        }
        entry.workloads.add(key);
      }
    }
    for (const w of worst.values()) this.workloads.labels(w.namespace, w.verdict).inc();
    let exported = 0;
    for (const entry of failing.values()) {
      if (exported >= MAX_FAILING_IMAGE_SERIES) break;
      this.failingImages.labels(entry.labels as never).set(entry.workloads.size);
      exported++;
    }
    this.failingImagesLeftOut.set(failing.size - exported);
    const decisions = [...result.decisions.values()];
    this.images.labels('verified').set(decisions.filter((d) => d.outcome !== 'denied').length);
    this.images.labels('failed').set(decisions.filter((d) => d.outcome === 'denied').length);
    this.duration.set(durationMs / 1000);
    this.lastSuccess.set(finishedAt.getTime() / 1000);
  }

  /** Forgets what the last run found (this replica no longer runs the audit). */
  clearFindings(): void {
    this.workloads.reset();
    this.findings.reset();
    this.failingImages.reset();
    this.images.reset();
    this.failingImagesLeftOut.set(0);
  }
}
