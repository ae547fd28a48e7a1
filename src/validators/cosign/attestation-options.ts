/**
 * The `with.attestations` rule option of cosign validators: the attestations an image must carry,
 * each with its predicate type, the trust roots that must have signed it (`trustRoot`, `threshold`,
 * `required`, as for signatures) and an optional CEL `policy` over the in-toto statement.
 * Checked when the configuration loads (predicate types, trust roots, CEL compiled and type-checked);
 * read per request from the rule's `with` object (memoized: that object is the same on every request).
 */
import type { ConfigProblem } from '../../errors.js';
import type { RuleOptions, ValidatorConfig } from '../../config/types.js';
import { compilePolicy } from '../../cel/environment.js';
import { describePredicateType, resolvePredicateType } from './predicate-types.js';
import { checkPolicyOptions, resolvePolicy, type SignaturePolicy } from './policy.js';

/** At most this many attestations per rule. */
export const MAX_ATTESTATIONS_PER_RULE = 16;

export const attestationsRuleOptionSchema: Record<string, unknown> = {
  type: 'array',
  minItems: 1,
  maxItems: MAX_ATTESTATIONS_PER_RULE,
  description: 'Attestations the image must carry (cosign attest): each names a predicate type, which trust roots must have signed it and an optional CEL policy over the in-toto statement.',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['predicateType'],
    properties: {
      predicateType: { type: 'string', minLength: 1, description: 'cosign short name (slsaprovenance, slsaprovenance02, slsaprovenance1, spdx, spdxjson, cyclonedx, link, vuln, openvex, custom) or a predicate type URI.' },
      trustRoot: { type: 'string', minLength: 1, description: 'Trust root that must have signed the attestation, or "*" (default: the rule\'s trustRoot, threshold and required).' },
      threshold: { type: 'integer', minimum: 1, description: 'With trustRoot "*": at least this many distinct trust roots must have signed an attestation that satisfies the policy.' },
      required: { type: 'array', uniqueItems: true, items: { type: 'string', minLength: 1 }, description: 'With trustRoot "*": trust roots that must each have signed one.' },
      policy: { type: 'string', minLength: 1, description: 'CEL expression over predicate, subject, predicateType and now that must be true.' },
    },
  },
};

/** One required attestation of a rule, resolved. */
export interface AttestationRequirement {
  /** Position in `with.attestations`. */
  index: number;
  /** `predicateType` as configured (short name or URI). */
  configured: string;
  /** The predicate type URI. */
  predicateType: string;
  /** e.g. `vuln (https://cosign.sigstore.dev/attestation/vuln/v1)`. */
  label: string;
  /** Which trust roots must have signed it. */
  policy: SignaturePolicy;
  /** CEL policy (checked at load). */
  expression?: string;
}

interface RawAttestation {
  predicateType: string;
  trustRoot?: string;
  threshold?: number;
  required?: string[];
  policy?: string;
}

/** The signature policy of one attestation: its own trustRoot/threshold/required, else the rule's. */
function attestationRuleOptions(raw: RawAttestation, rule: RuleOptions): RuleOptions {
  if (raw.trustRoot === undefined) return { trustRoot: rule.trustRoot, mode: rule.mode, threshold: rule.threshold, required: rule.required };
  return { trustRoot: raw.trustRoot, mode: rule.mode, threshold: raw.threshold, required: raw.required };
}

function rawAttestations(options: RuleOptions): RawAttestation[] {
  return Array.isArray(options.attestations) ? (options.attestations as RawAttestation[]) : [];
}

/** Load-time checks of `with.attestations` (after the schema). `path` is the rule's `with` path. */
export function checkAttestationOptions(options: RuleOptions, config: ValidatorConfig, path: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = (config.trustRoots ?? []).map((r) => r.name);
  rawAttestations(options).forEach((raw, i) => {
    // The schema reports wrong types; only well-typed parts are checked further.
    if (!raw || typeof raw !== 'object') return;
    const at = `${path}.attestations[${i}]`;
    if (typeof raw.predicateType === 'string') {
      const type = resolvePredicateType(raw.predicateType);
      if (!type.ok) problems.push({ path: `${at}.predicateType`, message: type.message });
    }
    if (raw.trustRoot === undefined) {
      for (const key of ['threshold', 'required'] as const) {
        if (raw[key] !== undefined) problems.push({ path: `${at}.${key}`, message: `needs trustRoot in the same attestation (without it, the rule's trustRoot, threshold and required apply); add trustRoot: "*"` });
      }
    } else if (typeof raw.trustRoot === 'string') {
      if (raw.trustRoot !== '*' && !names.includes(raw.trustRoot)) {
        problems.push({ path: `${at}.trustRoot`, message: `validator "${config.name}" has no trust root "${raw.trustRoot}"; use one of: ${names.join(', ')}, or "*" for all` });
      }
      problems.push(...checkPolicyOptions(attestationRuleOptions(raw, options), config, at));
    }
    if (typeof raw.policy === 'string') {
      const compiled = compilePolicy(raw.policy);
      if (!compiled.ok) problems.push({ path: `${at}.policy`, message: `CEL policy ${JSON.stringify(raw.policy)} ${compiled.message}` });
    }
  });
  return problems;
}

const memo = new WeakMap<object, AttestationRequirement[]>();

/** The required attestations of a rule (empty when it has none). Only called on checked configs. */
export function attestationRequirements(options: RuleOptions, trustRootNames: string[]): AttestationRequirement[] {
  const known = memo.get(options);
  if (known) return known;
  const requirements = rawAttestations(options).map((raw, index): AttestationRequirement => {
    const type = resolvePredicateType(raw.predicateType);
    const predicateType = type.ok ? type.uri : raw.predicateType;
    return {
      index,
      configured: raw.predicateType,
      predicateType,
      label: describePredicateType(raw.predicateType, predicateType),
      policy: resolvePolicy(attestationRuleOptions(raw, options), trustRootNames),
      expression: raw.policy,
    };
  });
  memo.set(options, requirements);
  return requirements;
}
