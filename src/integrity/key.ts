/**
 * The webhook's integrity key: a secret only Imprimatur holds, from which it derives one HMAC key per purpose
 * (owner proofs, shared-cache entries, the identity of registry credentials in cache keys). Every replica must hold
 * the same key (the chart creates a Secret and keeps it across upgrades); a local `serve` generates one and keeps it
 * in the cache directory.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ImprimaturError } from '../errors.js';

/** Fewer bytes than this in a key file is refused (256 bits). */
export const MIN_KEY_BYTES = 32;

/** What a derived key is for; a MAC made for one purpose never verifies for another. */
export type KeyPurpose = 'owner-proof' | 'cache-entry' | 'credential-identity';

export class IntegrityKey {
  private readonly derived = new Map<KeyPurpose, Buffer>();

  /** `source` says where the key came from (a file path), never the key. */
  constructor(private readonly material: Buffer, readonly source: string) {
    if (material.length < MIN_KEY_BYTES) {
      throw new ImprimaturError('KEY_INVALID', `the integrity key from ${source} has ${material.length} bytes; it needs at least ${MIN_KEY_BYTES} (e.g. openssl rand -base64 48)`);
    }
  }

  /** A fresh random key held in memory only (tests, library use). */
  static random(): IntegrityKey {
    return new IntegrityKey(randomBytes(48), 'a random in-memory key');
  }

  /** HMAC-SHA256 (base64url) of `parts` as canonical JSON, with the key derived for `purpose`. */
  mac(purpose: KeyPurpose, parts: readonly unknown[]): string {
    return createHmac('sha256', this.key(purpose)).update(JSON.stringify(parts)).digest('base64url');
  }

  /** Constant-time check of a MAC made by `mac(purpose, parts)`. */
  verify(purpose: KeyPurpose, parts: readonly unknown[], mac: unknown): boolean {
    if (typeof mac !== 'string' || mac.length > 64) return false;
    const want = Buffer.from(this.mac(purpose, parts), 'base64url');
    const got = Buffer.from(mac, 'base64url');
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private key(purpose: KeyPurpose): Buffer {
    let k = this.derived.get(purpose);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', this.material, Buffer.alloc(0), `imprimatur ${purpose} v1`, 32));
      this.derived.set(purpose, k);
    }
    return k;
  }
}

/** Reads a key file (its bytes, surrounding whitespace trimmed). Throws KEY_INVALID with the path when unusable. */
export function readKeyFile(file: string): IntegrityKey {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new ImprimaturError('KEY_INVALID', `the integrity key file ${file} ${reason}; mount the key Secret there (the chart does) or leave --key-file out to use a local key`);
  }
  return new IntegrityKey(Buffer.from(text.toString('latin1').trim(), 'latin1'), file);
}

/** The key of a local `serve`: `<cacheDir>/keys/integrity.key`, created (mode 0600) on first use. */
export function localKey(cacheDir: string): IntegrityKey {
  const file = join(cacheDir, 'keys', 'integrity.key');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, `${randomBytes(48).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process made it first
    }
  }
  return readKeyFile(file);
}
