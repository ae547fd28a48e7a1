/**
 * Load-time checks of the `alerting` section beyond the JSON Schema, and its typed form with defaults.
 * Assumes the section passed the schema (schema.ts); parts that do not are skipped here, not reported twice.
 */
import { readdirSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { ConfigProblem } from '../errors.js';
import { resolveHeaderLine, expandEnv } from './headers.js';
import { isPlainObject } from './merge.js';
import { renderPayload } from './payload.js';
import { sampleEvents } from './sample.js';
import { defaultTemplateDir, findTemplate, isDirectory, loadTemplate, TEMPLATE_SUFFIX, type CompiledTemplate } from './template-files.js';
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
}

function at(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** The template names available in `dirs`, for "unknown template" messages. */
function availableTemplates(dirs: string[]): string[] {
  const names = new Set<string>();
  for (const dir of dirs) {
    try {
      for (const f of readdirSync(dir)) if (f.endsWith(TEMPLATE_SUFFIX)) names.add(f.slice(0, -TEMPLATE_SUFFIX.length));
    } catch {
      // unreadable directory: reported elsewhere (templateDirectory) or simply has no templates
    }
  }
  return [...names].sort();
}

/** URL after `${VAR}` expansion, or a problem sentence. */
function checkUrl(raw: string, env: NodeJS.ProcessEnv): { url: URL } | { problem: string } {
  const expanded = expandEnv(raw, env);
  if ('missing' in expanded) {
    return { problem: `refers to environment variable ${expanded.missing.join(', ')}, which is not set; set it in the webhook's environment (e.g. from a Secret)` };
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
  return { url };
}

/** Renders `compiled` with hostile sample events for both decisions; returns the first problem, if any. */
function sampleRenderProblem(compiled: CompiledTemplate, receiver: { template: string; priority: number; payloadFields?: Record<string, unknown> }): string | undefined {
  for (const event of sampleEvents()) {
    try {
      renderPayload(
        compiled,
        buildVariables(event, { cluster: 'sample "cluster"', podId: 'sample-pod', priority: receiver.priority, receiver: 'sample', suppressedCount: 2, dedupeSeconds: 60 }),
        receiver.payloadFields,
        receiver.template,
      );
    } catch (err) {
      return `${(err as Error).message} (rendered with sample ${event.detectionMode ? 'detection-mode ' : ''}${event.decision} data)`;
    }
  }
  return undefined;
}

/** Parses and checks the section. `config` is set when there are no problems. */
export function parseAlertingConfig(raw: unknown, path: string, opts: AlertingCheckOptions = {}): { config?: AlertingConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const env = opts.env ?? process.env;
  if (raw === undefined || raw === null) return { config: { clusterIdentifier: DEFAULT_CLUSTER_IDENTIFIER, templateDirs: [], receivers: [] }, problems };
  if (!isPlainObject(raw)) return { problems: [{ path, message: 'must be a mapping with admitRequest and/or rejectRequest' }] };

  const dirs: string[] = [];
  const templateDirectory = raw.templateDirectory;
  if (typeof templateDirectory === 'string') {
    if (!isAbsolute(templateDirectory)) {
      problems.push({ path: at(path, 'templateDirectory'), message: `"${templateDirectory}" is not an absolute path; use e.g. /etc/imprimatur/alert-templates` });
    } else if (!isDirectory(templateDirectory)) {
      problems.push({ path: at(path, 'templateDirectory'), message: `directory ${templateDirectory} does not exist; mount the ConfigMap with your templates there or fix the path` });
    } else {
      dirs.push(templateDirectory);
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

      const url = checkUrl(entry.receiverUrl, env);
      if ('problem' in url) problems.push({ path: `${rpath}.receiverUrl`, message: url.problem });

      const headers: AlertHeader[] = [];
      const headerNames = new Map<string, number>();
      (Array.isArray(entry.customHeaders) ? entry.customHeaders : []).forEach((line: unknown, h: number) => {
        if (typeof line !== 'string') return;
        const hpath = `${rpath}.customHeaders[${h}]`;
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
      if (!templateFile) {
        const known = availableTemplates(dirs);
        problems.push({
          path: `${rpath}.template`,
          message: `unknown template "${entry.template}": no ${entry.template}${TEMPLATE_SUFFIX} in ${dirs.join(', ')}; use one of ${known.join(', ') || '(none found)'} or add the file to alerting.templateDirectory`,
        });
      } else {
        const cacheKey = `${templateFile}\0${priority}\0${JSON.stringify(payloadFields ?? null)}`;
        if (!templateProblems.has(cacheKey)) {
          let problem: string | undefined;
          try {
            problem = sampleRenderProblem(loadTemplate(templateFile), { template: entry.template, priority, payloadFields });
          } catch (err) {
            problem = (err as Error).message;
          }
          templateProblems.set(cacheKey, problem);
        }
        const problem = templateProblems.get(cacheKey);
        if (problem) problems.push({ path: `${rpath}.template`, message: `${problem}; fix ${templateFile}` });
      }

      if (problems.length > before || !templateFile || 'problem' in url) return;
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
  if (problems.length > 0) return { problems };
  const clusterIdentifier = typeof raw.clusterIdentifier === 'string' ? raw.clusterIdentifier : DEFAULT_CLUSTER_IDENTIFIER;
  return { config: { clusterIdentifier, templateDirs: dirs, receivers }, problems };
}

/**
 * Load-time checks beyond the schema: templateDirectory exists; each template exists, compiles and renders a JSON
 * object with hostile sample data (and the receiver's payloadFields); receiverUrl parses as http(s) without
 * credentials; customHeaders lines parse; every `${VAR}` they use is set. `path` is the section's path ('alerting').
 */
export function checkAlertingConfig(raw: unknown, path: string, opts: { templateDirs: string[]; env?: NodeJS.ProcessEnv }): ConfigProblem[] {
  return parseAlertingConfig(raw, path, opts).problems;
}
