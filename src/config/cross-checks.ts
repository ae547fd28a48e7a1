/** Load-time checks that a schema cannot express: names, references between sections, per-type checks. */
import { Ajv, type ValidateFunction } from 'ajv';
import type { ConfigProblem } from '../errors.js';
import { silentLogger } from '../log.js';
import { findValidatorType, reservedValidatorTypes, validatorTypes } from '../validators/index.js';
import type { ValidatorEnvironment } from '../validators/types.js';
import { checkPattern, normalizePattern, patternWarning } from '../policy/pattern.js';
import { schemaProblems } from './schema-errors.js';
import { CONNAISSEUR_RULE_OPTIONS } from './connaisseur-keys.js';
import type { PolicyRule, RuleOptions, ValidatorConfig } from './types.js';

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
const typeSchemas = new Map<string, ValidateFunction>();
function typeSchema(type: string, schema: Record<string, unknown>): ValidateFunction {
  let v = typeSchemas.get(type);
  if (!v) {
    v = ajv.compile(schema);
    typeSchemas.set(type, v);
  }
  return v;
}

export function validatorPath(prefix: string, index: number): string {
  return `${prefix}validators[${index}]`;
}

/** Per-type schema and checks, unique validator names, unique trust-root names. */
export function checkValidators(
  configs: ValidatorConfig[],
  prefix: string,
  env: Omit<ValidatorEnvironment, 'path' | 'logger'>,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const firstIndex = new Map<string, number>();
  configs.forEach((config, i) => {
    const path = validatorPath(prefix, i);
    const earlier = firstIndex.get(config.name);
    if (earlier !== undefined) {
      problems.push({ path: `${path}.name`, message: `duplicate validator name "${config.name}" (also ${validatorPath(prefix, earlier)}); validator names must be unique` });
    } else {
      firstIndex.set(config.name, i);
    }
    const type = findValidatorType(config.type);
    if (!type) {
      problems.push({
        path: `${path}.type`,
        message: reservedValidatorTypes.includes(config.type)
          ? `validator type "${config.type}" is not supported yet by this version of Imprimatur; use one of: ${validatorTypes.map((t) => t.type).join(', ')}`
          : `unknown validator type "${config.type}"; use one of: ${validatorTypes.map((t) => t.type).join(', ')}`,
      });
      return;
    }
    const validate = typeSchema(type.type, type.configSchema);
    if (!validate(config)) {
      problems.push(...schemaProblems(validate.errors, path));
      return;
    }
    const seenRoots = new Map<string, number>();
    (config.trustRoots ?? []).forEach((root, j) => {
      const before = seenRoots.get(root.name);
      if (before !== undefined) {
        problems.push({ path: `${path}.trustRoots[${j}].name`, message: `duplicate trust root name "${root.name}" (also ${path}.trustRoots[${before}]); trust root names must be unique within a validator` });
      } else {
        seenRoots.set(root.name, j);
      }
    });
    problems.push(...(type.check?.(config, { ...env, path, logger: silentLogger }) ?? []));
  });
  return problems;
}

/** Each validator type's load-time warnings; call only once `checkValidators` found no problem. */
export function validatorWarnings(configs: ValidatorConfig[], prefix: string, env: Omit<ValidatorEnvironment, 'path' | 'logger'>): ConfigProblem[] {
  return configs.flatMap((config, i) => findValidatorType(config.type)?.warnings?.(config, { ...env, path: validatorPath(prefix, i), logger: silentLogger }) ?? []);
}

