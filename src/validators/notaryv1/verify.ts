import { createHash, type KeyObject } from 'node:crypto';
import { NOTARY_ERRORS, notaryError } from './errors.js';
import { MAX_ROLE_BYTES, MAX_ROOT_BYTES, MAX_TIMESTAMP_BYTES, type NotaryFetcher } from './fetch.js';
import { parseTufKey, samePublicKey, verifySignature, type ParsedTufKey, type TufKey } from './tuf-keys.js';
import {
  parseEnvelope,
  parseRoot,
  parseSnapshot,
  parseTargets,
  parseTimestamp,
  type DelegatedRole,
  type Envelope,
  type FileMeta,
  type RoleKeys,
  type RootMeta,
  type SnapshotMeta,
  type TargetsMeta,
} from './tuf-metadata.js';

/** A pinned root public key (a validator trust root). */
export interface PinnedRoot {
  name: string;
  key: KeyObject;
}

export interface PinResult {
  name: string;
  verified: boolean;
  reason?: string;
}

/** A targets role whose signatures, expiry and snapshot hash were verified, with its delegation entry. */
export interface VerifiedTargets {
  name: string;
  meta: TargetsMeta;
  /** The entry in the parent role that delegates to this role (undefined for `targets`). */
  delegation?: DelegatedRole;
  parent?: VerifiedTargets;
}

const MAX_DELEGATION_DEPTH = 4;
/** Role names we fetch: no `.`/`..` segments, so a name can never walk out of `_trust/tuf/`. */
const ROLE_NAME = /^targets(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*){0,4}$/;

/**
 * Verifies a GUN's trust data: root against the pinned keys, then timestamp → snapshot → targets
 * (→ delegations, on demand), checking signatures with the keys and thresholds delegated by the
 * parent role, expiry against `now`, and hash/length/version consistency.
 */
export class TrustChain {
  readonly pins: PinResult[] = [];
  private root!: RootMeta;
  private snapshot!: SnapshotMeta;
  private targets!: VerifiedTargets;
  private readonly delegations = new Map<string, Promise<VerifiedTargets | undefined>>();

  private constructor(
    private readonly fetcher: NotaryFetcher,
    readonly gun: string,
    private readonly now: Date,
    private readonly signal: AbortSignal,
  ) {}

  static async load(fetcher: NotaryFetcher, gun: string, pins: PinnedRoot[], now: Date, signal: AbortSignal): Promise<TrustChain> {
    const chain = new TrustChain(fetcher, gun, now, signal);
    await chain.loadTopLevel(pins);
    return chain;
  }

  get topTargets(): VerifiedTargets {
    return this.targets;
  }

  private noTrustData(): never {
    throw notaryError(NOTARY_ERRORS.noTrustData, `no trust data for ${this.gun} on ${this.fetcher.host}`, { gun: this.gun, host: this.fetcher.host });
  }

  private async loadTopLevel(pins: PinnedRoot[]): Promise<void> {
    const [rootRaw, tsRaw] = await Promise.all([
      this.fetcher.fetch(this.gun, 'root', MAX_ROOT_BYTES, this.signal),
      this.fetcher.fetch(this.gun, 'timestamp', MAX_TIMESTAMP_BYTES, this.signal),
    ]);
    if (!rootRaw || !tsRaw) this.noTrustData();

    // Root: pinned key first (the anchor of everything), then the root role's own threshold.
    const rootEnv = parseEnvelope('root', rootRaw);
    const root = parseRoot(rootEnv);
    this.checkPins(rootEnv, root, pins);
    this.verifyRole(rootEnv, root.keys, root.roles.root!);
    this.checkExpiry('root', root.expires);
    this.root = root;

    // Timestamp → snapshot.
    const tsEnv = parseEnvelope('timestamp', tsRaw);
    const ts = parseTimestamp(tsEnv);
    this.verifyRole(tsEnv, root.keys, root.roles.timestamp!);
    this.checkExpiry('timestamp', ts.expires);
    const snapRaw = await this.fetchListed('snapshot', ts.snapshot, 'timestamp');
    const snapEnv = parseEnvelope('snapshot', snapRaw);
    const snapshot = parseSnapshot(snapEnv);
    this.verifyRole(snapEnv, root.keys, root.roles.snapshot!);
    this.checkExpiry('snapshot', snapshot.expires);
    this.checkVersion('snapshot', snapshot.version, ts.snapshot, 'timestamp');
    const rootListed = snapshot.meta.root;
    if (rootListed) this.checkHashes('root', rootRaw, rootListed, 'snapshot');
    this.snapshot = snapshot;

    // Snapshot → targets.
    const targetsListed = snapshot.meta.targets;
    if (!targetsListed) {
      throw notaryError(NOTARY_ERRORS.inconsistent, `snapshot of ${this.gun} does not list targets`, { gun: this.gun });
    }
    const targetsRaw = await this.fetchListed('targets', targetsListed, 'snapshot');
    const targetsEnv = parseEnvelope('targets', targetsRaw);
    const targets = parseTargets(targetsEnv);
    this.verifyRole(targetsEnv, root.keys, root.roles.targets!);
    this.checkExpiry('targets', targets.expires);
    this.checkVersion('targets', targets.version, targetsListed, 'snapshot');
    this.targets = { name: 'targets', meta: targets };
  }

