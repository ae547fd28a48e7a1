/**
 * The warm-path baseline: a no-op express HTTPS handler that reads the AdmissionReview and answers `allowed: true`.
 * Runs as its own process (like the webhook under test): `tsx bench/baseline-server.ts CERT_FILE KEY_FILE`
 * prints `listening on https://127.0.0.1:PORT/mutate`.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { TlsMaterial } from '../src/server/tls.js';

const SELF = fileURLToPath(import.meta.url);

async function serve(certFile: string, keyFile: string): Promise<void> {
  const app = express();
  app.post('/mutate', express.raw({ type: () => true, limit: 3 * 1024 * 1024 }), (req, res) => {
    const review = JSON.parse((req.body as Buffer).toString('utf8')) as { request: { uid: string } };
    res.json({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
  });
  const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.stderr.write(`listening on https://127.0.0.1:${(server.address() as AddressInfo).port}/mutate\n`);
}

/** Starts the baseline as a separate process; resolves with its URL and pid. */
export async function startBaseline(tls: TlsMaterial): Promise<{ url: string; pid: number; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'imprimatur-baseline-'));
  writeFileSync(join(dir, 'tls.crt'), tls.cert);
  writeFileSync(join(dir, 'tls.key'), tls.key);
  // `node --import tsx` (not the tsx CLI, which would put a wrapper process between us and the server's pid).
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, join(dir, 'tls.crt'), join(dir, 'tls.key')], {
    cwd: join(dirname(SELF), '..'),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the baseline process exited (${code}): ${err}`)));
  });
  child.stderr.resume();
  return {
    url,
    pid: child.pid!,
    close: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

if (process.argv[1] === SELF) void serve(process.argv[2]!, process.argv[3]!);
