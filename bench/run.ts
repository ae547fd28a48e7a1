/**
 * `npm run bench`: prints a short table (stderr) and one JSON document (stdout). Every figure is measured
 * against a baseline in the same run. Traffic goes to loopback only (127.0.0.1; the hostile registry of the attack
 * figure also listens on 127.0.0.2…101) and is bounded in count and time.
 * Sizes: BENCH_WARM_REQUESTS (default 3000 per round), BENCH_CONCURRENCY (16), BENCH_COLD_ITERATIONS (100),
 * BENCH_FANOUT_ITERATIONS (10), BENCH_MEMORY_REQUESTS (100000).
 * Fan-out and memory run against the webhook as its own process from dist/ (`npm run bench` builds first).
 */
import { cpus } from 'node:os';
import { cold } from './cold.js';
import { fanout } from './fanout.js';
import { memory } from './memory.js';
import { attack, attackRows } from './attack.js';
import { setup } from './setup.js';
import { warm } from './warm.js';

const num = (name: string, dflt: number) => Number(process.env[name] ?? '') || dflt;
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const concurrency = num('BENCH_CONCURRENCY', 16);
  const b = await setup();
  try {
    const w = await warm(b, num('BENCH_WARM_REQUESTS', 3000), concurrency);
    const c = await cold(b, num('BENCH_COLD_ITERATIONS', 100));
    const f = await fanout(b, num('BENCH_FANOUT_ITERATIONS', 10));
    const m = await memory(b, num('BENCH_MEMORY_REQUESTS', 100_000), concurrency);
    const a = await attack();
    const doc = {
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, platform: process.platform },
      warm: { ...w, throughputRatio: round(w.throughputRatio), cpuRatio: round(w.cpuRatio), target: '>= 0.8' },
      cold: { ...c, ratio: round(c.ratio), target: '<= 1.3' },
      fanout: { ...f, latencyRatio: round(f.latencyRatio), target: 'registryRequests == expectedRegistryRequests, latencyRatio <= 2' },
      memory: { ...m, target: 'rssMiB (webhook process) < 150, no growth in the last half' },
      hostileRegistry: { ...a, target: 'peak RSS of every round below the chart memory limit; the process survives; every answer a denial' },
    };
    const rows: Array<[string, string, string, string]> = [
      ['warm throughput (req/s)', round(w.throughput, 0).toString(), `baseline ${round(w.baselineThroughput, 0)}`, `ratio ${round(w.throughputRatio)} (>= 0.8)`],
      ['warm server CPU per request (ms)', round(w.cpuPerRequestMs, 3).toString(), `baseline ${round(w.baselineCpuPerRequestMs, 3)}`, `ratio ${round(w.cpuRatio)} (baseline / webhook)`],
      ['warm p50 / p99 (ms)', `${round(w.p50Ms)} / ${round(w.p99Ms)}`, `baseline ${round(w.baselineP50Ms)} / ${round(w.baselineP99Ms)}`, `errors ${w.errors}`],
      ['cold verification (ms)', round(c.verificationMs).toString(), `bare GETs ${round(c.bareRequestsMs)}`, `ratio ${round(c.ratio)} (<= 1.3)`],
      ['fan-out registry requests', f.registryRequests.toString(), `10 x ${f.registryRequestsOneImage} = ${f.expectedRegistryRequests}`, f.registryRequests === f.expectedRegistryRequests ? 'equal' : 'DIFFERENT'],
      ['fan-out latency (ms)', round(f.latencyMs).toString(), `one image ${round(f.oneImageLatencyMs)}`, `ratio ${round(f.latencyRatio)} (<= 2)`],
      ['fan-out CPU per request (ms)', `webhook ${round(f.webhookCpuMs, 0)} + registry ${round(f.registryCpuMs, 0)}`, `one image ${round(f.oneImageWebhookCpuMs, 0)} + ${round(f.oneImageRegistryCpuMs, 0)}`, `CPU floor ratio ${round(f.cpuFloorRatio)} (${cpus().length} cores)`],
      ['webhook process RSS (MiB)', m.rssMiB.toString(), `at half ${m.rssAtHalfMiB}, start ${m.rssStartMiB}`, `growth ${m.lastHalfGrowthMiB}, ${m.requests} req, errors ${m.errors} (< 150)`],
      ...attackRows(a),
      ['bench process RSS (MiB)', m.benchProcessRssMiB.toString(), 'tsx + load generator + registry front + in-process webhook', 'not a target'],
    ];
    const width = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    process.stderr.write(`\nImprimatur benchmark (${cpus().length} CPUs, Node ${process.version}; numbers are noisy on a shared machine)\n`);
    for (const r of rows) process.stderr.write(`  ${r.map((c, i) => c.padEnd(width[i]!)).join('  ')}\n`);
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } finally {
    await b.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
