/**
 * The configuration in force: an Engine plus its alert dispatcher, swapped atomically on reload.
 * In-flight requests keep the generation they started with; a retired generation is closed once drained.
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createAlertDispatcher } from '../alerting/dispatcher.js';
import { parseConfig } from '../config/load.js';
import { Engine } from '../admission/engine.js';
import type { AdmissionRequest } from '../admission/review.js';
import type { AlertDispatcher } from '../admission/types.js';
import type { HandledReview } from '../admission/handler.js';
import type { AdmissionReview } from '../admission/review.js';
import type { Logger } from '../log.js';
import type { ResultStore } from '../cache/types.js';
import type { VerificationObserver } from '../admission/engine.js';
import type { OutcomeHook } from '../alerting/types.js';

export interface RuntimeOptions {
  logger: Logger;
  secretsDir?: string;
  templateDirs?: string[];
  /** How often the config file is checked for changes (ms); 0 disables watching. Default 2000. */
  reloadPollMs?: number;
  /** Verification results store shared by every generation (each generation's keys carry its config hash). */
  cache?: ResultStore;
  /** Metrics hooks: verifications and cache lookups, alert outcomes. */
  observer?: VerificationObserver;
  onAlertOutcome?: OutcomeHook;
}

class Generation {
  inflight = 0;
  retired = false;
  constructor(readonly engine: Engine, readonly alerts: AlertDispatcher, readonly hash: string) {}
  async close(): Promise<void> {
    await Promise.allSettled([this.engine.close(), this.alerts.close()]);
  }
}

export interface Lease {
  engine: Engine;
  alerts: AlertDispatcher;
  release(): void;
}

export class Runtime {
  ready = false;
  private current: Generation;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private readonly listeners: Array<(ok: boolean, error?: Error) => void> = [];
  /** Automatic child approval lookup, installed by the server when a Kubernetes client is available. */
  ownerImages?: (request: AdmissionRequest, signal: AbortSignal) => Promise<Set<string> | undefined>;
  /** Observer of every decided request (metrics). */
  onDecision?: (result: HandledReview, review: AdmissionReview) => void;
  /** Observer of requests the handler failed on (answered with a fail-closed denial). */
  onDecisionError?: (review: AdmissionReview, error: unknown) => void;

  constructor(readonly file: string, private readonly options: RuntimeOptions) {
    this.file = resolve(file);
    this.options = { ...options, templateDirs: options.templateDirs ?? process.env.IMPRIMATUR_TEMPLATE_DIRS?.split(':').filter(Boolean) };
    this.current = this.build(readFileSync(this.file, 'utf8'));
  }

  get engine(): Engine {
    return this.current.engine;
  }

  acquire(): Lease {
    const gen = this.current;
    gen.inflight++;
    let released = false;
    return {
      engine: gen.engine,
      alerts: gen.alerts,
      release: () => {
        if (released) return;
        released = true;
        gen.inflight--;
        if (gen.retired && gen.inflight === 0) void gen.close();
      },
    };
  }

  /** Loads the file again; keeps the old config (and says why) when the new one is invalid or unchanged. */
  reload(): { changed: boolean; error?: Error } {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      return this.reloadFailed(err as Error);
    }
    if (hash(text) === this.current.hash) return { changed: false };
    let next: Generation;
    try {
      next = this.build(text);
    } catch (err) {
      return this.reloadFailed(err as Error);
    }
    const old = this.current;
    this.current = next;
    old.retired = true;
    if (old.inflight === 0) void old.close();
    this.options.logger.info({ file: this.file, validators: next.engine.config.validators.length, rules: next.engine.config.policy.length }, 'configuration reloaded');
    for (const l of this.listeners) l(true);
    return { changed: true };
  }

  onReload(listener: (ok: boolean, error?: Error) => void): void {
    this.listeners.push(listener);
  }

  /** Watches the config file (a ConfigMap update swaps a symlink in its directory) and reloads on change. */
  watch(): void {
    const pollMs = this.options.reloadPollMs ?? 2000;
    if (pollMs <= 0) return;
    let pending: NodeJS.Timeout | undefined;
    const soon = () => {
      clearTimeout(pending);
      pending = setTimeout(() => this.reload(), 100);
      pending.unref();
    };
    try {
      this.watcher = watch(dirname(this.file), soon);
      this.watcher.on('error', () => undefined);
      this.watcher.unref();
    } catch {
      // Polling below still notices changes.
    }
    this.timer = setInterval(() => this.reload(), pollMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.watcher?.close();
    clearInterval(this.timer);
    this.ready = false;
    this.current.retired = true;
    await this.current.close();
  }

  private build(text: string): Generation {
    const config = parseConfig(text, this.file, { secretsDir: this.options.secretsDir, templateDirs: this.options.templateDirs });
    const generation = hash(text);
    const { cache, observer, onAlertOutcome } = this.options;
    const engine = new Engine(config, { logger: this.options.logger, secretsDir: this.options.secretsDir, cache, generation, observer });
    const alerts = createAlertDispatcher(config.alerting, { logger: this.options.logger, templateDirs: this.options.templateDirs, onOutcome: onAlertOutcome });
    return new Generation(engine, alerts, generation);
  }

  private reloadFailed(error: Error): { changed: boolean; error: Error } {
    this.options.logger.error({ file: this.file, error: error.message }, 'configuration reload failed; the previous configuration stays in force');
    for (const l of this.listeners) l(false, error);
    return { changed: false, error };
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
