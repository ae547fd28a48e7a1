/**
 * The kubelet's part for one pod of a stored Deployment, minus the container runtime: what the program in the
 * container gets from the pod spec, taken from the API server's objects, so a test runs the webhook exactly as the
 * chart configures it.
 *
 * - `env`: literals, `valueFrom.secretKeyRef` / `configMapKeyRef` read from the API server (a missing Secret is
 *   the kubelet's CreateContainerConfigError), `fieldRef` metadata.name / metadata.namespace;
 * - volumes: ConfigMap, Secret and projected volumes written with the kubelet's atomic-writer layout
 *   (./atomic-writer.ts) into a directory per mount; `emptyDir` as an empty directory; `subPath` is refused (the
 *   kubelet would copy it once and never update it);
 * - `args`: container paths under a mount become the mount's directory; the pod's own network namespace becomes
 *   loopback: `--host` is 127.0.0.1 and `--port` a free port (the container port is recorded);
 * - `sync()` re-reads the ConfigMaps and Secrets and re-projects them, as the kubelet's periodic sync does;
 * - `automountServiceAccountToken: true`: the process gets `KUBECONFIG` acting as the pod's service account (the test
 *   admin impersonating it), so it has exactly the chart's RBAC, as with the token the kubelet mounts.
 *
 * `startService()` stands in for the Service (and kube-proxy) in front of the pods.
 *
 * The process is `node bin/imprimatur.js` from this checkout (the image is not built here: docs/dockerfile.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Container, type V1Volume } from '@kubernetes/client-node';
import { atomicWrite, type Payload } from './atomic-writer.js';
import { freePort } from './ports.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunningPod {
  name: string;
  /** https://127.0.0.1:<port> */
  url: string;
  port: number;
  /** The container's `args` as the chart wrote them (before the path and address translation). */
  specArgs: string[];
  /** The environment the container got (resolved). */
  env: Record<string, string>;
  /** Host directory of each volume mount, by container mount path. */
  mounts: Record<string, string>;
  /** Every line the process wrote on stderr (the JSON log), parsed when it is JSON. */
  logs: Array<Record<string, unknown>>;
  /** Re-projects ConfigMap/Secret volumes from the API server; true when anything changed on disk. */
  sync(): Promise<boolean>;
  /** Resolves when GET /ready answers 200 (the readiness probe). */
  ready(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

class ContainerConfigError extends Error {
  constructor(message: string) {
    super(`CreateContainerConfigError: ${message}`);
  }
}

function decodeSecretData(data: Record<string, string> | undefined): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}

