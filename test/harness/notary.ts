/**
 * Real Notary v1 for tests: `notary-server` (in-memory storage) on loopback with a test CA, either
 * with its in-process signer or with a separate `notary-signer` reached over mutual TLS, and the
 * real `notary` CLI to publish trust data. Debian package `notary` (installed here if missing).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { freePort } from './ports.js';
import { createTestCertificates, type TestCertificates } from './tls.js';
import { startTokenServer, type TokenServer } from './token-server.js';
import { ensureInstalled } from './apt.js';

const run = promisify(execFile);

/** Passphrases of the throw-away keys made by the test CLI (test-only values). */
const PASSPHRASES = {
  NOTARY_ROOT_PASSPHRASE: 'test-root-passphrase',
  NOTARY_TARGETS_PASSPHRASE: 'test-targets-passphrase',
  NOTARY_SNAPSHOT_PASSPHRASE: 'test-snapshot-passphrase',
  NOTARY_DELEGATION_PASSPHRASE: 'test-delegation-passphrase',
};

/** Installs Debian's `notary` package when the binaries are missing (needs root or sudo, and apt). */
export function ensureNotaryInstalled(): void {
  ensureInstalled(['notary', 'notary-server', 'notary-signer'], ['notary']);
}

export interface NotaryServer {
  /** `127.0.0.1:port` — what a validator's `host` is set to. */
  host: string;
  url: string;
  certs: TestCertificates;
  signer: 'local' | 'remote';
  dir: string;
  /** With `tokenAuth`: the Docker v2 token service notary-server trusts (HTTPS, test CA). */
  tokenServer?: TokenServer;
  /** With `tokenAuth`: the credentials the token service accepts (the test CLI publishes with them). */
  credentials?: { user: string; password: string };
  /** The last lines notary-server and notary-signer printed (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Options of startNotaryServer. `tokenAuth` puts notary-server behind Docker v2 token auth
 * (`"auth": {"type": "token", …}`): it then answers 401 with a Bearer challenge and accepts only
 * ES256 tokens from a test token service that demands `user`/`password` and grants every action asked
 * for (reads need `repository:<gun>:pull`, publishing `push,pull`).
 */
export interface NotaryServerOptions {
  tokenAuth?: { user: string; password: string; expiresInSeconds?: number; service?: string; issuer?: string };
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A client+server certificate from the test CA (mutual TLS between notary-server and notary-signer). */
function mutualTlsCert(certs: TestCertificates): { cert: string; key: string } {
  const dir = certs.dir;
  openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'mtls.key', '-out', 'mtls.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'mtls.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n');
  openssl(dir, 'x509', '-req', '-in', 'mtls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'mtls.crt', '-days', '2', '-extfile', 'mtls.ext');
  return { cert: join(dir, 'mtls.crt'), key: join(dir, 'mtls.key') };
}

function startProcess(bin: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (c: Buffer): void => {
    output = (output + c.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => output };
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitHealthy(url: string, ca: string, proc: { child: ChildProcess; output: () => string }, timeoutMs = 15_000): Promise<void> {
  const dispatcher = new Agent({ connect: { ca } });
  const until = Date.now() + timeoutMs;
  try {
    while (Date.now() < until) {
      if (proc.child.exitCode !== null) throw new Error(`notary-server exited: ${proc.output()}`);
      try {
        const res = await request(`${url}/_notary_server/health`, { dispatcher, signal: AbortSignal.timeout(1000) });
        await res.body.dump();
        if (res.statusCode === 200) return;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`notary-server did not become healthy: ${proc.output()}`);
  } finally {
    await dispatcher.close();
  }
}

async function waitListening(port: number, proc: { child: ChildProcess; output: () => string }, name: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc.child.exitCode !== null) throw new Error(`${name} exited: ${proc.output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not listen on port ${port}: ${proc.output()}`);
}

/** Starts notary-server (and, for `remote`, notary-signer over mutual TLS) on loopback. */
export async function startNotaryServer(signer: 'local' | 'remote' = 'local', opts: NotaryServerOptions = {}): Promise<NotaryServer> {
  ensureNotaryInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'imprimatur-notary-'));
  mkdirSync(join(dir, 'tls'));
  const certs = createTestCertificates(join(dir, 'tls'));
  const port = await freePort();
  const procs: ChildProcess[] = [];
  const outputs: (() => string)[] = [];
  let trustService: Record<string, string> = { type: 'local', hostname: '', port: '', key_algorithm: 'ecdsa' };
  if (signer === 'remote') {
    const mtls = mutualTlsCert(certs);
    const grpcPort = await freePort();
    const signerConfig = {
      server: { grpc_addr: `127.0.0.1:${grpcPort}`, tls_cert_file: mtls.cert, tls_key_file: mtls.key, client_ca_file: certs.caPath },
      logging: { level: 'warn' },
      storage: { backend: 'memory' },
    };
    writeFileSync(join(dir, 'signer.json'), JSON.stringify(signerConfig));
    const s = startProcess('notary-signer', ['-config', join(dir, 'signer.json')], dir, { ...process.env, NOTARY_SIGNER_DEFAULT_ALIAS: 'testalias' });
    procs.push(s.child);
    outputs.push(() => `notary-signer: ${s.output()}`);
    // notary-server does not wait for its signer: start it only once the signer listens
    await waitListening(grpcPort, s, 'notary-signer');
    trustService = {
      type: 'remote',
      hostname: '127.0.0.1',
      port: String(grpcPort),
      key_algorithm: 'ecdsa',
      tls_ca_file: certs.caPath,
      tls_client_cert: mtls.cert,
      tls_client_key: mtls.key,
    };
  }
  let tokenServer: TokenServer | undefined;
  let auth: Record<string, unknown> | undefined;
  if (opts.tokenAuth) {
    const t = opts.tokenAuth;
    mkdirSync(join(dir, 'token'));
    // HTTPS with the test CA's server certificate: clients refuse a plain-HTTP realm
    tokenServer = await startTokenServer({
      dir: join(dir, 'token'),
      user: { user: t.user, password: t.password },
      expiresInSeconds: t.expiresInSeconds,
      service: t.service ?? 'imprimatur-test-notary',
      issuer: t.issuer,
      tls: { certPem: certs.certPem, keyPem: certs.keyPem },
    });
    auth = {
      type: 'token',
      options: {
        realm: tokenServer.realm,
        service: tokenServer.service,
        issuer: tokenServer.issuer,
        rootcertbundle: tokenServer.rootCertBundlePath,
        autoredirect: false,
      },
    };
  }
  const serverConfig = {
    server: { http_addr: `127.0.0.1:${port}`, tls_cert_file: certs.certPath, tls_key_file: certs.keyPath },
    trust_service: trustService,
    ...(auth ? { auth } : {}),
    logging: { level: 'warn' },
    storage: { backend: 'memory' },
  };
  writeFileSync(join(dir, 'server.json'), JSON.stringify(serverConfig));
  const server = startProcess('notary-server', ['-config', join(dir, 'server.json')], dir);
  procs.push(server.child);
  outputs.push(() => `notary-server: ${server.output()}`);
  const url = `https://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, certs.caPem, server);
  } catch (err) {
    await Promise.all(procs.map(stopProcess));
    await tokenServer?.stop();
    throw err;
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    certs,
    signer,
    dir,
    ...(tokenServer && opts.tokenAuth ? { tokenServer, credentials: { user: opts.tokenAuth.user, password: opts.tokenAuth.password } } : {}),
    logs: () => outputs.map((o) => o()).join('\n'),
    stop: async () => {
      await Promise.all(procs.reverse().map(stopProcess));
      await tokenServer?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A key pair for tests: the PEM public key (what a validator pins) and the files the CLI needs. */
export interface TestKey {
  publicPem: string;
  /** Unencrypted PKCS#8 private key. */
  keyPath: string;
  /** PKCS#8, encrypted as `notary init --rootkey` requires (PBES2, AES-256-CBC, HMAC-SHA1 PRF). */
  encryptedKeyPath: string;
  /** Self-signed certificate of the key (for `notary delegation add`). */
  certPath: string;
}

/** Makes an ECDSA P-256 (or RSA 2048) key, usable as a repository root key or a delegation key. */
export function makeTestKey(dir: string, name: string, algorithm: 'ecdsa' | 'rsa' = 'ecdsa'): TestKey {
  const p = (f: string): string => join(dir, f);
  const params = algorithm === 'rsa' ? ['RSA', '-pkeyopt', 'rsa_keygen_bits:2048'] : ['EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  openssl(dir, 'genpkey', '-algorithm', ...params, '-out', p(`${name}.key`));
  openssl(dir, 'pkcs8', '-topk8', '-in', p(`${name}.key`), '-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA1',
    '-passout', `pass:${PASSPHRASES.NOTARY_ROOT_PASSPHRASE}`, '-out', p(`${name}.enc.key`));
  openssl(dir, 'pkey', '-in', p(`${name}.key`), '-pubout', '-out', p(`${name}.pub`));
  openssl(dir, 'req', '-x509', '-key', p(`${name}.key`), '-out', p(`${name}.crt`), '-days', '3650', '-subj', `/CN=${name}`);
  return { publicPem: readFileSync(p(`${name}.pub`), 'utf8'), keyPath: p(`${name}.key`), encryptedKeyPath: p(`${name}.enc.key`), certPath: p(`${name}.crt`) };
}

/** The real `notary` CLI against one server, with its own trust directory. */
export class NotaryCli {
  readonly dir: string;
  private readonly config: string;

  constructor(readonly server: NotaryServer) {
    this.dir = mkdtempSync(join(server.dir, 'client-'));
    this.config = join(this.dir, 'client.json');
    writeFileSync(this.config, JSON.stringify({ trust_dir: join(this.dir, 'trust'), remote_server: { url: server.url, root_ca: server.certs.caPath } }));
  }

  async run(...args: string[]): Promise<string> {
    // behind token auth the CLI reads base64(user:password) from NOTARY_AUTH (it would prompt otherwise)
    const creds = this.server.credentials;
    const auth = creds ? { NOTARY_AUTH: Buffer.from(`${creds.user}:${creds.password}`).toString('base64') } : {};
    try {
      const { stdout } = await run('notary', ['-c', this.config, ...args], { env: { ...process.env, ...PASSPHRASES, ...auth }, timeout: 60_000 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string; code?: number | string; signal?: string; killed?: boolean };
      const how = e.killed ? `killed (${e.signal ?? 'timeout'}) after 60 s` : `exit ${String(e.code ?? e.signal)}`;
      const said = [e.stderr, e.stdout].filter((t) => t?.trim()).join('\n') || e.message;
      throw new Error(`notary ${args.join(' ')} failed, ${how}: ${said}\n--- server logs ---\n${this.server.logs()}`);
    }
  }

  /** `notary init GUN -p` with a fixed root key, then hand the snapshot key to the server (as Docker Hub does). */
  async init(gun: string, rootKey: TestKey): Promise<void> {
    await this.run('init', gun, '-p', '--rootkey', rootKey.encryptedKeyPath);
    await this.run('key', 'rotate', gun, 'snapshot', '-r');
  }

  /** Signs `tag` → `digest` (`sha256:<hex>`) in `targets` or in a delegation role, and publishes. */
  async addHash(gun: string, tag: string, digest: string, role?: string, size = 1234): Promise<void> {
    const hex = digest.replace(/^sha256:/, '');
    await this.run('addhash', gun, tag, String(size), '--sha256', hex, ...(role ? ['--roles', role] : []), '-p');
  }

  /** Adds delegation `role` (all paths) with `key`, publishes, and imports the key so the CLI can sign as it. */
  async addDelegation(gun: string, role: string, key: TestKey): Promise<void> {
    await this.run('delegation', 'add', gun, role, key.certPath, '--all-paths', '-p');
    await this.run('key', 'import', key.keyPath, '-r', role, '-g', gun);
  }
}
