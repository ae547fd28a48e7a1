import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ImprimaturError } from '../errors.js';

/**
 * Registry credentials from a mounted `kubernetes.io/dockerconfigjson` secret:
 * `<secretsDir>/<secretName>/.dockerconfigjson` with
 * `{"auths": {"<registry>[/<repository prefix>]": {"auth": base64(user:pass)} | {"username", "password"}}}`.
 */

export interface Credentials {
  username: string;
  password: string;
}

/** One usable `auths` entry, its key normalised to `host[/path]`. */
export interface CredentialEntry {
  /** Normalised key: lower-case host (Docker Hub aliases folded to `docker.io`), optional path. */
  key: string;
  host: string;
  path: string;
  credentials: Credentials;
}

export const DEFAULT_SECRETS_DIR = '/app/secrets';

export function dockerConfigPath(secretName: string, secretsDir = DEFAULT_SECRETS_DIR): string {
  return join(secretsDir, secretName, '.dockerconfigjson');
}

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** `https://index.docker.io/v1/` → `docker.io`; `GHCR.io/org/` → `ghcr.io/org`. */
export function normaliseRegistryKey(raw: string): { host: string; path: string; key: string } {
  let s = raw.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  s = s.replace(/\/+$/, '');
  s = s.replace(/\/v[12]$/, '');
  s = s.replace(/\/+$/, '');
  const slash = s.indexOf('/');
  let host = (slash === -1 ? s : s.slice(0, slash)).toLowerCase();
  const path = slash === -1 ? '' : s.slice(slash + 1);
  if (DOCKER_HUB_ALIASES.has(host)) host = 'docker.io';
  return { host, path, key: path ? `${host}/${path}` : host };
}

/** Parses the text of a `.dockerconfigjson`. `source` names the file in error messages (never its content). */
export function parseDockerConfig(text: string, source: string): CredentialEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid(source, 'is not valid JSON');
  }
  if (!isObject(doc)) throw invalid(source, 'is not a JSON object');
  const auths = doc['auths'];
  if (auths === undefined) return [];
  if (!isObject(auths)) throw invalid(source, 'has an "auths" that is not an object');
  const entries: CredentialEntry[] = [];
  for (const [rawKey, value] of Object.entries(auths)) {
    if (!isObject(value)) throw invalid(source, `has an entry "${rawKey}" that is not an object`);
    const credentials = entryCredentials(value, rawKey, source);
    if (!credentials) continue; // e.g. an entry with only `identitytoken`; nothing usable
    entries.push({ ...normaliseRegistryKey(rawKey), credentials });
  }
  return entries;
}

function entryCredentials(value: Record<string, unknown>, rawKey: string, source: string): Credentials | undefined {
  if (typeof value['auth'] === 'string' && value['auth'] !== '') {
    const decoded = Buffer.from(value['auth'], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw invalid(source, `has an entry "${rawKey}" whose "auth" is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof value['username'] === 'string' && typeof value['password'] === 'string') {
    return { username: value['username'], password: value['password'] };
  }
  return undefined;
}

/**
 * The credentials for `registry`/`repository`: the entry with the longest matching
 * `host[/path]` prefix (a path matches whole repository path segments only).
 */
export function findCredentials(entries: readonly CredentialEntry[], registry: string, repository = ''): Credentials | undefined {
  const target = normaliseRegistryKey(registry);
  let best: CredentialEntry | undefined;
  for (const entry of entries) {
    if (entry.host !== target.host) continue;
    if (entry.path && !(repository === entry.path || repository.startsWith(`${entry.path}/`))) continue;
    if (!best || entry.path.length > best.path.length) best = entry;
  }
  return best?.credentials;
}

/**
 * Reads a mounted secret, re-reading it when the file changes (Kubernetes updates mounted secrets in place).
 */
export class DockerConfigFile {
  private cached?: { mtimeMs: number; size: number; entries: CredentialEntry[] };

  constructor(readonly path: string, readonly secretName: string) {}

  entries(): CredentialEntry[] {
    let stat;
    try {
      stat = statSync(this.path);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
      throw new ImprimaturError(
        'REGISTRY_CREDENTIALS_INVALID',
        `registry credentials file ${this.path} (secret "${this.secretName}") ${reason}; mount the dockerconfigjson secret there`,
        { path: this.path, secretName: this.secretName },
      );
    }
    if (this.cached && this.cached.mtimeMs === stat.mtimeMs && this.cached.size === stat.size) return this.cached.entries;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      throw invalid(`${this.path} (secret "${this.secretName}")`, 'cannot be read');
    }
    const entries = parseDockerConfig(text, `${this.path} (secret "${this.secretName}")`);
    this.cached = { mtimeMs: stat.mtimeMs, size: stat.size, entries };
    return entries;
  }
}

function invalid(source: string, reason: string): ImprimaturError {
  return new ImprimaturError('REGISTRY_CREDENTIALS_INVALID', `registry credentials file ${source} ${reason}`, { source });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
