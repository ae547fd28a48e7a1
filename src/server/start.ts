/** Starts the HTTPS webhook on a Runtime. */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import type { Logger } from '../log.js';
import { createApp } from './app.js';
import { Runtime, type RuntimeOptions } from './runtime.js';
import type { TlsMaterial } from './tls.js';

export interface ServeOptions extends RuntimeOptions {
  configFile: string;
  host?: string;
  port?: number;
  tls: TlsMaterial;
  maxBodyBytes?: number;
  extraRoutes?: (app: express.Express) => void;
  /** Called with the runtime before the server listens (wire metrics, child approval, …). */
  setup?: (runtime: Runtime) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  runtime: Runtime;
  server: Server;
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const logger: Logger = options.logger;
  const runtime = new Runtime(options.configFile, options);
  options.setup?.(runtime);
  const app = createApp({ runtime, logger, maxBodyBytes: options.maxBodyBytes, extraRoutes: options.extraRoutes });
  const server = createServer({ cert: options.tls.cert, key: options.tls.key }, app);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8443, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  runtime.watch();
  runtime.ready = true;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    runtime,
    server,
    async close() {
      runtime.ready = false;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await runtime.close();
    },
  };
}
