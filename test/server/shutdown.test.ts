/**
 * SIGTERM on the built `imprimatur serve` process with REDIS_URL set (a real redis-server) and a verification in
 * flight against a real registry that answers slowly: the request in flight gets its full answer, Redis is
 * disconnected, and the process exits by itself (not by the exit backstop) with status 0.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startRegistry, type TestRegistry } from '../harness/registry.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { createTestCertificates } from '../harness/tls.js';
import { cosignConfig, pushSignedWorld, type SignedWorld } from '../cache/world.js';
import { review, workload } from '../support/reviews.js';

const BIN = join(process.cwd(), 'bin', 'imprimatur.js');

interface Served {
  child: ChildProcess;
  url: string;
  /** CA of the serving certificate. */
  ca: string;
  /** Parsed JSON log lines so far, each with the time it arrived. */
  logs: Array<{ at: number; line: Record<string, unknown> }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function serve(configYaml: string, env: Record<string, string>, extraArgs: string[] = []): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'imprimatur-shutdown-'));
  const certs = createTestCertificates(join(dir, 'tls'));
  writeFileSync(join(dir, 'config.yaml'), configYaml);
  const child = spawn(process.execPath, [BIN, 'serve', '--config', join(dir, 'config.yaml'), '--port', '0', '--tls-cert', certs.certPath, '--tls-key', certs.keyPath, ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, IMPRIMATUR_LOG_LEVEL: 'info', IMPRIMATUR_CACHE_DIR: join(dir, 'cache'), ...env },
  });
  const logs: Served['logs'] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${text}`)), 20_000);
    child.stderr!.on('data', (b: Buffer) => {
      text += b.toString();
      const lines = text.split('\n');
      text = lines.pop()!;
      for (const l of lines) {
        try {
          logs.push({ at: Date.now(), line: JSON.parse(l) as Record<string, unknown> });
        } catch {
          const m = l.match(/listening on (https:\/\/\S+)/);
          if (m) {
            clearTimeout(timer);
            resolve({ child, url: m[1]!, ca: certs.caPem, logs, exited });
          }
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${text}`));
    });
  });
}

describe('serve: SIGTERM drains requests in flight, closes Redis and exits', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let redis: TestRedis;
  let world: SignedWorld;

  before(async function () {
    this.timeout(120_000);
    [registry, redis] = await Promise.all([startRegistry(), startRedis()]);
    world = await pushSignedWorld(registry, 1, 0);
  });
  after(async () => {
    await registry?.stop();
    await redis?.stop();
  });

  it('answers the verification in flight in full, disconnects from Redis and exits 0 on its own', async () => {
    const served = await serve(cosignConfig(registry, world.key, { expirySeconds: 30 }), { REDIS_URL: redis.url });
    const dispatcher = new Agent({ connect: { ca: served.ca } });
    try {
      // The start line says whether denials block (issue 19 item 10).
      const logged = Date.now() + 5000; // the JSON log is written asynchronously, after the plain "listening on" line
      while (!served.logs.some((l) => String(l.line.msg).startsWith('listening')) && Date.now() < logged) await new Promise((r) => setTimeout(r, 20));
      const started = served.logs.find((l) => String(l.line.msg).startsWith('listening'));
      expect(started?.line, served.logs.map((l) => JSON.stringify(l.line)).join('\n')).to.include({ msg: 'listening (detection mode off: denials block)', detectionMode: false });
      // Connected to Redis: one client besides redis-cli itself.
      const deadline = Date.now() + 5000;
      while (!/cmd=(?!client)/.test(redis.cli('CLIENT', 'LIST').replace(/.*cmd=client.*\n?/g, ''))) {
        if (Date.now() > deadline) throw new Error(`the webhook never connected to Redis:\n${redis.cli('CLIENT', 'LIST')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      registry.front.setFault({ kind: 'delay', ms: 1500 }, /\/manifests\/1\.0$/);
      const inflight = request(`${served.url}/mutate`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(review('Pod', workload('Pod', { containers: [world.signed[0]!] }))), dispatcher,
      }).then(async (res) => ({ status: res.statusCode, json: (await res.body.json()) as Record<string, any>, at: Date.now() }));
      // The verification is waiting on the registry when the signal arrives.
      while (registry.front.faultHits() === 0) await new Promise((r) => setTimeout(r, 20));
      served.child.kill('SIGTERM');
      const answer = await inflight;
      expect(answer.status).to.equal(200);
      expect(answer.json.response.allowed, JSON.stringify(answer.json)).to.equal(true);
      expect(Buffer.from(answer.json.response.patch, 'base64').toString()).to.contain('@sha256:');

      const exit = await Promise.race([served.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('serve did not exit within 10 s of SIGTERM')), 10_000))]);
      expect(exit.code).to.equal(0);
      const stopped = served.logs.find((l) => l.line.msg === 'stopped');
      expect(stopped, served.logs.map((l) => JSON.stringify(l.line)).join('\n')).to.not.equal(undefined);
      // It exits because nothing holds the event loop (Redis closed), not through the exit backstop.
      expect(served.logs.map((l) => String(l.line.msg))).to.not.include('something still held the event loop open after shutdown; exiting anyway');
      expect(redis.cli('CLIENT', 'LIST').split('\n').filter((l) => !/cmd=client/.test(l) && l.trim() !== '')).to.deep.equal([]);
    } finally {
      registry.front.setFault(undefined);
      served.child.kill('SIGKILL');
      await dispatcher.close();
    }
  });

  it('refuses new connections once draining, and /ready turns 503 during --shutdown-delay', async () => {
    const served = await serve(cosignConfig(registry, world.key), { REDIS_URL: redis.url }, ['--shutdown-delay', '1']);
    const dispatcher = new Agent({ connect: { ca: served.ca } });
    try {
      const ready = async () => (await request(`${served.url}/ready`, { dispatcher, reset: true })).statusCode;
      expect(await ready()).to.equal(200);
      served.child.kill('SIGTERM');
      const end = Date.now() + 900;
      let status = 200;
      while (status === 200 && Date.now() < end) {
        status = await ready();
        await new Promise((r) => setTimeout(r, 30));
      }
      expect(status, 'not ready while still answering').to.equal(503);
      const exit = await served.exited;
      expect(exit.code).to.equal(0);
      const refused = await request(`${served.url}/health`, { dispatcher: new Agent({ connect: { ca: served.ca } }) }).then(() => 'answered', (err: Error & { code?: string }) => err.code ?? err.message);
      expect(refused).to.equal('ECONNREFUSED');
    } finally {
      served.child.kill('SIGKILL');
      await dispatcher.close();
    }
  });
});
