/** Starts the HTTPS webhook on a Runtime. */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import type { Logger } from '../log.js';
import { createApp } from './app.js';
import { Runtime, type RuntimeOptions } from './runtime.js';
import type { TlsMaterial } from './tls.js';
import { MemoryStore } from '../cache/memory.js';
import { Metrics } from '../metrics/metrics.js';
import { attachRuntime, metricsRoutes, observeRegistry } from '../metrics/wire.js';
import { trackRequests } from './drain.js';
import { DEFAULT_CONNECTION_LIMITS, limitConnections, tlsServerOptions, type ConnectionLimits } from './connections.js';

export interface ServeOptions extends RuntimeOptions {
  configFile: string;
  /** Address to listen on (default 127.0.0.1); `*` = every interface, IPv6 and IPv4 (what a pod needs). */
  host?: string;
  port?: number;
  tls: TlsMaterial;
  maxBodyBytes?: number;
  extraRoutes?: (app: express.Express) => void;
  /** Called with the runtime before the server listens (wire metrics, child approval, …). */
  setup?: (runtime: Runtime) => void;
  /** Limits on TLS connections (handshake and idle timeouts, connection cap); defaults in connections.ts. */
  connections?: Partial<ConnectionLimits>;
  /** Metrics served on GET /metrics (default: a fresh Metrics on its own registry). */
  metrics?: Metrics;
}

export interface RunningServer {
  url: string;
  port: number;
  runtime: Runtime;
  server: Server;
  metrics: Metrics;
  /**
   * Stops gracefully: not ready, no new connections, requests in flight answered (at most `drainMs`, default
   * the admission deadline plus one second), then every connection, the config generations and the store
   * this server created are closed.
   */
  close(opts?: { drainMs?: number }): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const logger: Logger = options.logger;
  const metrics = options.metrics ?? new Metrics();
  // The in-memory cache unless the caller brought a store (Redis); a store we create is closed with the server.
  const ownStore = options.cache ? undefined : new MemoryStore();
  const runtime = new Runtime(options.configFile, { ...options, cache: options.cache ?? ownStore, observer: metrics, onAlertOutcome: metrics.alert });
  attachRuntime(metrics, runtime);
  options.setup?.(runtime);
  const withMetrics = (a: express.Express) => {
    metricsRoutes(metrics)(a);
    options.extraRoutes?.(a);
  };
  const app = createApp({ runtime, logger, maxBodyBytes: options.maxBodyBytes, extraRoutes: withMetrics });
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.connections };
  const server = createServer({ cert: options.tls.cert, key: options.tls.key, ...tlsServerOptions(limits) }, app);
  limitConnections(server, limits);
  const requests = trackRequests(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const listenHost = options.host ?? '127.0.0.1';
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    // No host: Node listens on :: when IPv6 is available (IPv4 too, dual-stack), else on 0.0.0.0.
    if (listenHost === '*') server.listen(options.port ?? 8443, done);
    else server.listen(options.port ?? 8443, listenHost, done);
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host === '*' || options.host === undefined ? '127.0.0.1' : options.host;
  runtime.watch();
  const stopObserving = observeRegistry(metrics);
  runtime.ready = true;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    runtime,
    server,
    metrics,
    async close(opts = {}) {
      runtime.ready = false;
      const drainMs = opts.drainMs ?? runtime.engine.config.requestTimeoutMs + 1000;
      const { drained, abandoned } = await requests.drain(drainMs);
      if (!drained) logger.warn({ abandoned, drainMs }, 'requests still in flight when the drain time ended; their connections were closed');
      stopObserving();
      await runtime.close();
      await ownStore?.close();
    },
  };
}
