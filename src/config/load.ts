import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import yaml from 'js-yaml';
import { Ajv, type ValidateFunction } from 'ajv';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { alertingSchema } from '../alerting/schema.js';
import { checkAlertingConfig } from '../alerting/config.js';
import { applicationSchema, applicationSectionSchema } from './schema.js';
import { schemaProblems } from './schema-errors.js';
import { checkValidators, checkPolicy } from './cross-checks.js';
import type { AppConfig, Features, Limits, PolicyRule, ValidatorConfig } from './types.js';
import { DEFAULT_LIMITS } from '../registry/byte-budget.js';

export interface LoadOptions {
  /** Directory with mounted registry secrets (default /app/secrets). */
  secretsDir?: string;
  /** Directories searched for alert templates (default: the shipped alert-templates/). */
  templateDirs?: string[];
}

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
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(file, [{ path: '', message: 'the top level must be a mapping with `validators` and `policy` (or a Helm values file with `application`)' }]);
  }
  const top = doc as Record<string, unknown>;
  const helm = 'application' in top;
  const prefix = helm ? 'application.' : '';
  const app = (helm ? top.application : top) as Record<string, unknown>;
  const alerting = top.alerting as Record<string, unknown> | undefined;

  const problems: ConfigProblem[] = [];
  if (helm) {
    if (typeof app !== 'object' || app === null || Array.isArray(app)) {
      throw new ConfigError(file, [{ path: 'application', message: 'must be a mapping with `validators` and `policy`' }]);
    }
    const v = validators();
    if (!v.section(app)) problems.push(...schemaProblems(v.section.errors, prefix));
    if (alerting !== undefined && !v.alerting(alerting)) problems.push(...schemaProblems(v.alerting.errors, 'alerting.'));
  } else {
    const v = validators();
    if (!v.bare(app)) problems.push(...schemaProblems(v.bare.errors, prefix));
  }
  replaceModeConfusion(problems, app.policy, prefix);
  // Cross-checks run on the entries that are structurally sound, so one run reports every problem.
  const isEntry = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const validatorConfigs = (Array.isArray(app.validators) ? app.validators : []).filter(
    (v): v is ValidatorConfig => isEntry(v) && typeof v.name === 'string' && typeof v.type === 'string',
  );
  const env = {
    file,
    insecureRegistries: Array.isArray(app.insecureRegistries) ? (app.insecureRegistries as string[]) : [],
    secretsDir: options.secretsDir ?? process.env.IMPRIMATUR_SECRETS_DIR ?? '/app/secrets',
  };
  const reported = new Set(problems.map((p) => p.path));
  const add = (found: ConfigProblem[]) => problems.push(...found.filter((p) => ![...reported].some((r) => p.path === r || p.path.startsWith(`${r}.`) || r.startsWith(`${p.path}.`))));
  add(checkValidators(validatorConfigs, prefix, env));
  const rawRules = (Array.isArray(app.policy) ? app.policy : []).map((r) => (isEntry(r) && typeof r.pattern === 'string' ? r : { pattern: '*invalid*' }));
  const checked = checkPolicy(rawRules, validatorConfigs, prefix);
  const policy: PolicyRule[] = checked.rules;
  add(checked.problems);
  if (alerting !== undefined) {
    problems.push(...checkAlertingConfig(alerting, 'alerting', { templateDirs: options.templateDirs ?? [] }));
  }
  if (problems.length > 0) throw new ConfigError(file, byPath(problems));

  return {
    file,
    prefix,
    validators: validatorConfigs,
    policy,
    features: withFeatureDefaults(app.features as Partial<Features> | undefined),
    insecureRegistries: env.insecureRegistries,
    alerting,
    logLevel: typeof app.logLevel === 'string' ? app.logLevel.toLowerCase() : undefined,
    requestTimeoutMs: Math.round(((app.admissionDeadlineSeconds as number | undefined) ?? 25) * 1000),
    limits: withLimitDefaults(app.limits as Partial<Record<'imagesPerRequest' | 'bytesPerRequestMiB' | 'bytesInFlightMiB', number>> | undefined),
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

/** Problems in a stable, readable order: by path, numbers compared as numbers. */
function byPath(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}
