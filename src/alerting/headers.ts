import type { AlertHeader } from './types.js';

/**
 * `customHeaders` lines ("Name: value") and `${VAR}` expansion from the environment, so tokens come from
 * Secrets mounted as environment variables rather than from the ConfigMap. Header values are secrets:
 * error messages and logs name the header and the variable, never the value.
 */

/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ENV_REF = /\$\{([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Set by the sender itself or by Node; overriding them would break the request. */
const RESERVED = new Set(['content-length', 'host', 'transfer-encoding', 'connection']);
/** What Node's HTTP client accepts in a header value. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export interface ParsedHeaderLine {
  name: string;
  /** Value before `${VAR}` expansion. */
  template: string;
}

/** Parses `Name: value`; returns a problem sentence instead when the line is unusable. */
export function parseHeaderLine(line: string): ParsedHeaderLine | { problem: string } {
  const colon = line.indexOf(':');
  if (colon <= 0) return { problem: 'is not a header line; write it as "Name: value", e.g. "Authorization: Bearer ${API_TOKEN}"' };
  const name = line.slice(0, colon).trim();
  const template = line.slice(colon + 1).trim();
  if (!HEADER_NAME.test(name)) {
    return { problem: `has an invalid header name ${JSON.stringify(name)}; use letters, digits and -, e.g. "X-Api-Key: \${API_KEY}"` };
  }
  if (RESERVED.has(name.toLowerCase())) return { problem: `sets ${name}, which is set automatically; remove this line` };
  if (!HEADER_VALUE.test(template)) {
    return { problem: `header ${name} has a line break, control character or non-Latin-1 character in its value; remove it` };
  }
  return { name, template };
}

/** Names of the variables referenced as `${VAR}`, and references that are not valid names. */
export function envReferences(template: string): { names: string[]; invalid: string[] } {
  const names: string[] = [];
  const invalid: string[] = [];
  for (const m of template.matchAll(ENV_REF)) {
    const ref = m[1]!;
    if (ENV_NAME.test(ref)) names.push(ref);
    else invalid.push(ref);
  }
  return { names, invalid };
}

/** Replaces every `${VAR}` with the variable's value. Returns the names of unset variables instead of a value when any is unset. */
export function expandEnv(template: string, env: NodeJS.ProcessEnv): { value: string } | { missing: string[] } {
  const { names } = envReferences(template);
  const missing = names.filter((n) => env[n] === undefined);
  if (missing.length > 0) return { missing: [...new Set(missing)] };
  return { value: template.replace(ENV_REF, (_all, name: string) => env[name] ?? '') };
}

/**
 * Parses and expands one header line. Returns the header, or the problems as sentences (for config checks).
 * Leading/trailing whitespace of the expanded value is dropped (Secrets often end with a newline).
 */
export function resolveHeaderLine(line: string, env: NodeJS.ProcessEnv): { header: AlertHeader } | { problems: string[] } {
  const parsed = parseHeaderLine(line);
  if ('problem' in parsed) return { problems: [parsed.problem] };
  const problems: string[] = [];
  const { invalid } = envReferences(parsed.template);
  for (const ref of invalid) {
    problems.push(`header ${parsed.name} refers to \${${ref}}, which is not a valid environment variable name; use letters, digits and _`);
  }
  const expanded = expandEnv(parsed.template, env);
  if ('missing' in expanded) {
    for (const name of expanded.missing) {
      problems.push(
        `header ${parsed.name} refers to environment variable ${name}, which is not set; set it in the webhook's environment (e.g. from a Secret via env[].valueFrom.secretKeyRef)`,
      );
    }
    return { problems };
  }
  const value = expanded.value.trim();
  if (!HEADER_VALUE.test(value)) {
    problems.push(
      `header ${parsed.name}: an environment variable it refers to contains a line break, control character or non-Latin-1 character; remove it from the Secret`,
    );
  }
  return problems.length > 0 ? { problems } : { header: { name: parsed.name, value } };
}
