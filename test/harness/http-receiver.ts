/**
 * A real HTTP server on loopback that records every request and answers as scripted — for alerting tests and
 * end-to-end tests that need a webhook receiver. No mocks: clients talk HTTP to it.
 *
 *   const rx = await startHttpReceiver();              // answers 200 {}
 *   rx.respondWith({ status: 500 }, { status: 200 });  // next two requests, then the default again
 *   rx.setDefault({ status: 200, delayMs: 5000 });     // slow receiver
 *   await rx.waitForRequests(1);
 *   rx.requests[0].json; rx.requests[0].headers['authorization'];
 *   await rx.close();
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ScriptedResponse {
  status?: number;
  /** Wait this long before answering (the request is recorded on arrival). */
  delayMs?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Destroy the socket instead of answering (a network error for the client). */
  hangUp?: boolean;
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** `body` parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  receivedAt: number;
  /** Set when the response was sent (undefined while the receiver is still delaying). */
  answeredAt?: number;
  /** Status the receiver answered with. */
  status?: number;
}

export interface HttpReceiver {
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** Responses answered so far (excluding hang-ups and requests still being delayed). */
  readonly answered: number;
  setDefault(response: ScriptedResponse): void;
  /** Queue responses for the next requests, in order. */
  respondWith(...responses: ScriptedResponse[]): void;
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startHttpReceiver(defaultResponse: ScriptedResponse = { status: 200 }): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const script: ScriptedResponse[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let fallback = defaultResponse;
  let answered = 0;
  let waiters: Array<() => void> = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const record: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, json, receivedAt: Date.now() };
      requests.push(record);
      const w = waiters;
      waiters = [];
      w.forEach((f) => f());
      const plan = script.shift() ?? fallback;
      const answer = (): void => {
        if (plan.hangUp) {
          req.socket.destroy();
          return;
        }
        if (res.destroyed || req.socket.destroyed) return;
        const status = plan.status ?? 200;
        res.writeHead(status, { 'content-type': 'application/json', ...plan.headers });
        res.end(plan.body ?? '{}');
        record.answeredAt = Date.now();
        record.status = status;
        answered++;
      };
      if (plan.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          answer();
        }, plan.delayMs);
        timers.add(t);
      } else {
        answer();
      }
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get answered() {
      return answered;
    },
    setDefault(response) {
      fallback = response;
    },
    respondWith(...responses) {
      script.push(...responses);
    },
    async waitForRequests(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`receiver got ${requests.length} request(s), expected ${count} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return requests.slice(0, count);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback URL on which nothing listens (connection refused). */
export async function unusedLoopbackUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
