/**
 * Where a config is being loaded, and what that place can know. One code path for `serve`, `check-config` and
 * `explain`; they differ only in this context:
 *
 * - `serve` (inside the pod, or locally): the environment, the mounted secrets and the template directories are
 *   the real ones; anything missing is an error.
 * - `check` (check-config, explain — typically in CI, on a machine without the cluster's secrets): a Helm values
 *   file is read as what the chart will deploy — the literal `kubernetes.deployment.envs` are the pod's
 *   environment, `kubernetes.alertTemplates` are the templates mounted at /app/config/alert-templates — and what
 *   only the pod can have (Secrets, environment variables from Secrets) is a warning when absent here.
 *
 * Template directories are found the same way in both modes: IMPRIMATUR_TEMPLATE_DIRS (what the chart sets), then
 * the shipped templates.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigProblem } from '../errors.js';

export type LoadMode = 'serve' | 'check';

/** Where the chart mounts `kubernetes.alertTemplates` (and announces it with IMPRIMATUR_TEMPLATE_DIRS). */
export const CHART_TEMPLATE_DIR = '/app/config/alert-templates';
export const DEFAULT_SECRETS_DIR = '/app/secrets';

export interface LoadContext {
  mode: LoadMode;
  /** Environment for `${VAR}` references. */
  env: NodeJS.ProcessEnv;
  /** Variables the pod gets from a source check-config cannot read (a Secret): unset here is only a warning. */
  podOnlyEnv: ReadonlySet<string>;
  /** Directory with mounted registry secrets (`<dir>/<secretName>/…`). */
  secretsDir: string;
  /** Template directories searched after alerting.templateDirectory (the shipped ones come last). */
  templateDirs: string[];
  /** Paths only the pod has → where the same content is on this machine (the chart's alert templates). */
  dirAliases: ReadonlyMap<string, string>;
}

export interface ContextOptions {
  mode?: LoadMode;
  env?: NodeJS.ProcessEnv;
  secretsDir?: string;
  /** Overrides IMPRIMATUR_TEMPLATE_DIRS. */
  templateDirs?: string[];
}

/** IMPRIMATUR_TEMPLATE_DIRS (colon-separated), as the chart sets it. */
export function templateDirsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.IMPRIMATUR_TEMPLATE_DIRS ?? '').split(':').filter(Boolean);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The pod's environment as the chart renders it from `kubernetes.deployment.envs` (`NAME: literal`,
 * `NAME: {value: literal}`, `NAME: {valueFrom: {secretKeyRef: …}}`): literal values, and the names of variables
 * whose value comes from elsewhere (a Secret reference).
 */
export function chartEnvironment(kubernetes: unknown): { literal: Record<string, string>; fromSecrets: string[] } {
  const literal: Record<string, string> = {};
  const fromSecrets: string[] = [];
  const envs = isObject(kubernetes) && isObject(kubernetes.deployment) ? kubernetes.deployment.envs : undefined;
  if (isObject(envs)) {
    for (const [name, value] of Object.entries(envs)) {
      if (isObject(value) && 'value' in value && value.value !== null && value.value !== undefined) literal[name] = String(value.value);
      else if (isObject(value)) fromSecrets.push(name); // valueFrom: a Secret (or ConfigMap, field) only the pod reads
      else if (value !== null && value !== undefined) literal[name] = String(value);
    }
  }
  return { literal, fromSecrets };
}

/** Directories made for the chart's inline templates, removed when the process exits. */
const madeDirs = new Map<string, string>();
let cleanupRegistered = false;

/**
 * Writes the chart's inline alert templates to a fresh private directory on this machine (one per content, made
 * with mkdtemp: a directory someone else created beforehand in the shared temp directory is never used), and
 * returns it. Removed at exit.
 */
function materialiseTemplates(templates: Record<string, unknown>): string {
  const files = Object.entries(templates).filter((e): e is [string, string] => typeof e[1] === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(e[0]));
  const key = JSON.stringify(files);
  const made = madeDirs.get(key);
  if (made !== undefined && existsSync(made)) return made;
  const dir = mkdtempSync(join(tmpdir(), 'imprimatur-chart-templates-'));
  for (const [name, text] of files) writeFileSync(join(dir, name), text, { flag: 'wx' });
  madeDirs.set(key, dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once('exit', () => {
      for (const d of madeDirs.values()) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

/** The context for loading `top` (the parsed document; `helm` when it is a values file). */
export function loadContext(top: Record<string, unknown>, helm: boolean, options: ContextOptions = {}): { context: LoadContext; warnings: ConfigProblem[] } {
  const mode = options.mode ?? 'serve';
  const baseEnv = options.env ?? process.env;
  const env: NodeJS.ProcessEnv = { ...baseEnv };
  const podOnlyEnv = new Set<string>();
  const templateDirs = options.templateDirs ?? templateDirsFromEnv(baseEnv);
  const dirAliases = new Map<string, string>();
  const warnings: ConfigProblem[] = [];
  if (mode === 'check' && helm) {
    const { literal, fromSecrets } = chartEnvironment(top.kubernetes);
    Object.assign(env, literal);
    for (const name of fromSecrets) podOnlyEnv.add(name);
    const templates = isObject(top.kubernetes) ? top.kubernetes.alertTemplates : undefined;
    if (isObject(templates) && Object.keys(templates).length > 0) {
      const dir = materialiseTemplates(templates);
      dirAliases.set(CHART_TEMPLATE_DIR, dir);
      if (!templateDirs.includes(CHART_TEMPLATE_DIR)) templateDirs.unshift(dir);
      else templateDirs.splice(templateDirs.indexOf(CHART_TEMPLATE_DIR), 1, dir);
    }
  }
  const secretsDir = options.secretsDir ?? baseEnv.IMPRIMATUR_SECRETS_DIR ?? DEFAULT_SECRETS_DIR;
  return { context: { mode, env, podOnlyEnv, secretsDir, templateDirs, dirAliases }, warnings };
}

/** A directory as seen from here: the chart's mount paths resolve to their local copy. */
export function localDir(context: LoadContext, dir: string): string {
  return context.dirAliases.get(dir.replace(/\/+$/, '')) ?? dir;
}
