import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { loadConfigFile } from '../config/load.js';
import { Engine, type ImageCheck } from '../admission/engine.js';
import { createLogger } from '../log.js';
import { describeEnforcement, resolveEnforcement, type NamespaceMode, type ResolvedEnforcement } from '../admission/enforcement.js';
import type { AttestationOutcome } from '../validators/types.js';
import { defaultConfigFile } from './paths.js';

const EXPLAIN_USAGE = 'usage: imprimatur explain [--config FILE] [--json] [--namespace-mode enforce|detect] [--secrets-dir D] IMAGE...\n';

export async function runExplain(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, 'secrets-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' },
        'namespace-mode': { type: 'string' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${EXPLAIN_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(EXPLAIN_USAGE);
    return 0;
  }
  const namespaceMode = (values['namespace-mode'] ?? 'enforce') as string;
  if (namespaceMode !== 'enforce' && namespaceMode !== 'detect') {
    process.stderr.write(`--namespace-mode must be enforce or detect (got ${JSON.stringify(namespaceMode)})\n${EXPLAIN_USAGE}`);
    return 2;
  }
  if (positionals.length === 0) {
    process.stderr.write(`name at least one image\n${EXPLAIN_USAGE}`);
    return 2;
  }
  let engine: Engine;
  try {
    const config = loadConfigFile(String(values.config ?? defaultConfigFile), { secretsDir: values['secrets-dir'] as string | undefined });
    engine = new Engine(config, { logger: createLogger(process.env.IMPRIMATUR_LOG_LEVEL ?? 'warn'), secretsDir: values['secrets-dir'] as string | undefined });
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    return 2;
  }
  try {
    const deadlineMs = engine.config.requestTimeoutMs;
    const checks = await Promise.all(
      positionals.map((image) => {
        const signal = AbortSignal.timeout(deadlineMs);
        return engine.check(image, { signal, deadline: Date.now() + deadlineMs, logger: createLogger('silent'), now: () => new Date() });
      }),
    );
    const explained = checks.map((c) => explanation(engine, c, namespaceMode));
    if (values.json) process.stdout.write(`${JSON.stringify(explained, null, 2)}\n`);
    else process.stdout.write(explained.map(formatExplanation).join('\n'));
    return checks.every((c) => c.decision.outcome !== 'denied') ? 0 : 1;
  } finally {
    await engine.close();
  }
}

export interface Explanation {
  image: string;
  normalized?: string;
  rule?: { pattern: string; path: string; with: Record<string, unknown> };
  runnersUp: Array<{ pattern: string; path: string }>;
  validator?: { name: string; type: string };
  trustRoots?: string[];
  outcome: string;
  reason: string;
  code?: string;
  digest?: string;
  /** What a failure of this image does (block or warn) and which setting decided it. */
  enforcement: ResolvedEnforcement;
  record?: Record<string, unknown>;
}

export function explanation(engine: Engine, check: ImageCheck, namespaceMode: NamespaceMode = 'enforce'): Explanation {
  const { decision, rule } = check;
  const validatorConfig = rule ? engine.config.validators.find((v) => v.name === rule.validator) : undefined;
  const roots = validatorConfig?.trustRoots?.map((r) => r.name);
  return {
    image: decision.image,
    normalized: decision.normalized,
    rule: rule && { pattern: rule.pattern, path: rule.path, with: rule.with },
    runnersUp: check.runnersUp.map((r) => ({ pattern: r.pattern, path: r.path })),
    validator: validatorConfig && { name: validatorConfig.name, type: validatorConfig.type },
    trustRoots: roots && rule ? (rule.with.trustRoot === '*' ? roots : [rule.with.trustRoot]) : undefined,
    outcome: decision.outcome,
    reason: decision.reason,
    code: decision.code,
    digest: decision.digest,
    enforcement: resolveEnforcement(engine.config.features.detectionMode, namespaceMode, decision.ruleEnforcement),
    record: decision.details,
  };
}

