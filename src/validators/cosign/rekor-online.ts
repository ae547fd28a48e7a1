/**
 * Online transparency log lookup (only with `host.rekor` and `with.onlineTransparencyLog: true`):
 * a classic signature that carries no Rekor bundle is looked up in Rekor by its payload digest, and the
 * entry found (with its SignedEntryTimestamp) is attached as if it had been bundled. What is fetched is
 * verified exactly like a bundled entry (trusted Rekor key, body naming this signature, digest and key),
 * so a lying Rekor can only withhold entries. Bounded in time; failures leave the signature without an
 * entry (it then does not count: fail closed).
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../log.js';
import type { ClassicCandidate } from './candidates.js';

export const REKOR_TIMEOUT_MS = 5000;
const MAX_ENTRIES = 8;
const MAX_RESPONSE_BYTES = 256 * 1024;
const UUID = /^[0-9a-f]{64,80}$/;

async function fetchJson(url: string, init: RequestInit, signal: AbortSignal): Promise<unknown> {
  const res = await fetch(url, { ...init, signal, redirect: 'error', headers: { 'content-type': 'application/json', accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  const text = await res.text();
  if (text.length > MAX_RESPONSE_BYTES) throw new Error(`${url} answered more than ${MAX_RESPONSE_BYTES} bytes`);
  return JSON.parse(text);
}

interface RekorLogEntry {
  body?: unknown;
  integratedTime?: unknown;
  logIndex?: unknown;
  logID?: unknown;
  verification?: { signedEntryTimestamp?: unknown };
}

/** Looks up the Rekor entry of one classic signature; returns cosign's RekorBundle JSON, or undefined. */
async function lookup(base: string, candidate: ClassicCandidate, signal: AbortSignal): Promise<string | undefined> {
  const hash = createHash('sha256').update(candidate.payload!).digest('hex');
  const uuids = await fetchJson(new URL('api/v1/index/retrieve', base).toString(), { method: 'POST', body: JSON.stringify({ hash: `sha256:${hash}` }) }, signal);
  if (!Array.isArray(uuids)) return undefined;
  const signature = candidate.signature!.toString('base64');
  for (const uuid of uuids.slice(0, MAX_ENTRIES)) {
    if (typeof uuid !== 'string' || !UUID.test(uuid)) continue;
    const doc = await fetchJson(new URL(`api/v1/log/entries/${uuid}`, base).toString(), { method: 'GET' }, signal) as Record<string, RekorLogEntry>;
    const entry = doc && typeof doc === 'object' ? Object.values(doc)[0] : undefined;
    if (!entry || typeof entry.body !== 'string') continue;
    let logged: unknown;
    try {
      logged = (JSON.parse(Buffer.from(entry.body, 'base64').toString('utf8')) as { spec?: { signature?: { content?: unknown } } }).spec?.signature?.content;
    } catch {
      continue;
    }
    if (logged !== signature) continue;
    return JSON.stringify({
      SignedEntryTimestamp: entry.verification?.signedEntryTimestamp,
      Payload: { body: entry.body, integratedTime: entry.integratedTime, logIndex: entry.logIndex, logID: entry.logID },
    });
  }
  return undefined;
}

/** Attaches Rekor entries to classic signatures without a Rekor bundle. */
export async function attachOnlineEntries(rekor: string, candidates: ClassicCandidate[], signal: AbortSignal, logger: Logger): Promise<void> {
  const base = rekor.endsWith('/') ? rekor : `${rekor}/`;
  const timeout = AbortSignal.timeout(REKOR_TIMEOUT_MS);
  const bounded = AbortSignal.any([signal, timeout]);
  await Promise.all(candidates.filter((c) => c.payload && c.signature && !c.rekorBundle).map(async (c) => {
    try {
      c.rekorBundle = await lookup(base, c, bounded);
      if (!c.rekorBundle) c.rekorLookup = `Rekor ${rekor} has no entry for it`;
    } catch (err) {
      const why = signal.aborted ? 'the admission deadline passed' : timeout.aborted ? `timed out after ${REKOR_TIMEOUT_MS / 1000} s` : (err as Error).message;
      c.rekorLookup = `the lookup in Rekor ${rekor} failed (${why})`;
      logger.warn({ rekor, signature: c.id, err: why }, 'Rekor lookup failed; the signature has no transparency log entry');
    }
  }));
}
