/**
 * Kubernetes Events for denials (and detection's would-be denials), in the namespace of the request, so
 * `kubectl get events -n <ns>` shows them next to the workload's own events.
 *
 * Never on the admission path: record() returns at once, the API call runs in the background and a failure is
 * logged (each distinct failure once) and counted. Rate-limited like client-go's recorder, because a crash-looping
 * controller can be denied many times a second:
 *   - aggregation: the same object, reason and message within `aggregateWindowMs` updates the existing Event's
 *     `count` and `lastTimestamp` (at most one patch per `patchIntervalMs` per Event) instead of creating another;
 *   - a token bucket per namespace (`burst`, refilled at `perNamespacePerMinute`) and one for the whole process
 *     (`globalPerSecond`); without a token the Event is dropped and counted.
 * Dry-run requests never create Events (the webhook declares sideEffects: NoneOnDryRun).
 */
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.js';

export type EventOutcome = 'created' | 'aggregated' | 'dropped' | 'failed';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export interface DenialEventInput {
  object: InvolvedObject;
  /** `ImprimaturDenied` or `ImprimaturWouldDeny` (detection). */
  reason: string;
  message: string;
}

/** The two API calls the recorder needs; kubernetesEventWriter() is the real one. */
export interface EventWriter {
  create(namespace: string, event: Record<string, unknown>): Promise<void>;
  patch(namespace: string, name: string, patch: { count: number; lastTimestamp: string }): Promise<void>;
}

export interface EventRecorderOptions {
  writer: EventWriter;
  logger: Logger;
  /** reportingInstance / source.host: the pod name. */
  instance?: string;
  onOutcome?: (outcome: EventOutcome) => void;
  now?: () => number;
  burst?: number;
  perNamespacePerMinute?: number;
  globalPerSecond?: number;
  aggregateWindowMs?: number;
  patchIntervalMs?: number;
}

/** Kubernetes limits an Event message to 1 KiB of useful text; longer ones are cut with an ellipsis. */
export const MAX_MESSAGE = 1024;

class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(private readonly capacity: number, private readonly perMs: number, now: number) {
    this.tokens = capacity;
    this.last = now;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface Aggregate {
  namespace: string;
  name: string;
  count: number;
  /** count already written to the API server */
  written: number;
  firstSeen: number;
  lastSeen: number;
  timer?: NodeJS.Timeout;
}

export class EventRecorder {
  private readonly now: () => number;
  private readonly buckets = new LRUCache<string, TokenBucket>({ max: 10_000 });
  private readonly global: TokenBucket;
  private readonly aggregates: LRUCache<string, Aggregate>;
  private readonly failures = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly o: EventRecorderOptions) {
    this.now = o.now ?? Date.now;
    this.global = new TokenBucket(o.globalPerSecond ?? 20, (o.globalPerSecond ?? 20) / 1000, this.now());
    this.aggregates = new LRUCache<string, Aggregate>({
      max: 4096,
      dispose: (a) => clearTimeout(a.timer),
    });
  }

  /** Records a denial; returns at once. */
  record(input: DenialEventInput): void {
    if (this.closed) return;
    const now = this.now();
    const message = input.message.length <= MAX_MESSAGE ? input.message : `${input.message.slice(0, MAX_MESSAGE - 1)}…`;
    const { object } = input;
    const key = JSON.stringify([object.namespace, object.kind, object.name, input.reason, message]);
    const existing = this.aggregates.get(key);
    if (existing && now - existing.firstSeen <= (this.o.aggregateWindowMs ?? 10 * 60_000)) {
      existing.count++;
      existing.lastSeen = now;
      this.o.onOutcome?.('aggregated');
      this.schedulePatch(key, existing);
      return;
    }
    if (!this.allowed(object.namespace, now)) {
      this.o.onOutcome?.('dropped');
      return;
    }
    const name = eventName(object.name, now);
    const agg: Aggregate = { namespace: object.namespace, name, count: 1, written: 1, firstSeen: now, lastSeen: now };
    this.aggregates.set(key, agg);
    const at = new Date(now).toISOString();
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: object.namespace, labels: { 'app.kubernetes.io/managed-by': 'imprimatur' } },
      involvedObject: { apiVersion: object.apiVersion, kind: object.kind, name: object.name, namespace: object.namespace, ...(object.uid ? { uid: object.uid } : {}) },
      reason: input.reason,
      message,
      type: 'Warning',
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: 'imprimatur', ...(this.o.instance ? { host: this.o.instance } : {}) },
      reportingComponent: 'imprimatur.dev/webhook',
      reportingInstance: this.o.instance ?? '',
    };
    this.track(this.o.writer.create(object.namespace, event).then(
      () => this.o.onOutcome?.('created'),
      (err: unknown) => {
        this.aggregates.delete(key);
        this.failed('create', object.namespace, err);
      },
    ));
  }

  private allowed(namespace: string, now: number): boolean {
    let bucket = this.buckets.get(namespace);
    if (!bucket) {
      bucket = new TokenBucket(this.o.burst ?? 10, (this.o.perNamespacePerMinute ?? 6) / 60_000, now);
      this.buckets.set(namespace, bucket);
    }
    return bucket.take(now) && this.global.take(now);
  }

  private schedulePatch(key: string, agg: Aggregate): void {
    if (agg.timer) return;
    agg.timer = setTimeout(() => {
      agg.timer = undefined;
      if (agg.count === agg.written || this.closed) return;
      if (!this.global.take(this.now())) {
        this.schedulePatch(key, agg);
        return;
      }
      const count = agg.count;
      this.track(this.o.writer.patch(agg.namespace, agg.name, { count, lastTimestamp: new Date(agg.lastSeen).toISOString() }).then(
        () => { agg.written = count; },
        (err: unknown) => {
          this.aggregates.delete(key);
          this.failed('update', agg.namespace, err);
        },
      ));
    }, this.o.patchIntervalMs ?? 30_000);
    agg.timer.unref();
  }

  private failed(verb: string, namespace: string, err: unknown): void {
    this.o.onOutcome?.('failed');
    const status = (err as { code?: number | string }).code;
    const what = `${verb}:${String(status ?? (err as Error).message)}`;
    if (this.failures.has(what)) return;
    if (this.failures.size > 100) this.failures.clear();
    this.failures.add(what);
    this.o.logger.warn({ namespace, status, error: (err as Error).message }, `could not ${verb} a Kubernetes Event (logged once per kind of failure; the admission decision is unaffected)`);
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Resolves when every Event call started so far has finished (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const a of this.aggregates.values()) clearTimeout(a.timer);
    await this.flush();
  }
}

/** `<object>.<hex>`: a valid, unique Event name (as client-go's `<name>.<unixnano hex>`). */
function eventName(objectName: string, now: number): string {
  const base = objectName.toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 200) || 'object';
  return `${base}.${now.toString(16)}${randomBytes(4).toString('hex')}`;
}

/** The real writer: core/v1 Events through @kubernetes/client-node (loaded on first use). */
export function kubernetesEventWriter(kc: KubeConfig): EventWriter {
  let api: Promise<import('@kubernetes/client-node').KubernetesObjectApi> | undefined;
  const client = () => (api ??= import('@kubernetes/client-node').then((k8s) => k8s.KubernetesObjectApi.makeApiClient(kc)));
  return {
    async create(_namespace, event) {
      await (await client()).create(event as never);
    },
    async patch(namespace, name, patch) {
      const k8s = await import('@kubernetes/client-node');
      await (await client()).patch({ apiVersion: 'v1', kind: 'Event', metadata: { name, namespace }, ...patch } as never,
        undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch);
    },
  };
}
