/**
 * Evaluates CEL policies off the admission thread, with a cost limit.
 *
 * No CEL library for JavaScript meters evaluation cost, and a CEL expression can do polynomial work
 * (nested comprehensions over a large predicate), build huge values or run a backtracking regular
 * expression (`matches`). So every evaluation runs in a worker thread with:
 * - a time budget (COST_LIMIT_MS per evaluation, counted from when the worker starts it): a worker
 *   that overruns is terminated and replaced, and the policy fails with "cost limit exceeded";
 * - a heap bound (resourceLimits): a worker that runs out of memory is replaced the same way.
 * The event loop that answers admission requests never runs policy code, so it cannot stall.
 *
 * One worker, started on first use and kept (unref'd: it never keeps a CLI process alive); jobs wait in
 * a queue (a bounded wait: each job ahead of them is bounded by the budget). Results are cached with
 * the verification, so the same policy on the same attestation is evaluated once per cache period.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { SandboxJob, SandboxReply } from './protocol.js';

/** Time budget of one evaluation (a legitimate policy takes well under a millisecond). */
export const COST_LIMIT_MS = 250;
/** Heap bound of the worker, in MiB (a statement is at most a few MiB of JSON). */
export const MEMORY_LIMIT_MB = 128;
/** How long a new worker may take to load (not counted against any policy). */
const START_TIMEOUT_MS = 15_000;

export type PolicyValue = { value: boolean } | { error: string };

interface Pending {
  job: SandboxJob;
  resolve(result: PolicyValue): void;
  signal: AbortSignal;
  onAbort(): void;
}

const here = import.meta.url;

/** URL of tsx's ESM API (its `register()` installs the TypeScript hooks), from tsx's package exports. */
function tsxEsmApi(): string {
  const manifest = createRequire(here).resolve('tsx/package.json');
  const exported = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api']!.import.default;
  return pathToFileURL(join(dirname(manifest), exported)).href;
}

/** The worker module beside this one: `worker.js` from dist, `worker.ts` when run from source by tsx. */
function spawnWorker(options: WorkerOptions): Worker {
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here), options);
  // Node 20 does not apply tsx's module hooks to a worker's entry module: register them in the worker first.
  const tsx = tsxEsmApi();
  const code = `import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(new URL('./worker.ts', here).href)}))`;
  return new Worker(code, { ...options, eval: true });
}

export interface SandboxOptions {
  costLimitMs?: number;
  memoryLimitMb?: number;
}

export class CelSandbox {
  private worker?: Worker;
  private ready = false;
  private running?: Pending;
  private timer?: NodeJS.Timeout;
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private readonly costLimitMs: number;
  private readonly memoryLimitMb: number;
  /** Workers replaced after an overrun or a crash (tests, logs). */
  restarts = 0;

  constructor(opts: SandboxOptions = {}) {
    this.costLimitMs = opts.costLimitMs ?? COST_LIMIT_MS;
    this.memoryLimitMb = opts.memoryLimitMb ?? MEMORY_LIMIT_MB;
  }

  /**
   * Evaluates `expression` (which passed compilePolicy) on the statement `statement` (JSON text).
   * Never rejects: a policy that fails to evaluate, overruns its budget or is abandoned at the
   * deadline resolves with `{ error }`.
   */
  evaluate(expression: string, statement: string, now: Date, signal: AbortSignal): Promise<PolicyValue> {
    if (signal.aborted) return Promise.resolve({ error: 'not evaluated: the admission deadline passed' });
    return new Promise<PolicyValue>((resolve) => {
      const pending: Pending = {
        job: { id: this.nextId++, expression, statement, now: now.getTime() },
        signal,
        resolve: (result) => {
          signal.removeEventListener('abort', pending.onAbort);
          resolve(result);
        },
        onAbort: () => {
          const queued = this.queue.indexOf(pending);
          if (queued >= 0) this.queue.splice(queued, 1);
          pending.resolve({ error: 'not evaluated: the admission deadline passed' });
          this.holdProcess();
        },
      };
      signal.addEventListener('abort', pending.onAbort, { once: true });
      this.queue.push(pending);
      this.pump();
    });
  }

  /** Stops the worker (pending evaluations resolve with an error). */
  async close(): Promise<void> {
    for (const p of this.queue.splice(0)) p.resolve({ error: 'not evaluated: the policy sandbox was closed' });
    this.finishRunning({ error: 'not evaluated: the policy sandbox was closed' });
    const w = this.worker;
    this.worker = undefined;
    this.ready = false;
    await w?.terminate();
  }

  private pump(): void {
    if (!this.running && this.queue.length > 0) {
      const worker = this.worker ?? this.start();
      if (this.ready) {
        const next = this.queue.shift()!;
        this.running = next;
        this.timer = setTimeout(() => this.overrun(), this.costLimitMs);
        worker.postMessage(next.job);
      }
    }
    this.holdProcess();
  }

  /** The worker keeps the process alive only while evaluations are pending (a CLI exits when done). */
  private holdProcess(): void {
    if (!this.worker) return;
    if (this.running || this.queue.length > 0) this.worker.ref();
    else this.worker.unref();
  }

  private start(): Worker {
    const worker = spawnWorker({
      resourceLimits: { maxOldGenerationSizeMb: this.memoryLimitMb, maxYoungGenerationSizeMb: Math.min(32, this.memoryLimitMb), stackSizeMb: 4 },
      stdout: false,
      stderr: false,
    });
    this.worker = worker;
    this.ready = false;
    const startTimer = setTimeout(() => this.crashed(worker, `the policy sandbox did not start within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    startTimer.unref();
    worker.on('message', (msg: SandboxReply | { ready: true }) => {
      if (worker !== this.worker) return;
      if ('ready' in msg) {
        clearTimeout(startTimer);
        this.ready = true;
        this.pump();
        return;
      }
      if (this.running?.job.id !== msg.id) return;
      this.finishRunning('error' in msg ? { error: msg.error } : { value: msg.value });
      this.pump();
    });
    worker.on('error', (err: Error & { code?: string }) => {
      clearTimeout(startTimer);
      const why = err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? `memory limit exceeded (more than ${this.memoryLimitMb} MiB)`
        : `the policy sandbox failed (${err.message})`;
      this.crashed(worker, why);
    });
    worker.on('exit', () => {
      clearTimeout(startTimer);
      this.crashed(worker, 'the policy sandbox stopped unexpectedly');
    });
    return worker;
  }

  private finishRunning(result: PolicyValue): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const running = this.running;
    this.running = undefined;
    running?.resolve(result);
    this.holdProcess();
  }

  /** The running evaluation took longer than its budget: stop it by replacing the worker. */
  private overrun(): void {
    const worker = this.worker;
    this.worker = undefined;
    this.ready = false;
    this.restarts++;
    void worker?.terminate();
    this.finishRunning({ error: `cost limit exceeded: evaluation was stopped after ${this.costLimitMs} ms` });
    this.pump();
  }

  private crashed(worker: Worker, why: string): void {
    if (worker !== this.worker) return;
    this.worker = undefined;
    this.ready = false;
    this.restarts++;
    void worker.terminate();
    if (this.running) {
      this.finishRunning({ error: why });
    } else {
      // The worker could not start: fail what waits rather than retrying forever.
      for (const p of this.queue.splice(0)) p.resolve({ error: why });
    }
    this.pump();
  }
}

let shared: CelSandbox | undefined;

/** The process-wide sandbox (started on first evaluation). */
export function policySandbox(): CelSandbox {
  shared ??= new CelSandbox();
  return shared;
}
