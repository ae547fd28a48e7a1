/**
 * Graceful stop of the HTTPS server: stop accepting connections, let every request in flight get its answer
 * (admission requests end by their own deadline), close keep-alive connections as they fall idle, and cut
 * whatever is left when the drain time is up.
 */
import type { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Drainer {
  /** Requests being answered now. */
  readonly inflight: number;
  /** Stops listening and resolves once no request is in flight (or after `timeoutMs`); then closes every connection. */
  drain(timeoutMs: number): Promise<{ drained: boolean; abandoned: number }>;
}

export function trackRequests(server: Server): Drainer {
  let inflight = 0;
  let draining = false;
  let idle: (() => void) | undefined;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    inflight++;
    // Once draining, every answer closes its connection, so keep-alive clients reconnect to another replica.
    if (draining) res.shouldKeepAlive = false;
    res.once('close', () => {
      inflight--;
      if (inflight === 0) idle?.();
    });
  });
  return {
    get inflight() {
      return inflight;
    },
    async drain(timeoutMs: number) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let drained = inflight === 0;
      if (!drained) {
        drained = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), timeoutMs);
          idle = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
      }
      const abandoned = inflight;
      server.closeAllConnections();
      await closed;
      return { drained, abandoned };
    },
  };
}