/** Applies rule defaults and checks each rule against the validators it names. */
export function checkPolicy(
  raw: Array<Record<string, unknown>>,
  configs: ValidatorConfig[],
  prefix: string,
): { rules: PolicyRule[]; problems: ConfigProblem[]; warnings: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const rules: PolicyRule[] = [];
  const byPattern = new Map<string, number>();
  raw.forEach((entry, i) => {
    const path = `${prefix}policy[${i}]`;
    const pattern = String(entry.pattern);
    const patternProblem = checkPattern(pattern);
    if (patternProblem) {
      problems.push({ path: `${path}.pattern`, message: patternProblem });
    } else {
      const never = patternWarning(pattern);
      if (never) warnings.push({ path: `${path}.pattern`, message: never });
      const normal = normalizePattern(pattern);
      const earlier = byPattern.get(normal);
      if (earlier !== undefined) {
        warnings.push({
          path: `${path}.pattern`,
          message: `pattern "${pattern}" is the same as ${prefix}policy[${earlier}].pattern ("${String(raw[earlier]?.pattern)}"); this later rule wins and ${prefix}policy[${earlier}] is never used (as in Connaisseur): remove one of the two`,
        });
      }
      byPattern.set(normal, i);
    }
    const validatorName = typeof entry.validator === 'string' && entry.validator !== '' ? entry.validator : 'default';
    const config = configs.find((c) => c.name === validatorName);
    const userWith = { ...((entry.with as Record<string, unknown> | undefined) ?? {}) };
    // Connaisseur treats an empty trustRoot as unset (the trust root named "default").
    if (userWith.trustRoot === '' || userWith.trustRoot === null) delete userWith.trustRoot;
    const options: RuleOptions = { ...userWith, trustRoot: (userWith.trustRoot as string | undefined) ?? 'default', mode: (userWith.mode as RuleOptions['mode'] | undefined) ?? 'mutate' };
    if (userWith.required !== undefined && userWith.delegations !== undefined) {
      problems.push({ path: `${path}.with`, message: 'sets both required (signers of a cosign validator) and delegations (of a notaryv1 validator); a rule uses one of the two, as in Connaisseur' });
    }
    if (!config) {
      problems.push(
        entry.validator === undefined
          ? { path, message: `has no \`validator\` and there is no validator named "default"; name a validator with \`validator:\` or define one named "default" under ${prefix}validators` }
          : { path: `${path}.validator`, message: `refers to unknown validator "${validatorName}"; define it under ${prefix}validators or use one of: ${configs.map((c) => c.name).join(', ') || '(none defined)'}` },
      );
    } else {
      const checked = checkRuleAgainstValidator(options, userWith, config, `${path}.with`);
      problems.push(...checked.problems);
      warnings.push(...checked.warnings);
    }
    rules.push({ pattern, validator: validatorName, with: options, index: i, path });
  });
  return { rules, problems, warnings };
}

function checkRuleAgainstValidator(
  options: RuleOptions,
  userWith: Record<string, unknown>,
  config: ValidatorConfig,
  path: string,
): { problems: ConfigProblem[]; warnings: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const type = findValidatorType(config.type);
  if (!type) return { problems, warnings };
  const own = new Set(['trustRoot', 'mode', 'enforcement', ...Object.keys(type.ruleOptionsSchema ?? {})]);
  for (const key of Object.keys(userWith)) {
    if (own.has(key)) continue;
    if (Object.hasOwn(CONNAISSEUR_RULE_OPTIONS, key)) {
      // Connaisseur accepts every rule option on every rule and ignores those its validator does not use.
      warnings.push({ path: `${path}.${key}`, message: `has no effect: validator "${config.name}" of type ${config.type} does not use "${key}" (Connaisseur ignores it too); remove it` });
    } else {
      problems.push({ path: `${path}.${key}`, message: `option "${key}" does not apply to validator "${config.name}" of type ${config.type}; remove it` });
    }
  }
  if (!type.ruleOptionsSchema && userWith.trustRoot !== undefined && !config.trustRoots) {
    warnings.push({ path: `${path}.trustRoot`, message: `has no effect: validator "${config.name}" of type ${config.type} has no trust roots` });
  }
  const roots = config.trustRoots?.map((r) => r.name);
  // With no trust roots at all, the validator entry itself is reported (trustRoots is empty); nothing to say here.
  if (roots && roots.length > 0 && options.trustRoot !== '*' && !roots.includes(options.trustRoot)) {
    problems.push(
      userWith.trustRoot === undefined
        ? { path, message: `validator "${config.name}" has no trust root named "default", which this rule relies on; set with.trustRoot to one of: ${roots.join(', ')}, or "*" for all` }
        : { path: `${path}.trustRoot`, message: `validator "${config.name}" has no trust root "${options.trustRoot}"; use one of: ${roots.join(', ')}, or "*" for all` },
    );
  }
  problems.push(...(type.checkRuleOptions?.(options, config, path) ?? []));
  return { problems, warnings };
}
