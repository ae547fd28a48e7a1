/**
 * Keys of Connaisseur's chart (v3) that Imprimatur accepts so a Connaisseur values file loads unchanged, but that
 * have no effect here. Each one present in a config gets one load-time warning naming the key and why.
 * (Keys Connaisseur has and Imprimatur implements — logLevel, logFormat, features, … — are in the schema proper.)
 */
import type { ConfigProblem } from '../errors.js';

interface NoEffectKey {
  /** Path below the document root; `*` matches any list index. */
  path: string[];
  why: string;
}

const REDIS = "Imprimatur's chart does not deploy Redis; to share verification results, point kubernetes.redis.url (or urlSecret) at your own Redis";

/** Relative to the `application` section (or the whole document of a bare config). */
const APPLICATION_KEYS: NoEffectKey[] = [
  { path: ['alerts'], why: "Connaisseur's chart carries this key but never reads it; alert receivers are configured in the top-level alerting section" },
  {
    path: ['validators', '*', 'auth', 'useKeychain'],
    why: "Imprimatur does not read the node's or a cloud provider's credential chain; put the registry credentials in a dockerconfigjson Secret and name it in auth.secretName",
  },
];

/** Relative to the `kubernetes` section of a values file. */
const KUBERNETES_KEYS: NoEffectKey[] = ['image', 'pullPolicy', 'resources', 'securityContext', 'podSecurityContext', 'tls'].map((k) => ({
  path: ['redis', k],
  why: REDIS,
}));

function find(doc: unknown, path: string[], at: string): string[] {
  if (path.length === 0) return [at];
  const [head, ...rest] = path as [string, ...string[]];
  if (head === '*') {
    return Array.isArray(doc) ? doc.flatMap((item, i) => find(item, rest, `${at}[${i}]`)) : [];
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !Object.hasOwn(doc, head)) return [];
  return find((doc as Record<string, unknown>)[head], rest, at ? `${at}.${head}` : head);
}

function warnings(doc: unknown, keys: NoEffectKey[], prefix: string): ConfigProblem[] {
  return keys.flatMap((k) => find(doc, k.path, prefix).map((path) => ({ path, message: `has no effect in Imprimatur (accepted for Connaisseur compatibility): ${k.why}` })));
}

/** Warnings for the application section (`prefix` is `application` for a values file, `` for a bare config). */
export function applicationNoEffectWarnings(app: unknown, prefix: string): ConfigProblem[] {
  return warnings(app, APPLICATION_KEYS, prefix);
}

export function kubernetesNoEffectWarnings(kubernetes: unknown): ConfigProblem[] {
  return warnings(kubernetes, KUBERNETES_KEYS, 'kubernetes');
}

/** The rule options of Connaisseur's policy rules (RuleOptions), with the values Connaisseur accepts. */
export const CONNAISSEUR_RULE_OPTIONS: Record<string, Record<string, unknown>> = {
  trustRoot: { type: 'string' },
  verifyInTransparencyLog: { type: 'boolean' },
  verifySCT: { type: 'boolean' },
  threshold: { type: 'integer', minimum: 0 },
  required: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
  delegations: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
  mode: { enum: ['mutate', 'insecureValidateOnly'] },
  verificationLevel: { enum: ['strict', 'permissive', 'audit'] },
  verifyTimestamp: { enum: ['always', 'afterCertExpiry'] },
};