function formatExplanation(e: Explanation): string {
  const lines = [`${e.image}`];
  if (e.normalized) lines.push(`  reference:   ${e.normalized}`);
  lines.push(`  rule:        ${e.rule ? `"${e.rule.pattern}" (${e.rule.path})` : '(none matches)'}`);
  if (e.runnersUp.length) lines.push(`  runners-up:  ${e.runnersUp.map((r) => `"${r.pattern}"`).join(', ')}`);
  if (e.validator) lines.push(`  validator:   ${e.validator.name} (${e.validator.type})`);
  if (e.trustRoots) lines.push(`  trust roots: ${e.trustRoots.join(', ')}`);
  lines.push(`  enforcement: ${describeEnforcement(e.enforcement)}`);
  const verdict = e.outcome === 'denied' && e.enforcement.enforcement === 'detect' ? 'DENIED (detection: admitted with a warning)' : e.outcome.toUpperCase();
  lines.push(`  outcome:     ${verdict}${e.code ? ` [${e.code}]` : ''} — ${e.reason}`);
  if (e.digest) lines.push(`  digest:      ${e.digest}`);
  const formats = e.record?.verifiedFormats;
  if (Array.isArray(formats) && formats.length > 0) lines.push(`  format:      ${formats.join(', ')}`);
  if (typeof e.record?.verificationLevel === 'string') {
    lines.push(`  level:       ${e.record.verificationLevel}${typeof e.record.verifyTimestamp === 'string' ? ` (verifyTimestamp ${e.record.verifyTimestamp})` : ''}`);
  }
  const roots = (e.record?.trustRoots as Array<Record<string, unknown>> | undefined) ?? [];
  for (const r of roots) {
    const by = Array.isArray(r.verifiedBy) && r.verifiedBy.length ? ` — verified ${r.verifiedBy.join(', ')}` : '';
    const attempts = Array.isArray(r.attempts) ? (r.attempts as SignatureChecks[]) : [];
    // With per-signature checks below, the trust root's reason would repeat the best failure.
    const reason = r.reason && !attempts.some((a) => a.checks) ? ` — ${String(r.reason)}` : '';
    lines.push(`    ${r.verified ? '✔' : '✘'} ${String(r.name)}${r.found ? `: ${String(r.found)}` : ''}${by}${reason}`);
    for (const a of attempts) lines.push(...formatSignatureChecks(a));
  }
  const reservations = Array.isArray(e.record?.warnings) ? (e.record.warnings as string[]) : [];
  for (const w of reservations) lines.push(`  warning:     ${w}`);
  const attestations = (e.record?.attestations as AttestationOutcome[] | undefined) ?? [];
  if (attestations.length > 0) lines.push('  attestations:');
  for (const a of attestations) {
    lines.push(`    ${a.satisfied ? '✔' : '✘'} ${a.summary}`);
    const policy = a.policy as { expression?: string; result?: string } | undefined;
    if (policy?.expression !== undefined) lines.push(`        policy (${policy.result ?? 'not evaluated'}): ${policy.expression.replace(/\s*\n\s*/g, ' ').trim()}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One signature as a validator with per-check results records it (notation): what was checked and what became of it. */
interface SignatureChecks {
  signature: string;
  verified: boolean;
  signer?: string;
  check?: string;
  reason?: string;
  hint?: string;
  logged?: Array<{ check: string; reason: string }>;
  checks?: Record<string, string>;
  timestamp?: { genTime: string; tsa: string };
}

const CHECK_MARKS: Record<string, string> = { passed: '✔', failed: '✘', logged: '⚠ logged', skipped: '– skipped' };

function formatSignatureChecks(a: SignatureChecks): string[] {
  if (!a.checks) return [];
  const lines = [`        ${a.verified ? '✔' : '✘'} signature ${a.signature}${a.signer ? ` by "${a.signer}"` : ''}`];
  lines.push(`            ${Object.entries(a.checks).map(([check, status]) => `${check} ${CHECK_MARKS[status] ?? status}`).join(', ')}`);
  if (a.timestamp) lines.push(`            timestamp ${a.timestamp.genTime} by "${a.timestamp.tsa}"`);
  if (a.check && a.reason) lines.push(`            ${a.check} failed: ${a.reason}${a.hint ? ` — ${a.hint}` : ''}`);
  for (const l of a.logged ?? []) lines.push(`            ${l.check} failed (logged only): ${l.reason}`);
  return lines;
}
