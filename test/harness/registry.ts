import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { startFaultyFront, type FaultyFront } from './faulty-front.js';
import { freePort } from './ports.js';
import { RegistryPusher } from './registry-push.js';
import { createTestCertificates, type TestCertificates } from './tls.js';
import { startTokenServer, type TokenServer } from './token-server.js';
import { ensureInstalled } from './apt.js';
import { olaregBinary } from './tools.js';

/**
 * A real registry on loopback, for tests: Debian's `docker-registry` (distribution 2.8: no referrers API, so
 * clients fall back to the referrers tag schema) or olareg (an OCI 1.1 registry with the referrers API, built
 * from the Go module proxy by scripts/build-olareg.sh).
 *
 * Clients talk to `url`/`host`: a counting front (see faulty-front.ts) that forwards to the
 * registry, so `requestCount()` is exact and faults can be injected with `front.setFault`.
 * The push helpers talk to the registry directly and are not counted.
 */
export type RegistryServer = 'distribution' | 'olareg';

export interface StartRegistryOptions {
  /** Which server runs; default `olareg` when `referrersApi` is set, else `distribution`. */
  server?: RegistryServer;
  /** Serve HTTPS with a certificate from a fresh test CA (`caPem`). */
  tls?: boolean;
  /** Require these credentials (Basic auth, or at the token service when `token` is set). */
  htpasswd?: { user: string; password: string };
  /** Docker v2 token auth with a small Node token service (distribution only). */
  token?: boolean;
  /** Lifetime of issued tokens (default 300 s). */
  tokenExpiresInSeconds?: number;
  /** A registry that serves the OCI 1.1 referrers API: olareg (distribution 2.8 has none). */
  referrersApi?: boolean;
}

export interface TestRegistry {
  server: RegistryServer;
  /** Base URL clients use, e.g. `https://127.0.0.1:41234`. */
  url: string;
  /** `127.0.0.1:port` of `url`: the registry name to use in image references. */
  host: string;
  /** The registry process itself (not counted, no faults). */
  directUrl: string;
  /** PEM of the test CA when `tls` is set. */
  caPem?: string;
  certificates?: TestCertificates;
  credentials?: { user: string; password: string };
  tokenServer?: TokenServer;
  /** The counting/faulty front; `setFault` to misbehave. */
  front: FaultyFront;
  /** Requests the registry received through `url` since start (or the last reset). */
  requestCount(): number;
  resetRequestCount(): void;
  pushBlob(repo: string, bytes: Buffer | string): Promise<string>;
  pushManifest: RegistryPusher['pushManifest'];
  pushRandomImage: RegistryPusher['pushRandomImage'];
  pushIndex: RegistryPusher['pushIndex'];
  pushReferrer: RegistryPusher['pushReferrer'];
  /** Stops the registry, the front and the token service: the registry is then "down" (connection refused). */
  stop(): Promise<void>;
  /** Starts everything again on the same ports, with the same content. */
  restart(): Promise<void>;
}

const PACKAGES = ['docker-registry', 'skopeo', 'umoci', 'apache2-utils'];

/** Installs the Debian packages when `docker-registry` is missing (fresh machine); fails loudly otherwise. */
export function ensureRegistryInstalled(): void {
  ensureInstalled(['docker-registry', 'htpasswd'], PACKAGES);
}

