/**
 * One holder among the webhook's replicas, through a coordination.k8s.io/v1 Lease in the release namespace (the
 * scheme client-go's leader election uses): the holder renews every `renewMs`; another replica takes over once
 * `renewTime + leaseDurationSeconds` has passed without a renewal. Writes carry the resourceVersion read, so two
 * replicas racing for an expired lease cannot both win. Used by the in-cluster audit, so one replica audits and
 * writes PolicyReports.
 */
import type { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import type { Logger } from '../log.js';

export interface LeaseOptions {
  kc: KubeConfig;
  namespace: string;
  name: string;
  /** This replica (the pod name). */
  identity: string;
  leaseSeconds?: number;
  renewMs?: number;
  logger: Logger;
  onChange?: (leader: boolean) => void;
  now?: () => number;
}

interface LeaseObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaseElection {
  private leader = false;
  private renewedAt = 0;
  private timer?: NodeJS.Timeout;
  private api?: Promise<KubernetesObjectApi>;
  private stopped = false;
  private lastError?: string;
  private inflight?: Promise<boolean>;
  private readonly now: () => number;
  private readonly leaseSeconds: number;

  constructor(private readonly o: LeaseOptions) {
    this.now = o.now ?? Date.now;
    this.leaseSeconds = o.leaseSeconds ?? 60;
  }

  /** Holder now, and its last renewal is recent enough that no one else can have taken over. */
  isLeader(): boolean {
    return this.leader && this.now() - this.renewedAt < this.leaseSeconds * 1000;
  }

  start(): void {
    const tick = async () => {
      await this.attempt();
      if (!this.stopped) {
        this.timer = setTimeout(() => void tick(), this.o.renewMs ?? Math.max(1000, (this.leaseSeconds * 1000) / 3));
        this.timer.unref();
      }
    };
    void tick();
  }

  /** One acquire-or-renew round (one at a time); resolves to whether this replica holds the lease. */
  attempt(): Promise<boolean> {
    this.inflight ??= this.round().finally(() => { this.inflight = undefined; });
    return this.inflight;
  }

  private async round(): Promise<boolean> {
    try {
      const api = await this.client();
      const now = this.now();
      let current: LeaseObject | undefined;
      try {
        current = (await api.read({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace } })) as unknown as LeaseObject;
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
      const spec = current?.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const renewed = spec.renewTime ? new Date(spec.renewTime as unknown as string).getTime() : 0;
      const expired = !holder || renewed + (spec.leaseDurationSeconds ?? this.leaseSeconds) * 1000 < now;
      if (current && holder !== this.o.identity && !expired) return this.set(false);
      const next: LeaseObject = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace, ...(current?.metadata.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}) },
        spec: {
          holderIdentity: this.o.identity,
          leaseDurationSeconds: this.leaseSeconds,
          acquireTime: holder === this.o.identity && spec.acquireTime ? microTime(new Date(spec.acquireTime as unknown as string).getTime()) : microTime(now),
          renewTime: microTime(now),
          leaseTransitions: (spec.leaseTransitions ?? 0) + (holder && holder !== this.o.identity ? 1 : 0),
        },
      };
      if (current) await api.replace(next as never);
      else await api.create(next as never);
      this.renewedAt = now;
      this.lastError = undefined;
      return this.set(true);
    } catch (err) {
      const code = (err as { code?: number }).code;
      // 409: another replica wrote first (conflict or already exists) — it is the holder.
      if (code !== 409) {
        const message = (err as Error).message;
        if (message !== this.lastError) this.o.logger.warn({ lease: `${this.o.namespace}/${this.o.name}`, status: code, error: message }, 'could not acquire or renew the audit lease');
        this.lastError = message;
      }
      return this.set(false);
    }
  }

  /** Gives the lease up (shutdown), so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leader) return;
    try {
      const api = await this.client();
      const current = (await api.read({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace } })) as unknown as LeaseObject;
      if (current.spec.holderIdentity === this.o.identity) {
        await api.replace({ ...current, spec: { ...current.spec, holderIdentity: '', renewTime: microTime(0), acquireTime: undefined } } as never);
      }
    } catch {
      // the lease expires by itself
    }
    this.set(false);
  }

  private set(leader: boolean): boolean {
    if (leader !== this.leader) {
      this.leader = leader;
      this.o.logger.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, leader ? 'this replica now runs the in-cluster audit' : 'this replica no longer runs the in-cluster audit');
      this.o.onChange?.(leader);
    }
    return leader;
  }

  private client(): Promise<KubernetesObjectApi> {
    this.api ??= import('@kubernetes/client-node').then((k8s) => k8s.KubernetesObjectApi.makeApiClient(this.o.kc));
    return this.api;
  }
}
