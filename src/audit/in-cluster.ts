/**
 * The in-cluster audit (chart: kubernetes.audit.enabled): the webhook re-audits the cluster every interval with
 * the configuration in force (hot reloads included; the verification cache is shared with admissions), keeps one
 * PolicyReport per namespace current and exports `imprimatur_audit_*`. Only the replica holding the audit lease
 * runs it. A running image that verified on the previous run and fails now (a revoked key, expired trust data, a
 * deleted signature) is logged and counted: it will be denied on its next rollout.
 */
import type { ImageDecision } from '../admission/types.js';
import type { AppConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { AuditMetrics } from '../metrics/audit.js';
import type { Runtime } from '../server/runtime.js';
import { runAudit, type AuditResult } from './audit.js';
import type { ClusterSource } from './cluster.js';
import type { NamespaceSelection } from './namespaces.js';
import { policyReports } from './policy-report.js';
import type { PolicyReportWriter } from './report-writer.js';

export interface InClusterAuditOptions {
  runtime: Runtime;
  cluster: ClusterSource;
  /** The namespace selection for the config in force (namespacedValidation.mode can change on reload). */
  selection: (config: AppConfig) => NamespaceSelection;
  intervalMs: number;
  /** Verifications in flight at once (default 4: the same process answers admissions). */
  concurrency?: number;
  metrics: AuditMetrics;
  logger: Logger;
  /** Writes PolicyReports when set. */
  reports?: PolicyReportWriter;
  /** Runs only while this says so (the audit lease); always when absent. */
  leader?: { isLeader(): boolean };
  /** Delay before the first run (default 10 s: let the webhook become ready first). */
  firstRunMs?: number;
  now?: () => Date;
}

export class InClusterAudit {
  private timer?: NodeJS.Timeout;
  private running?: Promise<AuditResult | undefined>;
  private readonly abort = new AbortController();
  private previous = new Map<string, ImageDecision>();
  private lastError?: string;
  private crdWarned = false;
  private wasLeader = false;

  constructor(private readonly o: InClusterAuditOptions) {}

  start(): void {
    const schedule = (ms: number) => {
      this.timer = setTimeout(() => {
        void this.runOnce().finally(() => {
          if (!this.abort.signal.aborted) schedule(this.o.intervalMs);
        });
      }, ms);
      this.timer.unref();
    };
    schedule(this.o.firstRunMs ?? 10_000);
  }

  /** One audit now (if this replica leads); resolves to its result, or undefined when skipped or failed. */
  runOnce(): Promise<AuditResult | undefined> {
    this.running ??= this.run().finally(() => { this.running = undefined; });
    return this.running;
  }

  async close(): Promise<void> {
    this.abort.abort();
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private async run(): Promise<AuditResult | undefined> {
    const { metrics, logger } = this.o;
    const leader = this.o.leader?.isLeader() ?? true;
    metrics.leader.set(leader ? 1 : 0);
    if (!leader) {
      if (this.wasLeader) metrics.clearFindings();
      this.wasLeader = false;
      this.previous.clear();
      return undefined;
    }
    this.wasLeader = true;
    const started = Date.now();
    const lease = this.o.runtime.acquire();
    let result: AuditResult;
    try {
      result = await runAudit({
        engine: lease.engine,
        cluster: this.o.cluster,
        selection: this.o.selection(lease.engine.config),
        concurrency: this.o.concurrency ?? 4,
        logger,
        signal: this.abort.signal,
        now: this.o.now,
        workloadCredentials: this.o.runtime.pullSecrets,
      });
    } catch (err) {
      if (this.abort.signal.aborted) return undefined;
      metrics.runs.labels('failure').inc();
      const message = (err as Error).message;
      if (message !== this.lastError) logger.error({ error: message }, 'in-cluster audit failed; retrying at the next interval (logged once until the error changes)');
      this.lastError = message;
      return undefined;
    } finally {
      lease.release();
    }
    if (this.lastError) logger.info('in-cluster audit works again');
    this.lastError = undefined;
    const durationMs = Date.now() - started;
    metrics.runs.labels('success').inc();
    metrics.record(result, durationMs, new Date());
    this.noticeStoppedVerifying(result);
    if (this.o.reports) await this.writeReports(result);
    const s = result.summary;
    logger.info({ ...s, durationMs }, `in-cluster audit: ${s.workloads} workloads, ${s.images} images: ${s.deny} would be denied, ${s.warn} warned (detection)`);
    return result;
  }

  private noticeStoppedVerifying(result: AuditResult): void {
    for (const [image, now] of result.decisions) {
      const before = this.previous.get(image);
      if (before && before.outcome !== 'denied' && now.outcome === 'denied') {
        this.o.metrics.stoppedVerifying.inc();
        const workloads = result.findings.filter((f) => f.image === image).map((f) => `${f.namespace}/${f.kind}/${f.name}`);
        this.o.logger.warn({ image, rule: now.rule, validator: now.validator, code: now.code, reason: now.reason, workloads },
          `running image ${image} verified on the previous audit and fails now: ${now.reason}`);
      }
    }
    this.previous = result.decisions;
  }

  private async writeReports(result: AuditResult): Promise<void> {
    const { metrics, logger } = this.o;
    try {
      const out = await this.o.reports!.write(policyReports(result));
      metrics.reportWrites.labels('written').inc(out.written);
      metrics.reportWrites.labels('deleted').inc(out.deleted);
      metrics.reportWrites.labels('failed').inc(out.failed.length);
      for (const f of out.failed) logger.warn(f, 'could not write the PolicyReport of a namespace');
      this.crdWarned = false;
    } catch (err) {
      metrics.reportWrites.labels('failed').inc();
      if (!this.crdWarned) logger.error({ error: (err as Error).message }, 'PolicyReports not written (logged once until it works)');
      this.crdWarned = true;
    }
  }
}
