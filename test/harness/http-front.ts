import { Agent as HttpAgent, createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * A small HTTP(S) reverse proxy in front of a real server. It counts every request it receives
 * (synchronously, on arrival: a reliable "how many calls reached the registry") and lets a test
 * intercept requests to inject faults. Bodies are buffered (test data is small).
 */
export interface FrontRequest {
  method: string;
  /** Path and query, e.g. `/v2/app/manifests/1.0`. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What to do with a request: answer it, never answer (hang), or cut the connection. */
export type FrontAction = (UpstreamResponse & { /** send without Content-Length */ chunked?: boolean }) | 'hang' | 'reset';

export type Forward = (request?: Partial<FrontRequest>) => Promise<UpstreamResponse>;
export type Interceptor = (request: FrontRequest, forward: Forward) => Promise<FrontAction>;

export interface HttpFrontOptions {
  /** Upstream base URL, e.g. `https://127.0.0.1:5000`. */
  upstream: string;
  /** CA trusted for an https upstream. */
  upstreamCa?: string;
  /** Serve HTTPS with this certificate. */
  tls?: { certPem: string; keyPem: string };
  /** Port to listen on (default: any free port). */
  port?: number;
  intercept?: Interceptor;
}

export interface HttpFront {
  url: string;
  /** `127.0.0.1:port` */
  host: string;
  port: number;
  /** Requests received since start (or the last reset). */
  requestCount(): number;
  resetRequestCount(): void;
  stop(): Promise<void>;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade'];

export async function startHttpFront(opts: HttpFrontOptions): Promise<HttpFront> {
  const upstream = new URL(opts.upstream);
  const secureUpstream = upstream.protocol === 'https:';
  const agent = secureUpstream ? new HttpsAgent({ keepAlive: true, ca: opts.upstreamCa }) : new HttpAgent({ keepAlive: true });
  let count = 0;

  const forward = (req: FrontRequest): Promise<UpstreamResponse> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers };
      for (const h of HOP_BY_HOP) delete headers[h];
      headers['content-length'] = String(req.body.length);
      const send = secureUpstream ? httpsRequest : httpRequest;
      const out = send(
        { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.path, headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(req.body);
    });

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    count++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: FrontRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
      const fwd: Forward = (override) => forward({ ...request, ...override });
      const action = opts.intercept ? opts.intercept(request, fwd) : fwd();
      action.then(
        (a) => reply(req, res, a),
        () => {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream unavailable');
        },
      );
    });
  };

  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    requestCount: () => count,
    resetRequestCount: () => {
      count = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

function reply(req: IncomingMessage, res: ServerResponse, action: FrontAction): void {
  if (action === 'hang') return; // keep the connection open and never answer
  if (action === 'reset') {
    req.socket.destroy();
    return;
  }
  const headers = { ...action.headers };
  for (const h of HOP_BY_HOP) delete headers[h];
  if (action.chunked) delete headers['content-length'];
  else if (req.method !== 'HEAD') headers['content-length'] = String(action.body.length);
  res.writeHead(action.status, headers as Record<string, string | string[]>);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const chunk = 64 * 1024;
  for (let i = 0; i < action.body.length; i += chunk) res.write(action.body.subarray(i, i + chunk));
  res.end();
}
