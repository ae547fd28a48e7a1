/**
 * Load-time checks of the `alerting` section beyond the JSON Schema, and its typed form with defaults.
 * Assumes the section passed the schema (schema.ts); parts that do not are skipped here, not reported twice.
 */
import { readdirSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { ConfigProblem } from '../errors.js';
import { envReferences, parseHeaderLine, resolveHeaderLine, expandEnv } from './headers.js';
import { isPlainObject } from './merge.js';
import { renderPayload } from './payload.js';
import { sampleEvents } from './sample.js';
import { defaultTemplateDir, findTemplate, isDirectory, loadTemplate, templateName, TEMPLATE_SUFFIX, type CompiledTemplate } from './template-files.js';
import { buildVariables } from './variables.js';
import type { AlertDecision, AlertHeader, AlertingConfig, ReceiverConfig } from './types.js';

export const DEFAULT_CLUSTER_IDENTIFIER = 'not specified';
export const DEFAULT_PRIORITY = 3;

const SECTIONS: Array<{ key: 'admitRequest' | 'rejectRequest'; decision: AlertDecision }> = [
  { key: 'admitRequest', decision: 'admit' },
  { key: 'rejectRequest', decision: 'reject' },
];

export interface AlertingCheckOptions {
  /** Extra template directories (e.g. from IMPRIMATUR_TEMPLATE_DIRS), searched after templateDirectory and before the shipped `<package root>/alert-templates`, which is always searched last. */
  templateDirs?: string[];
  /** Environment used for `${VAR}` (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * `serve` (default): an unset `${VAR}` or a missing templateDirectory is an error. `check` (check-config,
   * explain): they are warnings — only the pod has its secrets and mounts.
   */
  mode?: 'serve' | 'check';
  /** Variables the pod sets from Secrets (named in the chart's values): unset here, never an error. */
  podOnlyEnv?: ReadonlySet<string>;
  /** Pod paths → their content on this machine (the chart's alert templates). */
  dirAliases?: ReadonlyMap<string, string>;
}

function at(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** The template names available in `dirs`, for "unknown template" messages. */
function availableTemplates(dirs: string[]): string[] {
  const names = new Set<string>();
  for (const dir of dirs) {
    try {
      for (const f of readdirSync(dir)) {
        const name = templateName(f);
        if (name) names.add(name);
      }
    } catch {
      // unreadable directory: reported elsewhere (templateDirectory) or simply has no templates
    }
  }
  return [...names].sort();
}

/** What an unset `${VAR}` means where the config is being checked. */
function unsetVariables(names: string[], opts: AlertingCheckOptions): { severity: 'problem' | 'warning'; text: string } {
  const list = names.join(', ');
  if (opts.mode === 'check') {
    const fromSecret = names.filter((n) => opts.podOnlyEnv?.has(n));
    return {
      severity: 'warning',
      text: fromSecret.length === names.length
        ? `environment variable ${list}, which the pod gets from a Secret (kubernetes.deployment.envs); its value cannot be checked here`
        : `environment variable ${list}, which is not set here; it must be set in the webhook's environment (kubernetes.deployment.envs, e.g. from a Secret) or serve refuses the config`,
    };
  }
  return { severity: 'problem', text: `environment variable ${list}, which is not set; set it in the webhook's environment (e.g. from a Secret)` };
}

/** URL after `${VAR}` expansion, or a problem sentence; a warning when an unset variable is fine where this runs. */
function checkUrl(raw: string, opts: AlertingCheckOptions): { url: URL; warning?: string } | { problem: string } {
  const env = opts.env ?? process.env;
  let expanded = expandEnv(raw, env);
  let warning: string | undefined;
  if ('missing' in expanded) {
    const unset = unsetVariables(expanded.missing, opts);
    if (unset.severity === 'problem') return { problem: `refers to ${unset.text}` };
    warning = `refers to ${unset.text}`;
    // Check the rest of the URL with a stand-in value.
    expanded = { value: raw.replace(/\$\{[^}]*\}/g, 'placeholder') };
  }
  let url: URL;
  try {
    url = new URL(expanded.value);
  } catch {
    return { problem: 'is not a valid URL; write it as https://host[:port]/path' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `uses ${url.protocol.replace(/:$/, '')}; only http and https URLs are supported` };
  if (!url.hostname) return { problem: 'has no host; write it as https://host[:port]/path' };
  if (url.username || url.password) {
    return { problem: 'contains credentials; remove them and send them in customHeaders instead, e.g. "Authorization: Basic ${ALERT_CREDENTIALS}"' };
  }
  return { url, warning };
}

/** "uses {{x}}, which is not a template variable" for Handlebars' strict-mode error, or undefined. */
function unknownVariable(err: unknown, known: string[]): string | undefined {
  const m = /"([^"]+)" not defined in .*? - (\d+):(\d+)/.exec((err as Error).message ?? '');
  if (!m) return undefined;
  return `uses {{${m[1]}}} (line ${m[2]}), which is not a template variable (Connaisseur would fail to render it, Imprimatur would send ""); use one of: ${known.join(', ')} — or, inside {{#each results}}: image, rule, validator, outcome, reason, digest, attestations`;
}