async function resolveEnv(core: CoreV1Api, namespace: string, podName: string, container: V1Container): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = e.value;
      continue;
    }
    const from = e.valueFrom;
    if (from?.secretKeyRef) {
      const ref = from.secretKeyRef;
      const secret = await core.readNamespacedSecret({ name: ref.name!, namespace }).catch(() => undefined);
      const value = secret ? decodeSecretData(secret.data)[ref.key] : undefined;
      if (value === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(secret ? `couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}` : `secret "${ref.name}" not found`);
      }
      env[e.name] = value.toString('utf8');
    } else if (from?.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const cm = await core.readNamespacedConfigMap({ name: ref.name!, namespace }).catch(() => undefined);
      const value = cm?.data?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}`);
      }
      env[e.name] = value;
    } else if (from?.fieldRef) {
      const field = from.fieldRef.fieldPath;
      if (field === 'metadata.name') env[e.name] = podName;
      else if (field === 'metadata.namespace') env[e.name] = namespace;
      else throw new Error(`kubelet stand-in: fieldRef ${field} is not supported`);
    } else {
      throw new Error(`kubelet stand-in: env ${e.name} has a source it does not support`);
    }
  }
  return env;
}

/** The files a ConfigMap / Secret / projected volume holds now, as an atomic-writer payload. */
async function volumePayload(core: CoreV1Api, namespace: string, volume: V1Volume): Promise<Payload> {
  const payload: Payload = {};
  const add = (data: Record<string, string | Buffer>, items: Array<{ key: string; path: string; mode?: number }> | undefined, what: string) => {
    if (!items) {
      for (const [k, v] of Object.entries(data)) payload[k] = v;
      return;
    }
    for (const item of items) {
      const v = data[item.key];
      if (v === undefined) throw new ContainerConfigError(`${what} has no key ${item.key}`);
      payload[item.path] = item.mode === undefined ? v : { data: v, mode: item.mode };
    }
  };
  const configMap = async (name: string) => {
    const cm = await core.readNamespacedConfigMap({ name, namespace }).catch(() => undefined);
    if (!cm) throw new ContainerConfigError(`configmap "${name}" not found`);
    return cm.data ?? {};
  };
  const secret = async (name: string) => {
    const s = await core.readNamespacedSecret({ name, namespace }).catch(() => undefined);
    if (!s) throw new ContainerConfigError(`secret "${name}" not found`);
    return decodeSecretData(s.data);
  };
  if (volume.configMap) add(await configMap(volume.configMap.name!), volume.configMap.items, `ConfigMap ${volume.configMap.name}`);
  else if (volume.secret) add(await secret(volume.secret.secretName!), volume.secret.items, `Secret ${volume.secret.secretName}`);
  else if (volume.projected) {
    for (const source of volume.projected.sources ?? []) {
      if (source.configMap) add(await configMap(source.configMap.name!), source.configMap.items, `ConfigMap ${source.configMap.name}`);
      else if (source.secret) add(await secret(source.secret.name!), source.secret.items, `Secret ${source.secret.name}`);
      else throw new Error('kubelet stand-in: only configMap and secret projections are supported');
    }
  } else {
    throw new Error(`kubelet stand-in: volume ${volume.name} has a type it does not support`);
  }
  return payload;
}

/** A kubeconfig for the test API server that acts as `user` (impersonation by the test's admin). */
function serviceAccountKubeconfig(kc: KubeConfig, root: string, user: string): string {
  const cluster = kc.getCurrentCluster();
  const admin = kc.getCurrentUser();
  if (!cluster || !admin?.token) throw new Error('kubelet stand-in: the test kubeconfig needs a cluster and a bearer token');
  const ca = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  const file = join(root, 'serviceaccount.kubeconfig');
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config', 'current-context: pod',
    'clusters:', '- name: test', '  cluster:', `    server: ${cluster.server}`, ...(ca ? [`    certificate-authority-data: ${ca}`] : []),
    'users:', '- name: sa', '  user:', `    token: ${admin.token}`, `    as: ${user}`,
    'contexts:', '- name: pod', '  context:', '    cluster: test', '    user: sa', '',
  ].join('\n'), { mode: 0o600 });
  return file;
}

/** Starts the first container of the Deployment's pod template as a local process; see the file comment. */
export async function runDeploymentPod(kc: KubeConfig, namespace: string, deployment: string, podName = `${deployment}-${Math.random().toString(36).slice(2, 7)}`): Promise<RunningPod> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const stored = await apps.readNamespacedDeployment({ name: deployment, namespace });
  const spec = stored.spec!.template.spec!;
  const container = spec.containers[0]!;
  const root = mkdtempSync(join(tmpdir(), `imprimatur-pod-${podName}-`));

  const env = await resolveEnv(core, namespace, podName, container);
  const mounts: Record<string, string> = {};
  const projected: Array<{ dir: string; volume: V1Volume }> = [];
  for (const m of container.volumeMounts ?? []) {
    if (m.subPath || m.subPathExpr) throw new Error(`kubelet stand-in: ${m.mountPath} is a subPath mount, which the kubelet never updates`);
    const volume = spec.volumes?.find((v) => v.name === m.name);
    if (!volume) throw new Error(`volumeMount ${m.name} has no volume`);
    const dir = join(root, 'volumes', m.name);
    mkdirSync(dir, { recursive: true });
    mounts[m.mountPath] = dir;
    if (!volume.emptyDir) {
      atomicWrite(dir, await volumePayload(core, namespace, volume));
      projected.push({ dir, volume });
    }
  }
  // Longest mount path first, so /app/config/x maps through /app/config, not /app.
  const byLength = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const hostPath = (value: string): string => {
    for (const mp of byLength) {
      if (value === mp || value.startsWith(`${mp}/`)) return mounts[mp]! + value.slice(mp.length);
    }
    return value;
  };

  const specArgs = [...(container.args ?? [])];
  const port = await freePort();
  const args = specArgs.map(hostPath);
  const set = (flag: string, value: string) => {
    const i = args.indexOf(flag);
    if (i >= 0) args[i + 1] = value;
    else args.push(flag, value);
  };
  set('--host', '127.0.0.1');
  set('--port', String(port));
  const processEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, IMPRIMATUR_LOG_LEVEL: 'info' };
  for (const [k, v] of Object.entries(env)) processEnv[k] = hostPath(v);
  if (spec.automountServiceAccountToken === true) {
    // The kubelet mounts the service account's token: the process talks to the API server as that account, with
    // exactly the chart's RBAC (here: the test admin impersonating it).
    processEnv.KUBECONFIG = serviceAccountKubeconfig(kc, root, `system:serviceaccount:${namespace}:${spec.serviceAccountName ?? 'default'}`);
  }

  const child: ChildProcess = spawn(process.execPath, [join(REPO, 'bin', 'imprimatur.js'), ...args], { cwd: root, env: processEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  const reap = (): void => { child.kill('SIGKILL'); };
  process.once('exit', reap);
  child.once('exit', () => process.removeListener('exit', reap));
  const logs: Array<Record<string, unknown>> = [];
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ text: line });
      }
    }
  });

  const caPem = mountedCa(mounts);
  const dispatcher = new Agent({ connect: { ca: caPem } });
  const url = `https://127.0.0.1:${port}`;
  return {
    name: podName,
    url,
    port,
    specArgs,
    env,
    mounts,
    logs,
    async sync() {
      let changed = false;
      for (const { dir, volume } of projected) changed = atomicWrite(dir, await volumePayload(core, namespace, volume)) || changed;
      return changed;
    },
    async ready(timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < end) {
        if (child.exitCode !== null) throw new Error(`the pod's process exited (${child.exitCode}):\n${logs.map((l) => JSON.stringify(l)).join('\n')}`);
        try {
          const res = await request(`${url}/ready`, { dispatcher });
          await res.body.text();
          if (res.statusCode === 200) return;
          last = `HTTP ${res.statusCode}`;
        } catch (err) {
          last = (err as Error).message;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the pod never became ready (last: ${last})`);
    },
    async stop() {
      await dispatcher.close();
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => { clearTimeout(timer); resolve(); });
        child.kill('SIGTERM');
      });
    },
  };
}

/** The CA that signed the serving certificate, from the mounted TLS Secret (`ca.crt` next to `tls.crt`). */
function mountedCa(mounts: Record<string, string>): string | undefined {
  for (const dir of Object.values(mounts)) {
    try {
      return readFileSync(join(dir, 'ca.crt'), 'utf8');
    } catch {
      // not the certificate volume
    }
  }
  return undefined;
}

export interface TestService {
  /** https://127.0.0.1:<port> — what the webhook registration points at. */
  url: string;
  port: number;
  /** The ready pods' ports; none = every connection is refused, as for a Service without endpoints. */
  setEndpoints(ports: number[]): void;
  close(): Promise<void>;
}

/**
 * A Service for the tests: a TCP forwarder on a fixed loopback port to the current endpoints (TLS passes through),
 * so the webhook registration keeps one address while pods are rolled behind it.
 */
export async function startService(): Promise<TestService> {
  let endpoints: number[] = [];
  let next = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    if (endpoints.length === 0) {
      client.destroy();
      return;
    }
    const port = endpoints[next++ % endpoints.length]!;
    const upstream = connect({ host: '127.0.0.1', port });
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    client.once('error', () => upstream.destroy());
    upstream.once('error', () => client.destroy());
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    setEndpoints(ports) {
      endpoints = [...ports];
      // The previous pods are about to stop: close their connections so the API server reconnects to the new ones.
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
