/**
 * The configuration in force: an Engine plus its alert dispatcher, swapped atomically on reload.
 * In-flight requests keep the generation they started with; a retired generation is closed once drained.
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { templateFilesFingerprint } from '../alerting/template-files.js';
import { createAlertDispatcher } from '../alerting/dispatcher.js';
import { parseConfig } from '../config/load.js';
import { templateDirsFromEnv } from '../config/load-context.js';
import { applyLogSettings } from '../log.js';
import { Engine } from '../admission/engine.js';
import type { OwnerImages, ProofOutcome } from '../admission/child-approval.js';
import { OwnerProofs } from '../admission/owner-proof.js';
import { IntegrityKey } from '../integrity/key.js';
import { processBytes } from '../registry/byte-budget.js';
import type { AlertDispatcher } from '../admission/types.js';
import type { AdmissionPhase, HandledReview } from '../admission/handler.js';
import type { AdmissionReview } from '../admission/review.js';
import type { Logger } from '../log.js';
import type { ResultStore } from '../cache/types.js';
import type { VerificationObserver } from '../admission/engine.js';
import type { OutcomeHook } from '../alerting/types.js';
import type { WorkloadCredentialsFactory } from '../pull-secrets/workload.js';

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
  /** The webhook's integrity key (owner proofs); every replica must hold the same one. Default: a random in-memory key. */
  integrityKey?: IntegrityKey;
}

class Generation {
  inflight = 0;
  retired = false;
  /**
   * `hash`: of the config text (part of every cache key). `inputs`: of the config text and the alert template files
   * it can use — a change of either is a reload (the chart projects both into one directory).
   */
  constructor(readonly engine: Engine, readonly alerts: AlertDispatcher, readonly hash: string, readonly inputs: string) {}
  async close(): Promise<void> {
    await Promise.allSettled([this.engine.close(), this.alerts.close()]);
  }
}

export interface Lease {
  engine: Engine;
  alerts: AlertDispatcher;
  release(): void;
}

/** A reload failure being reported: each distinct failure is logged once, then counted until the file is good again. */
interface ReloadFailure {
  message: string;
  since: number;
  attempts: number;
}

export class Runtime {
  ready = false;
  private current: Generation;
  private failure?: ReloadFailure;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private readonly listeners: Array<(ok: boolean, error?: Error) => void> = [];
  /** Automatic child approval lookup, installed by the server when a Kubernetes client is available. */
  ownerImages?: OwnerImages;
  /** Reads workloads' pull secrets for `auth.fromWorkload` validators, installed by the server when a Kubernetes client is available. */
  pullSecrets?: WorkloadCredentialsFactory;
  /** Observer of child-approval lookups (metrics). */
  onOwnerProof?: (outcome: ProofOutcome) => void;
  /** Issues and checks owner proofs with the integrity key. */
  readonly proofs: OwnerProofs;
  /** The integrity key (owner proofs; identity of workload credentials in cache keys). */
  private readonly integrityKey: IntegrityKey;
  /** Observer of every decided request (metrics). */
  onDecision?: (result: HandledReview, review: AdmissionReview) => void;
  /** Observer of requests the handler failed on (answered with a fail-closed denial). */
  onDecisionError?: (review: AdmissionReview, error: unknown, phase: AdmissionPhase) => void;

  constructor(readonly file: string, private readonly options: RuntimeOptions) {
    this.file = resolve(file);
    this.options = { ...options, templateDirs: options.templateDirs ?? templateDirsFromEnv() };
    this.integrityKey = options.integrityKey ?? IntegrityKey.random();
    const text = readFileSync(this.file, 'utf8');
    this.current = this.build(text, this.inputsOf(text, undefined));
    this.proofs = new OwnerProofs(this.integrityKey);
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

  /**
   * Loads the file (and the alert templates) again; keeps the old config (and says why, once per distinct
   * failure) when the new one is invalid, and does nothing when nothing changed.
   */
  reload(): { changed: boolean; error?: Error } {
    let text: string;
    let inputs: string;
    try {
      text = readFileSync(this.file, 'utf8');
      inputs = this.inputsOf(text, this.current.engine.config.alerting);
    } catch (err) {
      return this.reloadFailed(err as Error);
    }
    if (inputs === this.current.inputs) {
      this.recovered(false);
      return { changed: false };
    }
    let next: Generation;
    try {
      next = this.build(text, inputs);
    } catch (err) {
      return this.reloadFailed(err as Error);
    }
    const old = this.current;
    this.current = next;
    old.retired = true;
    if (old.inflight === 0) void old.close();
    const cfg = next.engine.config;
    // detectionMode: whether denials block from now on (issue 19 item 10).
    this.options.logger.info({ file: this.file, validators: cfg.validators.length, rules: cfg.policy.length, detectionMode: cfg.features.detectionMode }, 'configuration reloaded');
    this.recovered(true);
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

  private build(text: string, inputs: string): Generation {
    const config = parseConfig(text, this.file, { mode: 'serve', secretsDir: this.options.secretsDir, templateDirs: this.options.templateDirs });
    applyLogSettings(this.options.logger, config);
    // Logged once per loaded config (a reload builds only when the file changed).
    for (const w of config.warnings) this.options.logger.warn({ file: this.file, path: w.path }, `configuration warning: ${w.path ? `${w.path}: ` : ''}${w.message}`);
    const generation = hash(text);
    const { cache, observer, onAlertOutcome } = this.options;
    // The process's byte budget follows the configuration in force (it bounds the whole process).
    processBytes.resize(config.limits.bytesInFlight);
    const engine = new Engine(config, { logger: this.options.logger, secretsDir: this.options.secretsDir, cache, generation, observer, integrityKey: this.integrityKey });
    const alerts = createAlertDispatcher(config.alerting, { logger: this.options.logger, templateDirs: this.options.templateDirs, onOutcome: onAlertOutcome });
    return new Generation(engine, alerts, generation, inputs);
  }

  /** Fingerprint of the config text and of the template files in the configured template directories. */
  private inputsOf(text: string, alerting: unknown): string {
    const own = (alerting as { templateDirectory?: unknown } | undefined)?.templateDirectory;
    const dirs = [...(typeof own === 'string' ? [own] : []), ...(this.options.templateDirs ?? [])];
    return hash(`${hash(text)}\n${templateFilesFingerprint(dirs)}`);
  }

  /** Every failed attempt is counted (metric); a failure is logged when it differs from the one last logged. */
  private reloadFailed(error: Error): { changed: boolean; error: Error } {
    const previous = this.failure;
    if (previous?.message === error.message) {
      previous.attempts++;
    } else {
      this.failure = { message: error.message, since: previous?.since ?? Date.now(), attempts: (previous?.attempts ?? 0) + 1 };
      this.options.logger.error(
        { file: this.file, error: error.message, ...(previous ? { previousError: previous.message } : {}) },
        'configuration reload failed; the previous configuration stays in force (logged again only when the failure changes)',
      );
    }
    for (const l of this.listeners) l(false, error);
    return { changed: false, error };
  }

  /** Ends a failure episode: a new configuration was loaded, or the file again holds the one in force. */
  private recovered(reloaded: boolean): void {
    const failure = this.failure;
    if (!failure) return;
    this.failure = undefined;
    this.options.logger.info(
      { file: this.file, failedAttempts: failure.attempts, failingForMs: Date.now() - failure.since, lastError: failure.message },
      reloaded
        ? 'configuration reload recovered: the new configuration is in force'
        : 'configuration reload recovered: the file again holds the configuration in force',
    );
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
