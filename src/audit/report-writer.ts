/**
 * Keeps the cluster's PolicyReports equal to the last audit: creates or replaces `imprimatur` in every namespace
 * with workloads, and deletes Imprimatur's reports (by name and label) from namespaces that no longer have any or
 * are no longer covered. Reports of other tools are never touched.
 */
import type { KubeConfig, KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { ImprimaturError } from '../errors.js';
import { POLICY_REPORT_API_VERSION, POLICY_REPORT_LABELS, POLICY_REPORT_NAME, type PolicyReport } from './policy-report.js';

export interface WriteOutcome {
  written: number;
  deleted: number;
  failed: Array<{ namespace: string; error: string }>;
}

export class PolicyReportWriter {
  private api?: Promise<KubernetesObjectApi>;

  constructor(private readonly kc: KubeConfig) {}

  /** Throws POLICY_REPORT_CRD_MISSING when the cluster has no PolicyReport CRD; per-namespace failures are returned. */
  async write(reports: PolicyReport[]): Promise<WriteOutcome> {
    const api = await this.client();
    const outcome: WriteOutcome = { written: 0, deleted: 0, failed: [] };
    const existing = await this.ours(api);
    const wanted = new Set(reports.map((r) => r.metadata.namespace));
    for (const report of reports) {
      try {
        const current = existing.get(report.metadata.namespace);
        if (current) {
          await api.replace({ ...report, metadata: { ...report.metadata, resourceVersion: current.metadata?.resourceVersion } } as never);
        } else {
          await api.create(report as never);
        }
        outcome.written++;
      } catch (err) {
        outcome.failed.push({ namespace: report.metadata.namespace, error: describe(err) });
      }
    }
    for (const [namespace, report] of existing) {
      if (wanted.has(namespace)) continue;
      try {
        await api.delete(report);
        outcome.deleted++;
      } catch (err) {
        if ((err as { code?: number }).code !== 404) outcome.failed.push({ namespace, error: describe(err) });
      }
    }
    return outcome;
  }

  /** Imprimatur's reports by namespace. */
  private async ours(api: KubernetesObjectApi): Promise<Map<string, KubernetesObject>> {
    const selector = Object.entries(POLICY_REPORT_LABELS).map(([k, v]) => `${k}=${v}`).join(',');
    const found = new Map<string, KubernetesObject>();
    let token: string | undefined;
    try {
      do {
        const list = await api.list(POLICY_REPORT_API_VERSION, 'PolicyReport', undefined, undefined, undefined, undefined, undefined, selector, 500, token);
        for (const item of list.items ?? []) {
          if (item.metadata?.name === POLICY_REPORT_NAME && item.metadata.namespace) {
            found.set(item.metadata.namespace, { ...item, apiVersion: POLICY_REPORT_API_VERSION, kind: 'PolicyReport' });
          }
        }
        const meta = list.metadata as { continue?: string; _continue?: string } | undefined;
        token = meta?._continue || meta?.continue || undefined;
      } while (token);
    } catch (err) {
      if ((err as { code?: number }).code === 404 || /Unrecognized API version and kind/i.test((err as Error).message)) {
        throw new ImprimaturError('POLICY_REPORT_CRD_MISSING', 'the cluster has no PolicyReport CRD (policyreports.wgpolicyk8s.io, v1alpha2); install it (the chart does with kubernetes.audit.policyReports.installCRD) or Kyverno / Policy Reporter');
      }
      throw new ImprimaturError('KUBERNETES_API', `cannot list PolicyReports: ${describe(err)}`);
    }
    return found;
  }

  private client(): Promise<KubernetesObjectApi> {
    this.api ??= import('@kubernetes/client-node').then((k8s) => k8s.KubernetesObjectApi.makeApiClient(this.kc));
    return this.api;
  }
}

function describe(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  if (typeof e.code === 'number') {
    let body = e.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // keep the text
      }
    }
    return `HTTP ${e.code}: ${(body as { message?: string } | undefined)?.message ?? e.message}`;
  }
  return e.message ?? String(err);
}
