import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import yaml from 'js-yaml';
import { Ajv, type ValidateFunction } from 'ajv';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { alertingSchema } from '../alerting/schema.js';
import { parseAlertingConfig } from '../alerting/config.js';
import { applicationNoEffectWarnings } from './connaisseur-keys.js';
import { authSecretProblems, insecureRegistryProblems } from './environment-checks.js';
import { loadContext, type ContextOptions, type LoadContext } from './load-context.js';
import { applicationSchema, applicationSectionSchema } from './schema.js';
import { schemaProblems } from './schema-errors.js';
import { checkValidators, checkPolicy, validatorWarnings } from './cross-checks.js';
import { canonicaliseEnums, logSettings } from './settings.js';
import { kubernetesSection, topLevelProblems } from './values-file.js';
import type { AppConfig, Features, Limits, PolicyRule, ValidatorConfig } from './types.js';
import { DEFAULT_LIMITS } from '../registry/byte-budget.js';

/**
 * How to load: `mode` `serve` (default; the real environment, anything missing is an error) or `check`
 * (check-config, explain: a values file is read as what the chart deploys, and what only the pod has is a
 * warning). See load-context.ts.
 */
export interface LoadOptions extends ContextOptions {}

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
let compiled: { bare: ValidateFunction; section: ValidateFunction; alerting: ValidateFunction } | undefined;
function validators() {
  compiled ??= {
    bare: ajv.compile(applicationSchema()),
    section: ajv.compile(applicationSectionSchema()),
    alerting: ajv.compile(alertingSchema),
  };
  return compiled;
}

/** Reads, parses and checks a config file. Throws ConfigError listing every problem found. */
export function loadConfigFile(file: string, options: LoadOptions = {}): AppConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file does not exist' : (err as Error).message;
    throw new ConfigError(path, [{ path: '', message: `cannot read the config file: ${reason}` }]);
  }
  return parseConfig(text, path, options);
}

function isEntry(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and checks config text. `file` is only used in messages. */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): AppConfig {
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: file });
  } catch (err) {
    const e = err as yaml.YAMLException;
    const where = e.mark ? `line ${e.mark.line + 1}, column ${e.mark.column + 1}: ` : '';
    throw new ConfigError(file, [{ path: '', message: `is not valid YAML: ${where}${e.reason ?? e.message}` }]);
  }
  if (doc === undefined || doc === null) {
    throw new ConfigError(file, [{ path: '', message: 'the file is empty; it needs at least `validators` and `policy`' }]);
  }
  if (!isEntry(doc)) {
    throw new ConfigError(file, [{ path: '', message: 'the top level must be a mapping with `validators` and `policy` (or a Helm values file with `application`)' }]);
  }
  const top = doc;
  const helm = 'application' in top;
  const prefix = helm ? 'application.' : '';
  const app = helm ? top.application : top;
  if (!isEntry(app)) {
    throw new ConfigError(file, [{ path: 'application', message: 'must be a mapping with `validators` and `policy`' }]);
  }
  const alerting = top.alerting as Record<string, unknown> | undefined;
  const { context, warnings } = loadContext(top, helm, options);
  const problems: ConfigProblem[] = [];

  canonicaliseEnums(app);
  const v = validators();
  if (helm) {
    problems.push(...topLevelProblems(top));
    const k8s = kubernetesSection(top.kubernetes);
    problems.push(...k8s.problems);
    warnings.push(...k8s.warnings);
    if (!v.section(app)) problems.push(...schemaProblems(v.section.errors, prefix));
    if (alerting !== undefined && !v.alerting(alerting)) problems.push(...schemaProblems(v.alerting.errors, 'alerting.'));
  } else if (!v.bare(app)) {
    problems.push(...schemaProblems(v.bare.errors, prefix));
  }
  replaceModeConfusion(problems, app.policy, prefix);
  warnings.push(...applicationNoEffectWarnings(app, helm ? 'application' : ''));
  for (const key of ['validators', 'policy'] as const) {
    if (Array.isArray(app[key]) && app[key].length === 0) {
      problems.push({
        path: `${prefix}${key}`,
        message:
          key === 'validators'
            ? 'is empty; define at least one validator, e.g. {name: default, type: static, approve: false}'
            : 'is empty; define at least one rule, e.g. {pattern: "*:*"} (every image goes to the validator named default)',
      });
    }
  }

  // Cross-checks run on the entries that are structurally sound, so one run reports every problem.
  const validatorConfigs = (Array.isArray(app.validators) ? app.validators : []).filter(
    (entry): entry is ValidatorConfig => isEntry(entry) && typeof entry.name === 'string' && typeof entry.type === 'string',
  );
  const insecure = insecureRegistryProblems(app.insecureRegistries, prefix);
  warnings.push(...insecure.warnings);
  const env = {
    file,
    insecureRegistries: Array.isArray(app.insecureRegistries) ? (app.insecureRegistries as string[]) : [],
    secretsDir: context.secretsDir,
  };
  // A later check does not repeat a place an earlier one already reported (or a place inside it).
  const add = (found: ConfigProblem[]) => {
    const reported = problems.map((p) => p.path);
    problems.push(...found.filter((p) => !reported.some((r) => p.path === r || p.path.startsWith(`${r}.`) || p.path.startsWith(`${r}[`) || r.startsWith(`${p.path}.`))));
  };
  add(insecure.problems);
  add(checkValidators(validatorConfigs, prefix, env));
  const secrets = authSecretProblems(validatorConfigs, prefix, context);
  add(secrets.problems);
  warnings.push(...secrets.warnings);
  const rawRules = (Array.isArray(app.policy) ? app.policy : []).map((r) => (isEntry(r) && typeof r.pattern === 'string' ? r : { pattern: '*invalid*' }));
  const checked = checkPolicy(rawRules, validatorConfigs, prefix);
  const policy: PolicyRule[] = checked.rules;
  add(checked.problems);
  warnings.push(...checked.warnings);
  const alertingPath = 'alerting';
  if (alerting !== undefined) {
    const parsed = parseAlertingConfig(alerting, alertingPath, alertingContext(context));
    add(parsed.problems);
    warnings.push(...parsed.warnings);
  }
  const log = logSettings(app, helm ? 'application' : '');
  warnings.push(...log.warnings);
  if (problems.length > 0) throw new ConfigError(file, byPath(problems));
  warnings.push(...validatorWarnings(validatorConfigs, prefix, env));

  return {
    file,
    prefix,
    validators: validatorConfigs,
    policy,
    features: withFeatureDefaults(app.features as Partial<Features> | undefined),
    insecureRegistries: env.insecureRegistries,
    alerting,
    logLevel: log.logLevel,
    logFormat: log.logFormat,
    requestTimeoutMs: Math.round(((app.admissionDeadlineSeconds as number | undefined) ?? 25) * 1000),
    limits: withLimitDefaults(app.limits as Partial<Record<'imagesPerRequest' | 'bytesPerRequestMiB' | 'bytesInFlightMiB', number>> | undefined),
    warnings: byPath(dedupe(warnings)),
  };
}

