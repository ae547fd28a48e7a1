import { createHash, createPrivateKey, createPublicKey, randomUUID, sign } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSelfSignedEcCertificate } from './tls.js';

/**
 * A Docker v2 token service for distribution's `auth.token` (distribution ships none):
 * `GET /token?service=S&scope=repository:NAME:ACTIONS` → `{token, access_token, expires_in}`,
 * an ES256 JWT whose `kid` is the libtrust key id of the signing key.
 */
export interface TokenServerOptions {
  /** Directory for the signing certificate (the registry's `rootcertbundle`). */
  dir: string;
  issuer?: string;
  service?: string;
  /** When set, the token service demands these Basic credentials. */
  user?: { user: string; password: string };
  expiresInSeconds?: number;
  /** Serve over HTTPS with this certificate. */
  tls?: { certPem: string; keyPem: string };
  /** Port to listen on (default: any free port); used to restart on the same address. */
  port?: number;
}

export interface TokenServer {
  url: string;
  realm: string;
  host: string;
  issuer: string;
  service: string;
  /** The registry's `rootcertbundle` (certificate of the signing key). */
  rootCertBundlePath: string;
  /** Calls received on /token (any outcome). */
  hits(): number;
  /** What each call on /token presented: its Authorization header and the scopes it asked for. */
  requests(): Array<{ authorization?: string; scopes: string[] }>;
  resetHits(): void;
  stop(): Promise<void>;
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const issuer = opts.issuer ?? 'imprimatur-test-issuer';
  const service = opts.service ?? 'imprimatur-test-registry';
  // the signing key survives a restart (same directory), so tokens issued before stay valid
  const signing = existsSync(join(opts.dir, 'token-signing.crt'))
    ? { certPath: join(opts.dir, 'token-signing.crt'), keyPem: readFileSync(join(opts.dir, 'token-signing.key'), 'utf8') }
    : createSelfSignedEcCertificate(opts.dir, 'token-signing', `/CN=${issuer}`);
  const privateKey = createPrivateKey(signing.keyPem);
  const kid = libtrustKeyId(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  let hits = 0;
  const received: Array<{ authorization?: string; scopes: string[] }> = [];

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://token');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    hits++;
    received.push({ authorization: req.headers.authorization, scopes: url.searchParams.getAll('scope') });
    let subject = '';
    if (opts.user) {
      const presented = parseBasic(req.headers.authorization);
      if (!presented || presented.user !== opts.user.user || presented.password !== opts.user.password) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="token"' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      subject = presented.user;
    }
    const access = url.searchParams.getAll('scope').flatMap((scope) => scope.split(' ')).flatMap(parseScope);
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = opts.expiresInSeconds ?? 300;
    const claims = { iss: issuer, sub: subject, aud: url.searchParams.get('service') ?? service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const token = jwt({ alg: 'ES256', typ: 'JWT', kid }, claims, privateKey);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() }));
  };

  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    url,
    realm: `${url}/token`,
    host: `127.0.0.1:${port}`,
    issuer,
    service,
    rootCertBundlePath: signing.certPath,
    hits: () => hits,
    requests: () => [...received],
    resetHits: () => {
      hits = 0;
      received.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** libtrust key id: base32 of the first 240 bits of sha256(DER SPKI), in 12 groups of 4 joined by `:`. */
export function libtrustKeyId(spkiDer: Buffer): string {
  const digest = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const byte of digest) bits += byte.toString(2).padStart(8, '0');
  let b32 = '';
  for (let i = 0; i < bits.length; i += 5) b32 += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return b32.match(/.{4}/g)!.join(':');
}

function jwt(header: object, claims: object, key: ReturnType<typeof createPrivateKey>): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

function parseScope(scope: string): Array<{ type: string; name: string; actions: string[] }> {
  const parts = scope.split(':');
  if (parts.length < 3) return [];
  const actions = parts.pop()!.split(',').filter(Boolean);
  const type = parts.shift()!;
  return [{ type, name: parts.join(':'), actions }];
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
