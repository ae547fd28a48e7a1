import type { ErrorObject } from 'ajv';
import type { ConfigProblem } from '../errors.js';
import { placementHint } from './placement.js';

/** `/policy/3/validator` + prefix `application.` → `application.policy[3].validator`. */
export function documentPath(prefix: string, instancePath: string): string {
  let path = prefix.replace(/\.$/, '');
  for (const segment of instancePath.split('/').slice(1)) {
    const key = segment.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^[0-9]+$/.test(key)) path += `[${key}]`;
    else path += path ? `.${key}` : key;
  }
  return path;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/**
 * Turns ajv errors into problems with document paths and sentences a user can act on. `prefix` is where the
 * validated object sits in the document (`application.`, `alerting.`, `kubernetes.`, or `` for a bare config).
 */
export function schemaProblems(errors: ErrorObject[] | null | undefined, prefix: string): ConfigProblem[] {
  const helm = prefix !== '';
  const problems: ConfigProblem[] = [];
  // An `anyOf` (e.g. "0 or at least 32") is reported once, with its description, not branch by branch.
  const anyOfs = (errors ?? []).filter((e) => e.keyword === 'anyOf');
  const insideAnyOf = (e: ErrorObject) =>
    e.keyword !== 'anyOf' && anyOfs.some((a) => a.instancePath === e.instancePath && e.schemaPath.startsWith(`${a.schemaPath}/`));
  for (const e of errors ?? []) {
    // `if`/`allOf` wrappers only repeat what the inner errors already say.
    if (e.keyword === 'if' || e.keyword === 'allOf' || e.keyword === 'propertyNames' || insideAnyOf(e)) continue;
    const path = documentPath(prefix, e.instancePath);
    const p = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required':
        problems.push({ path: join(path, String(p.missingProperty)), message: `is required but missing` });
        break;
      case 'additionalProperties': {
        const key = String(p.additionalProperty);
        const allowed = Object.keys(((e.parentSchema as Record<string, unknown>)?.properties as object) ?? {});
        const hint = placementHint(key, path, helm) ?? renamedHint(key, allowed, path);
        problems.push({
          path: join(path, key),
          message: `unknown key "${key}"${hint ? ` here; ${hint}` : allowed.length ? `; allowed keys here: ${allowed.join(', ')}` : ''}`,
        });
        break;
      }
      case 'minItems':
        problems.push({ path, message: Number(p.limit) === 1 ? 'is an empty list; add at least one entry or remove the key' : `needs at least ${String(p.limit)} entries` });
        break;
      case 'minLength':
        problems.push({ path, message: Number(p.limit) === 1 ? 'must not be empty; write a value or remove the key' : `must have at least ${String(p.limit)} characters` });
        break;
      case 'minProperties':
        problems.push({ path, message: Number(p.limit) === 1 ? 'is empty; add at least one entry or remove the key' : `needs at least ${String(p.limit)} entries` });
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        problems.push({ path, message: `must be ${String(p.comparison)} ${String(p.limit)} (got ${describe(e.data)})` });
        break;
      case 'enum':
        problems.push({ path, message: `must be one of: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (got ${JSON.stringify(e.data)})` });
        break;
      case 'const':
        problems.push({ path, message: `must be ${JSON.stringify(p.allowedValue)} (got ${JSON.stringify(e.data)})` });
        break;
      case 'type':
        problems.push({ path, message: `must be ${article(String(p.type))} (got ${describe(e.data)})` });
        break;
      case 'dependencies': {
        const missing = String(p.missingProperty);
        const hint = (((e.parentSchema as Record<string, unknown>)?.properties as Record<string, Record<string, unknown>> | undefined)?.[missing])?.description;
        problems.push({ path: join(path, missing), message: `is required with "${String(p.property)}"${hint ? `: ${String(hint)}` : ''}` });
        break;
      }
      case 'pattern': {
        const hint = (e.parentSchema as Record<string, unknown>)?.description;
        problems.push({ path, message: `${JSON.stringify(e.data)} is not valid${hint ? `: ${String(hint)}` : ` (must match ${String(p.pattern)})`}` });
        break;
      }
      case 'not': {
        const both = (e.schema as { required?: unknown } | undefined)?.required;
        problems.push({
          path,
          message: Array.isArray(both) ? `sets both ${both.join(' and ')}; use one of them` : 'has a combination of keys that is not allowed here',
        });
        break;
      }
      case 'oneOf': {
        const alternatives = requiredAlternatives(e.parentSchema as Record<string, unknown> | undefined, e.schema);
        if (alternatives && typeof e.data === 'object' && e.data !== null) {
          const present = alternatives.filter((k) => Object.hasOwn(e.data as object, k));
          problems.push({
            path,
            message: present.length > 1
              ? `sets ${present.join(' and ')}; set exactly one of: ${alternatives.join(', ')}`
              : `needs exactly one of: ${alternatives.join(', ')}`,
          });
        } else {
          problems.push({ path, message: `${String((e.parentSchema as Record<string, unknown> | undefined)?.description ?? 'does not have one of the allowed forms')}` });
        }
        break;
      }
      case 'anyOf': {
        const hint = (e.parentSchema as Record<string, unknown> | undefined)?.description;
        problems.push({ path, message: `is not allowed (got ${describe(e.data)})${hint ? `: ${String(hint)}` : ''}` });
        break;
      }
      default:
        problems.push({ path, message: e.message ?? `is invalid (${e.keyword})` });
    }
  }
  return dedupe(problems);
}

/** Names users write for a key that is called differently here (one name for each thing, everywhere). */
const RENAMED: Record<string, { to: string; what: string }> = {
  ca: { to: 'cert', what: 'the CA (PEM) that issued the registry\'s TLS certificate' },
  caCert: { to: 'cert', what: 'the CA (PEM) that issued the registry\'s TLS certificate' },
};

function renamedHint(key: string, allowed: string[], path: string): string | undefined {
  const renamed = RENAMED[key];
  if (!renamed || !allowed.includes(renamed.to)) return undefined;
  return `${renamed.what} goes in "${renamed.to}": write ${join(path, renamed.to)}`;
}

/** For `oneOf: [{required: [a]}, {required: [b]}]`: [a, b]; otherwise undefined. */
function requiredAlternatives(_parent: Record<string, unknown> | undefined, branches: unknown): string[] | undefined {
  if (!Array.isArray(branches)) return undefined;
  const keys = branches.map((b) => (b && typeof b === 'object' && Array.isArray((b as { required?: unknown }).required) && (b as { required: unknown[] }).required.length === 1 ? String((b as { required: unknown[] }).required[0]) : undefined));
  return keys.every((k) => k !== undefined) ? (keys as string[]) : undefined;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.path}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
