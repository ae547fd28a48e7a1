/**
 * A real Kubernetes API server (v1.20.2, built from Debian's source by scripts/build-kube-apiserver.sh)
 * with its own etcd, on loopback, for tests. No scheduler, no kubelet: objects are stored and validated,
 * admission webhooks are called for real. See /work/shared/docs/test-infrastructure.md §4.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { freePort } from './ports.js';
import { createTestCertificates } from './tls.js';

export { applyManifests, deleteManifests, ensureNamespace, webhookConfiguration, retargetWebhook, WORKLOAD_RULES, INSTALL_ORDER } from './kube-objects.js';
export type { WebhookOptions } from './kube-objects.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface KubeApiServer {
  /** https://127.0.0.1:<port> */
  url: string;
  /** Bearer token of a `system:masters` user. */
  token: string;
  /** CA of the API server's serving certificate. */
  caPem: string;
  kubeconfigPath: string;
  kc: KubeConfig;
  /** Temp directory holding etcd data, keys, logs (apiserver.log, etcd.log). */
  dir: string;
  stop(): Promise<void>;
}

/** Runs a repository script and returns the last line of its stdout (scripts print the built binary's path). */
export function runBuildScript(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO, 'scripts', script)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    child.on('error', reject);
    child.on('close', (code) => {
      const path = out.trim().split('\n').pop() ?? '';
      if (code === 0 && path) resolve(path);
      else reject(new Error(`scripts/${script} failed (exit ${code}):\n${err}`));
    });
  });
}

/** Path of the kube-apiserver binary; builds it on first use (~7 minutes cold, cached afterwards). */
export function kubeApiServerBinary(): Promise<string> {
  return runBuildScript('build-kube-apiserver.sh');
}

interface Proc { child: ChildProcess; name: string; log: string }

function startProcess(name: string, bin: string, args: string[], dir: string): Proc {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  // Never leave etcd or the API server behind, even if the test process dies without calling stop().
  const reap = (): void => { child.kill('SIGKILL'); };
  process.once('exit', reap);
  child.once('exit', () => process.removeListener('exit', reap));
  return { child, name, log };
}

function logTail(p: Proc): string {
  try {
    return readFileSync(p.log, 'utf8').split('\n').slice(-25).join('\n');
  } catch {
    return '(no log)';
  }
}

function stopProcess(p: Proc): Promise<void> {
  const { child } = p;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}

function httpsGet(url: string, token: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` }, ca, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function waitReady(url: string, token: string, ca: string, procs: Proc[], deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  let last = '';
  while (Date.now() < end) {
    for (const p of procs) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) {
        throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before the API server was ready:\n${logTail(p)}`);
      }
    }
    try {
      const res = await httpsGet(`${url}/readyz`, token, ca);
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${res.body.slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`kube-apiserver not ready after ${deadlineMs} ms (last: ${last}):\n${logTail(procs[procs.length - 1]!)}`);
}

/** Starts etcd and kube-apiserver on free loopback ports; resolves once /readyz answers 200. */
export async function startKubeApiServer(): Promise<KubeApiServer> {
  const bin = await kubeApiServerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'imprimatur-kube-'));
  const [etcdClient, etcdPeer, etcdMetrics, apiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const procs: Proc[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of [...procs].reverse()) await stopProcess(p);
  };
  try {
    const client = `http://127.0.0.1:${etcdClient}`;
    const peer = `http://127.0.0.1:${etcdPeer}`;
    procs.push(startProcess('etcd', 'etcd', [
      '--name', 'default', '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `default=${peer}`, '--listen-metrics-urls', `http://127.0.0.1:${etcdMetrics}`,
    ], dir));

    mkdirSync(join(dir, 'pki'));
    const certs = createTestCertificates(join(dir, 'pki'));
    const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });

    const issuer = 'https://kubernetes.default.svc.cluster.local';
    procs.push(startProcess('apiserver', bin, [
      `--etcd-servers=${client}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`, '--insecure-port=0', `--cert-dir=${join(dir, 'certs')}`,
      `--tls-cert-file=${certs.certPath}`, `--tls-private-key-file=${certs.keyPath}`,
      `--service-account-issuer=${issuer}`, `--api-audiences=${issuer}`,
      `--service-account-key-file=${join(dir, 'sa.pub')}`, `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24', `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC', '--disable-admission-plugins=ServiceAccount',
      '--enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook', '--allow-privileged=true',
    ], dir));

    const url = `https://127.0.0.1:${apiPort}`;
    await waitReady(url, token, certs.caPem, procs, 90_000);

    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(url, certs.caPem, token), { mode: 0o600 });
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    return {
      url, token, caPem: certs.caPem, kubeconfigPath, kc, dir,
      async stop() {
        await stopAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export function kubeconfigYaml(url: string, caPem: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1', 'kind: Config', 'current-context: test',
    'clusters:', '- name: test', '  cluster:', `    server: ${url}`, `    certificate-authority-data: ${ca}`,
    'users:', '- name: admin', '  user:', `    token: ${token}`,
    'contexts:', '- name: test', '  context:', '    cluster: test', '    user: admin',
    '',
  ].join('\n');
}
