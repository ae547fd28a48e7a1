/**
 * Memory under a hostile-registry attack (issue 11, item 8): one Pod with 50, then 100 distinct images, each from its
 * own origin of a registry serving ~4 MiB signature manifests and referrers indexes and stalled blobs
 * (bench/hostile-registry.ts). The webhook runs as its own process from dist/ with the chart's heap bound; its peak
 * resident memory (VmHWM in /proc) is compared with the chart's memory limit (helm/values.yaml). Baseline, same run:
 * the same process's RSS after a warm-up request.
 *
 * `npm run bench:attack` alone, or as part of `npm run bench`.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { localSelfSigned } from '../src/server/tls.js';
import { generateTestKey } from '../test/harness/cosign-signing.js';
import { startHostileRegistry } from './hostile-registry.js';
import { podReview } from './setup.js';
import { startWebhookProcess } from './webhook-process.js';

export interface AttackRound {
  images: number;
  /** limits.imagesPerRequest in force (the default, or raised to let the byte bounds alone hold the line). */
  imagesPerRequest: number;
  peakRssMiB: number;
  durationMs: number;
  /** `denied` / `admitted` / HTTP status; the answer must always be a well-formed AdmissionReview. */
  answer: string;
  message: string;
  alive: boolean;
}

export interface AttackResult {
  chartMemoryLimitMiB: number;
  heapLimitMiB: number | undefined;
  baselineRssMiB: number;
  rounds: AttackRound[];
}

const mib = (kb: number) => Math.round((kb / 1024) * 10) / 10;

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return Number(line?.match(/(\d+)/)?.[1] ?? NaN);
}

function chartLimits(): { memoryMiB: number; heapMiB: number | undefined } {
  const values = yaml.load(readFileSync(join(process.cwd(), 'helm', 'values.yaml'), 'utf8')) as {
    kubernetes: { deployment: { resources: { limits: { memory: string } }; heapLimitMiB?: number } };
  };
  const raw = values.kubernetes.deployment.resources.limits.memory;
  const m = /^(\d+)(Mi|Gi)$/.exec(raw);
  if (!m) throw new Error(`cannot read the chart's memory limit "${raw}"`);
  return { memoryMiB: Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1), heapMiB: values.kubernetes.deployment.heapLimitMiB };
}

/** Each round: the Pod's distinct images, and limits.imagesPerRequest (undefined: the default). */
const ROUNDS: Array<{ images: number; imagesPerRequest?: number }> = [
  { images: 32 }, { images: 50 }, { images: 100 },
  { images: 50, imagesPerRequest: 1000 }, { images: 100, imagesPerRequest: 1000 },
];

export async function attack(rounds = ROUNDS): Promise<AttackResult> {
  const limits = chartLimits();
  const hostile = await startHostileRegistry(Math.max(...rounds.map((r) => r.images)));
  const key = generateTestKey();
  const pem = key.publicPem.trim().split('\n').map((l) => `          ${l}`).join('\n');
  const config = `validators:
  - name: default
    type: static
    approve: false
  - name: signed
    type: cosign
    trustRoots:
      - name: default
        key: |
${pem}
policy:
  - pattern: "*:*"
  - pattern: "127.0.0.*"
    validator: signed
    with:
      verifyInTransparencyLog: false
insecureRegistries: ${JSON.stringify(hostile.hosts)}
features:
  cache:
    expirySeconds: 0
`;
  const configFor = (imagesPerRequest?: number) => `${config}${imagesPerRequest ? `limits:\n  imagesPerRequest: ${imagesPerRequest}\n` : ''}`;
  const tls = localSelfSigned(join(tmpdir(), 'imprimatur-test-tls'));
  const proc = await startWebhookProcess(configFor(undefined), tls);
  const results: AttackRound[] = [];
  let current: number | undefined;
  try {
    // warm-up: one benign request (statically denied image), then the baseline RSS
    await proc.post(podReview(['quay.io/someone/app:1.0']));
    const baselineRssMiB = mib(procStatus(proc.pid, 'VmRSS'));
    let offset = 0;
    for (const { images: n, imagesPerRequest } of rounds) {
      if (imagesPerRequest !== current) {
        await proc.reload(configFor(imagesPerRequest));
        current = imagesPerRequest;
      }
      const images = Array.from({ length: n }, (_, i) => `${hostile.host(i)}/attack/app${offset + i}:1.0`);
      offset += n;
      const started = Date.now();
      let answer = 'no answer';
      let message = '';
      // peak resident memory, sampled while the request is in flight (VmHWM is lost if the process dies)
      let peak = procStatus(proc.pid, 'VmHWM');
      const sampler = setInterval(() => {
        try {
          const now = procStatus(proc.pid, 'VmHWM');
          if (!Number.isNaN(now)) peak = Math.max(peak, now); // a dead (zombie) process has no VmHWM line
        } catch {
          // gone
        }
      }, 20);
      try {
        const res = await proc.post(podReview(images));
        const body = JSON.parse(res.text) as { response?: { allowed?: boolean; status?: { message?: string } } };
        answer = res.status !== 200 ? `HTTP ${res.status}` : body.response?.allowed ? 'admitted' : 'denied';
        message = body.response?.status?.message?.slice(0, 300) ?? '';
      } catch (err) {
        answer = `request failed: ${(err as Error).message}`;
      }
      clearInterval(sampler);
      await new Promise((r) => setTimeout(r, 200));
      const exit = proc.exit();
      const alive = exit === undefined;
      if (alive) peak = Math.max(peak, procStatus(proc.pid, 'VmHWM') || 0);
      else message = `the webhook process exited (${exit.code ?? exit.signal}): ${proc.stderrTail().split('\n').filter(Boolean).slice(-3).join(' | ').slice(0, 400)}`;
      results.push({ images: n, imagesPerRequest: imagesPerRequest ?? 32, peakRssMiB: mib(peak), durationMs: Date.now() - started, answer, message, alive });
      if (!alive) break;
    }
    return { chartMemoryLimitMiB: limits.memoryMiB, heapLimitMiB: limits.heapMiB, baselineRssMiB, rounds: results };
  } finally {
    await proc.close();
    await hostile.stop();
  }
}

/** The table lines `npm run bench` prints for this figure. */
export function attackRows(r: AttackResult): Array<[string, string, string, string]> {
  return r.rounds.map((round) => [
    `hostile registry, Pod with ${round.images} images (imagesPerRequest ${round.imagesPerRequest}): peak RSS (MiB)`,
    `${round.peakRssMiB}${round.alive ? '' : ' (then the process died)'}`,
    `baseline ${r.baselineRssMiB}, chart limit ${r.chartMemoryLimitMiB}`,
    `ratio to limit ${(round.peakRssMiB / r.chartMemoryLimitMiB).toFixed(2)} (< 1), ${round.answer} in ${round.durationMs} ms`,
  ]);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  attack().then(
    (r) => {
      for (const row of attackRows(r)) process.stderr.write(`  ${row.join('  ')}\n`);
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`attack benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
