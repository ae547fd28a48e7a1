/**
 * A real `redis-server` on a free loopback port, for tests: optional password and TLS (test CA),
 * no persistence. `kill()` SIGKILLs it (an outage), `start()` brings it back on the same port, empty.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './ports.js';
import { makeTempDir } from './temp-dirs.js';
import { createTestCertificates, type TestCertificates } from './tls.js';
import { ensureInstalled } from './apt.js';

export interface TestRedis {
  /** `redis://…` or `rediss://…` (with the password when set). */
  url: string;
  port: number;
  certificates?: TestCertificates;
  /** Stops the server with SIGKILL and waits for the port to close. */
  kill(): Promise<void>;
  /** (Re)starts the server on the same port. */
  start(): Promise<void>;
  /** Pauses the process (SIGSTOP): connections stay open, commands hang. */
  freeze(): void;
  thaw(): void;
  /** Runs a redis-cli command against it (e.g. ['DBSIZE']). */
  cli(...args: string[]): string;
  stop(): Promise<void>;
}

/** Installs redis-server with apt on a fresh machine (as scripts/ensure-test-deps.sh does). */
export function ensureRedisInstalled(): void {
  ensureInstalled(['redis-server', 'redis-cli'], ['redis-server']);
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export async function startRedis(opts: { password?: string; tls?: boolean } = {}): Promise<TestRedis> {
  ensureRedisInstalled();
  const port = await freePort();
  const dir = makeTempDir('redis');
  const certificates = opts.tls ? createTestCertificates(`${dir}/tls`) : undefined;
  const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'];
  if (certificates) {
    args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', certificates.certPath, '--tls-key-file', certificates.keyPath,
      '--tls-ca-cert-file', certificates.caPath, '--tls-auth-clients', 'no');
  } else {
    args.push('--port', String(port));
  }
  if (opts.password) args.push('--requirepass', opts.password);
  let proc: ChildProcess | undefined;
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
  const cliArgs = [...(certificates ? ['--tls', '--cacert', certificates.caPath] : []), '-p', String(port), ...(opts.password ? ['--no-auth-warning', '-a', opts.password] : [])];

  const handle: TestRedis = {
    url: `${certificates ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    port,
    certificates,
    async start() {
      const output: string[] = [];
      const p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      p.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
      p.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
      running.add(p);
      p.once('exit', () => running.delete(p));
      proc = p;
      const deadline = Date.now() + 10_000;
      while (!(await listening(port))) {
        if (p.exitCode !== null) throw new Error(`redis-server exited: ${output.join('')}`);
        if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within 10 s: ${output.join('')}`);
        await new Promise((r) => setTimeout(r, 30));
      }
    },
    async kill() {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGCONT');
      p.kill('SIGKILL');
      await exited;
    },
    freeze() {
      proc?.kill('SIGSTOP');
    },
    thaw() {
      proc?.kill('SIGCONT');
    },
    cli(...a) {
      return execFileSync('redis-cli', [...cliArgs, ...a], { encoding: 'utf8' }).trim();
    },
    async stop() {
      await handle.kill();
    },
  };
  await handle.start();
  return handle;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
