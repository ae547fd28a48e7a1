/**
 * The AlertDispatcher the admission handler calls once per decided request.
 *
 * - Rejections, and admits for receivers without failIfAlertSendingFails, go through a bounded queue: dispatch()
 *   returns without waiting for them. A full queue drops the alert with a log line and an onOutcome('dropped').
 * - Admits for receivers with failIfAlertSendingFails are sent at once and awaited (bounded by the request's
 *   AbortSignal); failures are returned in blockingFailures so the handler denies the request.
 * - Every failed, dropped or suppressed alert is logged; header values and URL paths never are.
 */
import { hostname } from 'node:os';
import { Ajv } from 'ajv';
import type { AdmissionEvent, AlertDispatcher, AlertDispatchResult } from '../admission/types.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { schemaProblems } from '../config/schema-errors.js';
import { parseAlertingConfig } from './config.js';
import { dedupeKey, Deduper } from './dedupe.js';
import { renderPayload } from './payload.js';
import { BoundedQueue } from './queue.js';
import { alertingSchema } from './schema.js';
import { createHttpClient, DEFAULT_SEND_POLICY, sendAlert, type SendPolicy } from './sender.js';
import { loadTemplate, type CompiledTemplate } from './template-files.js';
import { buildVariables } from './variables.js';
import type { AlertOutcome, OutcomeHook, ReceiverConfig } from './types.js';

export interface AlertDispatcherOptions {
  logger: Logger;
  /** Extra template directories, searched after alerting.templateDirectory and before the shipped alert-templates (always searched last). */
  templateDirs?: string[];
  /** Webhook pod name for templates (default env POD_NAME, else the hostname). */
  podId?: string;
  /** Metrics hook: one call per alert and receiver. */
  onOutcome?: OutcomeHook;
  /** Per-attempt timeout (default 3000). */
  timeoutMs?: number;
  /** Alerts waiting to be sent before new ones are dropped (default 1000). */
  maxQueue?: number;
  /** Alerts sent in parallel from the queue (default 4). */
  concurrency?: number;
  /** Retries after the first attempt (default 2), and their backoff. */
  retries?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long close() waits for queued alerts (default 5000). */
  drainTimeoutMs?: number;
  /** Environment for `${VAR}` (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Clock in ms (dedupe windows). */
  now?: () => number;
  /** Config file name for ConfigError messages. */
  file?: string;
}

export interface AlertingStats {
  sent: number;
  failed: number;
  dropped: number;
  suppressed: number;
  /** Not sent because the template rendered an empty payload. */
  empty: number;
  /** Waiting in the queue now. */
  queued: number;
  inFlight: number;
}

/** AlertDispatcher plus introspection (additive; the admission handler only needs AlertDispatcher). */
export interface AlertingDispatcher extends AlertDispatcher {
  stats(): AlertingStats;
  /** Resolves when no queued alert is waiting or being sent. */
  idle(): Promise<void>;
  readonly receivers: readonly string[];
}

interface Job {
  receiver: ReceiverConfig;
  body: string;
  uid: string;
}

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
const validateSchema = ajv.compile(alertingSchema);

function describe(r: ReceiverConfig): string {
  return `${r.name} (${r.template} at ${r.receiverOrigin})`;
}

/**
 * `raw` is the `alerting` section (or undefined → a dispatcher that does nothing). Validates it (schema and
 * load-time checks) and throws ConfigError with every problem; compiles the templates once.
 */
