import { canonicalJson } from './canonical-json.js';
import { NOTARY_ERRORS, notaryError } from './errors.js';
import type { TufKey } from './tuf-keys.js';

/** Structural parsing of Notary's TUF metadata. Anything unexpected is refused (fail closed). */

export interface TufSignature {
  keyid: string;
  method: string;
  sig: Buffer;
}

export interface FileMeta {
  length: number;
  /** Algorithm → digest bytes (Notary writes them base64-encoded). */
  hashes: Record<string, Buffer>;
  version?: number;
}

export interface RoleKeys {
  keyids: string[];
  threshold: number;
}

export interface DelegatedRole extends RoleKeys {
  name: string;
  paths?: string[];
  pathHashPrefixes?: string[];
}

interface Common {
  version: number;
  expires: Date;
}

export interface RootMeta extends Common {
  keys: Record<string, TufKey>;
  roles: Record<string, RoleKeys>;
}
export interface TimestampMeta extends Common {
  snapshot: FileMeta;
}
export interface SnapshotMeta extends Common {
  meta: Record<string, FileMeta>;
}
export interface TargetsMeta extends Common {
  targets: Record<string, FileMeta>;
  delegationKeys: Record<string, TufKey>;
  delegations: DelegatedRole[];
}

/** A fetched metadata file: the bytes as served, the canonical bytes that were signed and the signatures. */
export interface Envelope {
  role: string;
  raw: Buffer;
  signedBytes: Buffer;
  signed: Record<string, unknown>;
  signatures: TufSignature[];
}

const MAX_SIGNATURES = 64;
const MAX_KEYS = 256;
const MAX_DELEGATIONS = 256;
const MAX_TARGETS = 200_000;

/** Maps keyed by names from the metadata have no prototype (a key named `__proto__` stays a key). */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function bad(role: string, reason: string): never {
  throw notaryError(NOTARY_ERRORS.badMetadata, `${role} metadata is malformed: ${reason}`, { role });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseEnvelope(role: string, raw: Buffer): Envelope {
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    bad(role, 'not valid JSON');
  }
  if (!isObject(doc) || !isObject(doc.signed) || !Array.isArray(doc.signatures)) bad(role, 'expected {"signed": {...}, "signatures": [...]}');
  if (doc.signatures.length > MAX_SIGNATURES) bad(role, `more than ${MAX_SIGNATURES} signatures`);
  const signatures = doc.signatures.map((s): TufSignature => {
    if (!isObject(s) || typeof s.keyid !== 'string' || typeof s.method !== 'string' || typeof s.sig !== 'string') bad(role, 'signature entry lacks keyid, method or sig');
    return { keyid: s.keyid, method: s.method, sig: Buffer.from(s.sig, 'base64') };
  });
  let signedBytes: Buffer;
  try {
    signedBytes = Buffer.from(canonicalJson(doc.signed), 'utf8');
  } catch (err) {
    bad(role, (err as Error).message);
  }
  return { role, raw, signedBytes, signed: doc.signed, signatures };
}

function common(role: string, s: Record<string, unknown>, type: string): Common {
  if (s._type !== type) bad(role, `_type is ${JSON.stringify(s._type)}, expected "${type}"`);
  if (!Number.isSafeInteger(s.version) || (s.version as number) < 0) bad(role, 'version is not a non-negative integer');
  if (typeof s.expires !== 'string') bad(role, 'expires is missing');
  const expires = new Date(s.expires);
  if (Number.isNaN(expires.getTime())) bad(role, `expires ${JSON.stringify(s.expires)} is not a date`);
  return { version: s.version as number, expires };
}

function fileMeta(role: string, what: string, v: unknown): FileMeta {
  if (!isObject(v) || !Number.isSafeInteger(v.length) || (v.length as number) < 0 || !isObject(v.hashes)) bad(role, `${what} lacks length or hashes`);
  const hashes = dict<Buffer>();
  for (const [alg, h] of Object.entries(v.hashes)) {
    if (typeof h !== 'string') bad(role, `${what} hash ${alg} is not a string`);
    hashes[alg] = Buffer.from(h, 'base64');
  }
  if (v.version !== undefined && !Number.isSafeInteger(v.version)) bad(role, `${what} version is not an integer`);
  return { length: v.length as number, hashes, version: v.version as number | undefined };
}

