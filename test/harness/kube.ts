/**
 * A real Kubernetes API server with its own etcd, on loopback, for tests: v1.20.2 (built from Debian's source) or
 * the current release (built from the Go module proxy), both by scripts/build-kube-apiserver.sh. No scheduler, no kubelet: objects are stored and validated,
 * admission webhooks are called for real. See /work/shared/docs/test-infrastructure.md §4.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { freePort } from './ports.js';
import { createTestCertificates } from './tls.js';
import { kubeApiServerBinary, type KubeVersion } from './tools.js';

export { applyManifests, deleteManifests, ensureNamespace, webhookConfiguration, retargetWebhook, WORKLOAD_RULES, INSTALL_ORDER } from './kube-objects.js';
export type { WebhookOptions } from './kube-objects.js';
export { runBuildScript, kubeApiServerBinary, KUBE_VERSIONS, type KubeVersion } from './tools.js';


export interface KubeApiServer {
  /** Which build runs (`1.20` or `current`). */
  version: KubeVersion;
  /** The server's own `gitVersion`, e.g. `v1.20.2`. */
  gitVersion: string;
  /** Minor version number, e.g. 20. */
  minor: number;
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

function httpsGet(url: string, token: string, ca: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` }, ca, timeout: timeoutMs }, (res) => {
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
export async function startKubeApiServer(options: { version?: KubeVersion } = {}): Promise<KubeApiServer> {
  const version = options.version ?? '1.20';
  const bin = await kubeApiServerBinary(version);
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
      `--secure-port=${apiPort}`,
      // 1.20 still has an insecure port; newer servers refuse a loopback advertise address with an endpoint reconciler.
      ...(version === '1.20' ? ['--insecure-port=0'] : ['--endpoint-reconciler-type=none']),
      `--cert-dir=${join(dir, 'certs')}`,
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
    const info = JSON.parse((await httpsGet(`${url}/version`, token, certs.caPem)).body) as { gitVersion: string; minor: string };
    return {
      version, gitVersion: info.gitVersion, minor: Number.parseInt(info.minor, 10),
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

/** The API server's current resourceVersion (of a cheap list): watches from it see every later change. */
export async function currentResourceVersion(kube: KubeApiServer): Promise<string> {
  const res = await httpsGet(`${kube.url}/api/v1/namespaces?limit=1`, kube.token, kube.caPem);
  if (res.status !== 200) throw new Error(`GET namespaces: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  return (JSON.parse(res.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
}

export interface WatchEvent { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; name: string; resourceVersion: bigint; kind: string }

/**
 * Every change to the collection at `path` (e.g. `/api/v1/namespaces/x/services`) since `resourceVersion`, in order:
 * a watch from that version, closed by the server after a second. Resource versions are etcd revisions, so events
 * of different collections can be ordered by them.
 */
export async function eventsSince(kube: KubeApiServer, path: string, resourceVersion: string): Promise<WatchEvent[]> {
  const res = await httpsGet(`${kube.url}${path}?watch=1&resourceVersion=${resourceVersion}&timeoutSeconds=1`, kube.token, kube.caPem, 10_000);
  if (res.status !== 200) throw new Error(`watch ${path}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  return res.body.split('\n').filter((l) => l.trim()).map((line) => {
    const e = JSON.parse(line) as { type: WatchEvent['type']; object: { kind: string; metadata: { name: string; resourceVersion: string } } };
    return { type: e.type, kind: e.object.kind, name: e.object.metadata?.name, resourceVersion: BigInt(e.object.metadata?.resourceVersion ?? '0') };
  });
}