export function createAlertDispatcher(raw: unknown, opts: AlertDispatcherOptions): AlertingDispatcher {
  const file = opts.file ?? 'configuration';
  if (raw !== undefined && raw !== null && !validateSchema(raw)) {
    throw new ConfigError(file, schemaProblems(validateSchema.errors, 'alerting.'));
  }
  const env = opts.env ?? process.env;
  const { config, problems } = parseAlertingConfig(raw, 'alerting', { templateDirs: opts.templateDirs, env });
  if (!config) throw new ConfigError(file, problems);

  const logger = opts.logger.child({ component: 'alerting' });
  const podId = opts.podId ?? env.POD_NAME ?? hostname();
  const now = opts.now ?? Date.now;
  const policy: SendPolicy = {
    timeoutMs: opts.timeoutMs ?? DEFAULT_SEND_POLICY.timeoutMs,
    retries: opts.retries ?? DEFAULT_SEND_POLICY.retries,
    retryBaseMs: opts.retryBaseMs ?? DEFAULT_SEND_POLICY.retryBaseMs,
    retryMaxMs: opts.retryMaxMs ?? DEFAULT_SEND_POLICY.retryMaxMs,
  };
  const client = createHttpClient();
  const templates = new Map<ReceiverConfig, CompiledTemplate>(config.receivers.map((r) => [r, loadTemplate(r.templateFile)]));
  const stats = { sent: 0, failed: 0, dropped: 0, suppressed: 0, empty: 0 };
  let closed = false;

  const outcome = (r: ReceiverConfig, o: AlertOutcome): void => {
    stats[o]++;
    try {
      opts.onOutcome?.(r.name, o);
    } catch (err) {
      logger.warn({ err }, 'alerting onOutcome hook threw');
    }
  };
  const fields = (r: ReceiverConfig, uid: string): Record<string, unknown> => ({
    receiver: r.name,
    template: r.template,
    receiverOrigin: r.receiverOrigin,
    requestUid: uid,
  });

  /** Sends one alert and logs/counts the result; returns the failure reason, if any. */
  async function deliver(job: Job, signal: AbortSignal): Promise<string | undefined> {
    const result = await sendAlert(client, job.receiver.receiverUrl, job.receiver.headers, job.body, policy, signal);
    if (result.ok) {
      outcome(job.receiver, 'sent');
      logger.debug({ ...fields(job.receiver, job.uid), status: result.status, attempts: result.attempts }, 'alert sent');
      return undefined;
    }
    outcome(job.receiver, 'failed');
    logger.warn(
      { ...fields(job.receiver, job.uid), status: result.status, attempts: result.attempts, reason: result.reason, response: result.responseExcerpt },
      `alert to ${job.receiver.name} failed: ${result.reason}`,
    );
    return result.reason;
  }

  const queue = new BoundedQueue<Job>(async (job, signal) => void (await deliver(job, signal)), opts.maxQueue ?? 1000, opts.concurrency ?? 4);
  const deduper = new Deduper(10_000, (n) => logger.info({ suppressed: n }, `forgot ${n} suppressed alert(s) of an old dedupe window`));

  async function dispatch(event: AdmissionEvent, signal: AbortSignal): Promise<AlertDispatchResult> {
    const receivers = config!.receivers.filter((r) => r.decision === event.decision);
    const blocking: Array<Promise<string | undefined>> = [];
    const blockingReceivers: ReceiverConfig[] = [];
    for (const receiver of receivers) {
      const waits = event.decision === 'admit' && receiver.failIfAlertSendingFails;
      if (closed) {
        outcome(receiver, 'dropped');
        logger.warn(fields(receiver, event.uid), `alert to ${receiver.name} dropped: alerting is shut down`);
        if (waits) {
          blocking.push(Promise.resolve('alerting is shutting down'));
          blockingReceivers.push(receiver);
        }
        continue;
      }
      const verdict = deduper.check(receiver.name, dedupeKey(event), receiver.dedupeSeconds, now());
      if (!verdict.send) {
        outcome(receiver, 'suppressed');
        logger.debug({ ...fields(receiver, event.uid), suppressedSoFar: verdict.suppressedCount }, `alert to ${receiver.name} suppressed (duplicate within ${receiver.dedupeSeconds}s)`);
        continue;
      }
      let body: string | undefined;
      try {
        const vars = buildVariables(event, {
          cluster: config!.clusterIdentifier,
          podId,
          priority: receiver.priority,
          receiver: receiver.name,
          suppressedCount: verdict.suppressedCount,
          dedupeSeconds: receiver.dedupeSeconds,
        });
        const payload = renderPayload(templates.get(receiver)!, vars, receiver.payloadFields, receiver.template);
        body = payload === undefined ? undefined : JSON.stringify(payload);
      } catch (err) {
        outcome(receiver, 'failed');
        logger.error({ ...fields(receiver, event.uid), err }, `alert to ${receiver.name} could not be rendered`);
        if (waits) {
          blocking.push(Promise.resolve(`template could not be rendered: ${(err as Error).message}`));
          blockingReceivers.push(receiver);
        }
        continue;
      }
      if (body === undefined) {
        // The template rendered nothing (blank or {}): nothing to send, as in Connaisseur; not a failure.
        outcome(receiver, 'empty');
        logger.debug(fields(receiver, event.uid), `alert to ${receiver.name} not sent: its template rendered an empty payload`);
        continue;
      }
      const job: Job = { receiver, body, uid: event.uid };
      if (waits) {
        blocking.push(deliver(job, signal));
        blockingReceivers.push(receiver);
      } else if (!queue.push(job)) {
        outcome(receiver, 'dropped');
        logger.warn({ ...fields(receiver, event.uid), dropped: stats.dropped }, `alert to ${receiver.name} dropped: queue full (${opts.maxQueue ?? 1000} waiting)`);
      }
    }
    const reasons = await Promise.all(blocking);
    const blockingFailures: string[] = [];
    reasons.forEach((reason, i) => {
      if (reason !== undefined) blockingFailures.push(`${describe(blockingReceivers[i]!)}: ${reason}`);
    });
    return { blockingFailures };
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    const abandoned = await queue.drain(opts.drainTimeoutMs ?? 5000);
    for (const job of abandoned) {
      outcome(job.receiver, 'dropped');
      logger.warn(fields(job.receiver, job.uid), `alert to ${job.receiver.name} dropped: not sent before shutdown`);
    }
  }

  return {
    dispatch,
    close,
    idle: () => queue.idle(),
    stats: () => ({ ...stats, queued: queue.size, inFlight: queue.inFlight }),
    receivers: config.receivers.map((r) => r.name),
  };
}
