import { ConfigError } from '../errors.js';
import { loadConfigFile } from '../config/load.js';
import { Engine, NO_WORKLOAD, type CheckContext, type ImageCheck } from '../admission/engine.js';
import { kubernetesObjectReader } from '../admission/child-approval.js';
import { PullSecretStore } from '../pull-secrets/store.js';
import { workloadCredentialsFrom, type WorkloadCredentials } from '../pull-secrets/workload.js';
import { createLogger } from '../log.js';
import { describeEnforcement, resolveEnforcement, type NamespaceMode, type ResolvedEnforcement } from '../admission/enforcement.js';
import type { AttestationOutcome } from '../validators/types.js';
import { parseCommandLine } from './command-line.js';
import { defaultConfigFile } from './paths.js';
import { formatWarnings } from './warnings.js';

const EXPLAIN_USAGE =
  'usage: imprimatur explain [--config FILE] [--json] [--namespace-mode enforce|detect] [--secrets-dir D]\n' +
  '                          [--namespace NS [--service-account SA] [--pull-secret NAME]... [--kubeconfig F]] IMAGE...\n' +
  '  --namespace: verify as a Pod of namespace NS would be (validators with auth.fromWorkload read its pull secrets:\n' +
  '               the --pull-secret names, else ServiceAccount SA\'s, default "default", through the kubeconfig)\n';

export async function runExplain(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, {
    config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, 'secrets-dir': { type: 'string' },
    'namespace-mode': { type: 'string' },
    namespace: { type: 'string', short: 'n' }, 'service-account': { type: 'string' }, 'pull-secret': { type: 'string', multiple: true }, kubeconfig: { type: 'string' },
  }, EXPLAIN_USAGE, { allowPositionals: true });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const namespaceMode = (values['namespace-mode'] ?? 'enforce') as string;
  if (namespaceMode !== 'enforce' && namespaceMode !== 'detect') {
    process.stderr.write(`--namespace-mode must be enforce or detect (got ${JSON.stringify(namespaceMode)})\n${EXPLAIN_USAGE}`);
    return 2;
  }
  if (positionals.length === 0) {
    process.stderr.write(`name at least one image\n${EXPLAIN_USAGE}`);
    return 2;
  }
  const namespace = values.namespace as string | undefined;
  const pullSecretNames = (values['pull-secret'] as string[] | undefined) ?? [];
  if (!namespace && (pullSecretNames.length > 0 || values['service-account'] !== undefined)) {
    process.stderr.write(`--pull-secret and --service-account need --namespace (the namespace whose secrets they are)\n${EXPLAIN_USAGE}`);
    return 2;
  }
  let engine: Engine;
  try {
    // `check`, as check-config: a values file is read as what the chart deploys; the cluster's secrets are not needed.
    const config = loadConfigFile(String(values.config ?? defaultConfigFile), { mode: 'check', secretsDir: values['secrets-dir'] as string | undefined });
    process.stderr.write(formatWarnings(config));
    engine = new Engine(config, { logger: createLogger(process.env.IMPRIMATUR_LOG_LEVEL ?? 'warn'), secretsDir: values['secrets-dir'] as string | undefined });
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    return 2;
  }
  try {
    const deadlineMs = engine.config.requestTimeoutMs;
    // A workload for auth.fromWorkload validators: a Pod of --namespace with those pull secrets / that ServiceAccount.
    let workload: WorkloadCredentials | undefined;
    if (namespace && engine.usesWorkloadCredentials) {
      const refs = { namespace, podSecrets: [...new Set(pullSecretNames)], serviceAccount: (values['service-account'] as string | undefined) ?? 'default', ignored: 0, hasPodSpec: true };
      workload = workloadCredentialsFrom(new PullSecretStore({ reader: kubernetesObjectReader(values.kubeconfig as string | undefined) }))(refs, `a Pod in namespace ${namespace}`);
    }
    const explained = await Promise.all(
      positionals.map(async (image) => {
        const signal = AbortSignal.timeout(deadlineMs);
        const ctx: CheckContext = { signal, deadline: Date.now() + deadlineMs, logger: createLogger('silent'), now: () => new Date(), workload };
        const check = await engine.check(image, ctx);
        return { check, explained: explanation(engine, check, namespaceMode, await credentialsOf(engine, check, ctx)) };
      }),
    );
    const checks = explained.map((e) => e.check);
    if (values.json) process.stdout.write(`${JSON.stringify(explained.map((e) => e.explained), null, 2)}\n`);
    else process.stdout.write(explained.map((e) => formatExplanation(e.explained)).join('\n'));
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
  /** Runners-up exactly as specific as the winning rule: it won because it comes later in the policy. */
  tiedWith?: Array<{ pattern: string; path: string }>;
  validator?: { name: string; type: string };
  trustRoots?: string[];
  outcome: string;
  reason: string;
  code?: string;
  digest?: string;
  /** What a failure of this image does (block or warn) and which setting decided it. */
  enforcement: ResolvedEnforcement;
  /** For a validator with auth.fromWorkload: the credentials tried for the image's registry, in order, and where from. */
  credentials?: { tried: string[]; from?: string; note?: string };
  record?: Record<string, unknown>;
}

