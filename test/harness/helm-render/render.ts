/**
 * Renders the Helm chart like `helm template`, with the Go renderer in this directory (text/template + sprig +
 * Helm's functions). The binary is built once by scripts/build-helm-render.sh and cached outside the repo.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { runBuildScript } from '../kube.js';

export const CHART_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'helm');

export interface RenderOptions {
  chartDir?: string;
  release?: string;
  namespace?: string;
  /** Values documents merged over the chart's values.yaml, in order (like repeated `-f`). */
  values?: Array<Record<string, unknown>>;
  /** Values files merged after `values`. */
  valueFiles?: string[];
  /** `path.to.key` → value (like `--set`, applied last; `\.` escapes a dot inside a key). */
  set?: Record<string, unknown>;
  /** Objects `lookup` finds (as if installed in the cluster); otherwise `lookup` returns an empty map. */
  existing?: KubernetesObject[];
}

let binary: Promise<string> | undefined;

export function helmRenderBinary(): Promise<string> {
  binary ??= runBuildScript('build-helm-render.sh');
  return binary;
}

/** The rendered multi-document YAML. Rejects with the renderer's message (e.g. a template's `fail`). */
export async function renderChartText(opts: RenderOptions = {}): Promise<string> {
  const bin = await helmRenderBinary();
  const dir = mkdtempSync(join(tmpdir(), 'imprimatur-render-'));
  try {
    const args = ['--chart', opts.chartDir ?? CHART_DIR, '--release', opts.release ?? 'imprimatur', '--namespace', opts.namespace ?? 'imprimatur'];
    (opts.values ?? []).forEach((v, i) => {
      const file = join(dir, `values-${i}.yaml`);
      writeFileSync(file, yaml.dump(v));
      args.push('-f', file);
    });
    for (const f of opts.valueFiles ?? []) args.push('-f', f);
    for (const [k, v] of Object.entries(opts.set ?? {})) args.push('--set', `${k}=${JSON.stringify(v)}`);
    if (opts.existing) {
      const file = join(dir, 'existing.yaml');
      writeFileSync(file, opts.existing.map((o) => yaml.dump(o)).join('---\n'));
      args.push('--existing', file);
    }
    return await new Promise((resolve, reject) => {
      execFile(bin, args, { maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`helm-render failed: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rendered objects (empty documents dropped). */
export async function renderChart(opts: RenderOptions = {}): Promise<KubernetesObject[]> {
  const docs = yaml.loadAll(await renderChartText(opts));
  return docs.filter((d): d is KubernetesObject => d !== null && typeof d === 'object');
}

/** The one rendered object of `kind` (and `name`, when given); throws if there is not exactly one. */
export function findObject<T = Record<string, any>>(objects: KubernetesObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  }
  return found[0] as T;
}
