/**
 * Multi-signature policy of a rule (`with.trustRoot`, `threshold`, `required`): which trust roots are
 * consulted, and whether the set of trust roots that produced a valid signature satisfies the rule.
 */
import { ImprimaturError, type ConfigProblem } from '../../errors.js';
import type { RuleOptions, ValidatorConfig } from '../../config/types.js';

export interface SignaturePolicy {
  /** Trust roots to consult, in config order. */
  trustRoots: string[];
  /** Minimum number of distinct trust roots with a valid signature. */
  threshold: number;
  /** Trust roots that must each have a valid signature. */
  required: string[];
  /** True for `trustRoot: "*"`. */
  all: boolean;
}

export type PolicyVerdict =
  | { ok: true }
  | { ok: false; code: 'NO_SIGNATURES' | 'SIGNATURE_INVALID' | 'MISSING_REQUIRED_SIGNATURES' | 'THRESHOLD_NOT_REACHED'; message: string };

const ALL = '*';

function optionList(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;
}

function optionInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/**
 * The policy a rule asks for. `trustRoot: "*"`: every trust root is consulted; `threshold` defaults to
 * the number of `required` roots when that is given, else to all trust roots. A single named trust root:
 * that one must have signed (threshold 1).
 */
export function resolvePolicy(options: RuleOptions, trustRootNames: string[]): SignaturePolicy {
  if (options.trustRoot !== ALL) {
    return { trustRoots: [options.trustRoot], threshold: 1, required: [options.trustRoot], all: false };
  }
  const required = optionList(options.required) ?? [];
  const threshold = optionInt(options.threshold) ?? (required.length > 0 ? required.length : trustRootNames.length);
  return { trustRoots: [...trustRootNames], threshold: Math.max(1, threshold), required, all: true };
}

/** The trust roots a resolved policy consults, in its order; a name the validator does not have is TRUST_ROOT_UNKNOWN. */
export function policyTrustRoots<T extends { name: string }>(validator: string, trustRoots: readonly T[], policy: SignaturePolicy): T[] {
  const roots = policy.trustRoots.map((name) => trustRoots.find((r) => r.name === name));
  const unknown = policy.trustRoots.filter((_, i) => !roots[i]);
  if (unknown.length > 0) {
    throw new ImprimaturError('TRUST_ROOT_UNKNOWN', `validator "${validator}" has no trust root "${unknown.join('", "')}"; use one of: ${trustRoots.map((r) => r.name).join(', ')}, or "*" for all`);
  }
  return roots as T[];
}

/** Load-time check of a rule's `with` block against the validator's trust roots. */
export function checkPolicyOptions(options: RuleOptions, config: ValidatorConfig, path: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = (config.trustRoots ?? []).map((r) => r.name);
  const selected = options.trustRoot === ALL ? names : names.filter((n) => n === options.trustRoot);
  const threshold = optionInt(options.threshold);
  if (threshold !== undefined && selected.length > 0 && threshold > selected.length) {
    problems.push({
      path: `${path}.threshold`,
      message: options.trustRoot === ALL
        ? `threshold ${threshold} can never be reached: validator "${config.name}" has only ${selected.length} trust root(s) (${names.join(', ')}); lower the threshold or add trust roots`
        : `threshold ${threshold} can never be reached with the single trust root "${options.trustRoot}"; remove threshold, or use trustRoot "*"`,
    });
  }
  const required = optionList(options.required) ?? [];
  required.forEach((name, i) => {
    if (!names.includes(name)) {
      problems.push({ path: `${path}.required[${i}]`, message: `names unknown trust root "${name}"; validator "${config.name}" has: ${names.join(', ')}` });
    } else if (options.trustRoot !== ALL && name !== options.trustRoot) {
      problems.push({ path: `${path}.required[${i}]`, message: `requires trust root "${name}", but this rule only consults trust root "${options.trustRoot}"; use trustRoot "*" to combine trust roots` });
    }
  });
  return problems;
}

/**
 * Decides a rule from the trust roots that produced a valid signature.
 * `candidates` is the number of signatures (classic and bundles) found for the image at all.
 */
export function decide(policy: SignaturePolicy, signedBy: string[], candidates: number, image: string): PolicyVerdict {
  const signed = policy.trustRoots.filter((n) => signedBy.includes(n));
  if (!policy.all) {
    if (signed.length >= policy.threshold) return { ok: true };
    if (candidates === 0) return { ok: false, code: 'NO_SIGNATURES', message: `no signatures found for ${image}` };
    return { ok: false, code: 'SIGNATURE_INVALID', message: `no signature matches trust root "${policy.trustRoots[0]}"` };
  }
  const missing = policy.required.filter((n) => !signed.includes(n));
  if (missing.length > 0) {
    return { ok: false, code: 'MISSING_REQUIRED_SIGNATURES', message: `missing required signatures from: ${missing.join(', ')}` };
  }
  if (signed.length < policy.threshold) {
    return {
      ok: false,
      code: 'THRESHOLD_NOT_REACHED',
      message: `threshold not reached (valid ${signed.length} of ${policy.threshold} required; signed by: ${signed.length > 0 ? signed.join(', ') : 'none'})`,
    };
  }
  return { ok: true };
}
