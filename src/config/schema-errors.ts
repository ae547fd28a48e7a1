import type { ErrorObject } from 'ajv';
import type { ConfigProblem } from '../errors.js';

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

/** Turns ajv errors into problems with document paths and sentences a user can act on. */
export function schemaProblems(errors: ErrorObject[] | null | undefined, prefix: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const e of errors ?? []) {
    // `if`/`allOf` wrappers only repeat what the inner errors already say.
    if (e.keyword === 'if' || e.keyword === 'allOf') continue;
    const path = documentPath(prefix, e.instancePath);
    const p = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required':
        problems.push({ path: join(path, String(p.missingProperty)), message: `is required but missing` });
        break;
      case 'additionalProperties': {
        const allowed = Object.keys(((e.parentSchema as Record<string, unknown>)?.properties as object) ?? {});
        problems.push({
          path: join(path, String(p.additionalProperty)),
          message: `unknown key "${String(p.additionalProperty)}"${allowed.length ? `; allowed keys here: ${allowed.join(', ')}` : ''}`,
        });
        break;
      }
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
      default:
        problems.push({ path, message: e.message ?? `is invalid (${e.keyword})` });
    }
  }
  return dedupe(problems);
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
