import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { ImprimaturError } from '../errors.js';
import { compileGlob, type Glob } from '../policy/glob.js';

/**
 * Registry credentials in the Docker config formats Kubernetes uses for pull secrets, and which of them apply to an
 * image: `.dockerconfigjson` (`{"auths": {"<key>": entry}}`, type `kubernetes.io/dockerconfigjson`, also what a
 * validator's `auth.secretName` mounts) and the legacy `.dockercfg` (`{"<key>": entry}`, type
 * `kubernetes.io/dockercfg`); an entry holds `auth` (base64 of user:password) or `username` and `password`.
 *
 * Keys are matched as the kubelet matches them (pkg/credentialprovider/keyring.go), with the differences listed in
 * docs/registry.md: scheme and a leading `/v1/` or `/v2/` ignored; the port must be equal; host labels may be globs
 * (`*.example.com` matches `a.example.com`, not `example.com` nor `a.b.example.com`; only `*` is special); a path is
 * a prefix of whole repository path segments (the kubelet compares characters); Docker Hub's hosts are one registry,
 * `docker.io`. Every matching entry is a candidate, most specific key first (reverse lexical order of the keys, as
 * the kubelet sorts them), entries with the same key in the order they were given.
 *
 * A validator's `auth.secretName` may also hold Connaisseur's `secret.yaml` (`username`, `password`, `registry`: the
 * registry the credentials are for; without it, the validator's own host when it has one — Notary).
 */

export interface Credentials {
  username: string;
  password: string;
}

/** One usable entry, its key normalised to `host[/path]`. */
export interface CredentialEntry {
  /** Normalised key: lower-case host (Docker Hub aliases folded to `docker.io`), optional path. */
  key: string;
  host: string;
  path: string;
  credentials: Credentials;
  /** Per host label, when the host has a `*` in it: the label globs (the port is compared apart). */
  hostGlob?: { labels: Glob[]; port: string };
}

export const DEFAULT_SECRETS_DIR = '/app/secrets';

export function dockerConfigPath(secretName: string, secretsDir = DEFAULT_SECRETS_DIR): string {
  return join(secretsDir, secretName, '.dockerconfigjson');
}

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** A normalised host (labels may be `*` globs) with an optional port, or a bracketed IPv6 address. */
const REGISTRY_HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9*]([a-z0-9*-]*[a-z0-9*])?(\.[a-z0-9*]([a-z0-9*-]*[a-z0-9*])?)*)(:[0-9]{1,5})?$/;
const REPOSITORY_PATH = /^[A-Za-z0-9._/-]*$/;

/** Whether a normalised key is `host[:port][/repository path]` (Connaisseur refuses anything else). */
export function isRegistryKey(key: { host: string; path: string }): boolean {
  return REGISTRY_HOST.test(key.host) && REPOSITORY_PATH.test(key.path);
}

/** `https://index.docker.io/v1/` → `docker.io`; `GHCR.io/org/` → `ghcr.io/org`; `registry/v2/org` → `registry/org`. */
export function normaliseRegistryKey(raw: string): { host: string; path: string; key: string } {
  let s = raw.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  s = s.replace(/\/+$/, '');
  s = s.replace(/\/v[12]$/, '');
  s = s.replace(/\/+$/, '');
  const slash = s.indexOf('/');
  let host = (slash === -1 ? s : s.slice(0, slash)).toLowerCase();
  // the kubelet (as the Docker client) treats a leading /v1/ or /v2/ as the registry itself
  const path = slash === -1 ? '' : s.slice(slash + 1).replace(/^v[12]\//, '');
  if (DOCKER_HUB_ALIASES.has(host)) host = 'docker.io';
  return { host, path, key: path ? `${host}/${path}` : host };
}

/** Most entries one secret may contribute (the rest are ignored, and say so). */
export const MAX_ENTRIES_PER_SECRET = 256;

/**
 * Parses the text of a `.dockerconfigjson`. `source` names the file in error messages (never its content).
 * `strictKeys` (a validator's own secret, as Connaisseur reads it): a key that is not a registry is an error;
 * otherwise (a workload's pull secret, as the kubelet reads it) such an entry is skipped.
 */
export function parseDockerConfig(text: string, source: string, strictKeys = false): CredentialEntry[] {
  const doc = parseJsonObject(text, source);
  const auths = doc['auths'];
  if (auths === undefined) return [];
  if (!isObject(auths)) throw invalid(source, 'has an "auths" that is not an object');
  return parseEntries(auths, source, strictKeys);
}

/** Parses the text of a legacy `.dockercfg` (type `kubernetes.io/dockercfg`): the entries at the top level. */
export function parseDockercfg(text: string, source: string): CredentialEntry[] {
  return parseEntries(parseJsonObject(text, source), source);
}

function parseJsonObject(text: string, source: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid(source, 'is not valid JSON');
  }
  if (!isObject(doc)) throw invalid(source, 'is not a JSON object');
  return doc;
}

function parseEntries(auths: Record<string, unknown>, source: string, strictKeys = false): CredentialEntry[] {
  const entries: CredentialEntry[] = [];
  for (const [rawKey, value] of Object.entries(auths)) {
    if (entries.length >= MAX_ENTRIES_PER_SECRET) break;
    if (!isObject(value)) throw invalid(source, `has an entry "${rawKey}" that is not an object`);
    const credentials = entryCredentials(value, rawKey, source);
    if (!credentials) continue; // e.g. an entry with only `identitytoken`; nothing usable
    const key = normaliseRegistryKey(rawKey);
    if (!key.host || !isRegistryKey(key)) {
      if (strictKeys) throw invalid(source, `has an entry ${JSON.stringify(rawKey)} that is not a registry (host[:port][/repository path])`);
      continue;
    }
    entries.push({ ...key, credentials, ...(key.host.includes('*') ? { hostGlob: hostGlob(key.host) } : {}) });
  }
  return entries;
}

