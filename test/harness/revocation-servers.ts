/**
 * Revocation endpoints on loopback for Notary Project revocation tests: a CRL distribution point (a small HTTP server
 * serving CRLs made by `openssl ca -gencrl`) and a real OCSP responder (`openssl ocsp` answering from an `openssl ca`
 * database, signing with the issuing CA). Their URLs are known before the certificates are issued.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports.js';
import type { TestCertificate } from './notation-pki.js';

export interface CrlServer {
  /** URL of a CRL path on this server (e.g. `/ca.crl`). */
  url(path: string): string;
  /** Serves `der` at `path` (replacing what was there); undefined: 404; `hang`: accepts and never answers. */
  set(path: string, der: Buffer | 'hang' | undefined): void;
  /** GET requests received (any path). */
  requests(): number;
  stop(): Promise<void>;
}

export async function startCrlServer(): Promise<CrlServer> {
  const files = new Map<string, Buffer | 'hang'>();
  let count = 0;
  const server: Server = createServer((req, res) => {
    count++;
    const body = files.get(req.url ?? '');
    if (body === 'hang') return;
    if (!body || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/pkix-crl', 'content-length': body.length }).end(body);
  });
  const port = await listenOnLoopback(server);
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    set: (path, der) => (der ? files.set(path, der) : files.delete(path)),
    requests: () => count,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface OcspResponder {
  url: string;
  /** OCSP requests answered. */
  requests(): number;
  stop(): Promise<void>;
}

/**
 * A real OCSP responder for the certificates `issuer` issued: each request (POST or GET) is answered by `openssl ocsp` in
 * responder mode (`-reqin`/`-respout`, reading the `openssl ca` database `index` afresh, signing with the issuer),
 * behind a small HTTP server on 127.0.0.1 (`openssl ocsp -port` would listen on every interface).
 */
export async function startOcspResponder(index: string, issuer: TestCertificate, dir: string, reserved?: ReservedPort): Promise<OcspResponder> {
  let seq = 0;
  let count = 0;
  const server: Server = reserved?.server ?? createServer();
  server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = `ocsp-${process.pid}-${++seq}`;
      const reqFile = join(dir, `${id}.req`);
      const respFile = join(dir, `${id}.resp`);
      // RFC 6960 A.1: POST with the DER request as body, or GET with it base64- and URL-encoded as the path.
      const der = req.method === 'GET' ? Buffer.from(decodeURIComponent((req.url ?? '/').replace(/^\/+/, '')), 'base64') : Buffer.concat(chunks);
      writeFileSync(reqFile, der);
      execFile('openssl', ['ocsp', '-index', index, '-CA', issuer.certPath, '-rsigner', issuer.certPath, '-rkey', issuer.keyPath, '-nmin', '60', '-reqin', reqFile, '-respout', respFile], (err, _stdout, stderr) => {
        if (err) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`openssl ocsp failed: ${stderr}`);
          return;
        }
        count++;
        const body = readFileSync(respFile);
        res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': body.length }).end(body);
      });
    });
  });
  const listenPort = reserved?.port ?? (await listenOnLoopback(server));
  return {
    url: `http://127.0.0.1:${listenPort}`,
    requests: () => count,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A port held open for a server started later on it (its URL goes into certificates first); nothing answers until then. */
export interface ReservedPort {
  port: number;
  url: string;
  server: Server;
}

/** Reserves a port for `startOcspResponder(…, reserved)` by listening on it already, so no other process can take it meanwhile. */
export async function reserveOcspPort(): Promise<ReservedPort> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  return { port, url: `http://127.0.0.1:${port}`, server };
}

/** A port on 127.0.0.1 where nothing listens (connections are refused). */
export async function deadPort(): Promise<{ port: number; url: string }> {
  const port = await freePort();
  return { port, url: `http://127.0.0.1:${port}` };
}

/** Listens on a port the kernel picks on 127.0.0.1 (no window for another process to take it). */
function listenOnLoopback(server: Server): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}
