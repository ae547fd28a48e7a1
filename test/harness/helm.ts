/**
 * The real Helm CLI (v3 and v4, built by scripts/build-helm.sh) run on the chart in helm/: `helm template`,
 * `helm lint`, and install/upgrade/uninstall against a test kube-apiserver. Each Helm gets private
 * config/cache/data directories, so nothing is read from or written to the user's Helm setup.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { makeTempDir } from './temp-dirs.js';
import { helmBinary, type HelmMajor } from './tools.js';

export const CHART_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'helm');

export interface ValuesOptions {
  /** Values documents merged over the chart's values.yaml, in order (each becomes a `-f` file). */
  values?: Array<Record<string, unknown>>;
  /** Values files, after `values` (`-f`). */
  valueFiles?: string[];
  /** `path.to.key` → value, applied last (`--set-json`). */
  set?: Record<string, unknown>;
}

export interface TemplateOptions extends ValuesOptions {
  release?: string;
  namespace?: string;
  /** `--kube-version` (default: the Kubernetes version Helm was built against). */
  kubeVersion?: string;
  /** `--api-versions` (added to the default capabilities). */
  apiVersions?: string[];
  /** Extra arguments, e.g. `--no-hooks`. */
  args?: string[];
  /**
   * Render against this API server (`--dry-run=server`): Helm reads its capabilities and `lookup` sees its objects,
   * as `helm install` would. Without it, `helm template` never contacts a cluster (`lookup` finds nothing).
   */
  kubeconfig?: string;
}

export interface HelmResult { code: number; stdout: string; stderr: string }

/** Thrown when Helm exits non-zero; the message quotes Helm's stderr. */
export class HelmError extends Error {
  constructor(readonly args: string[], readonly result: HelmResult) {
    super(`helm ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

export class Helm {
  private readonly home: string;

  constructor(readonly major: HelmMajor, readonly binary: string) {
    this.home = makeTempDir(`helm-${major}`);
  }

  /** Runs helm; resolves with its output whatever the exit code. */
  run(args: string[], options: { kubeconfig?: string; timeoutMs?: number } = {}): Promise<HelmResult> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: this.home,
      HELM_CONFIG_HOME: join(this.home, 'config'),
      HELM_CACHE_HOME: join(this.home, 'cache'),
      HELM_DATA_HOME: join(this.home, 'data'),
      ...(options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : { KUBECONFIG: join(this.home, 'no-cluster') }),
    };
    return new Promise((resolve) => {
      execFile(this.binary, args, { env, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 120_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Runs helm; rejects with a HelmError unless it exits 0. */
  async ok(args: string[], options: { kubeconfig?: string; timeoutMs?: number } = {}): Promise<HelmResult> {
    const result = await this.run(args, options);
    if (result.code !== 0) throw new HelmError(args, result);
    return result;
  }

  /** `-f`/`--set-json` arguments for `opts`. */
  valuesArgs(opts: ValuesOptions): string[] {
    const args: string[] = [];
    (opts.values ?? []).forEach((v, i) => {
      const file = join(makeTempDir('helm-values'), `values-${i}.yaml`);
      writeFileSync(file, yaml.dump(v));
      args.push('-f', file);
    });
    for (const f of opts.valueFiles ?? []) args.push('-f', f);
    for (const [k, v] of Object.entries(opts.set ?? {})) args.push('--set-json', `${k}=${JSON.stringify(v)}`);
    return args;
  }

  /** `helm template` of the chart: the multi-document YAML. Rejects with Helm's message (e.g. a template's `fail`). */
  async templateText(opts: TemplateOptions = {}): Promise<string> {
    const args = ['template', opts.release ?? 'imprimatur', CHART_DIR, '--namespace', opts.namespace ?? 'imprimatur', ...this.valuesArgs(opts)];
    if (opts.kubeVersion) args.push('--kube-version', opts.kubeVersion);
    for (const v of opts.apiVersions ?? []) args.push('--api-versions', v);
    if (opts.kubeconfig) args.push('--dry-run=server');
    args.push(...(opts.args ?? []));
    return (await this.ok(args, { kubeconfig: opts.kubeconfig })).stdout;
  }

  /** `helm template` of the chart, parsed (empty documents dropped). */
  async template(opts: TemplateOptions = {}): Promise<KubernetesObject[]> {
    return parseManifests(await this.templateText(opts));
  }

  async version(): Promise<string> {
    return (await this.ok(['version', '--template', '{{ .Version }}'])).stdout.trim();
  }
}

const helms = new Map<HelmMajor, Promise<Helm>>();

/** The Helm CLI of `major` (built on first use). */
export function helm(major: HelmMajor): Promise<Helm> {
  let h = helms.get(major);
  if (!h) {
    h = helmBinary(major).then((bin) => new Helm(major, bin));
    helms.set(major, h);
  }
  return h;
}

/** Kubernetes objects of a multi-document YAML stream (empty documents dropped). */
export function parseManifests(text: string): KubernetesObject[] {
  return yaml.loadAll(text).filter((d): d is KubernetesObject => d !== null && typeof d === 'object');
}

/** Objects that are Helm hooks (`helm.sh/hook` annotation). */
export function isHook(o: KubernetesObject): boolean {
  return o.metadata?.annotations?.['helm.sh/hook'] !== undefined;
}

/** The one object of `kind` (and `name`) that is not a hook; throws if there is not exactly one. */
export function findObject<T = Record<string, any>>(objects: KubernetesObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name) && !isHook(o));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  }
  return found[0] as T;
}

export interface RenderOptions extends TemplateOptions {
  /** Which Helm renders (default v3). */
  helm?: HelmMajor;
}

/** `helm template` of the chart with the real Helm CLI, parsed. */
export async function renderChart(opts: RenderOptions = {}): Promise<KubernetesObject[]> {
  return (await helm(opts.helm ?? 'v3')).template(opts);
}

/** `helm template` of the chart with the real Helm CLI, as text; rejects with Helm's message. */
export async function renderChartText(opts: RenderOptions = {}): Promise<string> {
  return (await helm(opts.helm ?? 'v3')).templateText(opts);
}