const cleanups = new Set<() => void>();
process.once('exit', () => {
  for (const c of cleanups) c();
});

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const server: RegistryServer = opts.server ?? (opts.referrersApi ? 'olareg' : 'distribution');
  if (server === 'distribution' && opts.referrersApi) throw new Error('distribution 2.8 has no referrers API: use server "olareg"');
  if (server === 'olareg' && opts.token) throw new Error('the test token service is wired to distribution only');
  ensureRegistryInstalled(); // also olareg's tests use skopeo/htpasswd helpers
  const olareg = server === 'olareg' ? await olaregBinary() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'imprimatur-registry-'));
  mkdirSync(join(dir, 'data'));
  const certificates = opts.tls ? createTestCertificates(join(dir, 'tls')) : undefined;
  const scheme = opts.tls ? 'https' : 'http';
  const registryPort = await freePort();
  const directUrl = `${scheme}://127.0.0.1:${registryPort}`;
  const serverTls = certificates ? { certPem: certificates.certPem, keyPem: certificates.keyPem } : undefined;

  let tokenServer: TokenServer | undefined;
  const startToken = async (port?: number): Promise<TokenServer> =>
    startTokenServer({ dir, user: opts.htpasswd, expiresInSeconds: opts.tokenExpiresInSeconds, tls: serverTls, port });
  if (opts.token) tokenServer = await startToken();

  let auth: Record<string, unknown> | undefined;
  if (olareg) {
    // olareg: no config file; basic auth through its static login list.
  } else if (tokenServer) {
    auth = { token: { realm: tokenServer.realm, service: tokenServer.service, issuer: tokenServer.issuer, rootcertbundle: tokenServer.rootCertBundlePath } };
  } else if (opts.htpasswd) {
    const line = execFileSync('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password], { encoding: 'utf8' }).trim();
    writeFileSync(join(dir, 'htpasswd'), `${line}\n`);
    auth = { htpasswd: { realm: 'imprimatur-test', path: join(dir, 'htpasswd') } };
  }
  const config = {
    version: '0.1',
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
    http: {
      addr: `127.0.0.1:${registryPort}`,
      secret: 'test-only',
      ...(certificates ? { tls: { certificate: certificates.certPath, key: certificates.keyPath } } : {}),
    },
    health: { storagedriver: { enabled: false } },
    ...(auth ? { auth } : {}),
  };
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, JSON.stringify(config, null, 2)); // JSON is YAML

  let child: ChildProcess | undefined;
  let front: FaultyFront | undefined;
  let frontPort: number | undefined;

  const command: [string, string[]] = olareg
    ? [olareg, ['serve', '--addr', '127.0.0.1', '--port', String(registryPort), '--store-type', 'dir', '--dir', join(dir, 'data'),
      '--api-delete', '--gc-frequency', '-1s', '--verbosity', 'warn',
      ...(certificates ? ['--tls-cert', certificates.certPath, '--tls-key', certificates.keyPath] : []),
      ...(opts.htpasswd ? ['--auth-static-login', `${opts.htpasswd.user}:${opts.htpasswd.password}`] : [])]]
    : ['docker-registry', ['serve', configPath]];

  const startProcess = async (): Promise<void> => {
    const output: string[] = [];
    const proc = spawn(command[0], command[1], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      output.push(b.toString());
      if (output.length > 50) output.shift();
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const kill = (): void => {
      proc.kill('SIGKILL');
    };
    cleanups.add(kill);
    proc.once('exit', () => cleanups.delete(kill));
    child = proc;
    await waitReady(server, directUrl, certificates?.caPem, proc, output);
  };

  const startFront = async (): Promise<FaultyFront> => {
    const f = await startFaultyFront({ port: frontPort, upstream: directUrl, upstreamCa: certificates?.caPem, tls: serverTls });
    frontPort = f.port;
    return f;
  };

  await startProcess();
  front = await startFront();
  const pusher = new RegistryPusher(directUrl, { caPem: certificates?.caPem, user: opts.htpasswd });
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  cleanups.add(removeDir);

  const stopAll = async (): Promise<void> => {
    await front?.stop();
    if (child && child.exitCode === null && child.signalCode === null) {
      const proc = child;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await tokenServer?.stop();
  };

  const handle: TestRegistry = {
    server,
    url: front.url,
    host: front.host,
    directUrl,
    caPem: certificates?.caPem,
    certificates,
    credentials: opts.htpasswd,
    tokenServer,
    get front() {
      return front!;
    },
    requestCount: () => front!.requestCount(),
    resetRequestCount: () => front!.resetRequestCount(),
    pushBlob: (repo, bytes) => pusher.pushBlob(repo, bytes),
    pushManifest: (...a) => pusher.pushManifest(...a),
    pushRandomImage: (...a) => pusher.pushRandomImage(...a),
    pushIndex: (...a) => pusher.pushIndex(...a),
    pushReferrer: (...a) => pusher.pushReferrer(...a),
    stop: stopAll,
    restart: async () => {
      await stopAll();
      if (tokenServer) {
        tokenServer = await startToken(Number(tokenServer.host.split(':')[1]));
        handle.tokenServer = tokenServer;
      }
      await startProcess();
      front = await startFront();
    },
  };
  return handle;
}

async function waitReady(server: RegistryServer, url: string, caPem: string | undefined, proc: ChildProcess, output: string[]): Promise<void> {
  const agent = new Agent({ connect: caPem ? { ca: caPem } : {} });
  const deadline = Date.now() + 15_000;
  try {
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`${server} exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${output.join('')}`);
      }
      try {
        const res = await fetch(`${url}/v2/`, { dispatcher: agent });
        await res.arrayBuffer();
        if (res.status === 200 || res.status === 401) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`${server} did not become ready at ${url} within 15 s:\n${output.join('')}`);
  } finally {
    await agent.close();
  }
}