  /**
   * A delegated targets role (e.g. `targets/releases`), verified; `undefined` when the parent does
   * not delegate to it or it was never published (not listed in the snapshot).
   */
  delegation(name: string): Promise<VerifiedTargets | undefined> {
    let p = this.delegations.get(name);
    if (!p) {
      p = this.loadDelegation(name);
      this.delegations.set(name, p);
    }
    return p;
  }

  private async loadDelegation(name: string): Promise<VerifiedTargets | undefined> {
    if (!ROLE_NAME.test(name) || name === 'targets' || name.split('/').length > MAX_DELEGATION_DEPTH + 1) return undefined;
    const parentName = name.slice(0, name.lastIndexOf('/'));
    const parent = parentName === 'targets' ? this.targets : await this.delegation(parentName);
    if (!parent) return undefined;
    const entry = parent.meta.delegations.find((d) => d.name === name);
    if (!entry) return undefined;
    const listed = this.snapshot.meta[name];
    if (!listed) return undefined;
    const raw = await this.fetchListed(name, listed, 'snapshot');
    const env = parseEnvelope(name, raw);
    const meta = parseTargets(env);
    this.verifyRole(env, parent.meta.delegationKeys, entry);
    this.checkExpiry(name, meta.expires);
    this.checkVersion(name, meta.version, listed, 'snapshot');
    return { name, meta, delegation: entry, parent };
  }

  private checkPins(env: Envelope, root: RootMeta, pins: PinnedRoot[]): void {
    const rootKeyIds = root.roles.root!.keyids;
    for (const pin of pins) {
      let verified = false;
      let matchedKey = false;
      for (const id of rootKeyIds) {
        const key = this.usableKey(root.keys, id);
        if (!key || !samePublicKey(key.publicKey, pin.key)) continue;
        matchedKey = true;
        if (env.signatures.some((s) => s.keyid === id && verifySignature(key, s.method, env.signedBytes, s.sig))) verified = true;
      }
      this.pins.push({
        name: pin.name,
        verified,
        reason: verified ? undefined : matchedKey ? 'the pinned key is a root key, but its signature on root.json is invalid' : 'the pinned key is not a root key of this repository',
      });
    }
    if (!this.pins.some((p) => p.verified)) {
      throw notaryError(
        NOTARY_ERRORS.rootUntrusted,
        this.pins.map((p) => `root.json not signed by pinned key "${p.name}"`).join('; '),
        { gun: this.gun, trustRoots: this.pins },
      );
    }
  }

  private usableKey(keys: Record<string, TufKey>, id: string): ParsedTufKey | undefined {
    const k = keys[id];
    if (!k) return undefined;
    try {
      const parsed = parseTufKey(k);
      return parsed.id === id ? parsed : undefined; // a key listed under another key's id is ignored
    } catch {
      return undefined;
    }
  }

  private verifyRole(env: Envelope, keys: Record<string, TufKey>, role: RoleKeys): void {
    const valid = new Set<string>();
    for (const id of new Set(role.keyids)) {
      const key = this.usableKey(keys, id);
      if (key && env.signatures.some((s) => s.keyid === id && verifySignature(key, s.method, env.signedBytes, s.sig))) valid.add(id);
    }
    if (valid.size < role.threshold) {
      throw notaryError(
        NOTARY_ERRORS.badSignature,
        `${env.role} metadata of ${this.gun} is not signed by enough trusted keys (${valid.size} valid of ${role.threshold} required)`,
        { gun: this.gun, role: env.role, valid: valid.size, threshold: role.threshold },
      );
    }
  }

  private checkExpiry(role: string, expires: Date): void {
    if (this.now.getTime() > expires.getTime()) {
      throw notaryError(NOTARY_ERRORS.expired, `${role} expired at ${expires.toISOString()}`, { gun: this.gun, role, expires: expires.toISOString() });
    }
  }

  private checkVersion(role: string, version: number, listed: FileMeta, by: string): void {
    if (listed.version !== undefined && listed.version !== version) {
      throw notaryError(NOTARY_ERRORS.inconsistent, `${role} of ${this.gun} has version ${version}, but ${by} lists version ${listed.version}`, { gun: this.gun, role });
    }
  }

  private async fetchListed(role: string, listed: FileMeta, by: string): Promise<Buffer> {
    if (listed.length > MAX_ROLE_BYTES) {
      throw notaryError(NOTARY_ERRORS.tooLarge, `${by} lists ${role} of ${this.gun} with ${listed.length} bytes, more than the limit of ${MAX_ROLE_BYTES}`, { gun: this.gun, role });
    }
    const raw = await this.fetcher.fetch(this.gun, role, listed.length, this.signal);
    if (!raw) {
      throw notaryError(NOTARY_ERRORS.inconsistent, `${role} of ${this.gun} is listed in ${by} but missing on ${this.fetcher.host}`, { gun: this.gun, role });
    }
    this.checkHashes(role, raw, listed, by);
    return raw;
  }

  private checkHashes(role: string, raw: Buffer, listed: FileMeta, by: string): void {
    const inconsistent = (what: string): never => {
      throw notaryError(NOTARY_ERRORS.inconsistent, `${role} of ${this.gun} does not match the ${what} signed in ${by}`, { gun: this.gun, role });
    };
    if (raw.length !== listed.length) inconsistent('length');
    let checked = 0;
    for (const alg of ['sha256', 'sha512'] as const) {
      const want = listed.hashes[alg];
      if (!want) continue;
      checked++;
      if (!createHash(alg).update(raw).digest().equals(want)) inconsistent(`${alg} hash`);
    }
    if (checked === 0) inconsistent('hashes (no sha256 or sha512 listed)');
  }
}

