/**
 * What the webhook does with the Kubernetes API besides answering admissions, each off unless asked for:
 * Events for denials (`--events`) and the in-cluster audit (`--audit-interval`, with `--audit-policy-reports`).
 */
import { hostname } from 'node:os';
import { InClusterAudit } from '../audit/in-cluster.js';
import { kubernetesClusterSource, loadKubeConfig } from '../audit/cluster.js';
import { defaultSelection } from '../audit/namespaces.js';
import { PolicyReportWriter } from '../audit/report-writer.js';
import { attachDenialEvents } from '../kubernetes/admission-events.js';
import { EventRecorder, kubernetesEventWriter } from '../kubernetes/events.js';
import { LeaseElection } from '../kubernetes/lease.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Runtime } from './runtime.js';

export interface ClusterFeatureOptions {
  /** Kubeconfig file; else KUBECONFIG / in-cluster. */
  kubeconfig?: string;
  events: boolean;
  audit?: {
    intervalSeconds: number;
    concurrency: number;
    policyReports: boolean;
    releaseNamespace: string;
    excludedNamespaces: string[];
    allowNamespaceDetection: boolean;
    /** Lease name (default imprimatur-audit); one per release. */
    leaseName?: string;
    firstRunMs?: number;
  };
  runtime: Runtime;
  metrics: Metrics;
  logger: Logger;
  /** This replica (default POD_NAME, else the host name). */
  identity?: string;
}

export interface ClusterFeatures {
  events?: EventRecorder;
  audit?: InClusterAudit;
  lease?: LeaseElection;
  close(): Promise<void>;
}

export async function startClusterFeatures(o: ClusterFeatureOptions): Promise<ClusterFeatures> {
  if (!o.events && !o.audit) return { close: async () => undefined };
  const kc = await loadKubeConfig(o.kubeconfig);
  const identity = o.identity ?? process.env.POD_NAME ?? hostname();
  const features: ClusterFeatures = { close: async () => undefined };
  if (o.events) {
    features.events = new EventRecorder({ writer: kubernetesEventWriter(kc), logger: o.logger.child({ component: 'events' }), instance: identity, onOutcome: o.metrics.audit.event });
    attachDenialEvents(o.runtime, features.events);
  }
  if (o.audit) {
    const a = o.audit;
    const logger = o.logger.child({ component: 'audit' });
    features.lease = new LeaseElection({ kc, namespace: a.releaseNamespace, name: a.leaseName ?? 'imprimatur-audit', identity, logger, onChange: (leader) => o.metrics.audit.leader.set(leader ? 1 : 0) });
    features.audit = new InClusterAudit({
      runtime: o.runtime,
      cluster: await kubernetesClusterSource(kc),
      selection: (config) => defaultSelection(a.releaseNamespace, {
        excluded: a.excludedNamespaces,
        validation: config.features.namespacedValidation.mode,
        allowDetection: a.allowNamespaceDetection,
      }),
      intervalMs: a.intervalSeconds * 1000,
      concurrency: a.concurrency,
      metrics: o.metrics.audit,
      logger,
      reports: a.policyReports ? new PolicyReportWriter(kc) : undefined,
      leader: features.lease,
      firstRunMs: a.firstRunMs,
    });
    features.lease.start();
    features.audit.start();
  }
  features.close = async () => {
    await features.audit?.close();
    await features.lease?.stop();
    await features.events?.close();
  };
  return features;
}
