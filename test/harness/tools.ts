/**
 * The real ecosystem tools the suite runs, built once by the repository's scripts (`go install` from the Go module
 * proxy, cached by version under /var/cache/imprimatur — see scripts/lib/go-build.sh) and returned as paths.
 * A first call on a fresh machine builds the tool (minutes, progress on stderr); later calls return at once.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Runs a repository script and returns the last line of its stdout (build scripts print the built binary's path).
 * The script's progress (stderr) is passed through when IMPRIMATUR_BUILD_PROGRESS=1 or stderr is a terminal.
 */
export function runBuildScript(script: string, args: string[] = []): Promise<string> {
  const showProgress = process.env['IMPRIMATUR_BUILD_PROGRESS'] === '1' || process.stderr.isTTY === true;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO, 'scripts', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
      if (showProgress) process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const path = out.trim().split('\n').pop() ?? '';
      if (code === 0 && path) resolve(path);
      else reject(new Error(`scripts/${script} ${args.join(' ')} failed (exit ${code}):\n${err}`));
    });
  });
}

const memo = new Map<string, Promise<string>>();
function built(script: string, args: string[] = []): Promise<string> {
  const key = [script, ...args].join(' ');
  let p = memo.get(key);
  if (!p) {
    p = runBuildScript(script, args);
    p.catch(() => memo.delete(key)); // a failed build is retried by the next caller
    memo.set(key, p);
  }
  return p;
}

export type HelmMajor = 'v3' | 'v4';
export const HELM_MAJORS: readonly HelmMajor[] = ['v3', 'v4'];
/** The Helm CLI (v3.22.x or v4.3.x), scripts/build-helm.sh. */
export function helmBinary(major: HelmMajor): Promise<string> {
  return built('build-helm.sh', [major]);
}

export type CosignMajor = 'v2' | 'v3';
export const COSIGN_MAJORS: readonly CosignMajor[] = ['v2', 'v3'];
/** The cosign CLI (newest v2 and v3), scripts/build-cosign.sh. */
export function cosignBinary(major: CosignMajor): Promise<string> {
  return built('build-cosign.sh', [major]);
}

/** olareg, an OCI 1.1 registry with the referrers API, scripts/build-olareg.sh. */
export function olaregBinary(): Promise<string> {
  return built('build-olareg.sh');
}

/** `1.20`: v1.20.2 from Debian's source; `current`: the newest release the Go toolchain builds (v1.37.x). */
export type KubeVersion = '1.20' | 'current';
export const KUBE_VERSIONS: readonly KubeVersion[] = ['1.20', 'current'];
/** kube-apiserver, scripts/build-kube-apiserver.sh (~7 minutes cold for 1.20, cached afterwards). */
export function kubeApiServerBinary(version: KubeVersion = '1.20'): Promise<string> {
  return built('build-kube-apiserver.sh', [version]);
}