/**
 * Renders the template (compiled strict: an unknown variable is an error) with hostile sample events for both
 * decisions; returns the first problem, if any.
 */
function sampleRenderProblem(compiled: CompiledTemplate, receiver: { template: string; priority: number; payloadFields?: Record<string, unknown> }): string | undefined {
  for (const event of sampleEvents()) {
    const vars = buildVariables(event, { cluster: 'sample "cluster"', podId: 'sample-pod', priority: receiver.priority, receiver: 'sample', suppressedCount: 2, dedupeSeconds: 60 });
    try {
      renderPayload(compiled, vars, receiver.payloadFields, receiver.template);
    } catch (err) {
      const cause = (err as Error & { cause?: unknown }).cause ?? err;
      return unknownVariable(cause, Object.keys(vars)) ?? `${(err as Error).message} (rendered with sample ${event.detectionMode ? 'detection-mode ' : ''}${event.decision} data)`;
    }
  }
  return undefined;
}

/** Parses and checks the section. `config` is set when there are no problems. */
export function parseAlertingConfig(
  raw: unknown,
  path: string,
  opts: AlertingCheckOptions = {},
): { config?: AlertingConfig; problems: ConfigProblem[]; warnings: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const env = opts.env ?? process.env;
  if (raw === undefined || raw === null) return { config: { clusterIdentifier: DEFAULT_CLUSTER_IDENTIFIER, templateDirs: [], receivers: [] }, problems, warnings };
  if (!isPlainObject(raw)) return { problems: [{ path, message: 'must be a mapping with admitRequest and/or rejectRequest' }], warnings };

  const dirs: string[] = [];
  /** Set when templates may live in a directory only the pod has: a template not found here is then a warning. */
  let unseenDirectory: string | undefined;
  const templateDirectory = raw.templateDirectory;
  if (typeof templateDirectory === 'string') {
    const local = opts.dirAliases?.get(templateDirectory.replace(/\/+$/, '')) ?? templateDirectory;
    if (!isAbsolute(templateDirectory)) {
      problems.push({ path: at(path, 'templateDirectory'), message: `"${templateDirectory}" is not an absolute path; use e.g. /etc/imprimatur/alert-templates` });
    } else if (isDirectory(local)) {
      dirs.push(local);
    } else if (opts.mode === 'check') {
      unseenDirectory = templateDirectory;
      warnings.push({
        path: at(path, 'templateDirectory'),
        message: `directory ${templateDirectory} does not exist here; templates that are not shipped with Imprimatur cannot be checked — mount them there in the pod (with the chart: put them in kubernetes.alertTemplates, mounted at /app/config/alert-templates)`,
      });
    } else {
      problems.push({ path: at(path, 'templateDirectory'), message: `directory ${templateDirectory} does not exist; mount the ConfigMap with your templates there or fix the path` });
    }
  }
  for (const dir of [...(opts.templateDirs ?? []), defaultTemplateDir()]) if (!dirs.includes(dir)) dirs.push(dir);

  const receivers: ReceiverConfig[] = [];
  const namesSeen = new Map<string, string>();
  const templateProblems = new Map<string, string | undefined>();
  for (const { key, decision } of SECTIONS) {
    const section = raw[key];
    if (!isPlainObject(section) || !Array.isArray(section.receivers)) continue;
    section.receivers.forEach((entry: unknown, i: number) => {
      const rpath = `${at(path, key)}.receivers[${i}]`;
      if (!isPlainObject(entry) || typeof entry.template !== 'string' || typeof entry.receiverUrl !== 'string') return;
      const before = problems.length;
      const priority = typeof entry.priority === 'number' ? entry.priority : DEFAULT_PRIORITY;
      const payloadFields = isPlainObject(entry.payloadFields) ? entry.payloadFields : undefined;
      const name = typeof entry.name === 'string' ? entry.name : `${key}.receivers[${i}]`;
      const clash = namesSeen.get(name);
      if (clash) problems.push({ path: `${rpath}.name`, message: `"${name}" is already the name of ${clash}; receiver names must be unique` });
      namesSeen.set(name, rpath);

      const url = checkUrl(entry.receiverUrl, opts);
      if ('problem' in url) problems.push({ path: `${rpath}.receiverUrl`, message: url.problem });
      else if (url.warning) warnings.push({ path: `${rpath}.receiverUrl`, message: url.warning });

      const headers: AlertHeader[] = [];
      const headerNames = new Map<string, number>();
      (Array.isArray(entry.customHeaders) ? entry.customHeaders : []).forEach((line: unknown, h: number) => {
        if (typeof line !== 'string') return;
        const hpath = `${rpath}.customHeaders[${h}]`;
        const parsed = parseHeaderLine(line);
        const missing = 'problem' in parsed ? [] : envReferences(parsed.template).names.filter((n) => env[n] === undefined);
        if (missing.length > 0 && !('problem' in parsed)) {
          const unset = unsetVariables([...new Set(missing)], opts);
          if (unset.severity === 'warning') {
            warnings.push({ path: hpath, message: `header ${parsed.name} refers to ${unset.text}` });
            return;
          }
        }
        const resolved = resolveHeaderLine(line, env);
        if ('problems' in resolved) {
          for (const message of resolved.problems) problems.push({ path: hpath, message });
          return;
        }
        const lower = resolved.header.name.toLowerCase();
        const first = headerNames.get(lower);
        if (first !== undefined) {
          problems.push({ path: hpath, message: `sets header ${resolved.header.name} again (already set by customHeaders[${first}]); keep one` });
          return;
        }
        headerNames.set(lower, h);
        headers.push(resolved.header);
      });

      const templateFile = findTemplate(entry.template, dirs);
      if (!templateFile && unseenDirectory) {
        warnings.push({ path: `${rpath}.template`, message: `template "${entry.template}" is not shipped with Imprimatur; it must be in ${unseenDirectory} in the pod (not checked here)` });
      } else if (!templateFile) {
        const known = availableTemplates(dirs);
        problems.push({
          path: `${rpath}.template`,
          message: `unknown template "${entry.template}": no ${entry.template}${TEMPLATE_SUFFIX} (or ${entry.template}.json) in ${dirs.join(', ')}; use one of ${known.join(', ') || '(none found)'} or add the file to alerting.templateDirectory`,
        });
      } else {
        const cacheKey = `${templateFile}\0${priority}\0${JSON.stringify(payloadFields ?? null)}`;
        if (!templateProblems.has(cacheKey)) {
          let problem: string | undefined;
          try {
            problem = sampleRenderProblem(loadTemplate(templateFile, true), { template: entry.template, priority, payloadFields });
          } catch (err) {
            problem = (err as Error).message;
          }
          templateProblems.set(cacheKey, problem);
        }
        const problem = templateProblems.get(cacheKey);
        if (problem) problems.push({ path: `${rpath}.template`, message: `${problem}; fix ${templateFile}` });
      }

      if (problems.length > before || !templateFile || 'problem' in url || url.warning) return;
      receivers.push({
        name,
        path: rpath,
        decision,
        template: entry.template,
        templateFile,
        receiverUrl: url.url.href,
        receiverOrigin: url.url.origin,
        priority,
        headers,
        payloadFields,
        failIfAlertSendingFails: entry.failIfAlertSendingFails === true,
        dedupeSeconds: typeof entry.dedupeSeconds === 'number' ? entry.dedupeSeconds : 0,
      });
    });
  }
  if (problems.length > 0) return { problems, warnings };
  const clusterIdentifier = typeof raw.clusterIdentifier === 'string' ? raw.clusterIdentifier : DEFAULT_CLUSTER_IDENTIFIER;
  return { config: { clusterIdentifier, templateDirs: dirs, receivers }, problems, warnings };
}

/**
 * Load-time checks beyond the schema: templateDirectory exists; each template exists, compiles and renders a JSON
 * object with hostile sample data (and the receiver's payloadFields); receiverUrl parses as http(s) without
 * credentials; customHeaders lines parse; every `${VAR}` they use is set. `path` is the section's path ('alerting').
 */
export function checkAlertingConfig(raw: unknown, path: string, opts: AlertingCheckOptions): ConfigProblem[] {
  return parseAlertingConfig(raw, path, opts).problems;
}
