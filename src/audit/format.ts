/** `imprimatur audit` output: a table for people, JSON for programs, PolicyReports for the cluster. */
import yaml from 'js-yaml';
import type { AuditResult, AuditFinding } from './audit.js';
import { policyReports } from './policy-report.js';

export type AuditOutput = 'table' | 'json' | 'policyreport';
export const AUDIT_OUTPUTS: AuditOutput[] = ['table', 'json', 'policyreport'];

export function formatAudit(result: AuditResult, output: AuditOutput): string {
  switch (output) {
    case 'json':
      return `${JSON.stringify(auditJson(result), null, 2)}\n`;
    case 'policyreport':
      return policyReports(result).map((r) => `---\n${yaml.dump(r, { lineWidth: -1, noRefs: true })}`).join('');
    default:
      return formatTable(result);
  }
}

/** The JSON document (`imprimatur.dev/v1alpha1` AuditReport); documented field by field in docs/audit.md. */
export function auditJson(result: AuditResult) {
  return {
    apiVersion: 'imprimatur.dev/v1alpha1',
    kind: 'AuditReport',
    generatedAt: result.generatedAt,
    config: result.config,
    summary: result.summary,
    namespaces: result.namespaces,
    findings: result.findings,
    skippedObjects: result.skippedObjects,
  };
}

const VERDICT_WORDS = { admit: 'admit', warn: 'warn (detection)', deny: 'DENY' } as const;

function enforcementWord(f: AuditFinding): string {
  return f.enforcement === 'enforce' ? 'enforce' : `detect (${f.enforcementSource})`;
}

/** Aligned columns; the reason is last and never cut. */
export function formatTable(result: AuditResult): string {
  const header = ['NAMESPACE', 'WORKLOAD', 'IMAGE', 'RULE', 'VALIDATOR', 'MODE', 'VERDICT', 'REASON'];
  const rows = result.findings.map((f) => [
    f.namespace, `${f.kind}/${f.name}`, f.image, f.rule ?? '-', f.validator ?? '-', enforcementWord(f), VERDICT_WORDS[f.verdict], f.reason,
  ]);
  const widths = header.slice(0, -1).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
  const out: string[] = [];
  if (rows.length > 0) out.push(line(header), ...rows.map(line), '');
  out.push(summaryText(result));
  return `${out.join('\n')}\n`;
}

export function summaryText(result: AuditResult): string {
  const s = result.summary;
  const lines = [
    `Audited ${s.workloads} workload(s) in ${s.namespaces} namespace(s) with ${result.config}: ${s.images} distinct image(s).`,
    `  ${s.admit} would be admitted, ${s.warn} admitted with a warning (detection), ${s.deny} would be denied` +
      ` — ${s.workloadsDenied} workload(s) with a denied image, ${s.workloadsWarned} only with warnings.`,
  ];
  const skipped = result.namespaces.filter((n) => !n.covered);
  if (skipped.length > 0) lines.push(`  Not covered by the webhook: ${skipped.map((n) => `${n.name} (${n.reason})`).join(', ')}.`);
  const detect = result.namespaces.filter((n) => n.covered && n.mode === 'detect');
  if (detect.length > 0) lines.push(`  In detection (namespace label): ${detect.map((n) => n.name).join(', ')}.`);
  for (const n of result.namespaces.filter((x) => x.note)) lines.push(`  Note: ${n.note}.`);
  for (const o of result.skippedObjects) lines.push(`  Could not read ${o}.`);
  return lines.join('\n');
}
