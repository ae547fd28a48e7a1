/**
 * The webhook under test as its own process, from the BUILT JavaScript (`npm run build` first):
 * `node bin/imprimatur.js serve --config F --port 0 --tls-cert … --tls-key …`, exactly as in production
 * (minus Kubernetes). Its RSS, CPU time, reload count and registry request count come from its own
 * GET /metrics (prom-client default metrics + Imprimatur's counters), so nothing of the benchmark process
 * (tsx, load generator, registry front) is mixed into them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface WebhookProcess {
  url: string;
  pid: number;
  configFile: string;
  /** A keep-alive client (one pool for the whole run). */
  post(body: string): Promise<{ status: number; text: string }>;
  /** Samples of GET /metrics (name → summed value over all label sets). */
  metrics(): Promise<Map<string, number>>;
  /** How the process ended (undefined while it runs) and the tail of what it wrote to stderr. */
  exit(): { code: number | null; signal: string | null } | undefined;
  stderrTail(): string;
  /** Writes a new config and waits until the webhook's file watcher has loaded it (config_reloads_total{result="success"} + 1). */
  reload(configYaml: string): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookProcess(configYaml: string, tls: { cert: string; key: string }, env: NodeJS.ProcessEnv = {}): Promise<WebhookProcess> {
  const main = join(ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build" before the benchmark`);
  const dir = mkdtempSync(join(tmpdir(), 'imprimatur-bench-'));
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, configYaml);
  writeFileSync(join(dir, 'tls.crt'), tls.cert);
  writeFileSync(join(dir, 'tls.key'), tls.key);
  const child: ChildProcess = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'imprimatur.js'), 'serve', '--config', configFile, '--port', '0', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key')],
    // Run it as the chart deploys it: with the chart's default heap bound (kubernetes.deployment.heapLimitMiB).
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: chartNodeOptions(), IMPRIMATUR_LOG_LEVEL: 'silent', ...env } },
  );
  // never leave the webhook running when the benchmark dies
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`the webhook process did not start within 20 s:\n${err}`)), 20_000);
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = err.match(/listening on (https:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the webhook process exited (${code}):\n${err}`));
    });
  });
  let tail = '';
  let ended: { code: number | null; signal: string | null } | undefined;
  child.on('exit', (code, signal) => { ended = { code, signal }; });
  child.stderr!.on('data', (b: Buffer) => { tail = (tail + b.toString()).slice(-4000); });
  const dispatcher = new Agent({ keepAliveTimeout: 60_000, connect: { ca: tls.cert } });
  const get = async (path: string) => {
    const res = await request(`${url}${path}`, { dispatcher });
    return res.body.text();
  };
  const metrics = async () => {
    const out = new Map<string, number>();
    for (const line of (await get('/metrics')).split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const m = line.match(/^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/);
      if (!m) continue;
      const key = m[1]! + (m[1] === 'imprimatur_config_reloads_total' ? m[2] ?? '' : '');
      out.set(key, (out.get(key) ?? 0) + Number(m[3]));
    }
    return out;
  };
  const reloads = async () => (await metrics()).get('imprimatur_config_reloads_total{result="success"}') ?? 0;
  return {
    url,
    pid: child.pid!,
    configFile,
    async post(body) {
      const res = await request(`${url}/mutate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, dispatcher });
      return { status: res.statusCode, text: await res.body.text() };
    },
    metrics,
    exit: () => ended,
    stderrTail: () => tail,
    async reload(configYaml) {
      const before = await reloads();
      writeFileSync(configFile, configYaml);
      const deadline = Date.now() + 10_000;
      while ((await reloads()) <= before) {
        if (Date.now() > deadline) throw new Error('the webhook process did not reload its configuration within 10 s');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await dispatcher.close();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** NODE_OPTIONS the Helm chart sets by default (from helm/values.yaml), so the bench measures the deployed settings. */
function chartNodeOptions(): string {
  const values = yaml.load(readFileSync(join(ROOT, 'helm', 'values.yaml'), 'utf8')) as { kubernetes?: { deployment?: { heapLimitMiB?: number } } };
  const limit = values.kubernetes?.deployment?.heapLimitMiB;
  return limit ? `--max-old-space-size=${limit}` : '';
}