const MiB = 1024 * 1024;

function withLimitDefaults(l: Partial<Record<'imagesPerRequest' | 'bytesPerRequestMiB' | 'bytesInFlightMiB', number>> = {}): Limits {
  return {
    imagesPerRequest: l.imagesPerRequest ?? 32,
    bytesPerRequest: (l.bytesPerRequestMiB ?? DEFAULT_LIMITS.bytesPerRequestMiB) * MiB,
    bytesInFlight: (l.bytesInFlightMiB ?? DEFAULT_LIMITS.bytesInFlightMiB) * MiB,
  };
}

/**
 * `with.mode` keeps Connaisseur's meaning (digest pinning: mutate | insecureValidateOnly). Someone writing
 * `mode: detect` or `mode: enforce` wants staged enforcement: say which key that is instead of listing enum values.
 */
function replaceModeConfusion(problems: ConfigProblem[], policy: unknown, prefix: string): void {
  if (!Array.isArray(policy)) return;
  policy.forEach((rule: unknown, i) => {
    const mode = (rule as { with?: { mode?: unknown } } | null)?.with?.mode;
    if (mode !== 'detect' && mode !== 'enforce') return;
    const path = `${prefix}policy[${i}].with.mode`;
    for (let j = problems.length - 1; j >= 0; j--) if (problems[j]!.path === path) problems.splice(j, 1);
    problems.push({
      path,
      message: `"${mode}" is not a pinning mode: with.mode is mutate or insecureValidateOnly (digest pinning, as in Connaisseur); ` +
        `to ${mode === 'detect' ? 'put this rule in detection' : 'enforce this rule'} write with.enforcement: ${mode}`,
    });
  });
}

/** The alerting checks' view of the load context. */
export function alertingContext(context: LoadContext) {
  return { templateDirs: context.templateDirs, env: context.env, mode: context.mode, podOnlyEnv: context.podOnlyEnv, dirAliases: context.dirAliases };
}

function withFeatureDefaults(f: Partial<Features> = {}): Features {
  return {
    detectionMode: f.detectionMode ?? false,
    automaticUnchangedApproval: f.automaticUnchangedApproval ?? false,
    automaticChildApproval: f.automaticChildApproval ?? true,
    resourceValidationMode: f.resourceValidationMode ?? 'all',
    namespacedValidation: { mode: f.namespacedValidation?.mode ?? 'ignore' },
    cache: {
      expirySeconds: f.cache?.expirySeconds ?? 30,
      cacheErrors: f.cache?.cacheErrors ?? true,
    },
  };
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Problems in a stable, readable order: by path, numbers compared as numbers. */
function byPath(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}
