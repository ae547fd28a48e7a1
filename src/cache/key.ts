/**
 * The cache key of one verification: config generation, validator, trust-root selection and rule options, image, and —
 * for validators that read the workload's pull secrets — the keyed identity of the credentials it may use.
 */
import { createHash } from 'node:crypto';

export interface KeyParts {
  /** Hash of the configuration text in force (a reload changes every key). */
  generation: string;
  validatorName: string;
  validatorType: string;
  /** The rule's `with` block (trustRoot, threshold, required, …). */
  options: Record<string, unknown>;
  /** Normalised reference, e.g. `docker.io/library/nginx:1.25` or `…@sha256:…`. */
  reference: string;
  /** `auth.fromWorkload`: HMAC identity of the credentials tried (pull-secrets/plan.ts); never the credentials. */
  credentials?: string;
}

/** Canonical JSON of each rule's options, computed once: a rule's `with` object is the same on every request. */
const canonicalOptions = new WeakMap<object, string>();

export function cacheKey(p: KeyParts): string {
  let options = canonicalOptions.get(p.options);
  if (options === undefined) {
    options = JSON.stringify(canonical(p.options));
    canonicalOptions.set(p.options, options);
  }
  const parts = [p.generation, p.validatorType, p.validatorName, options, p.reference];
  if (p.credentials !== undefined) parts.push(p.credentials);
  const material = JSON.stringify(parts);
  return createHash('sha256').update(material).digest('hex');
}

/** JSON value with object keys sorted, so `{a,b}` and `{b,a}` give the same key. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}