/** `*.example.com:5000` → one glob per label, and the port. */
function hostGlob(host: string): { labels: Glob[]; port: string } {
  const { name, port } = splitPort(host);
  return { labels: name.split('.').map(compileGlob), port };
}

/** `host:5000` → host and port; `[::1]:5000` → `[::1]` and 5000; no port → ''. */
function splitPort(host: string): { name: string; port: string } {
  const colon = host.lastIndexOf(':');
  const port = colon < 0 ? '' : host.slice(colon + 1);
  return port !== '' && /^[0-9]+$/.test(port) ? { name: host.slice(0, colon), port } : { name: host, port: '' };
}

/**
 * Parses Connaisseur's `secret.yaml` (`username`, `password`, optional `registry`). Without `registry` the
 * credentials are bound to `defaultRegistry` (the validator's own host); without that either they are refused:
 * Imprimatur never sends credentials to a registry nobody named.
 */
export function parseSecretYaml(text: string, source: string, defaultRegistry?: string): CredentialEntry[] {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch {
    throw invalid(source, 'is not valid YAML');
  }
  if (!isObject(doc) || typeof doc.username !== 'string' || typeof doc.password !== 'string' || doc.username === '') {
    throw invalid(source, 'needs a username and a password (strings)');
  }
  const registry = typeof doc.registry === 'string' && doc.registry !== '' ? doc.registry : defaultRegistry;
  if (registry === undefined) {
    throw invalid(source, 'names no registry; add `registry: <host>` so the credentials are sent only there');
  }
  const key = normaliseRegistryKey(registry);
  if (!key.host || key.host.includes('*') || !isRegistryKey(key)) {
    throw invalid(source, `has a registry ${JSON.stringify(registry)} that is not a registry (host[:port][/repository path])`);
  }
  return [{ ...key, credentials: { username: doc.username, password: doc.password } }];
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
 * Every entry that applies to `registry`/`repository`, most specific key first (reverse lexical order of the keys,
 * as the kubelet orders them), entries with the same key in the order given. A key's path matches whole repository
 * path segments only.
 */
export function matchingEntries(entries: readonly CredentialEntry[], registry: string, repository = ''): CredentialEntry[] {
  const target = normaliseRegistryKey(registry);
  const found = entries.filter((entry) => hostMatches(entry, target.host) && (!entry.path || repository === entry.path || repository.startsWith(`${entry.path}/`)));
  return found.sort((a, b) => (a.key === b.key ? 0 : a.key < b.key ? 1 : -1));
}

/** The credentials to use first for `registry`/`repository` (see matchingEntries). */
export function findCredentials(entries: readonly CredentialEntry[], registry: string, repository = ''): Credentials | undefined {
  return matchingEntries(entries, registry, repository)[0]?.credentials;
}

function hostMatches(entry: CredentialEntry, host: string): boolean {
  if (!entry.hostGlob) return entry.host === host;
  const { name, port } = splitPort(host);
  const labels = name.split('.');
  return port === entry.hostGlob.port && labels.length === entry.hostGlob.labels.length && entry.hostGlob.labels.every((g, i) => g.test(labels[i]!));
}

/**
 * Reads a mounted secret (`.dockerconfigjson`, else Connaisseur's `secret.yaml`), re-reading it when the file
 * changes (Kubernetes updates mounted secrets in place).
 */
export class DockerConfigFile {
  private cached?: { path: string; mtimeMs: number; size: number; entries: CredentialEntry[] };

  constructor(
    readonly path: string,
    readonly secretName: string,
    /** Registry for a `secret.yaml` without `registry` (the validator's own host). */
    private readonly defaultRegistry?: string,
  ) {}

  entries(): CredentialEntry[] {
    // Connaisseur reads secret.yaml first, then .dockerconfigjson.
    const yamlPath = join(this.path, '..', 'secret.yaml');
    const path = existsSync(yamlPath) ? yamlPath : this.path;
    let stat;
    try {
      stat = statSync(path);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
      throw new ImprimaturError(
        'REGISTRY_CREDENTIALS_INVALID',
        `registry credentials file ${this.path} (secret "${this.secretName}") ${reason}; mount the dockerconfigjson secret there`,
        { path: this.path, secretName: this.secretName },
      );
    }
    if (this.cached && this.cached.path === path && this.cached.mtimeMs === stat.mtimeMs && this.cached.size === stat.size) return this.cached.entries;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw invalid(`${path} (secret "${this.secretName}")`, 'cannot be read');
    }
    const source = `${path} (secret "${this.secretName}")`;
    const entries = path === yamlPath ? parseSecretYaml(text, source, this.defaultRegistry) : parseDockerConfig(text, source, true);
    this.cached = { path, mtimeMs: stat.mtimeMs, size: stat.size, entries };
    return entries;
  }
}

function invalid(source: string, reason: string): ImprimaturError {
  return new ImprimaturError('REGISTRY_CREDENTIALS_INVALID', `registry credentials file ${source} ${reason}`, { source, reason });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
