/**
 * Audit results as `wgpolicyk8s.io/v1alpha2` PolicyReports (the format Kyverno and Policy Reporter use): one report
 * per covered namespace, named `imprimatur`, one result per workload and image.
 *
 *   pass  — the image verified (or a static rule approves it)
 *   fail  — the webhook would deny it (scored)
 *   warn  — it fails, but detection (global, namespace or rule) admits it with a warning (not scored)
 *   error — it could not be evaluated: registry or Notary unreachable, timed out, rate-limited, internal error
 *           (the webhook denies those too, failing closed)
 */
import type { AuditFinding, AuditResult } from './audit.js';

export const POLICY_REPORT_API_VERSION = 'wgpolicyk8s.io/v1alpha2';
export const POLICY_REPORT_NAME = 'imprimatur';
export const POLICY_REPORT_LABELS: Readonly<Record<string, string>> = { 'app.kubernetes.io/managed-by': 'imprimatur' };
export const POLICY_NAME = 'image-signatures';

/** An etcd object is limited to ~1.5 MiB; a result takes ~0.5 KiB. Beyond this, pass results are left out first. */
export const MAX_RESULTS = 2000;

export type PolicyResult = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export interface PolicyReportResult {
  source: string;
  policy: string;
  rule: string;
  category: string;
  severity: 'critical' | 'high' | 'medium' | 'low' | 'info';
  timestamp: { seconds: number; nanos: number };
  result: PolicyResult;
  scored: boolean;
  message: string;
  resources: Array<{ apiVersion: string; kind: string; name: string; namespace: string; uid: string }>;
  properties: Record<string, string>;
}

export interface PolicyReport {
  apiVersion: typeof POLICY_REPORT_API_VERSION;
  kind: 'PolicyReport';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  summary: Record<PolicyResult, number>;
  results: PolicyReportResult[];
}

/** Codes that mean "could not be evaluated" rather than "does not verify". */
const NOT_EVALUATED = new Set([
  'REGISTRY_UNREACHABLE', 'REGISTRY_TIMEOUT', 'REGISTRY_RATE_LIMITED', 'NOTARY_UNREACHABLE', 'NOTARY_TIMEOUT',
  'DEADLINE_EXCEEDED', 'INTERNAL',
]);

export function policyResult(f: AuditFinding): PolicyResult {
  if (f.verdict === 'admit') return 'pass';
  if (f.code && NOT_EVALUATED.has(f.code)) return 'error';
  return f.verdict === 'warn' ? 'warn' : 'fail';
}

const ORDER: Record<PolicyResult, number> = { fail: 0, error: 1, warn: 2, skip: 3, pass: 4 };

/** One report per covered namespace that has workloads (the in-cluster audit deletes its reports elsewhere). */
export function policyReports(audit: AuditResult): PolicyReport[] {
  const at = new Date(audit.generatedAt);
  const timestamp = { seconds: Math.floor(at.getTime() / 1000), nanos: 0 };
  const populated = new Set(audit.findings.map((f) => f.namespace));
  return audit.namespaces.filter((n) => n.covered && populated.has(n.name)).map((ns) => {
    const all = audit.findings.filter((f) => f.namespace === ns.name).map((f) => toResult(f, timestamp));
    const summary: Record<PolicyResult, number> = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    for (const r of all) summary[r.result]++;
    const kept = all.length <= MAX_RESULTS ? all : [...all].sort((a, b) => ORDER[a.result] - ORDER[b.result]).slice(0, MAX_RESULTS);
    return {
      apiVersion: POLICY_REPORT_API_VERSION,
      kind: 'PolicyReport',
      metadata: {
        name: POLICY_REPORT_NAME,
        namespace: ns.name,
        labels: { ...POLICY_REPORT_LABELS },
        annotations: {
          'imprimatur.dev/generated-at': audit.generatedAt,
          'imprimatur.dev/namespace-mode': ns.mode ?? 'enforce',
          ...(kept.length < all.length ? { 'imprimatur.dev/results-left-out': `${all.length - kept.length} results not listed (summary counts all); run imprimatur audit -n ${ns.name} for the full list` } : {}),
        },
      },
      summary,
      results: kept,
    };
  });
}

function toResult(f: AuditFinding, timestamp: { seconds: number; nanos: number }): PolicyReportResult {
  const result = policyResult(f);
  const properties: Record<string, string> = {
    image: f.image,
    verdict: f.verdict,
    enforcement: f.enforcement,
    enforcementSource: f.enforcementSource,
    objects: f.objects.length > 10 ? `${f.objects.slice(0, 10).join(', ')} and ${f.objects.length - 10} more` : f.objects.join(', '),
  };
  if (f.normalized) properties.normalized = f.normalized;
  if (f.validator) properties.validator = f.validator;
  if (f.validatorType) properties.validatorType = f.validatorType;
  if (f.code) properties.code = f.code;
  if (f.digest) properties.digest = f.digest;
  return {
    source: 'imprimatur',
    policy: POLICY_NAME,
    rule: f.rule ?? '(no matching rule)',
    category: 'Supply chain: image signatures',
    severity: 'high',
    timestamp,
    result,
    scored: result !== 'warn',
    message: `image "${f.image}": ${f.reason}`,
    resources: [{ apiVersion: f.apiVersion, kind: f.kind, name: f.name, namespace: f.namespace, uid: f.uid }],
    properties,
  };
}
