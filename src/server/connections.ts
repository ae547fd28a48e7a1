/**
 * Limits on the webhook's TLS connections (issue 11, item 9). Anyone who can reach the port can open connections;
 * without limits, connections that never finish the TLS handshake, or finish it and never send a request, stay open
 * forever and pile up. Every connection must finish its handshake within `handshakeTimeoutMs`, send its first request
 * within `idleTimeoutMs`, send a request's headers within `headersTimeoutMs`, and is closed after `keepAliveMs` without
 * a request; at most `maxConnections` are open at once (more are closed on arrival). The NetworkPolicy of the chart
 * narrows who can connect at all.
 */
import type { Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface ConnectionLimits {
  /** TLS handshake must finish within this (default 10 s). */
  handshakeTimeoutMs: number;
  /** After the handshake, the first request must start within this (default 10 s). */
  idleTimeoutMs: number;
  /** A request's headers must arrive within this (default 10 s). */
  headersTimeoutMs: number;
  /** A whole request (headers and body) must arrive within this (default 30 s; the API server sends at once). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (default 65 s). */
  keepAliveMs: number;
  /** Connections open at once; more are closed on arrival (default 512). */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveMs: 65_000,
  maxConnections: 512,
};

/** `createServer` options: the handshake limit, and how often Node checks the header and request timeouts. */
export function tlsServerOptions(limits: ConnectionLimits): { handshakeTimeout: number; connectionsCheckingInterval: number } {
  // Node enforces headersTimeout/requestTimeout only when it checks (default every 30 s).
  return { handshakeTimeout: limits.handshakeTimeoutMs, connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headersTimeoutMs / 2)) };
}

/** Applies the limits to a created server. */
export function limitConnections(server: Server, limits: ConnectionLimits): void {
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = limits.keepAliveMs;
  server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  server.requestTimeout = limits.requestTimeoutMs;
  // Node closes a connection that is idle after a response (keepAliveTimeout), but not one that never sends a
  // request: give each new connection until its first request, then leave timing to the HTTP server.
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.setTimeout(limits.idleTimeoutMs);
    socket.once('timeout', () => socket.destroy());
  });
  server.on('request', (req: IncomingMessage) => {
    req.socket.setTimeout(0);
  });
}