function keyMap(role: string, v: unknown): Record<string, TufKey> {
  if (v === undefined) return dict<TufKey>();
  if (!isObject(v)) bad(role, 'keys is not an object');
  const entries = Object.entries(v);
  if (entries.length > MAX_KEYS) bad(role, `more than ${MAX_KEYS} keys`);
  const out = dict<TufKey>();
  for (const [id, k] of entries) {
    if (!isObject(k) || typeof k.keytype !== 'string' || !isObject(k.keyval) || typeof k.keyval.public !== 'string') bad(role, `key ${id} is malformed`);
    out[id] = { keytype: k.keytype, keyval: { public: k.keyval.public, private: k.keyval.private } };
  }
  return out;
}

function roleKeys(role: string, what: string, v: unknown): RoleKeys {
  if (!isObject(v) || !Array.isArray(v.keyids) || !v.keyids.every((k) => typeof k === 'string')) bad(role, `${what} lacks keyids`);
  if (!Number.isSafeInteger(v.threshold) || (v.threshold as number) < 1) bad(role, `${what} threshold must be at least 1`);
  return { keyids: v.keyids as string[], threshold: v.threshold as number };
}

export function parseRoot(env: Envelope): RootMeta {
  const s = env.signed;
  const c = common('root', s, 'Root');
  if (!isObject(s.roles)) bad('root', 'roles is missing');
  const roles = dict<RoleKeys>();
  for (const name of ['root', 'targets', 'snapshot', 'timestamp']) roles[name] = roleKeys('root', `role ${name}`, s.roles[name]);
  return { ...c, keys: keyMap('root', s.keys), roles };
}

export function parseTimestamp(env: Envelope): TimestampMeta {
  const s = env.signed;
  const c = common('timestamp', s, 'Timestamp');
  if (!isObject(s.meta)) bad('timestamp', 'meta is missing');
  return { ...c, snapshot: fileMeta('timestamp', 'meta.snapshot', s.meta.snapshot) };
}

export function parseSnapshot(env: Envelope): SnapshotMeta {
  const s = env.signed;
  const c = common('snapshot', s, 'Snapshot');
  if (!isObject(s.meta)) bad('snapshot', 'meta is missing');
  const entries = Object.entries(s.meta);
  if (entries.length > MAX_DELEGATIONS + 2) bad('snapshot', 'too many meta entries');
  const meta = dict<FileMeta>();
  for (const [name, m] of entries) meta[name] = fileMeta('snapshot', `meta.${name}`, m);
  return { ...c, meta };
}

export function parseTargets(env: Envelope): TargetsMeta {
  const role = env.role;
  const s = env.signed;
  const c = common(role, s, 'Targets');
  if (!isObject(s.targets)) bad(role, 'targets is missing');
  const entries = Object.entries(s.targets);
  if (entries.length > MAX_TARGETS) bad(role, `more than ${MAX_TARGETS} targets`);
  const targets = dict<FileMeta>();
  for (const [name, m] of entries) targets[name] = fileMeta(role, `target ${JSON.stringify(name)}`, m);
  let delegationKeys = dict<TufKey>();
  const delegations: DelegatedRole[] = [];
  if (s.delegations !== undefined) {
    if (!isObject(s.delegations)) bad(role, 'delegations is not an object');
    delegationKeys = keyMap(role, s.delegations.keys);
    const roles = s.delegations.roles ?? [];
    if (!Array.isArray(roles) || roles.length > MAX_DELEGATIONS) bad(role, 'delegations.roles is not a bounded list');
    for (const r of roles) {
      if (!isObject(r) || typeof r.name !== 'string') bad(role, 'delegated role lacks a name');
      const keys = roleKeys(role, `delegation ${r.name}`, r);
      const strings = (v: unknown, what: string): string[] | undefined => {
        if (v === undefined || v === null) return undefined;
        if (!Array.isArray(v) || !v.every((p) => typeof p === 'string')) bad(role, `delegation ${r.name as string} ${what} is not a list of strings`);
        return v as string[];
      };
      delegations.push({ name: r.name, ...keys, paths: strings(r.paths, 'paths'), pathHashPrefixes: strings(r.path_hash_prefixes, 'path_hash_prefixes') });
    }
  }
  return { ...c, targets, delegationKeys, delegations };
}
