/**
 * The kubelet's way of projecting ConfigMap, Secret and projected volumes into a pod (its `AtomicWriter`,
 * pkg/volume/util/atomic_writer.go), re-done step by step so tests see exactly the layout and the update
 * sequence a process in a pod sees:
 *
 *   <dir>/..2026_11_30_06_50_23.1234567890/config.yaml        the real files, in a timestamped directory
 *   <dir>/..2026_11_30_06_50_23.1234567890/alert-templates/x   (sub-directories too)
 *   <dir>/..data -> ..2026_11_30_06_50_23.1234567890           symlink to the current timestamped directory
 *   <dir>/config.yaml -> ..data/config.yaml                    user-visible names: symlinks through ..data
 *   <dir>/alert-templates -> ..data/alert-templates            (one symlink per top-level path component)
 *
 * An update writes a new timestamped directory, creates the user-visible symlinks that are new, points a fresh
 * `..data_tmp` symlink at the new directory and renames it over `..data` (the one atomic step), removes
 * user-visible names that are gone, then deletes the previous timestamped directory.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, normalize, relative, sep } from 'node:path';

export interface FileProjection {
  data: string | Buffer;
  /** File mode (default 0644, the kubelet's defaultMode 420). */
  mode?: number;
}

export type Payload = Record<string, string | Buffer | FileProjection>;

const DATA = '..data';
const DATA_TMP = '..data_tmp';

function projection(v: string | Buffer | FileProjection): FileProjection {
  return typeof v === 'string' || Buffer.isBuffer(v) ? { data: v } : v;
}

function validatePath(path: string): string {
  if (path === '' || path.startsWith('/')) throw new Error(`invalid path ${JSON.stringify(path)}: must be a non-empty relative path`);
  const items = path.split('/');
  if (items.includes('..')) throw new Error(`invalid path ${path}: must not contain '..'`);
  if (items[0]!.startsWith('..')) throw new Error(`invalid path ${path}: must not start with '..'`);
  return normalize(path);
}

/** `..YYYY_MM_DD_HH_MM_SS.` + a random suffix (Go's os.MkdirTemp with the kubelet's time format, UTC). */
function timestampPrefix(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `..${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}.`;
}

function readLinkOrEmpty(path: string): string {
  try {
    return readlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Every path below `root`, relative to it (directories and files). */
function walk(root: string, at = root, out: string[] = []): string[] {
  for (const entry of readdirSync(at, { withFileTypes: true })) {
    const full = join(at, entry.name);
    out.push(relative(root, full));
    if (entry.isDirectory()) walk(root, full, out);
  }
  return out;
}

/**
 * Projects `payload` (relative path → content) into `targetDir` as the kubelet does. Returns false when the
 * directory already holds exactly this payload (the kubelet then writes nothing).
 */
export function atomicWrite(targetDir: string, payload: Payload): boolean {
  // (1) validate
  const clean = new Map<string, FileProjection>();
  for (const [path, v] of Object.entries(payload)) clean.set(validatePath(path), projection(v));

  // (2) the current timestamped directory
  const dataPath = join(targetDir, DATA);
  const oldTs = readLinkOrEmpty(dataPath);
  const oldTsPath = oldTs ? join(targetDir, oldTs) : '';

  // (3) user-visible paths that disappear; (4) is anything different?
  let toRemove: string[] = [];
  if (oldTsPath) {
    const wanted = new Set<string>();
    for (const path of clean.keys()) {
      for (let sub = path; sub !== '.' && sub !== ''; sub = dirname(sub)) wanted.add(sub);
    }
    toRemove = exists(oldTsPath) ? walk(oldTsPath).filter((p) => !wanted.has(p)) : [];
    const differs = [...clean].some(([path, f]) => {
      const file = join(oldTsPath, path);
      if (!exists(file)) return true;
      return !readFileSync(file).equals(Buffer.from(f.data));
    });
    if (!differs && toRemove.length === 0) return false;
  }

  // (5) a new timestamped directory, (6) the payload in it
  const tsDir = mkdtempSync(join(targetDir, timestampPrefix()));
  chmodSync(tsDir, 0o755);
  for (const [path, f] of clean) {
    const full = join(tsDir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, f.data);
    chmodSync(full, f.mode ?? 0o644);
  }

  // (7) user-visible symlinks for new top-level names
  for (const path of clean.keys()) {
    const top = path.split(sep)[0]!;
    if (!exists(join(targetDir, top))) symlinkSync(join(DATA, top), join(targetDir, top));
  }

  // (8) ..data_tmp → the new directory, (9) renamed over ..data: the atomic switch
  const tmpLink = join(targetDir, DATA_TMP);
  symlinkSync(basename(tsDir), tmpLink);
  renameSync(tmpLink, dataPath);

  // (10) user-visible names that are gone (top level only), (11) the previous timestamped directory
  for (const p of toRemove) if (!p.includes(sep)) unlinkSync(join(targetDir, p));
  if (oldTsPath) rmSync(oldTsPath, { recursive: true, force: true });
  return true;
}

/** The hidden entries of a projected directory (for assertions on the layout). */
export function projectedLayout(targetDir: string): { data: string; timestamped: string[]; visible: Record<string, string> } {
  const entries = readdirSync(targetDir);
  const visible: Record<string, string> = {};
  for (const e of entries.filter((n) => !n.startsWith('..'))) visible[e] = readlinkSync(join(targetDir, e));
  return { data: readlinkSync(join(targetDir, DATA)), timestamped: entries.filter((n) => /^\.\.\d{4}_/.test(n)), visible };
}