/** The credentials a validator with auth.fromWorkload tried for the image (or would try), for the explanation. */
async function credentialsOf(engine: Engine, check: ImageCheck, ctx: CheckContext): Promise<Explanation['credentials']> {
  if (!check.rule || !check.reference || !engine.readsWorkloadCredentials(check.rule.validator)) return undefined;
  const plan = await engine.credentialPlan(check.rule.validator, check.reference, ctx);
  const keyring = ctx.workload ? await ctx.workload.keyring(ctx.signal) : undefined;
  if (!plan) return undefined;
  return {
    tried: plan.tried,
    ...(keyring ? { from: keyring.origin } : {}),
    ...(keyring ? (keyring.note ? { note: keyring.note } : {}) : { note: `${NO_WORKLOAD}; pass --namespace (with --pull-secret or --service-account) to use a workload's` }),
  };
}

export function explanation(engine: Engine, check: ImageCheck, namespaceMode: NamespaceMode = 'enforce', credentials?: Explanation['credentials']): Explanation {
  const { decision, rule } = check;
  const validatorConfig = rule ? engine.config.validators.find((v) => v.name === rule.validator) : undefined;
  const roots = validatorConfig?.trustRoots?.map((r) => r.name);
  return {
    image: decision.image,
    normalized: decision.normalized,
    rule: rule && { pattern: rule.pattern, path: rule.path, with: rule.with },
    runnersUp: check.runnersUp.map((r) => ({ pattern: r.pattern, path: r.path })),
    tiedWith: check.tied?.length ? check.tied.map((r) => ({ pattern: r.pattern, path: r.path })) : undefined,
    validator: validatorConfig && { name: validatorConfig.name, type: validatorConfig.type },
    trustRoots: roots && rule ? (rule.with.trustRoot === '*' ? roots : [rule.with.trustRoot]) : undefined,
    outcome: decision.outcome,
    reason: decision.reason,
    code: decision.code,
    digest: decision.digest,
    enforcement: resolveEnforcement(engine.config.features.detectionMode, namespaceMode, decision.ruleEnforcement),
    ...(credentials ? { credentials } : {}),
    record: decision.details,
  };
}

function formatExplanation(e: Explanation): string {
  const lines = [`${e.image}`];
  if (e.normalized) lines.push(`  reference:   ${e.normalized}`);
  lines.push(`  rule:        ${e.rule ? `"${e.rule.pattern}" (${e.rule.path})` : '(none matches)'}`);
  if (e.tiedWith?.length) {
    lines.push(`  tie:         as specific as ${e.tiedWith.map((r) => `"${r.pattern}" (${r.path})`).join(', ')}; the later rule wins`);
  }
  if (e.runnersUp.length) lines.push(`  runners-up:  ${e.runnersUp.map((r) => `"${r.pattern}"`).join(', ')}`);
  if (e.validator) lines.push(`  validator:   ${e.validator.name} (${e.validator.type})`);
  if (e.trustRoots) lines.push(`  trust roots: ${e.trustRoots.join(', ')}`);
  lines.push(`  enforcement: ${describeEnforcement(e.enforcement)}`);
  if (e.credentials) {
    lines.push(`  credentials: ${e.credentials.tried.join(', then ')}${e.credentials.from ? ` — pull secrets from ${e.credentials.from}` : ''}`);
    if (e.credentials.note) lines.push(`               ${e.credentials.note}`);
  }
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
